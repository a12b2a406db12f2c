"""Harmonize a melody: one chord per bar or half bar, chosen to fit the melody in its key.

A small Viterbi search over the key's diatonic chords. A chord's fit to a slot is the
duration-weighted share of the slot's notes that are chord tones (downbeats count more);
transitions favour common progressions (V-I, IV-V, ii-V ...), the piece opens on the tonic
and cadences V-I. For chorales the evidence is all four of Bach's voices, so the chords
follow Bach's own harmony.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

# (degree name, semitones above the tonic of the root, quality)
MAJOR_CHORDS = [
    ("I", 0, ""),
    ("ii", 2, "m"),
    ("iii", 4, "m"),
    ("IV", 5, ""),
    ("V", 7, ""),
    ("vi", 9, "m"),
    ("V7", 7, "7"),
]
MINOR_CHORDS = [
    ("i", 0, "m"),
    ("iv", 5, "m"),
    ("V", 7, ""),
    ("VI", 8, ""),
    ("III", 3, ""),
    ("VII", 10, ""),
    ("V7", 7, "7"),
]
INTERVALS = {"": (0, 4, 7), "m": (0, 3, 7), "7": (0, 4, 7, 10)}
GOOD_MOVES = {
    ("V", "I"),
    ("V7", "I"),
    ("V", "i"),
    ("V7", "i"),
    ("IV", "V"),
    ("ii", "V"),
    ("ii", "V7"),
    ("IV", "I"),
    ("vi", "ii"),
    ("vi", "IV"),
    ("I", "IV"),
    ("I", "V"),
    ("iv", "V"),
    ("VI", "iv"),
    ("i", "iv"),
    ("i", "V"),
    ("III", "VI"),
    ("VII", "III"),
    ("iii", "vi"),
    ("I", "vi"),
}


@dataclass(frozen=True)
class Chord:
    """A chord at a position: ``start``/``dur`` in quarter notes, ``root`` a pitch class."""

    start: float
    dur: float
    root: int
    quality: str  # "", "m" or "7"
    degree: str

    @property
    def name(self) -> str:
        """Chord symbol as MMA and lead sheets spell it (``C``, ``Am``, ``G7``)."""
        return NOTE_NAMES[self.root] + self.quality

    def pitches(self, octave: int = 4) -> list[int]:
        """MIDI pitches of the chord in root position from ``octave``."""
        base = 12 * (octave + 1) + self.root
        return [base + i for i in INTERVALS[self.quality]]


def harmonize(
    notes: list[tuple[int, float, float]],
    *,
    tonic_pc: int,
    mode: str,
    n_bars: int,
    bar_ql: float,
    slots_per_bar: int = 2,
) -> list[Chord]:
    """Chords for ``n_bars`` bars, ``slots_per_bar`` slots each (1 or 2), merged where equal.

    Args:
        notes: (MIDI pitch, start, duration) in quarter notes; all voices may be given.
        tonic_pc, mode: the key ("major" or "minor").
    """
    table = MAJOR_CHORDS if mode == "major" else MINOR_CHORDS
    slot_ql = bar_ql / slots_per_bar
    n_slots = n_bars * slots_per_bar
    fit = np.zeros((n_slots, len(table)))
    weight = np.zeros(n_slots)
    for pitch, start, dur in notes:
        a, b = start, start + dur
        first, last = int(a // slot_ql), int(min(n_slots - 1, (b - 1e-9) // slot_ql))
        for slot in range(max(first, 0), last + 1):
            overlap = min(b, (slot + 1) * slot_ql) - max(a, slot * slot_ql)
            if overlap <= 0:
                continue
            w = overlap * (1.5 if abs(a - slot * slot_ql) < 1e-6 else 1.0)
            weight[slot] += w
            pc = (pitch - tonic_pc) % 12
            for j, (_, root, quality) in enumerate(table):
                rel = (pc - root) % 12
                tones = INTERVALS[quality]
                fit[slot, j] += w * (
                    1.0 if rel == 0 else 0.9 if rel in tones[1:3] else 0.5 if rel in tones[3:] else -0.7
                )
    score = fit / np.maximum(weight, 1e-9)[:, None]
    score[weight == 0] = 0.0
    score[:, -1] -= 0.15  # V7 only where its seventh is heard
    trans = np.full((len(table), len(table)), -0.1)
    for i, (a, _, _) in enumerate(table):
        for j, (b, _, _) in enumerate(table):
            trans[i, j] = 0.3 if (a, b) in GOOD_MOVES else (0.15 if i == j else -0.1)
    # Viterbi; a change inside a bar (on its second slot) costs a little.
    best = score[0].copy()
    best[0] += 0.6  # open on the tonic
    back = np.zeros((n_slots, len(table)), dtype=int)
    for s in range(1, n_slots):
        mid_bar = s % slots_per_bar != 0
        step = trans - (0.25 * (1 - np.eye(len(table))) if mid_bar else 0.0)
        cand = best[:, None] + step
        back[s] = np.argmax(cand, axis=0)
        best = cand[back[s], np.arange(len(table))] + score[s]
    best[0] += 0.8  # close on the tonic
    path = [int(np.argmax(best))]
    for s in range(n_slots - 1, 0, -1):
        path.append(int(back[s, path[-1]]))
    path.reverse()
    chords: list[Chord] = []
    for s, j in enumerate(path):
        degree, root, quality = table[j]
        if chords and chords[-1].degree == degree:
            last = chords[-1]
            chords[-1] = Chord(last.start, last.dur + slot_ql, last.root, last.quality, last.degree)
        else:
            chords.append(Chord(s * slot_ql, slot_ql, (tonic_pc + root) % 12, quality, degree))
    return chords
