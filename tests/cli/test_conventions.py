"""The command-line conventions (shared CLI.md), checked on the real `mtk` in subprocesses."""

from __future__ import annotations

import json
import os
import platform
import pty
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtk import __version__
from tests import badinputs
from tests.conftest import ROOT, make_midi, run_mtk

BUILTIN = ["--synth", "builtin"]


@pytest.fixture
def song(tmp_path: Path) -> Path:
    path = tmp_path / "song.mid"
    path.write_bytes(make_midi([(60, 0.0, 0.3, 90), (67, 0.3, 0.6, 90)]))
    return path


def _one_error_line(proc: subprocess.CompletedProcess[bytes], prefix: str = "mtk render: error: ") -> str:
    err = proc.stderr.decode()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), err
    return lines[0]


def test_stdout_carries_wav_bytes_only(song: Path) -> None:
    proc = run_mtk("render", str(song), *BUILTIN)
    assert proc.returncode == 0 and proc.stdout[:4] == b"RIFF" and proc.stderr == b""


def test_stdin_dash_and_implicit_stdin(song: Path) -> None:
    for args in (["render", "-", *BUILTIN], ["render", *BUILTIN]):
        proc = run_mtk(*args, input=song.read_bytes())
        assert proc.returncode == 0 and proc.stdout[:4] == b"RIFF", proc.stderr


def _with_pty(args: list[str], *, stdin_tty: bool, stdout_tty: bool, cwd: Path) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtk", *args],
        cwd=cwd,
        stdin=slave if stdin_tty else subprocess.DEVNULL,
        stdout=slave if stdout_tty else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, err = proc.communicate(timeout=60)
    os.close(slave)
    os.close(master)
    return proc.returncode, err.decode()


def test_refuses_binary_to_terminal(song: Path, tmp_path: Path) -> None:
    code, err = _with_pty(["render", str(song), *BUILTIN], stdin_tty=False, stdout_tty=True, cwd=tmp_path)
    assert code == 2 and "refusing to write WAV audio to a terminal" in err and "-o" in err


def test_no_input_from_terminal_is_usage_error(tmp_path: Path) -> None:
    code, err = _with_pty(["render", *BUILTIN], stdin_tty=True, stdout_tty=False, cwd=tmp_path)
    assert code == 2 and "no input given" in err


