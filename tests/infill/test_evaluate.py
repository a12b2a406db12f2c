"""The evaluation protocol's targets, metrics and baselines, with known answers."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from mtk.infill.data import examples, to_json
from mtk.infill.evaluate import (
    EvalOptions,
    copy_reference,
    evaluate,
    pitch_class_overlap,
    random_bars,
    score,
    table,
    target_examples,
)
from mtk.infill.infer import load
from mtk.infill.sequence import window
from mtk.infill.tokens import Melody, Note, Section


def tune(variation: bool = False) -> Melody:
    """A A' B A in 4/4 quarters; with ``variation`` the second A changes its last note."""
    a = [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 62, 60]
    a2 = [*a[:-1], 55] if variation else a
    b = [69, 69, 67, 67, 65, 65, 64, 64, 62, 64, 65, 67, 69, 71, 72, 67]
    notes = [Note(p, 12 * i, 12) for i, p in enumerate(a + a2 + b + a)]
    sections = [
        Section(0, 4, "A"),
        Section(4, 8, "A'" if variation else "A"),
        Section(8, 12, "B"),
        Section(12, 16, "A"),
    ]
    return Melody((4, 4), 120.0, notes, 16, sections)


def test_targets_are_repeats_of_up_to_four_bars_in_the_split() -> None:
    records = [{"split": "test", **to_json(tune())}, {"split": "train", **to_json(tune())}]
    targets = target_examples(records)
    assert [(t.first, t.end, t.struct.first_bar) for t in targets] == [(4, 8, 0), (12, 16, 0)]  # not B
    assert len(target_examples(records, limit=1)) == 1


def test_metrics_known_answers() -> None:
    same = [Note(60, 0, 12), Note(64, 12, 12)]
    assert pitch_class_overlap(same, same) == pytest.approx(1.0)
    assert pitch_class_overlap(same, [Note(61, 0, 12)]) == 0.0
    assert pitch_class_overlap(same, [Note(72, 0, 12), Note(62, 12, 12)]) == pytest.approx(0.5)
    ex = examples(tune(variation=True))[0]  # A' with A as its structural context
    truth = score(window(ex.melody, ex.first, ex.end), ex)
    assert truth["similarity_truth"] == 1.0 and truth["density_error"] == 0.0 and truth["exact_bars"] == 1.0
    assert 0.9 < truth["similarity_reference"] < 1.0  # one note of sixteen differs
    copied = score(copy_reference(ex), ex)
    assert copied["similarity_reference"] == 1.0 and copied["similarity_truth"] == truth["similarity_reference"]
    rng = np.random.default_rng(0)
    other = Melody((3, 4), 120.0, [Note(70, 0, 36)], 8)
    drawn = random_bars(ex, [other, tune()], rng)  # only the 4/4 tune has the meter
    assert drawn.n_bars == 4 and drawn.meter == (4, 4)


def test_evaluate_runs_every_system_on_the_debug_model() -> None:
    records = [{"split": "test", "work": "oneills:x#1", **to_json(tune(variation=True))}]
    targets = target_examples(records)
    opts = EvalOptions(seeds=(0, 1), ranked=3)
    result = evaluate(partial(load, "infill-debug"), targets, [tune()], opts)
    assert (
        result["model"] == "infill-debug"
        and result["targets"] == 2
        and result["tunes"] == 1
        and result["seeds"] == [0, 1]
    )
    assert result["variations"] == 1  # the A'
    assert result["systems"]["copy-reference"]["variations_similarity_truth"]["mean"] < 1.0
    systems = result["systems"]
    assert list(systems) == [
        "structure-aware",
        "structure-aware, best of 3",
        "structure-agnostic",
        "copy-reference",
        "random-bars",
    ]
    assert systems["copy-reference"]["repeats_similarity_truth"]["mean"] == 1.0  # the A is an exact repeat
    assert all(s["exact_bars"]["mean"] == 1.0 for s in systems.values())
    assert systems["copy-reference"]["similarity_reference"] == {"mean": 1.0, "std": 0.0}
    assert systems["structure-aware"]["nll"] > 0 and "nll" not in systems["random-bars"]
    assert set(result["by_meter"]) == {"4/4"} and set(result["by_book"]) == {"oneills"}
    group = result["by_book"]["oneills"]
    assert group["targets"] == 2 and group["variations"] == 1
    assert group["copy-reference"] == systems["copy-reference"]["similarity_truth"]["mean"]
    lines = table(result).splitlines()
    assert len(lines) == 2 + 5 + 1 + 3 + 1 + 3 and lines[-1].startswith("| oneills | 2 | 1 |")
    # Two worker processes score their shares of the targets to the same numbers.
    assert evaluate(partial(load, "infill-debug"), targets, [tune()], opts, jobs=2) == result


