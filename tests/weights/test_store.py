from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from mtk.errors import ModelError
from mtk.weights import registry, store
from mtk.weights.checkpoint import build_module, export_release, load_checkpoint, save_checkpoint
from mtk.weights.registry import ModelEntry, WeightFile


class Tiny(torch.nn.Module):
    def __init__(self, width: int = 4, depth: int = 1) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(*[torch.nn.Linear(width, width) for _ in range(depth)])


def _entry(name: str, path: Path, **kw: object) -> ModelEntry:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    wf = WeightFile(path.name, sha, path.stat().st_size)
    return ModelEntry(name=name, task="toy", version=1, summary="a toy", files=(wf,), **kw)  # type: ignore[arg-type]


@pytest.fixture
def released(tmp_path: Path) -> Path:
    model = Tiny(width=3, depth=2)
    ckpt = save_checkpoint(
        tmp_path / "run" / "last.pt",
        arch="tiny",
        config={"width": 3, "depth": 2, "lr": 0.1},
        state_dict=model.state_dict(),
        optimizer={"step": 5},
    )
    path, sha = export_release(ckpt, "toy-v1", tmp_path / "pkg")
    assert path.name == f"toy-v1-{sha[:8]}.pt" and hashlib.sha256(path.read_bytes()).hexdigest() == sha
    return path


def test_checkpoint_round_trip_weights_only(released: Path) -> None:
    ckpt = load_checkpoint(released, arch="tiny")
    assert ckpt["format"] == 1 and "optimizer" not in ckpt  # training state stays behind
    model = build_module(Tiny, ckpt["config"])  # "lr" is filtered out
    model.load_state_dict(ckpt["state_dict"])
    assert len(model.layers) == 2 and model.layers[0].in_features == 3
    with pytest.raises(ModelError, match="expected 'other'"):
        load_checkpoint(released, arch="other")


def test_non_checkpoint_is_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a loadable"):
        load_checkpoint(bad)
    torch.save({"a": torch.zeros(1)}, bad)
    with pytest.raises(ModelError, match="not an mtk checkpoint"):
        load_checkpoint(bad)


def test_resolution_order_and_sha(released: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = _entry("toy-v1", released, default=True)
    monkeypatch.setattr(registry, "REGISTRY", (entry,))
    pkg, cache = tmp_path / "pkgdir", tmp_path / "cache"
    pkg.mkdir()
    cache.mkdir()
    monkeypatch.setattr(store, "PACKAGE_DIR", pkg)
    monkeypatch.setenv("MTK_CACHE_DIR", str(cache))

    with pytest.raises(ModelError, match="not found"):
        store.resolve("toy-v1")
    (cache / released.name).write_bytes(released.read_bytes())
    assert store.resolve("toy-v1").path == cache / released.name
    (pkg / released.name).write_bytes(released.read_bytes())
    assert store.resolve("toy-v1", task="toy").path == pkg / released.name  # package before cache
    assert store.resolve(str(released)).entry is None  # an explicit path wins

    (pkg / released.name).write_bytes(released.read_bytes()[:-1] + b"x")
    with pytest.raises(ModelError, match="sha256 mismatch"):
        store.resolve("toy-v1")
    assert [r["ok"] for r in store.verify_entry(entry)] == [False]
    with pytest.raises(ModelError, match="unknown model"):
        store.resolve("nope-v1")
    with pytest.raises(ModelError, match="is for 'toy'"):
        (pkg / released.name).write_bytes(released.read_bytes())
        store.resolve("toy-v1", task="other")
    assert registry.default_entry("toy") is entry


def test_weight_file_names_are_content_addressed() -> None:
    with pytest.raises(ValueError, match="sha256"):
        WeightFile("model.pt", "0" * 64, 1)


def test_cache_dir_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MTK_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert store.cache_dir() == tmp_path / "mtk"


def test_shipped_registry_is_consistent() -> None:
    """Every shipped entry verifies; debug entries ship no files and are never defaults."""
    names = [e.name for e in registry.REGISTRY]
    assert len(names) == len(set(names))
    for entry in registry.REGISTRY:
        if entry.debug:
            assert not entry.files and not entry.default and entry.name.endswith("-debug")
        else:
            assert all(r["ok"] for r in store.verify_entry(entry)), entry.name
    for task in {e.task for e in registry.REGISTRY}:
        assert f"{task}-debug" in names, f"task {task} has no debug model"


def test_release_copy_names_by_content_and_never_overwrites(tmp_path: Path) -> None:
    from mtk.errors import OutputExistsError
    from mtk.weights.checkpoint import release_copy

    src = tmp_path / "dusp.ubj"
    src.write_bytes(b"booster bytes")
    path, sha = release_copy(src, "toy-dusp-v1", tmp_path / "pkg")
    assert sha == hashlib.sha256(b"booster bytes").hexdigest()
    assert path.name == f"toy-dusp-v1-{sha[:8]}.ubj" and path.read_bytes() == b"booster bytes"
    with pytest.raises(OutputExistsError):
        release_copy(src, "toy-dusp-v1", tmp_path / "pkg")
