"""Shared fixtures: a way to run the real `mtk` in a subprocess, and small MIDI files."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import traceback
from pathlib import Path

import miditoolkit
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_mtk(
    *args: str,
    input: bytes | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m mtk ARGS` with stdin from `input` (or /dev/null) and capture bytes."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("MTK_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "mtk", *args],
        input=input if input is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def invoke_mtk(
    *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`mtk ARGS` in this process (typer's CliRunner), as :func:`run_mtk` reports it: no
    interpreter and torch start-up per run, for tests of what a command writes rather than of
    the process (pipes, signals, import cost)."""
    from typer.testing import CliRunner

    from mtk.cli.main import app

    result = CliRunner().invoke(app, list(args), input=input, env={"NO_COLOR": "1", **(env or {})})
    stderr = result.stderr_bytes
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # what the interpreter would have printed, so that tests of "no traceback" still fail
        trace = "".join(traceback.format_exception(result.exception))
        stderr += trace.encode()
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout_bytes, stderr)


def make_midi(
    notes: list[tuple[int, float, float, int]],
    *,
    program: int = 0,
    drums: bool = False,
    tempo: float = 120.0,
    extra: list[tuple[int, list[tuple[int, float, float, int]]]] | None = None,
) -> bytes:
    """MIDI bytes from (pitch, start s, end s, velocity) notes at a fixed tempo.

    ``extra`` adds more instruments as (program, notes) pairs (program -1 means drums).
    """
    midi = miditoolkit.MidiFile(ticks_per_beat=480)
    midi.tempo_changes = [miditoolkit.TempoChange(tempo, 0)]
    tick = 480 * tempo / 60.0

    def inst(prog: int, is_drum: bool, ns: list[tuple[int, float, float, int]]) -> miditoolkit.Instrument:
        out = miditoolkit.Instrument(program=max(prog, 0), is_drum=is_drum)
        out.notes = [miditoolkit.Note(v, p, round(s * tick), round(e * tick)) for p, s, e, v in ns]
        return out

    midi.instruments = [inst(program, drums, notes)]
    for prog, ns in extra or []:
        midi.instruments.append(inst(prog, prog < 0, ns))
    buf = io.BytesIO()
    midi.dump(file=buf)
    return buf.getvalue()


@pytest.fixture
def a4_midi() -> bytes:
    """One piano A4 (440 Hz) from 0.5 s to 1.5 s."""
    return make_midi([(69, 0.5, 1.5, 100)])


@pytest.fixture
def band_midi() -> bytes:
    """Three channels (piano chord, bass, drums) over two seconds."""
    return make_midi(
        [(60, 0.0, 1.0, 90), (64, 0.0, 1.0, 90), (67, 1.0, 2.0, 90)],
        program=0,
        extra=[(33, [(36, 0.0, 0.9, 100), (43, 1.0, 1.9, 100)]), (-1, [(36, 0.0, 0.1, 110), (38, 0.5, 0.6, 100)])],
    )


@pytest.fixture
def bundled_sf2() -> Path:
    """The TimGM6mb.sf2 inside pretty-midi: always installed with mtk."""
    from mtk.corpus.soundfonts import bundled_soundfont

    path = bundled_soundfont()
    assert path is not None
    return path
