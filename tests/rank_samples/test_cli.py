"""``mtk rank-samples`` end to end with the debug model: ranking files and indexes, classes,
bad samples among good ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from mtk.cli.main import app

runner = CliRunner()
DEBUG = ["--model", "rank-samples-debug"]
SR = 44_100


def _decay(seconds: float, rate: float) -> np.ndarray:
    return np.exp(-rate * np.arange(int(seconds * SR)) / SR)


def _kick() -> np.ndarray:
    t = np.arange(int(0.4 * SR)) / SR
    return 0.8 * np.sin(2 * np.pi * (50 + 100 * np.exp(-30 * t)) * t) * _decay(0.4, 12)


def _snare(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * SR)) / SR
    return (0.4 * rng.standard_normal(len(t)) + 0.4 * np.sin(2 * np.pi * 190 * t)) * _decay(0.25, 25)


def _hat(rng: np.random.Generator) -> np.ndarray:
    noise = np.diff(rng.standard_normal(int(0.08 * SR) + 1))  # tilted up: a bright noise
    return 0.3 * noise * _decay(0.08, 60)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kit")
    rng = np.random.default_rng(0)
    (folder / "drums").mkdir()
    sf.write(folder / "drums" / "kick.wav", _kick(), SR)
    sf.write(folder / "drums" / "snare.wav", _snare(rng), SR)
    sf.write(folder / "drums" / "hh.wav", _hat(rng), SR)
    sf.write(folder / "drums" / "bd-soft.wav", 0.5 * _kick(), SR)
    song = np.zeros(6 * SR)
    for beat in range(12):
        at = beat * SR // 2
        hit = _kick() if beat % 2 == 0 else _snare(rng)
        song[at : at + len(hit)] += hit[: len(song) - at]
    sf.write(folder / "context.wav", song.astype(np.float32), SR)
    sf.write(folder / "silence.wav", np.zeros(2 * SR, np.float32), SR)
    return folder


def _records(result) -> list[dict]:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_ranks_files_and_an_index_alike_and_filters_by_class(kit: Path, tmp_path: Path) -> None:
    context, drums = str(kit / "context.wav"), str(kit / "drums")
    direct = _records(runner.invoke(app, ["rank-samples", context, drums, *DEBUG]))
    assert [r["rank"] for r in direct] == [1, 2, 3, 4]
    assert [r["score"] for r in direct] == sorted((r["score"] for r in direct), reverse=True)
    assert all(r["input"] == context and r["model"] == "rank-samples-debug" for r in direct)
    # the debug model has no classifier: the file names decide
    assert {Path(r["path"]).name: r["class"] for r in direct} == {
        "kick.wav": "kick",
        "bd-soft.wav": "kick",
        "snare.wav": "snare",
        "hh.wav": "hihat",
    }
    index = tmp_path / "s.idx"
    made = _records(runner.invoke(app, ["rank-samples", "index", drums, "-o", str(index), *DEBUG]))
    assert all(r["added"] for r in made) and len(made) == 4
    via_index = _records(runner.invoke(app, ["rank-samples", context, str(index)]))  # the index names its model
    assert [(r["path"], r["class"]) for r in via_index] == [(r["path"], r["class"]) for r in direct]
    assert np.allclose([r["score"] for r in via_index], [r["score"] for r in direct], atol=1e-5)
    kicks = _records(runner.invoke(app, ["rank-samples", context, str(index), "--class", "kick", "-k", "1"]))
    assert len(kicks) == 1 and kicks[0]["class"] == "kick"
    both = _records(runner.invoke(app, ["rank-samples", context, str(index), "--class", "kick", "--class", "snare"]))
    assert sorted(r["class"] for r in both) == ["kick", "kick", "snare"]


def test_index_extends_with_skip_existing(kit: Path, tmp_path: Path) -> None:
    index = tmp_path / "s.idx"
    first = _records(
        runner.invoke(app, ["rank-samples", "index", str(kit / "drums" / "kick.wav"), "-o", str(index), *DEBUG])
    )
    assert len(first) == 1
    again = runner.invoke(app, ["rank-samples", "index", str(kit / "drums"), "-o", str(index), *DEBUG])
    assert again.exit_code == 2 and "exists" in again.stderr  # neither extended nor overwritten by accident
    more = _records(
        runner.invoke(app, ["rank-samples", "index", str(kit / "drums"), "-o", str(index), "--skip-existing"])
    )
    assert sum(bool(r.get("skipped")) for r in more) == 1 and sum(bool(r.get("added")) for r in more) == 3
    from mtk.rank_samples.index import SampleIndex

    assert len(SampleIndex.load(index)) == 4


def test_a_broken_sample_is_skipped_with_a_warning(kit: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all\n" * 10)
    result = runner.invoke(app, ["rank-samples", str(kit / "context.wav"), str(kit / "drums"), str(broken), *DEBUG])
    records = _records(result)
    assert records[0]["path"] == str(broken) and records[0]["warning"].startswith("skipped: ")
    assert [r["rank"] for r in records[1:]] == [1, 2, 3, 4]
    assert result.stderr.count("warning: skipped") == 1


def test_bad_contexts_and_options_are_one_line_errors(kit: Path, tmp_path: Path) -> None:
    drums = str(kit / "drums")
    cases = [
        (["rank-samples", str(kit / "silence.wav"), drums], "silent"),
        (["rank-samples", str(kit / "context.wav"), str(tmp_path)], "folder holds no"),  # an empty folder
        (["rank-samples", str(kit / "context.wav"), drums, "--class", "cowbell"], "unknown --class cowbell"),
        (["rank-samples", str(kit / "context.wav"), str(kit / "drums" / "hh.wav"), "--class", "kick"], "no samples"),
    ]
    for argv, words in cases:
        result = runner.invoke(app, [*argv, *DEBUG])
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and words in lines[0], (argv, result.stderr)
        assert result.stdout == ""
    out = tmp_path / "ranked.jsonl"
    out.write_text("keep me\n")
    result = runner.invoke(app, ["rank-samples", str(kit / "context.wav"), drums, "-o", str(out), *DEBUG])
    assert result.exit_code == 2 and out.read_text() == "keep me\n"
    result = runner.invoke(app, ["rank-samples", str(kit / "context.wav"), drums, "-o", str(out), "--force", *DEBUG])
    assert result.exit_code == 0 and len(out.read_text().splitlines()) == 4


def test_exclude_drums_ranks_what_the_separator_leaves(kit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--exclude-drums reads the context through mtk separate's no_drums: a separator that
    leaves nothing makes the context silent (refused); the real one leaves the tone."""
    import numpy as np

    drums, context = str(kit / "drums"), str(kit / "context.wav")
    assert _records(runner.invoke(app, ["rank-samples", context, drums, "--exclude-drums", *DEBUG]))
    asked = []

    class Nothing:
        def stem_from_file(self, source: str, name: str) -> tuple[np.ndarray, int]:
            asked.append((source, name))
            return np.zeros((1, 4 * SR), np.float32), SR

    monkeypatch.setattr("mtk.separate.infer.load", lambda **kw: Nothing())
    result = runner.invoke(app, ["rank-samples", context, drums, "--exclude-drums", *DEBUG])
    assert result.exit_code == 2 and "silent" in result.stderr and asked == [(context, "no_drums")]
