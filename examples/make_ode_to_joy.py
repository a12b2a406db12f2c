"""Write examples/ode_to_joy.mid: Beethoven's "Ode to Joy" theme (public domain), arranged,
and examples/ode_to_joy_cover.mid: a cover of it, 3 semitones up, 20 % faster, on alto sax
and nylon guitar, for `mtk detect-cover`.

Four parts on four channels so that `mtk render --stems` has something to split: melody
(flute), chords (acoustic piano), bass (finger bass) and a rock drum pattern on channel 10.
Run `python examples/make_ode_to_joy.py` to rebuild the checked-in files byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import miditoolkit
from miditoolkit import Instrument, Note, TempoChange, TimeSignature

TPB = 480
BAR = 4 * TPB

# (MIDI pitch, beats) for the 16-bar theme in D major; 0 is a rest.
MELODY = [
    (66, 1),
    (66, 1),
    (67, 1),
    (69, 1),
    (69, 1),
    (67, 1),
    (66, 1),
    (64, 1),
    (62, 1),
    (62, 1),
    (64, 1),
    (66, 1),
    (66, 1.5),
    (64, 0.5),
    (64, 2),
    (66, 1),
    (66, 1),
    (67, 1),
    (69, 1),
    (69, 1),
    (67, 1),
    (66, 1),
    (64, 1),
    (62, 1),
    (62, 1),
    (64, 1),
    (66, 1),
    (64, 1.5),
    (62, 0.5),
    (62, 2),
    (64, 1),
    (64, 1),
    (66, 1),
    (62, 1),
    (64, 1),
    (66, 0.5),
    (67, 0.5),
    (66, 1),
    (62, 1),
    (64, 1),
    (66, 0.5),
    (67, 0.5),
    (66, 1),
    (64, 1),
    (62, 1),
    (64, 1),
    (57, 2),
    (66, 1),
    (66, 1),
    (67, 1),
    (69, 1),
    (69, 1),
    (67, 1),
    (66, 1),
    (64, 1),
    (62, 1),
    (62, 1),
    (64, 1),
    (66, 1),
    (64, 1.5),
    (62, 0.5),
    (62, 2),
]
# One chord root per bar (D major: I, V, ...), triads built above the root.
CHORDS = ["D", "A", "D", "A", "D", "A", "D", "A", "A", "D", "A", "D", "D", "A", "D", "D"]
TRIADS = {"D": (50, 54, 57), "A": (45, 49, 52)}
KICK, SNARE, HAT = 36, 38, 42


def build() -> miditoolkit.MidiFile:
    midi = miditoolkit.MidiFile(ticks_per_beat=TPB)
    midi.tempo_changes = [TempoChange(112, 0)]
    midi.time_signature_changes = [TimeSignature(4, 4, 0)]
    melody = Instrument(program=73, name="melody")
    chords = Instrument(program=0, name="chords")
    bass = Instrument(program=33, name="bass")
    drums = Instrument(program=0, is_drum=True, name="drums")

    t = 0
    for pitch, beats in MELODY:
        dur = int(beats * TPB)
        if pitch:
            melody.notes.append(Note(96, pitch + 12, t, t + dur - 20))
        t += dur
    assert t == 16 * BAR, t

    for bar, name in enumerate(CHORDS):
        start = bar * BAR
        for beat in (0, 2):  # half-note comping
            s = start + beat * TPB
            for p in TRIADS[name]:
                chords.notes.append(Note(64, p + 12, s, s + 2 * TPB - 30))
        root = TRIADS[name][0] - 12
        for beat, p in enumerate((root, root + 7, root + 12, root + 7)):
            s = start + beat * TPB
            bass.notes.append(Note(90, p, s, s + TPB - 40))
        for eighth in range(8):
            s = start + eighth * TPB // 2
            drums.notes.append(Note(70 if eighth % 2 else 90, HAT, s, s + 60))
        for beat, pitch in ((0, KICK), (1, SNARE), (2, KICK), (3, SNARE)):
            s = start + beat * TPB
            drums.notes.append(Note(100, pitch, s, s + 120))

    midi.instruments = [melody, chords, bass, drums]
    return midi


def build_cover() -> miditoolkit.MidiFile:
    midi = build()
    for inst in midi.instruments:
        if not inst.is_drum:
            for note in inst.notes:
                note.pitch += 3
    midi.tempo_changes[0].tempo *= 1.2
    midi.instruments[0].program = 65  # alto sax
    midi.instruments[1].program = 24  # nylon guitar
    return midi


if __name__ == "__main__":
    for name, midi in (("ode_to_joy.mid", build()), ("ode_to_joy_cover.mid", build_cover())):
        out = Path(__file__).with_name(name)
        midi.dump(str(out))
        print(out)
