"""The detect-cover commands end to end on three rendered recordings (debug calibration)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from tests.conftest import invoke_mtk
from tests.detect_cover.test_features import recordings  # noqa: F401  (module fixture)

DEBUG = ["--model", "detect-cover-debug"]


@pytest.fixture(scope="module")
def music(recordings, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    folder = tmp_path_factory.mktemp("music")
    for name, rec in recordings.items():
        shutil.copy(rec.path, folder / f"{name}.wav")
    return folder


def _lines(proc) -> list[dict]:  # type: ignore[no-untyped-def]
    assert proc.returncode == 0, proc.stderr.decode()
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


def test_pair_is_default(music: Path, tmp_path: Path) -> None:
    env = {"MTK_CACHE_DIR": str(tmp_path / "cache")}
    [rec] = _lines(invoke_mtk("detect-cover", str(music / "original.wav"), str(music / "cover.wav"), *DEBUG, env=env))
    assert {"a", "b", "score", "is_cover", "distance", "qmax", "oti", "method", "model"} <= set(rec)
    assert 0 <= rec["score"] <= 1 and rec["model"] == "detect-cover-debug"
    assert any((tmp_path / "cache" / "detect-cover").rglob("*.npz"))  # features were cached


def test_index_query_cliques_classify(music: Path, tmp_path: Path) -> None:
    idx = tmp_path / "lib.idx"
    added = _lines(
        invoke_mtk("detect-cover", "index", str(music / "original.wav"), str(music / "other.wav"), "-o", str(idx))
    )
    assert [r["added"] for r in added] == [True, True]
    proc = invoke_mtk("detect-cover", "index", str(music), "-o", str(idx))
    assert proc.returncode == 2 and b"--skip-existing" in proc.stderr
    grown = _lines(invoke_mtk("detect-cover", "index", str(music), "-o", str(idx), "--skip-existing"))
    assert sum(1 for r in grown if r.get("added")) == 1 and sum(1 for r in grown if r.get("skipped")) == 2

    [res] = _lines(
        invoke_mtk("detect-cover", "query", str(music / "cover.wav"), "--index", str(idx), "-k", "2", *DEBUG)
    )
    assert [Path(c["candidate"]).name for c in res["candidates"]] == ["original.wav", "other.wav"]

    cliques = _lines(invoke_mtk("detect-cover", "cliques", "--index", str(idx), *DEBUG))
    assert [sorted(Path(p).name for p in c["members"]) for c in cliques] == [["cover.wav", "original.wav"]]

    versions = tmp_path / "versions"
    versions.mkdir()
    shutil.copy(music / "original.wav", versions / "original.wav")
    [yes, no] = _lines(
        invoke_mtk(
            "detect-cover",
            "classify",
            str(music / "cover.wav"),
            str(music / "other.wav"),
            "--clique",
            str(versions),
            *DEBUG,
        )
    )
    assert yes["is_cover"] and not no["is_cover"] and yes["score"] > no["score"]


def test_bad_inputs(music: Path, tmp_path: Path) -> None:
    proc = invoke_mtk("detect-cover", str(music / "original.wav"), str(tmp_path / "missing.wav"), *DEBUG)
    assert proc.returncode == 2 and b"no such file" in proc.stderr and b"Traceback" not in proc.stderr
    y, sr = sf.read(music / "original.wav")
    short = tmp_path / "short.wav"
    sf.write(short, y[: 4 * sr], sr)
    proc = invoke_mtk("detect-cover", str(music / "original.wav"), str(short), *DEBUG)
    assert proc.returncode == 2 and b"too short" in proc.stderr
    cut = tmp_path / "cut.wav"  # the header promises the whole song; 0.2 s is there
    cut.write_bytes((music / "original.wav").read_bytes()[:20000])
    proc = invoke_mtk("detect-cover", str(music / "original.wav"), str(cut), *DEBUG)
    assert proc.returncode == 2 and b"truncated WAV file" in proc.stderr and b"readable" in proc.stderr
    proc = invoke_mtk("detect-cover", "query", str(music / "original.wav"), "--index", str(music / "original.wav"))
    assert proc.returncode == 2 and b"not an mtk cover index" in proc.stderr


def test_index_goes_on_past_a_bad_file(music: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    idx = tmp_path / "lib.idx"
    proc = invoke_mtk("detect-cover", "index", str(music / "original.wav"), str(bad), "-o", str(idx))
    assert proc.returncode == 1 and b"not an audio file" in proc.stderr and b"Traceback" not in proc.stderr
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert {r["input"]: ("error" in r) for r in records} == {str(bad): True, str(music / "original.wav"): False}
    from mtk.detect_cover.index import CoverIndex

    assert CoverIndex.load(idx).paths == [str(music / "original.wav")]


def test_the_commands_rerank_by_the_library_default() -> None:
    import inspect

    from mtk.cli import detect_cover as cli
    from mtk.cli import eval as cli_eval
    from mtk.detect_cover.infer import DEFAULT_RERANK

    for fn in (cli.query, cli_eval.detect_cover):
        assert inspect.signature(fn).parameters["rerank"].default == DEFAULT_RERANK
