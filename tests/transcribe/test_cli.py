"""`mtk transcribe` end to end with the debug model: formats, pipes, batches, bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mtk.io.records import dumps
from mtk.transcribe.components import ONSET_BAND_OF
from tests.conftest import invoke_mtk, run_mtk

DEBUG = ["--model", "transcribe-debug"]


@pytest.fixture(scope="module")
def drums(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("drums")
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        y = rng.standard_normal(22050 * 2) * np.exp(-(np.arange(22050 * 2) % 11025) / 800)
        sf.write(folder / f"{name}.wav", (0.5 * y / np.abs(y).max()).astype(np.float32), 22050)
    return folder


def test_midi_to_stdout_from_stdin(drums: Path) -> None:
    proc = run_mtk("transcribe", "-", *DEBUG, input=(drums / "a.wav").read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout[:4] == b"MThd" and proc.stderr == b""


def test_formats_from_suffix_and_option(drums: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    assert invoke_mtk("transcribe", str(drums / "a.wav"), "-o", str(out), *DEBUG).returncode == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows and set(rows[0]) == {"time", "drum", "note", "velocity", "strength", "onset"}
    proc = invoke_mtk("transcribe", str(drums / "a.wav"), "--format", "json", *DEBUG)
    events = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert proc.stdout.decode() == "".join(dumps(e) + "\n" for e in events)  # compact, as every command
    assert [e["time"] for e in events] == [float(r["time"]) for r in rows]
    assert all(1 <= e["velocity"] <= 127 for e in events)
    # A raised threshold only removes events.
    proc = invoke_mtk("transcribe", str(drums / "a.wav"), "-f", "json", "--threshold", "tom_mid=100", *DEBUG)
    assert all(json.loads(line)["drum"] != "tom_mid" for line in proc.stdout.decode().splitlines())
    # Gated drums report their onset strength; raising the hi-hats' gate removes only hi-hats.
    assert all((e["onset"] is None) == (e["drum"] not in ONSET_BAND_OF) for e in events)
    assert {"kick", "hihat_closed"} <= {e["drum"] for e in events}
    proc = invoke_mtk("transcribe", str(drums / "a.wav"), "-f", "json", "--onset-threshold", "hihat=1000", *DEBUG)
    gated = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    kept = [(e["time"], e["drum"]) for e in events if not e["drum"].startswith("hihat")]
    assert [(e["time"], e["drum"]) for e in gated] == kept  # (velocities are shares of the loudest hit kept)


def test_batch_folder_and_skip_existing(drums: Path, tmp_path: Path) -> None:
    out = tmp_path / "midi"
    proc = invoke_mtk("transcribe", str(drums), "-o", str(out), *DEBUG)
    assert proc.returncode == 0, proc.stderr.decode()
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert sorted(Path(r["output"]).name for r in records) == ["a.mid", "b.mid"]
    assert (out / "a.mid").read_bytes()[:4] == b"MThd"
    again = invoke_mtk("transcribe", str(drums), "-o", str(out), "--skip-existing", *DEBUG)
    assert all(json.loads(line)["skipped"] for line in again.stdout.decode().splitlines())


def test_bad_input_and_options(drums: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    out = tmp_path / "x.mid"
    proc = invoke_mtk("transcribe", str(bad), "-o", str(out), *DEBUG)
    assert proc.returncode == 2 and len(proc.stderr.decode().strip().splitlines()) == 1 and not out.exists()
    proc = invoke_mtk("transcribe", str(drums / "a.wav"), "--threshold", "cowbell=1", *DEBUG)
    assert proc.returncode == 2 and b"unknown drum" in proc.stderr
    proc = invoke_mtk("transcribe", str(drums / "a.wav"), "--onset-threshold", "ride=1", *DEBUG)  # no gate on rides
    assert proc.returncode == 2 and b"unknown drum 'ride'" in proc.stderr
    proc = invoke_mtk("transcribe", str(drums / "a.wav"), "--onset-threshold", "hihat=-1", *DEBUG)
    assert proc.returncode == 2 and b"must be >= 0" in proc.stderr
    out.write_bytes(b"keep")
    proc = invoke_mtk("transcribe", str(drums / "a.wav"), "-o", str(out), *DEBUG)
    assert proc.returncode == 2 and out.read_bytes() == b"keep"


def test_kit_refits_and_a_bad_kit_is_one_line(drums: Path, tmp_path: Path, rock_kit) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "k.jsonl"
    proc = invoke_mtk("transcribe", str(drums / "a.wav"), "-o", str(out), "--kit", "GMRockKit", "-v", *DEBUG)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stderr.decode().strip().splitlines()[-1].partition(": ")[2])
    assert record["kit"] == "GMRockKit" and record["events"] == len(out.read_text().splitlines())
    missing = tmp_path / "m.mid"
    proc = invoke_mtk("transcribe", str(drums / "a.wav"), "-o", str(missing), "--kit", "no-such-kit", *DEBUG)
    err = proc.stderr.decode().strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1 and "neither a Hydrogen kit folder nor an installed kit" in err[0]
    assert not missing.exists()


def test_eval_limit_limits_the_scored_songs_not_the_tuning_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 31: `--limit 1` also cut `--tune` to one song, and thresholds tuned on it were
    degenerate. `--limit` counts the scored songs; `--tune-limit` the tuning ones."""
    from typer.testing import CliRunner

    from mtk.cli.main import app
    from mtk.transcribe import eval as transcribe_eval

    calls = []
    monkeypatch.setattr(transcribe_eval, "load_songs", lambda corpus, **kw: calls.append((str(corpus), kw["limit"])))
    monkeypatch.setattr(transcribe_eval, "baseline_for", lambda transcriber: None)
    monkeypatch.setattr(transcribe_eval, "evaluate", lambda *args, **kw: {})
    args = ["eval", "transcribe", "--data", "scored", "--tune", "tuning", "--model", "transcribe-debug"]
    result = CliRunner().invoke(app, [*args, "--limit", "1"])
    assert result.exit_code == 0, result.stderr
    assert calls == [("scored", 1), ("tuning", None)]
    calls.clear()
    assert CliRunner().invoke(app, [*args, "--tune-limit", "3"]).exit_code == 0
    assert calls == [("scored", None), ("tuning", 3)]
