"""Melody similarity, and structure labels from the score's section marks and bar-level self-similarity.

:func:`similarity` is the seed paper's melody-similarity alignment as its public code
describes it: an edit-style alignment of two pitch sequences where a substitution costs the
circular pitch-class distance (0-6 semitones) and skipping a note costs
:data:`SKIP_COST` (its length penalty), normalised to [0, 1] (1: the same pitch classes in
the same order). Written here: it is a few lines of dynamic programming and no library
has it.

:func:`analyze` labels a melody's phrases A, B, ...: the score's sections where it marks
them (``Melody.marks``: double bars, repeat signs, rehearsal marks, MIDI markers), cut into
phrases of :func:`phrase_length` bars (:func:`phrase_bounds`), else phrases of that length
over the whole melody; a phrase note for note the same as an earlier one (pitches, onsets
from the phrase's end, durations) takes its letter; else one whose similarity of pitches and
onsets to the most similar earlier phrase reaches :data:`SAME` takes that letter with a
prime (A'), whatever differs; else a new letter. It is what
``mtk infill`` uses when the user names no reference, and what the training data uses for
every tune (repeats are expanded, so a repeated section is found as an exact repeat).
"""

from __future__ import annotations

import numpy as np

from mtk.infill.tokens import LABELS, TICKS_PER_QUARTER, Melody, Note, Section, bar_ticks

SKIP_COST = 3.0
SAME = 0.8  # phrase similarity at which a phrase repeats an earlier one (a variation: A')


def similarity(a: list[int], b: list[int], *, skip: float = SKIP_COST) -> float:
    """Alignment similarity in [0, 1] of pitch sequences ``a`` and ``b`` (MIDI numbers)."""
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    pa, pb = np.asarray(a) % 12, np.asarray(b) % 12
    diff = np.abs(pa[:, None] - pb[None, :])
    sub = np.minimum(diff, 12 - diff).astype(float)
    n, m = len(a), len(b)
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = skip * np.arange(n + 1)
    cost[0, :] = skip * np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + sub[i - 1, j - 1], cost[i - 1, j] + skip, cost[i, j - 1] + skip)
    worst = 6.0 * min(n, m) + skip * abs(n - m)  # every pair as far apart as pitch classes go
    return float(max(0.0, 1.0 - cost[n, m] / max(worst, 1e-9)))


def phrase_similarity(a: list[Note], b: list[Note]) -> float:
    """Similarity of two phrases (onsets counted from each phrase's start): pitch alignment
    times the overlap (Jaccard) of their onset sets."""
    if not a and not b:
        return 1.0
    onsets_a, onsets_b = {n.start for n in a}, {n.start for n in b}
    rhythm = len(onsets_a & onsets_b) / max(1, len(onsets_a | onsets_b))
    return similarity([n.pitch for n in a], [n.pitch for n in b]) * rhythm


def phrase_length(melody: Melody) -> int:
    """Bars per phrase: about 16 quarter notes (4 bars; 8 of 2/4 or 3/8), halved for melodies
    shorter than two phrases (the first bar's meter counts)."""
    quarters = bar_ticks(melody.meter) / TICKS_PER_QUARTER
    size = 8 if quarters <= 2 else 4
    return size if melody.n_bars >= 2 * size else max(1, size // 2)


def phrase_bounds(melody: Melody, size: int) -> list[tuple[int, int]]:
    """``(first, end)`` bars of phrases: the sections between the score's marks (the whole
    melody when it has none), each cut into phrases of ``size`` bars. A pickup (the first
    bar starts with a rest and the first section has one bar over whole phrases) joins the
    first phrase, and a remainder shorter than a phrase joins the last phrase of its section."""
    n = melody.n_bars
    first_onset = melody.notes[0].start if melody.notes else 0
    marks = sorted({m for m in melody.marks if 0 < m < n})
    if marks and marks[0] == 1 and first_onset > 0:
        marks.pop(0)  # a double bar after the pickup: the pickup still leads into the first phrase
    cuts = [0, *marks, n]
    bounds = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        pickup = 1 if i == 0 and first_onset > 0 and (b - a) % size == 1 and b - a > size else 0
        edges = list(range(a + pickup + size, b, size))
        if edges and b - edges[-1] < size:
            edges.pop()
        bounds += [a, *edges]
    bounds.append(n)
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def analyze(melody: Melody, *, bars: int | None = None) -> list[Section]:
    """Sections of ``bars`` (default :func:`phrase_length`) bars labelled by self-similarity;
    a repeat that is not exact gets a prime (A'). At most 8 letters: later new material
    takes the last one."""
    phrases = phrase_bounds(melody, bars or phrase_length(melody))
    # Onsets from the phrase's end, so a first phrase lengthened by a pickup lines up with
    # its repeats.
    contents = [_relative(melody.bar_notes(s, e), melody.bar_start(e)) for s, e in phrases]
    labels: list[str] = []
    letters = 0
    for i, notes in enumerate(contents):
        exact = next((j for j in range(i) if contents[j] == notes), None)  # same pitches, onsets, durations
        if exact is not None:
            labels.append(labels[exact][0])
            continue
        scores = [phrase_similarity(contents[j], notes) for j in range(i)]
        best = int(np.argmax(scores)) if scores else -1
        if best >= 0 and scores[best] >= SAME:
            labels.append(labels[best][0] + "'")  # any difference, even an octave or a length, is a variation
        else:
            labels.append(LABELS[min(letters, len(LABELS) - 1)])
            letters += 1
    return [Section(s, e, label) for (s, e), label in zip(phrases, labels, strict=True)]


def _relative(notes: list[Note], origin: int) -> list[Note]:
    return [Note(n.pitch, n.start - origin, n.duration) for n in notes]