def test_bad_inputs_one_line_exit_2_no_output(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    corpus = badinputs.build(tmp_path / "bad")
    for name, (path, _) in corpus.items():
        out = tmp_path / f"{name}.wav"
        proc = run_mtk("render", str(path), "-o", str(out), *BUILTIN)
        assert proc.returncode == 2, (name, proc.stderr)
        _one_error_line(proc)
        assert not out.exists(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]  # no temporaries either


def test_never_overwrites_without_force(song: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    out.write_bytes(b"precious")
    proc = run_mtk("render", str(song), "-o", str(out), *BUILTIN)
    assert proc.returncode == 2 and "--force" in _one_error_line(proc)
    assert out.read_bytes() == b"precious"
    proc = run_mtk("render", str(song), "-o", str(out), "--force", *BUILTIN)
    assert proc.returncode == 0 and out.read_bytes()[:4] == b"RIFF"


def test_bad_soundfont_is_usage_error(song: Path, tmp_path: Path) -> None:
    proc = run_mtk("render", str(song), "-o", str(tmp_path / "o.wav"), "--soundfont", str(song), *BUILTIN)
    assert proc.returncode == 2 and "not a SoundFont" in _one_error_line(proc)
    proc = run_mtk("render", str(song), "-o", str(tmp_path / "o.wav"), "--soundfont", "/no/such.sf2")
    assert proc.returncode == 2 and "not found" in _one_error_line(proc)
    assert not (tmp_path / "o.wav").exists()


def test_batch_goes_on_reports_and_exits_1(tmp_path: Path) -> None:
    src = tmp_path / "midi"
    src.mkdir()
    for i in range(2):
        (src / f"s{i}.mid").write_bytes(make_midi([(60 + i, 0.0, 0.3, 90)]))
    (src / "broken.mid").write_bytes(b"MThd\x00\x00")
    out = tmp_path / "wav"
    proc = run_mtk("render", str(src), "-o", str(out), *BUILTIN)
    assert proc.returncode == 1
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [Path(r["input"]).name for r in records] == ["broken.mid", "s0.mid", "s1.mid"]
    assert "error" in records[0] and records[1]["output"] == str(out / "s0.wav")
    assert sorted(p.name for p in out.iterdir()) == ["s0.wav", "s1.wav"]
    _one_error_line(proc)

    proc = run_mtk("render", str(src), "-o", str(out), "--fail-fast", "--force", *BUILTIN)
    assert proc.returncode == 1 and len(proc.stdout.decode().splitlines()) == 1

    (src / "broken.mid").unlink()
    proc = run_mtk("render", str(src), "-o", str(out), "--skip-existing", "-j", "2", *BUILTIN)
    assert proc.returncode == 0
    assert all(json.loads(line)["skipped"] for line in proc.stdout.decode().splitlines())


def test_parallel_batch_matches_serial(tmp_path: Path) -> None:
    src = tmp_path / "midi"
    src.mkdir()
    for i in range(3):
        (src / f"s{i}.mid").write_bytes(make_midi([(60 + i, 0.0, 0.3, 90)]))
    serial, parallel = tmp_path / "a", tmp_path / "b"
    assert run_mtk("render", str(src), "-o", str(serial), *BUILTIN).returncode == 0
    proc = run_mtk("render", str(src), "-o", str(parallel), "-j", "2", *BUILTIN)
    assert proc.returncode == 0
    for i in range(3):
        assert (serial / f"s{i}.wav").read_bytes() == (parallel / f"s{i}.wav").read_bytes()


def test_stems_write_manifest(song: Path, tmp_path: Path) -> None:
    proc = run_mtk("render", str(song), "--stems", str(tmp_path / "stems"), *BUILTIN)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["output"] == str(tmp_path / "stems" / "mix.wav")
    assert set(record["stems"]) == {"ch01-acoustic-grand-piano"}
    assert all(Path(p).is_file() for p in record["stems"].values())


def test_head_ends_quietly(song: Path) -> None:
    cmd = f"{sys.executable} -m mtk render {song} --synth builtin | head -c 4"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, check=False)
    assert proc.stdout == b"RIFF" and proc.stderr == b""


def _wait_until_reading_stdin(pid: int, timeout: float = 60.0) -> None:
    """Until process ``pid`` blocks in read(0, ...), seen in /proc/PID/syscall (Linux x86-64:
    read is syscall 0); elsewhere a fixed 2 s."""
    path = Path(f"/proc/{pid}/syscall")
    if platform.machine() != "x86_64" or not path.exists():
        time.sleep(2.0)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and path.read_text().split()[:2] != ["0", "0x0"]:
        time.sleep(0.05)


def test_ctrl_c_exits_130(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtk", "render", "-", *BUILTIN],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_until_reading_stdin(proc.pid)  # past start-up (slow on a fresh venv: bytecode to compile)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and b"Traceback" not in err


def test_version_usage_errors_and_help() -> None:
    proc = run_mtk("--version")
    assert proc.returncode == 0 and proc.stdout.decode().strip() == f"mtk {__version__}"
    proc = run_mtk("render", "--no-such-option")
    assert proc.returncode == 2
    _one_error_line(proc)
    proc = run_mtk("no-such-command")
    assert proc.returncode == 2 and "No such command" in _one_error_line(proc, "mtk: error: ")
    proc = run_mtk("render", "--synth", "nope")
    assert proc.returncode == 2
    _one_error_line(proc)
    proc = run_mtk("render", "--help")
    assert proc.returncode == 0 and b"--soundfont" in proc.stdout and proc.stderr == b""


def test_examples_are_valid_and_current() -> None:
    import runpy

    example = runpy.run_path(str(ROOT / "examples" / "make_ode_to_joy.py"))
    from mtk.io.midi import midi_to_bytes

    assert (ROOT / "examples" / "ode_to_joy.mid").read_bytes() == midi_to_bytes(example["build"]())
    assert (ROOT / "examples" / "ode_to_joy_cover.mid").read_bytes() == midi_to_bytes(example["build_cover"]())


@pytest.mark.skipif(not shutil.which("make"), reason="needs make")
@pytest.mark.parametrize("slash", ["", "/"])
def test_examples_makefile_renders_each_midi_with_or_without_a_trailing_slash(tmp_path: Path, slash: str) -> None:
    """Issue 31: ``MIDI=midi/`` made the pattern rules match nothing and rendered silently nothing."""
    (tmp_path / "midi" / "sub").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "ode_to_joy.mid", tmp_path / "midi" / "sub" / "a.mid")
    make = ["make", "-n", "-f", str(ROOT / "examples" / "Makefile"), f"MIDI=midi{slash}", f"WAV=wav{slash}"]
    proc = subprocess.run(make, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "mtk render midi/sub/a.mid -o wav/sub/a.wav" in proc.stdout, proc.stdout
    proc = subprocess.run([*make[:-2], "MIDI=nothing/"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "no .mid files under nothing" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["models", "path", "nosuch"],
        ["detect-cover", "{wav}", "{wav}", "--model", "nosuch"],
        ["embed", "{wav}", "--model", "nosuch"],
        ["transcribe", "{wav}", "--model", "nosuch", "-o", "{out}.mid"],
        ["separate", "{wav}", "--model", "nosuch", "-o", "{out}"],
        ["rank-samples", "{wav}", "{wav}", "--model", "nosuch"],
        ["infill", "{mid}", "--gap", "1-1", "--model", "nosuch", "-o", "{out}.mid"],
        ["situate", "now", "--device", "mobile", "--network", "wifi", "--dusp", "nosuch"],
    ],
)
def test_an_unknown_model_is_a_usage_error(args: list[str], tmp_path: Path, song: Path) -> None:
    """Issue 31: a bad --model name is a usage error (exit 2, one line), for every command."""
    import numpy as np
    import soundfile as sf

    wav = tmp_path / "a.wav"
    sf.write(wav, 0.3 * np.sin(2 * np.pi * 220 * np.arange(3 * 16000) / 16000), 16000)
    filled = [a.format(wav=wav, mid=song, out=tmp_path / "out") for a in args]
    proc = run_mtk(*filled)
    assert proc.returncode == 2 and proc.stdout == b"", proc.stderr
    assert "unknown model 'nosuch'" in proc.stderr.decode() and proc.stderr.decode().count("\n") == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.mid").exists()


def test_one_input_into_a_folder(song: Path, tmp_path: Path) -> None:
    out = tmp_path / "wav"
    out.mkdir()
    proc = run_mtk("render", str(song), "-o", str(out), *BUILTIN)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output"] == str(out / "song.wav") and (out / "song.wav").is_file()
