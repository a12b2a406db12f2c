"""In-process CLI checks through typer's CliRunner: error mapping, -v tracebacks, models."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from mtk.cli.main import app
from mtk.device import check_device_spec, resolve_device
from mtk.errors import DeviceError, UsageError
from mtk.weights import registry, store
from mtk.weights.checkpoint import save_checkpoint
from mtk.weights.registry import ModelEntry, WeightFile
from tests.conftest import make_midi

runner = CliRunner()


def test_internal_error_is_one_line_and_traceback_with_v(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    song = tmp_path / "a.mid"
    song.write_bytes(make_midi([(60, 0, 0.2, 90)]))

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr("mtk.corpus.render.render_midi", boom)
    result = runner.invoke(app, ["render", str(song), "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 1
    assert "mtk render: error: internal error: RuntimeError: kaboom" in result.stderr
    assert "Traceback" not in result.stderr
    result = runner.invoke(app, ["render", str(song), "-o", str(tmp_path / "o.wav"), "-v"])
    assert result.exit_code == 1 and "Traceback" in result.stderr
    assert not (tmp_path / "o.wav").exists()


def test_device_resolution() -> None:
    assert check_device_spec("cuda:1") == "cuda:1"
    with pytest.raises(UsageError, match="invalid device"):
        check_device_spec("gpu")
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError) as err:
            resolve_device("cuda")
        assert err.value.exit_code == 2 and "--device cpu" in str(err.value)


@pytest.fixture
def toy_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelEntry:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    data_path = save_checkpoint(tmp_path / "x.pt", arch="toy", config={}, state_dict={"w": torch.ones(2)})
    sha = hashlib.sha256(data_path.read_bytes()).hexdigest()
    name = f"toy-v1-{sha[:8]}.pt"
    (pkg / name).write_bytes(data_path.read_bytes())
    (pkg / "toy-v1.md").write_text("# toy-v1\n")
    entry = ModelEntry(
        name="toy-v1",
        task="toy",
        version=1,
        summary="toy model",
        default=True,
        files=(WeightFile(name, sha, data_path.stat().st_size),),
        card="toy-v1.md",
    )
    debug = ModelEntry(name="toy-debug", task="toy", version=0, summary="tiny random", debug=True, config={"w": 2})
    monkeypatch.setattr(registry, "REGISTRY", (entry, debug))
    monkeypatch.setattr(store, "PACKAGE_DIR", pkg)
    return entry


def test_models_list_path_verify(toy_registry: ModelEntry) -> None:
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["name"] for r in rows] == ["toy-v1"] and rows[0]["size"] == toy_registry.size
    assert rows[0]["card"] == "toy model" and rows[0]["task"] == "toy" and rows[0]["version"] == 1
    result = runner.invoke(app, ["models", "list", "--all"])
    assert len(result.stdout.splitlines()) == 2

    result = runner.invoke(app, ["models", "path", "toy-v1"])
    assert result.exit_code == 0
    paths = result.stdout.split()
    assert paths[0].endswith(toy_registry.files[0].filename) and paths[1].endswith("toy-v1.md")

    result = runner.invoke(app, ["models", "verify"])
    assert result.exit_code == 0 and json.loads(result.stdout.splitlines()[0])["ok"] is True
    target = store.PACKAGE_DIR / toy_registry.files[0].filename
    target.write_bytes(target.read_bytes() + b"!")
    result = runner.invoke(app, ["models", "verify", "toy-v1"])
    assert result.exit_code == 1 and "sha256 mismatch" in result.stdout
    result = runner.invoke(app, ["models", "path", "toy-v1"])
    assert result.exit_code == 1 and "sha256 mismatch" in result.stderr
    result = runner.invoke(app, ["models", "path", "nope"])
    assert result.exit_code == 2 and "unknown model 'nope'" in result.stderr  # a usage error
