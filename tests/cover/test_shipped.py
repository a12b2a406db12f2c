"""The shipped genre classifier: golden probabilities on a committed recording."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mtk.weights.registry import entries

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [e.name for e in entries("cover-genre") if not e.debug]


@pytest.mark.parametrize("name", SHIPPED)
def test_golden_probabilities(name: str) -> None:
    from mtk.cover.profile import load

    golden = json.loads((Path(__file__).parent / "data" / f"golden-{name}.json").read_text())
    classifier = load(name)
    assert classifier.name == name and classifier.embedder.name == "embed-effnet-multi-v1"
    probs = classifier.probabilities(classifier.vectors()(str(ROOT / golden["input"]))[None])[0]
    assert list(classifier.genres) == list(golden["probabilities"])
    np.testing.assert_allclose(probs, list(golden["probabilities"].values()), rtol=1e-3, atol=1e-5)
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)


def test_the_default_is_v1() -> None:
    from mtk.weights.registry import default_entry

    assert default_entry("cover-genre").name == "cover-genre-v1"
