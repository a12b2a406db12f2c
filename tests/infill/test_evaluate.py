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