def test_a_reference_with_a_pickup_bar_is_copied_and_followed_from_its_first_full_bar() -> None:
    """A pickup bar (its own 1/4, as music21 gives it) opens the reference A (bars 0-4); the
    repeat (bars 5-8) is four full 4/4 bars. Bar i of the gap answers to bar 1 + i of A, so
    the copy is the repeat note for note and the copy expert at a large closeness writes it."""
    from mtk.infill.data import Example, reference_bars
    from mtk.infill.sample import Sampling, infill

    a = [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 62, 60]
    notes = [Note(55, 0, 12)] + [Note(p, 12 + 12 * i, 12) for i, p in enumerate(a + a)]
    melody = Melody((1, 4), 120.0, notes, 9, [Section(0, 5, "A"), Section(5, 9, "A")], changes=((1, (4, 4)),))
    ex = Example(melody, past=1, first=5, end=9, future=9, struct=Section(0, 5, "A"))
    assert reference_bars(ex) == (1, 5)
    truth = window(melody, 5, 9)
    assert copy_reference(ex).notes == truth.notes
    assert score(copy_reference(ex), ex)["similarity_truth"] == 1.0
    model = load("infill-debug").model
    out = infill(model, ex, sampling=Sampling(closeness=50.0), rng=np.random.default_rng(0))
    assert out.melody.notes == truth.notes
    # The same with the pickup written as a whole 4/4 bar holding only the upbeat (as most
    # tunes of the books have it): that bar is passed over too.
    padded = [Note(55, 36, 12)] + [Note(p, 48 + 12 * i, 12) for i, p in enumerate(a + a)]
    full = Melody((4, 4), 120.0, padded, 9, [Section(0, 5, "A"), Section(5, 9, "A")])
    ex = Example(full, past=1, first=5, end=9, future=9, struct=Section(0, 5, "A"))
    assert reference_bars(ex) == (1, 5) and copy_reference(ex).notes == window(full, 5, 9).notes
    # Copied bar for bar into the gap's own bars: into a 2/4 bar, a 4/4 reference bar gives
    # only the notes of its first half.
    notes = [Note(60, 0, 24), Note(62, 24, 12), Note(64, 36, 12), Note(65, 48, 24), Note(67, 72, 24)]
    changing = Melody((4, 4), 120.0, notes, 3, [Section(0, 1, "A"), Section(1, 3, "A")], changes=((1, (2, 4)),))
    ex = Example(changing, past=0, first=1, end=2, future=3, struct=Section(0, 1, "A"))
    assert [(n.pitch, n.start, n.duration) for n in copy_reference(ex).notes] == [(60, 0, 24)]
    rest = Melody((4, 4), 120.0, [Note(60, 48, 12)], 2, [Section(0, 1, "A"), Section(1, 2, "A")])
    assert copy_reference(Example(rest, past=0, first=1, end=2, future=2, struct=Section(0, 1, "A"))).notes == []
    # A reference no longer than the gap is read from its first bar.
    plain = examples(tune(variation=True))[0]
    assert reference_bars(plain) == (plain.struct.first_bar, plain.struct.end_bar)
