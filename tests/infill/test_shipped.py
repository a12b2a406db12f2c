"""The shipped infill models: golden outputs, the reference and the closeness shaping the infill."""

from __future__ import annotations

import pytest

from mtk.infill.infer import DEFAULT_MODEL, Infiller, load, plan
from mtk.infill.structure import similarity
from mtk.infill.tokens import Melody, Note

# An AABA tune in 6/8 (not in the training data): 4-bar phrases of 16 notes, eighths to dotted quarters.
A = [67, 71, 74, 72, 71, 69, 67, 64, 62, 64, 66, 67, 69, 66, 62, 67]
B = [76, 74, 72, 71, 72, 74, 76, 78, 79, 78, 76, 74, 72, 69, 66, 67]
RHYTHM = [6, 6, 6, 12, 6, 18]  # two bars of 6/8 in ticks (36 a bar)


def tune(empty_last_a: bool = False) -> Melody:
    notes, t = [], 0
    phrases = [A, A, B] if empty_last_a else [A, A, B, A]
    for phrase in phrases:
        for i, p in enumerate(phrase):
            d = RHYTHM[i % len(RHYTHM)]
            notes.append(Note(p, t, d))
            t += d
        t = -(-t // 144) * 144  # phrases start on 4-bar boundaries
    return Melody((6, 8), 100.0, notes, 16)


@pytest.fixture(scope="module")
def infiller() -> Infiller:
    return load()


def test_the_default_is_the_shipped_model(infiller: Infiller) -> None:
    assert infiller.name == DEFAULT_MODEL == "infill-structformer-v2"


def test_golden_infill(infiller: Infiller) -> None:
    best = infiller.sample(plan(tune(), (12, 16), (0, 4)).example, n=1, seed=0)[0]  # closeness: default (3)
    assert best.melody.n_bars == 4
    assert [(n.pitch, n.start, n.duration) for n in best.melody.notes] == GOLDEN


def test_v1_weights_load_over_the_new_vocabulary_and_give_their_golden_infill() -> None:
    """infill-structformer-v1 was trained on 403 tokens (seven meters); its rows are matched
    to today's vocabulary by name, so without the copy expert it writes what it always wrote."""
    v1 = load("infill-structformer-v1")
    best = v1.sample(plan(tune(), (12, 16), (0, 4)).example, n=1, seed=0, closeness=0.0)[0]
    assert best.melody.n_bars == 4
    assert [(n.pitch, n.start, n.duration) for n in best.melody.notes] == GOLDEN_V1


def test_the_reference_shapes_the_infill(infiller: Infiller) -> None:
    """The last A of AABA, from an empty gap: with bars 1-4 as reference the infills are much
    closer to A than without one, even with the copy expert off, and the closeness orders them
    (seeds fixed, so the figures are exact)."""
    melody = tune(empty_last_a=True)
    a = [n.pitch for n in tune().bar_notes(0, 4)]

    def mean_similarity(reference: tuple[int, int] | None, closeness: float | None = None) -> float:
        found = infiller.sample(plan(melody, (12, 16), reference).example, n=4, seed=0, closeness=closeness)
        assert all(c.melody.n_bars == 4 for c in found)
        return sum(similarity([n.pitch for n in c.melody.notes], a) for c in found) / 4

    without = mean_similarity(None)
    low, default, high = (mean_similarity((0, 4), c) for c in (0.0, 3.0, 6.0))
    assert without < 0.65 < low - 0.15  # measured 0.644 and 0.841
    assert low < default < high == 1.0  # measured 0.841, 0.901, 1.0


# infill-structformer-v1, seed 0: the last A, in 6/8 eighths and quarters (its first bar as in A).
GOLDEN_V1 = [
    (67, 0, 6), (71, 6, 6), (74, 12, 6), (72, 18, 12), (71, 30, 6), (69, 36, 6), (67, 42, 6), (66, 48, 6),
    (64, 54, 18), (69, 72, 12), (67, 84, 6), (66, 90, 6), (67, 96, 12), (69, 108, 6), (66, 114, 6), (67, 120, 12),
]  # fmt: skip
# infill-structformer-v2, seed 0, closeness 3: A's first bar, then its own turn to the cadence.
GOLDEN = [
    (67, 0, 6), (71, 6, 6), (74, 12, 6), (72, 18, 12), (71, 30, 6), (69, 36, 18), (67, 54, 6), (64, 60, 6),
    (62, 66, 6), (69, 72, 12), (66, 84, 6), (67, 90, 12), (69, 102, 6), (69, 108, 6), (66, 114, 6), (67, 120, 6),
    (67, 126, 12),
]  # fmt: skip
