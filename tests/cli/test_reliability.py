"""What the bad-input matrix cannot show: signals, warnings, degenerate audio, batch outcomes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from mtk.cli.main import app
from tests.conftest import make_midi

runner = CliRunner()
SYNTH = "fluidsynth" if shutil.which("fluidsynth") else "builtin"


def _long_midi(path: Path, minutes: float) -> Path:
    notes = [(48 + (i * 7) % 24, i * 0.125, i * 0.125 + 0.5, 90) for i in range(int(minutes * 60 * 8))]
    path.write_bytes(make_midi(notes))
    return path


def _start(args: list[str], tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TMPDIR": str(tmp), "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "mtk", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp.parent
    )


def _started(proc: subprocess.Popen[bytes], settle: float = 2.0, timeout: float = 60.0) -> None:
    """Until mtk has installed its SIGTERM handler (Linux: the caught-signals mask in
    /proc/PID/status), then ``settle`` seconds more for the work to begin; else a fixed wait."""
    status = Path(f"/proc/{proc.pid}/status")
    deadline = time.monotonic() + timeout
    while status.exists() and time.monotonic() < deadline and proc.poll() is None:
        caught = next((line.split()[1] for line in status.read_text().splitlines() if line.startswith("SigCgt:")), "0")
        if int(caught, 16) & (1 << (signal.SIGTERM - 1)):
            break
        time.sleep(0.05)
    else:
        time.sleep(3.0)
    time.sleep(settle)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_sigterm_removes_temporary_files(tmp_path: Path) -> None:
    """`timeout 6 mtk render long.mid -o x.wav`: exit 143, no output, nothing in the temp folder."""
    song = _long_midi(tmp_path / "long.mid", 30)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _start(["render", str(song), "-o", str(tmp_path / "x.wav"), "--synth", SYNTH], tmp)
    _started(proc)
    assert proc.poll() is None, "the render ended before the signal: make the MIDI longer"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and b"Traceback" not in err, err
    assert _files(tmp) == [] and not (tmp_path / "x.wav").exists()


def test_ctrl_c_stops_a_parallel_batch_at_once(tmp_path: Path) -> None:
    """Ctrl-C on `mtk render DIR -o OUT -j 2`: exit 130 within seconds, no output written after it."""
    src = tmp_path / "midi"
    src.mkdir()
    for i in range(4):
        _long_midi(src / f"s{i}.mid", 30)
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    proc = _start(["render", str(src), "-o", str(out), "-j", "2", "--synth", SYNTH], tmp)
    _started(proc)
    assert proc.poll() is None
    written = _files(out)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and b"Traceback" not in err, err
    assert time.monotonic() - started < 6.0  # the workers' grace is 3 s
    time.sleep(1.0)  # an orphaned worker would write now
    assert _files(out) == written and _files(tmp) == []


def test_an_eof_error_is_a_bug_not_an_interrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """click turns EOFError into an abort (exit 130, silent); mtk reports it as the bug it is."""
    song = tmp_path / "a.mid"
    song.write_bytes(make_midi([(60, 0, 0.2, 90)]))

    def eof(*args: object, **kwargs: object) -> None:
        raise EOFError("no data left")

    monkeypatch.setattr("mtk.corpus.render.render_midi", eof)
    result = runner.invoke(app, ["render", str(song), "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 1 and "internal error: RuntimeError: EOFError: no data left" in result.stderr


def _tone(seconds: float, sr: int = 22_050) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)


def test_truncated_audio_warns_and_q_silences_it_and_the_decoder(tmp_path: Path) -> None:
    full = tmp_path / "full.mp3"
    sf.write(full, _tone(20.0), 22_050, format="MP3")
    half = tmp_path / "half.mp3"
    half.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    base = ["transcribe", str(half), "--model", "transcribe-debug", "--format", "json", "-o"]
    result = runner.invoke(app, [*base, str(tmp_path / "a.jsonl")])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 0 and len(lines) == 1, result.stderr
    assert lines[0].startswith("mtk transcribe: warning: ") and "truncated MP3 file: read" in lines[0]
    assert "declares 20 s" in lines[0] and "Xing" not in result.stderr  # the decoder's own words are caught
    result = runner.invoke(app, [*base, str(tmp_path / "b.jsonl"), "-q"])
    assert result.exit_code == 0 and result.stderr == ""
    result = runner.invoke(app, [*base, str(tmp_path / "c.jsonl"), "-v"])
    assert "decoder: Warning: Xing stream size off" in result.stderr  # details on request


def test_silence_is_no_cover_of_anything(tmp_path: Path) -> None:
    silent, music = tmp_path / "silent.wav", tmp_path / "music.wav"
    sf.write(silent, np.zeros(22_050 * 8, np.float32), 22_050)
    sf.write(music, _tone(8.0), 22_050)
    for pair in ([silent, silent], [silent, music], [music, silent]):
        result = runner.invoke(app, ["detect-cover", *map(str, pair), "--model", "detect-cover-debug"])
        assert result.exit_code == 2 and result.stdout == ""
        assert "silent (peak below -60 dBFS)" in result.stderr


def test_index_writes_nothing_when_every_input_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("a", "b"):
        (bad / f"{name}.wav").write_bytes(b"not audio")
    result = runner.invoke(app, ["detect-cover", "index", str(bad), "-o", str(tmp_path / "new.idx")])
    assert result.exit_code == 1 and len(result.stdout.splitlines()) == 2
    assert not (tmp_path / "new.idx").exists()
    result = runner.invoke(app, ["detect-cover", "index", str(bad), "-o", str(tmp_path / "new.idx"), "--fail-fast"])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1 and [r["input"] for r in records] == [str(bad / "a.wav")]
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "new.idx").exists()


def test_situate_messages_name_the_option_row_and_column(tmp_path: Path) -> None:
    result = runner.invoke(app, ["situate", "now", "--device", "mobile", "--network", "wifi", "--time", "garbage"])
    assert result.exit_code == 2
    assert "error: --time: 'garbage' is not an ISO 8601 time such as 2019-08-14T07:32:00" in result.stderr
    streams = tmp_path / "s.jsonl"
    row = {"timestamp": 12345, "device": "mobile", "network": "wifi", "user": "u1"}
    streams.write_text(json.dumps(row) + "\n")
    result = runner.invoke(app, ["situate", str(streams), "--branch", "dusp", "--dusp", "situate-dusp-debug"])
    assert "row 1: column 'timestamp': 12345 is not an ISO 8601 time" in result.stderr
    streams.write_text('["a", "b"]')
    result = runner.invoke(app, ["situate", str(streams), "--branch", "dusp", "--dusp", "situate-dusp-debug"])
    assert "item 1: expected a JSON object with named columns, got a string" in result.stderr
    bad_track = tmp_path / "t.wav"
    bad_track.write_bytes(b"RIFF....")
    streams.write_text(json.dumps({**row, "timestamp": "2019-08-14T07:32:00", "track": str(bad_track)}) + "\n")
    (tmp_path / "h.csv").write_text("")
    args = ["situate", str(streams), "--ausp", "situate-ausp-debug", "--dusp", "situate-dusp-debug"]
    result = runner.invoke(app, [*args, "--history", str(tmp_path / "h.csv")])
    assert result.exit_code == 2 and "h.csv: empty file (no history rows)" in result.stderr
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and f"s.jsonl: row 1: column 'track': {bad_track}: " in result.stderr


def test_session_reports_unreadable_tracks_and_exits_1(tmp_path: Path) -> None:
    tracks = tmp_path / "tracks"
    tracks.mkdir()
    sf.write(tracks / "a.wav", _tone(3.0), 22_050)
    (tracks / "b.wav").write_bytes(b"not audio")
    sf.write(tracks / "c.wav", _tone(4.0), 22_050)
    args = ["situate", "session", "--user", "u1", "--situation", "work", "--tracks", str(tracks)]
    result = runner.invoke(app, [*args, "--ausp", "situate-ausp-debug", "-q"])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert sorted(r["track"] for r in records if "rank" in r) == [str(tracks / "a.wav"), str(tracks / "c.wav")]
    assert records[-1]["input"] == str(tracks / "b.wav") and "not an audio file" in records[-1]["error"]
    result = runner.invoke(app, [*args, "--ausp", "situate-ausp-debug", "--fail-fast"])
    assert result.exit_code == 1 and [json.loads(x)["input"] for x in result.stdout.splitlines()] == [
        str(tracks / "b.wav")
    ]


def test_a_damaged_feature_cache_entry_is_computed_again(tmp_path: Path) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(a, _tone(6.0), 22_050)
    sf.write(b, _tone(7.0), 22_050)
    env = {"MTK_CACHE_DIR": str(tmp_path / "cache")}
    args = ["detect-cover", str(a), str(b), "--model", "detect-cover-debug"]
    first = runner.invoke(app, args, env=env)
    entries = sorted((tmp_path / "cache").rglob("*.npz"))
    assert first.exit_code == 0 and len(entries) == 2
    for entry in entries:  # cut short, as a full disk or a killed writer elsewhere would leave it
        entry.write_bytes(entry.read_bytes()[:100])
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 0 and again.stdout == first.stdout and again.stderr == ""
