"""The score file ``mtk infill`` reads and writes: MIDI edited at the event level.

A file is read into a :class:`ScoreFile`: the MIDI messages as they are (mido), its meter,
first tempo, its melodic :class:`Line` s (one per track and channel with notes) and the bars
its marker meta-events start (sections, as a DAW or a score writes them). MusicXML and ABC
are converted to MIDI first (:func:`from_music21`, repeats unrolled as played, a pickup bar padded
to a full bar so bar lines fall on the grid, double bars, repeat signs and rehearsal marks
as markers). :meth:`ScoreFile.with_notes` replaces one line's notes with onsets in a range
of bars and keeps every other message of the file, in every track, exactly as it was: mido
rather than miditoolkit, because miditoolkit rebuilds a file from its own model and drops
what it does not model.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtk.corpus.works import expand_repeats, meter_changes, section_marks
from mtk.errors import InputError
from mtk.infill.tokens import (
    TICKS_PER_QUARTER,
    Changes,
    Melody,
    Meter,
    Note,
    bar_of,
    bar_start,
    meter_map,
    nearest_bar,
    quantize,
)
from mtk.io.files import sniff_format
from mtk.io.midi import MIDI_EXTENSIONS, MIDI_PARSE_ERRORS, checked_smf, corrupt_midi

logger = logging.getLogger(__name__)
DRUM_CHANNEL = 9
MUSIC21_SUFFIXES = (".abc", ".xml", ".musicxml", ".mxl", ".krn")
# The key signature names mido writes, by number of sharps (negative: flats).
_MAJOR = dict(zip(range(-7, 8), "Cb Gb Db Ab Eb Bb F C G D A E B F# C#".split(), strict=True))
_MINOR = dict(zip(range(-7, 8), "Abm Ebm Bbm Fm Cm Gm Dm Am Em Bm F#m C#m G#m D#m A#m".split(), strict=True))


@dataclass(frozen=True)
class MidiNote:
    start: int  # MIDI ticks
    end: int
    pitch: int
    velocity: int
    on_index: int  # message indices in the track
    off_index: int | None


@dataclass
class Line:
    """The notes of one channel of one track."""

    track: int  # index in the file
    channel: int  # 0-15
    name: str
    notes: list[MidiNote]

    @property
    def number(self) -> int:
        """The track as users count it, from 1."""
        return self.track + 1

    def polyphony(self) -> float:
        """Share of notes that start while the previous note still sounds."""
        notes = sorted(self.notes, key=lambda n: n.start)
        overlapping = sum(1 for a, b in zip(notes, notes[1:], strict=False) if b.start < a.end and b.start > a.start)
        return overlapping / max(1, len(notes) - 1)

    def mean_pitch(self) -> float:
        return sum(n.pitch for n in self.notes) / max(1, len(self.notes))

    def describe(self) -> dict[str, Any]:
        return {"track": self.number, "channel": self.channel + 1, "name": self.name, "notes": len(self.notes)}


@dataclass
class ScoreFile:
    midi: Any  # mido.MidiFile
    meter: Meter  # the first bar's
    tempo: float
    first_number: int  # how a musician numbers the file's first bar: 1, or 0 for a pickup
    lines: list[Line]
    name: str
    marks: tuple[int, ...] = ()  # 0-based bars that markers start (at the nearest bar line)
    changes: Changes = ()  # (bar, meter) where the time signature changes
    repeats: str = ""  # MusicXML/ABC: "expanded" or "as written (why)"; MIDI has no repeat signs

    def bar_start(self, bar: int) -> int:
        """The MIDI tick of bar line ``bar`` (0-based)."""
        return bar_start(self.meter, self.changes, bar, self.midi.ticks_per_beat)

    def bar_of(self, tick: int) -> int:
        return bar_of(self.meter, self.changes, tick, self.midi.ticks_per_beat)

    @property
    def n_bars(self) -> int:
        """Bars up to the end of the last note of any track (at least to its onset's bar)."""
        notes = [n for line in self.lines for n in line.notes]
        last_onset = self.bar_of(max((n.start for n in notes), default=0)) + 1
        return max(last_onset, self.bar_of(max((n.end for n in notes), default=1) - 1) + 1)

    def nearest_bar(self, tick: int) -> int:
        """The bar line nearest ``tick``."""
        return nearest_bar(self.meter, self.changes, tick, self.midi.ticks_per_beat)

    def bar_index(self, number: int) -> int:
        """The 0-based bar of a bar number as a musician counts it."""
        return number - self.first_number

    def bar_number(self, index: int) -> int:
        return index + self.first_number

    def line(self, spec: str | None = None) -> Line:
        """The line named by ``spec`` (a track number from 1, or a track name), else the melody:
        the highest monophonic line among those with at least a quarter of the busiest one's
        notes (a polyphonic line only when there is no monophonic one)."""
        lines = [x for x in self.lines if x.channel != DRUM_CHANNEL]
        if spec is not None:
            chosen = [x for x in lines if str(x.number) == spec.strip() or x.name == spec]
            if not chosen:
                known = ", ".join(f"{x.number} ({x.name or 'unnamed'})" for x in lines) or "none"
                raise InputError(f"{self.name}: no melodic track {spec!r} (tracks with notes: {known})")
            lines = chosen
        if not lines:
            raise InputError(f"{self.name}: no notes outside the drum channel")
        busiest = max(len(x.notes) for x in lines)
        active = [x for x in lines if len(x.notes) * 4 >= busiest]
        return max(active, key=lambda x: (x.polyphony() <= 0.1, x.mean_pitch(), len(x.notes)))

    def melody(self, line: Line) -> Melody:
        """The line on the grid (the top note where onsets collide), over all the file's bars."""
        q = self.midi.ticks_per_beat
        notes = quantize([(n.pitch, n.start / q, (n.end - n.start) / q) for n in line.notes])
        n_bars = self.n_bars
        return Melody(
            self.meter,
            self.tempo,
            notes,
            n_bars,
            marks=tuple(b for b in self.marks if 0 < b < n_bars),
            changes=tuple((b, m) for b, m in self.changes if b < n_bars),
        )

    def with_notes(self, line: Line, first_bar: int, end_bar: int, notes: list[Note]) -> bytes:
        """The file as MIDI bytes with ``line``'s notes that start in bars ``[first_bar,
        end_bar)`` replaced by ``notes`` (grid ticks from ``first_bar``'s bar line, cut at
        ``end_bar``); every other message is kept as it was."""
        import mido

        lo, hi = self.bar_start(first_bar), self.bar_start(end_bar)
        drop = {i for n in line.notes if lo <= n.start < hi for i in (n.on_index, n.off_index) if i is not None}
        velocities = sorted(n.velocity for n in line.notes) or [80]
        velocity = velocities[len(velocities) // 2]
        scale = self.midi.ticks_per_beat / TICKS_PER_QUARTER
        events: list[tuple[int, int, int, Any]] = []  # (time, priority, order, message)
        now = 0
        for i, msg in enumerate(self.midi.tracks[line.track]):
            now += msg.time
            if i not in drop:
                events.append((now, 3 if msg.type == "end_of_track" else 1, i, msg))
        for k, n in enumerate(notes):
            start = lo + round(n.start * scale)
            end = min(hi, lo + round((n.start + n.duration) * scale))
            if start >= hi or end <= start:
                continue
            events.append((start, 2, k, mido.Message("note_on", channel=line.channel, note=n.pitch, velocity=velocity)))
            events.append((end, 0, k, mido.Message("note_off", channel=line.channel, note=n.pitch, velocity=0)))
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        last = max((e[0] for e in events if e[1] != 3), default=0)
        track = mido.MidiTrack()
        prev = 0
        for time, priority, _, msg in events:
            time = max(time, last) if priority == 3 else time
            track.append(msg.copy(time=time - prev))
            prev = time
        out = mido.MidiFile(type=self.midi.type, ticks_per_beat=self.midi.ticks_per_beat, charset=self.midi.charset)
        out.tracks = [track if i == line.track else t for i, t in enumerate(self.midi.tracks)]
        buf = io.BytesIO()
        out.save(file=buf)
        return buf.getvalue()


def _lines(midi: Any) -> list[Line]:
    lines: list[Line] = []
    for ti, track in enumerate(midi.tracks):
        name = next((m.name for m in track if m.type == "track_name"), "")
        open_notes: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
        by_channel: dict[int, list[MidiNote]] = {}
        now = 0
        for i, msg in enumerate(track):
            now += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append((now, msg.velocity, i))
            elif msg.type in ("note_off", "note_on") and open_notes.get((msg.channel, msg.note)):
                start, vel, on = open_notes[(msg.channel, msg.note)].pop(0)  # first on, first off
                by_channel.setdefault(msg.channel, []).append(MidiNote(start, now, msg.note, vel, on, i))
        for (channel, pitch), pending in open_notes.items():  # never released: end at the track's end
            for start, vel, on in pending:
                by_channel.setdefault(channel, []).append(MidiNote(start, max(now, start + 1), pitch, vel, on, None))
        for channel in sorted(by_channel):
            lines.append(Line(ti, channel, name, sorted(by_channel[channel], key=lambda n: (n.start, n.pitch))))
    return lines


def parse_midi_file(data: bytes, *, name: str, first_number: int = 1) -> ScoreFile:
    """A Standard MIDI File's bytes as a :class:`ScoreFile`, its time signatures as a meter
    map (:func:`mtk.infill.tokens.meter_map`)."""
    import mido

    try:
        midi = mido.MidiFile(file=io.BytesIO(checked_smf(data, name=name)))
    except MIDI_PARSE_ERRORS as exc:
        raise corrupt_midi(name, exc) from None
    events = _meta_times(midi, "time_signature")
    signatures = [(t, (m.numerator, m.denominator)) for t, m in events]
    try:
        meter, changes = meter_map(signatures, midi.ticks_per_beat)
    except ValueError as exc:
        raise InputError(f"{name}: {exc}") from None
    for _, m in signatures:
        if midi.ticks_per_beat * 4 * m[0] % m[1]:
            raise InputError(f"{name}: {midi.ticks_per_beat} ticks per beat do not divide a {m[0]}/{m[1]} bar")
    tempi = [m.tempo for t in midi.tracks for m in t if m.type == "set_tempo"]
    tempo = float(mido.tempo2bpm(tempi[0])) if tempi else 120.0
    lines = _lines(midi)
    if not any(line.notes for line in lines):
        raise InputError(f"{name}: the file has no notes")
    score = ScoreFile(midi, meter, tempo, first_number, lines, name, changes=changes)
    score.marks = tuple(sorted({score.nearest_bar(t) for t, _ in _meta_times(midi, "marker")}))
    return score


def _meta_times(midi: Any, kind: str) -> list[tuple[int, Any]]:
    """``(absolute tick, message)`` of every meta-event of ``kind``, in any track."""
    found = []
    for track in midi.tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type == kind:
                found.append((now, msg))
    return found


def from_music21(path: str, *, name: str) -> ScoreFile:
    """A MusicXML, ABC or Humdrum file (repeats and endings unrolled as played, when music21
    can: ``ScoreFile.repeats`` says) as MIDI: one track per part, the
    first meter, tempo and key in a conductor track with the first part's section marks
    (:func:`mtk.corpus.works.section_marks`) as markers. A pickup is padded to a full bar
    with a leading rest and numbered bar 0, as a musician counts it."""
    import warnings

    import mido
    from music21 import converter, key, meter, tempo

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = converter.Converter()
            reader.parseFileNoPickle(path)  # converter.parse would pickle each file into /tmp/music21
            score = reader.stream
    except Exception as exc:  # music21 raises many kinds on malformed files
        raise InputError(f"{name}: cannot read the score ({type(exc).__name__}: {exc})") from None
    score, repeats = expand_repeats(score)
    parts = list(getattr(score, "parts", [])) or [score]
    measures = list(parts[0].getElementsByClass("Measure"))
    sigs = list(score.recurse().getElementsByClass(meter.TimeSignature))
    # The first bar's own signature (meter_changes reads the later ones bar by bar too).
    sig = (measures[0].timeSignature if measures else None) or (sigs[0] if sigs else meter.TimeSignature("4/4"))
    bar_ql = float(sig.barDuration.quarterLength)
    first_len = float(measures[0].duration.quarterLength) if measures else bar_ql
    shift = bar_ql - first_len if 0 < first_len < bar_ql else 0.0
    tpb = 480
    meta: list[tuple[int, Any]] = [  # (tick, message) of the conductor track
        (0, mido.MetaMessage("time_signature", numerator=sig.numerator, denominator=sig.denominator))
    ]
    for time, (num, den) in meter_changes(parts[0], shift):  # a pickup is padded: later ones move by the padding
        meta.append((round(time * tpb), mido.MetaMessage("time_signature", numerator=num, denominator=den)))
    metronome = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    bpm = float(metronome[0].getQuarterBPM() or 120.0) if metronome else 120.0
    meta.append((0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    keys = list(score.recurse().getElementsByClass(key.KeySignature))
    if keys and -7 <= keys[0].sharps <= 7:
        minor = isinstance(keys[0], key.Key) and keys[0].mode == "minor"
        meta.append((0, mido.MetaMessage("key_signature", key=(_MINOR if minor else _MAJOR)[keys[0].sharps])))
    end = float(parts[0].highestTime) + shift
    for time, kind in section_marks(parts[0], shift):
        if 0 < time < end:  # not the final bar line
            meta.append((round(time * tpb), mido.MetaMessage("marker", text=kind)))
    conductor = mido.MidiTrack()
    prev = 0
    for ticks, msg in sorted(meta, key=lambda e: e[0]):  # stable: at one time, in the order added
        conductor.append(msg.copy(time=ticks - prev))
        prev = ticks
    midi = mido.MidiFile(type=1, ticks_per_beat=tpb)
    midi.tracks.append(conductor)
    for i, part in enumerate(parts):
        channel = i if i < DRUM_CHANNEL else i + 1
        if channel > 15:
            break
        events = []
        for n in part.stripTies().flatten().notes:
            start, dur = float(n.offset) + shift, float(n.quarterLength)
            if dur <= 0:
                continue  # grace notes
            for p in n.pitches:
                events.append((round(start * tpb), 1, p.midi))
                events.append((round((start + dur) * tpb), 0, p.midi))
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=str(getattr(part, "partName", None) or f"part {i + 1}")))
        prev = 0
        for time, on, pitch in sorted(events):
            kind = "note_on" if on else "note_off"
            track.append(mido.Message(kind, channel=channel, note=pitch, velocity=80 if on else 0, time=time - prev))
            prev = time
        midi.tracks.append(track)
    buf = io.BytesIO()
    midi.save(file=buf)
    out = parse_midi_file(buf.getvalue(), name=name, first_number=0 if shift > 0 else 1)
    out.repeats = repeats
    if repeats != "expanded":
        logger.warning("%s: repeats %s", name, repeats)
    return out


def read_score(data: bytes, *, name: str, suffix: str = "") -> ScoreFile:
    """A score from a file's bytes: MIDI by its header, else MusicXML, compressed MusicXML or
    ABC by ``suffix`` or, from stdin, by content."""
    if not data:
        raise InputError(f"{name}: empty file")
    kind = sniff_format(data[:4])
    if kind == "midi":
        return parse_midi_file(data, name=name)
    suffix = suffix.lower()
    if suffix not in MUSIC21_SUFFIXES:
        head = data[:2048].lstrip()
        if data.startswith(b"PK"):
            suffix = ".mxl"
        elif head.startswith(b"<"):
            suffix = ".musicxml"
        elif b"X:" in head or b"\nK:" in head:
            suffix = ".abc"
        else:
            what = f" (looks like {kind.upper()})" if kind else ""
            if suffix in MIDI_EXTENSIONS:
                raise InputError(f"{name}: not a MIDI file{what or ' (no MThd header)'}")
            raise InputError(f"{name}: not a MIDI, MusicXML or ABC file{what}")
    fd, tmp = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return from_music21(tmp, name=name)
    finally:
        Path(tmp).unlink(missing_ok=True)
