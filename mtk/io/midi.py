"""MIDI file I/O through miditoolkit, from and to paths or stdin/stdout."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

from mtk.errors import InputError
from mtk.io.files import STDIO, atomic_write, read_bytes, sniff_format, write_stdout

if TYPE_CHECKING:
    import miditoolkit

MIDI_EXTENSIONS = (".mid", ".midi", ".smf", ".kar")
# What mido (under miditoolkit too) raises on a truncated or corrupt file.
MIDI_PARSE_ERRORS = (EOFError, OSError, ValueError, KeyError, IndexError, TypeError)


def corrupt_midi(name: str, exc: BaseException) -> InputError:
    """The one-line error for MIDI bytes that do not parse (``exc`` from the parser)."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"{name}: corrupt or truncated MIDI file ({detail})")


def parse_midi(data: bytes, *, name: str = STDIO, require_notes: bool = False) -> miditoolkit.MidiFile:
    """Parse Standard MIDI File bytes into a ``miditoolkit.MidiFile``.

    Raises:
        InputError: not a MIDI file, truncated or corrupt, or (with ``require_notes``)
            containing no notes.
    """
    import miditoolkit

    if not data:
        raise InputError(f"{name}: empty file")
    kind = sniff_format(data[:4])
    if kind != "midi":
        what = f"looks like {kind.upper()}" if kind else "no MThd header"
        raise InputError(f"{name}: not a MIDI file ({what})")
    try:
        midi = miditoolkit.MidiFile(file=io.BytesIO(data))
    except MIDI_PARSE_ERRORS as exc:
        raise corrupt_midi(name, exc) from None
    if require_notes and not any(inst.notes for inst in midi.instruments):
        raise InputError(f"{name}: MIDI file has no notes")
    return midi


def read_midi(source: str | os.PathLike[str], *, require_notes: bool = False) -> miditoolkit.MidiFile:
    """Read a MIDI file from a path or ``-`` (stdin). See :func:`parse_midi`."""
    return parse_midi(read_bytes(source), name=str(source), require_notes=require_notes)


def midi_to_bytes(midi: miditoolkit.MidiFile) -> bytes:
    """Encode a ``miditoolkit.MidiFile`` as Standard MIDI File bytes."""
    buf = io.BytesIO()
    midi.dump(file=buf)
    return buf.getvalue()


def write_midi(dest: str | os.PathLike[str], midi: miditoolkit.MidiFile, *, force: bool = False) -> None:
    """Write MIDI to a path (atomically, refusing to overwrite unless ``force``) or ``-``."""
    data = midi_to_bytes(midi)
    if str(dest) == STDIO:
        write_stdout(data)
    else:
        atomic_write(dest, data, force=force)
