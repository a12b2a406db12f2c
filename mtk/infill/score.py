"""Melodies to and from MIDI (miditoolkit), and from music21's tune books.

MIDI written here holds the melody on one track, the tempo, the time signatures, one marker
per section (its label) at the section's first bar line and an ``end`` marker at the final
bar line (trailing rests have no events), so reading it back gives the same
:class:`~mtk.infill.tokens.Melody`.
"""

from __future__ import annotations

import miditoolkit

from mtk.infill.tokens import TICKS_PER_QUARTER, Melody, Section, meter_map, quantize

MIDI_TPB = 480  # MIDI ticks per quarter note; 40 per grid tick
END_MARKER = "end"


def to_midi(melody: Melody, *, program: int = 73) -> miditoolkit.MidiFile:
    """The melody as a MIDI file (one track, flute by default)."""
    scale = MIDI_TPB // TICKS_PER_QUARTER
    midi = miditoolkit.MidiFile(ticks_per_beat=MIDI_TPB)
    midi.tempo_changes = [miditoolkit.TempoChange(float(melody.tempo), 0)]
    midi.time_signature_changes = [
        miditoolkit.TimeSignature(m[0], m[1], melody.bar_start(bar) * scale)
        for bar, m in ((0, melody.meter), *melody.changes)
    ]
    inst = miditoolkit.Instrument(program=program, name="melody")
    inst.notes = [miditoolkit.Note(90, n.pitch, n.start * scale, (n.start + n.duration) * scale) for n in melody.notes]
    midi.instruments = [inst]
    midi.markers = [miditoolkit.Marker(s.label, melody.bar_start(s.first_bar) * scale) for s in melody.sections]
    midi.markers.append(miditoolkit.Marker(END_MARKER, melody.bar_start(melody.n_bars) * scale))
    return midi


def from_midi(midi: miditoolkit.MidiFile, track: int = 0) -> Melody:
    """Track ``track`` of a MIDI file as a melody on the grid (quantised), with the first
    tempo, its time signatures and sections from markers when it has them."""
    q = midi.ticks_per_beat
    signatures = [
        (round(ts.time / q * TICKS_PER_QUARTER), (ts.numerator, ts.denominator)) for ts in midi.time_signature_changes
    ]
    meter, changes = meter_map(signatures)  # ValueError for a meter without a token
    tempo = midi.tempo_changes[0].tempo if midi.tempo_changes else 120.0
    notes = quantize([(n.pitch, n.start / q, (n.end - n.start) / q) for n in midi.instruments[track].notes])
    grid = Melody(meter, tempo, notes, 0, changes=changes)
    last_onset = max((n.start for n in notes), default=0)
    ends = [grid.bar_of(round(m.time / q * TICKS_PER_QUARTER)) for m in midi.markers if m.text == END_MARKER]
    n_bars = max([grid.bar_of(last_onset) + 1, *ends])
    marks = {grid.bar_of(round(m.time / q * TICKS_PER_QUARTER)): m.text for m in midi.markers if m.text != END_MARKER}
    starts = sorted(marks.items())
    sections = [
        Section(first, starts[i + 1][0] if i + 1 < len(starts) else n_bars, label)
        for i, (first, label) in enumerate(starts)
        if first < n_bars
    ]
    return Melody(meter, tempo, notes, n_bars, sections, changes=tuple((b, m) for b, m in changes if b < n_bars))
