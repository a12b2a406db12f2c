"""``mtk embed`` end to end with the debug model: vectors, matrices, the index, neighbours."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import invoke_mtk, run_mtk

DEBUG = ["--model", "embed-debug"]


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 4-second recordings: two tones a fifth apart and noise."""
    folder = tmp_path_factory.mktemp("music")
    t = np.arange(4 * 16_000) / 16_000
    sf.write(folder / "a.wav", 0.3 * np.sin(2 * np.pi * 220 * t), 16_000)
    sf.write(folder / "b.wav", 0.3 * np.sin(2 * np.pi * 330 * t), 16_000)
    sf.write(folder / "c.wav", 0.1 * np.random.default_rng(0).standard_normal(len(t)), 16_000)
    return folder


def _lines(proc) -> list[dict]:  # type: ignore[no-untyped-def]
    assert proc.returncode == 0, proc.stderr.decode()
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


def test_vectors_as_lines_a_matrix_and_one_a_second(music: Path, tmp_path: Path) -> None:
    env = {"MTK_CACHE_DIR": str(tmp_path / "cache")}
    lines = _lines(invoke_mtk("embed", str(music), *DEBUG, env=env))
    assert [Path(r["input"]).name for r in lines] == ["a.wav", "b.wav", "c.wav"]
    assert all(r["dims"] == len(r["vector"]) == 320 and r["model"] == "embed-debug" for r in lines)
    out = tmp_path / "v.npy"
    assert invoke_mtk("embed", "vectors", str(music), *DEBUG, "-o", str(out), env=env).stdout == b""
    matrix = np.load(out)
    side = [json.loads(x) for x in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert matrix.shape == (3, 320) and [r["row"] for r in side] == [0, 1, 2]
    np.testing.assert_allclose(matrix[1], lines[1]["vector"], atol=1e-5)
    again = invoke_mtk("embed", str(music), *DEBUG, "-o", str(out), env=env)
    assert again.returncode == 2 and b"--force" in again.stderr
    [piped] = _lines(invoke_mtk("embed", *DEBUG, "--pool", "none", input=(music / "a.wav").read_bytes(), env=env))
    assert piped["input"] == "-" and piped["times"] == [0.0, 0.992] and len(piped["vectors"]) == 2
    np.testing.assert_allclose(np.mean(piped["vectors"], axis=0), lines[0]["vector"], atol=1e-5)


def test_index_grows_and_similar_leaves_the_query_out(music: Path, tmp_path: Path) -> None:
    idx = tmp_path / "lib.idx"
    added = _lines(invoke_mtk("embed", "index", str(music / "a.wav"), str(music / "b.wav"), *DEBUG, "-o", str(idx)))
    assert [r.get("added") for r in added] == [True, True]
    refused = invoke_mtk("embed", "index", str(music), *DEBUG, "-o", str(idx))
    assert refused.returncode == 2 and b"--skip-existing" in refused.stderr
    grown = _lines(invoke_mtk("embed", "index", str(music), "-o", str(idx), "--skip-existing"))
    assert [bool(r.get("added")) for r in grown] == [False, False, True]
    [hit] = _lines(invoke_mtk("embed", "similar", str(music / "a.wav"), "--index", str(idx), "-k", "5"))
    assert hit["model"] == "embed-debug" and len(hit["neighbours"]) == 2
    assert all(Path(n["path"]).name != "a.wav" for n in hit["neighbours"])
    sims = [n["similarity"] for n in hit["neighbours"]]
    assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)


def test_bad_input_is_one_line_and_nothing_is_written(music: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    sf.write(tmp_path / "silent.wav", np.zeros(48_000), 16_000)
    (tmp_path / "text.wav").write_text("not audio")
    for name in ("empty.wav", "silent.wav", "text.wav"):
        out = tmp_path / f"{name}.npy"
        run = run_mtk if name == "text.wav" else invoke_mtk  # one in a process of its own: no traceback
        proc = run("embed", str(tmp_path / name), *DEBUG, "-o", str(out))
        assert proc.returncode == 2, (name, proc.stderr)
        assert len(proc.stderr.decode().strip().splitlines()) == 1 and b"Traceback" not in proc.stderr
        assert not out.exists() and not out.with_suffix(".jsonl").exists()
    mixed = invoke_mtk(
        "embed", str(music / "a.wav"), str(tmp_path / "silent.wav"), *DEBUG, "-o", str(tmp_path / "m.npy")
    )
    assert mixed.returncode == 1 and np.load(tmp_path / "m.npy").shape == (1, 320)
