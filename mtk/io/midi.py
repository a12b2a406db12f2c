"""MIDI file I/O through miditoolkit, from and to paths or stdin/stdout."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

from mtk.errors import InputError
from mtk.io.files import STDIO, atomic_write, read_bytes, sniff_format, write_stdout

if TYPE_CHECKING:
    import miditoolkit
    import mido

MIDI_EXTENSIONS = (".mid", ".midi", ".smf", ".kar")
# What mido (under miditoolkit too) raises on a truncated or corrupt file.
MIDI_PARSE_ERRORS = (EOFError, OSError, ValueError, KeyError, IndexError, TypeError)


def corrupt_midi(name: str, exc: BaseException) -> InputError:
    """The one-line error for MIDI bytes that do not parse (``exc`` from the parser)."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"{name}: corrupt or truncated MIDI file ({detail})")


def checked_smf(data: bytes, *, name: str = STDIO) -> bytes:
    """Standard MIDI File bytes that every reader in mtk can time: checked, and rewritten
    from SMPTE time to ticks per beat where the file counts in frames.

    A time division of 0 and a ``set_tempo`` of 0 (which parsers divide by) are errors. A
    file timed in SMPTE frames (24, 25, 29.97 or 30 per second, n ticks each) becomes
    ``fps * n`` ticks per beat at one beat per ``fps / rate`` seconds, its tempo events
    dropped (SMPTE time ignores them), so every event keeps its time in seconds.

    Raises:
        InputError: empty, not MIDI, truncated or corrupt, or a division or tempo of 0.
    """
    import mido

    if not data:
        raise InputError(f"{name}: empty file")
    kind = sniff_format(data[:4])
    if kind != "midi":
        what = f"looks like {kind.upper()}" if kind else "no MThd header"
        raise InputError(f"{name}: not a MIDI file ({what})")
    from mido.midifiles.meta import KeySignatureError  # an Exception of its own

    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except (*MIDI_PARSE_ERRORS, KeySignatureError) as exc:
        raise corrupt_midi(name, exc) from None
    if midi.type not in (0, 1, 2):
        raise InputError(f"{name}: invalid MIDI header (format {midi.type}; Standard MIDI Files are 0, 1 or 2)")
    if not midi.tracks:
        raise InputError(f"{name}: MIDI file has no tracks")
    if midi.ticks_per_beat == 0:
        raise InputError(f"{name}: invalid MIDI header (a time division of 0 ticks per beat)")
    for number, track in enumerate(midi.tracks, start=1):
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo" and msg.tempo == 0:
                raise InputError(f"{name}: invalid MIDI file (a tempo of 0 in track {number} at tick {tick})")
    if midi.ticks_per_beat > 0:
        return data
    return _smpte_to_ticks(midi, name)


# SMPTE frame rates by the code in a MIDI header (29: 30 drop-frame, 29.97 frames a second).
SMPTE_RATES = {24: 24.0, 25: 25.0, 29: 30_000 / 1001, 30: 30.0}


def _smpte_to_ticks(midi: mido.MidiFile, name: str) -> bytes:
    import mido

    division = midi.ticks_per_beat & 0xFFFF  # mido reads the header's division as signed
    code, per_frame = 256 - (division >> 8), division & 0xFF
    if code not in SMPTE_RATES or per_frame == 0:
        raise InputError(f"{name}: invalid MIDI header (SMPTE division {code} frames x {per_frame} ticks)")
    nominal = 30 if code == 29 else code
    tempo = round(1e6 * nominal / SMPTE_RATES[code])  # microseconds per beat of nominal * per_frame ticks
    out = mido.MidiFile(type=midi.type, ticks_per_beat=nominal * per_frame, charset=midi.charset)
    for number, track in enumerate(midi.tracks):
        new, pending = mido.MidiTrack(), 0
        if number == 0 or midi.type == 2:  # the conductor track; every sequence of a type-2 file
            new.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
        for msg in track:
            pending += msg.time
            if msg.type != "set_tempo":
                new.append(msg.copy(time=pending))
                pending = 0
        out.tracks.append(new)
    buf = io.BytesIO()
    out.save(file=buf)
    return buf.getvalue()


def midi_seconds(data: bytes) -> float:
    """The length in seconds of checked Standard MIDI File bytes (its last event's time)."""
    import mido

    midi = mido.MidiFile(file=io.BytesIO(data))
    if midi.type == 2:  # independent sequences: the longest track
        return max(mido.MidiFile(type=0, ticks_per_beat=midi.ticks_per_beat, tracks=[t]).length for t in midi.tracks)
    return float(midi.length)


def parse_midi(data: bytes, *, name: str = STDIO, require_notes: bool = False) -> miditoolkit.MidiFile:
    """Parse Standard MIDI File bytes into a ``miditoolkit.MidiFile`` (via :func:`checked_smf`).

    Raises:
        InputError: not a MIDI file, truncated or corrupt, a division or tempo of 0, or
            (with ``require_notes``) containing no notes.
    """
    import miditoolkit

    data = checked_smf(data, name=name)
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
