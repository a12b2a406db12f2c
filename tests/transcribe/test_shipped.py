"""The shipped DrummerNet: known hits come back, and its output on a fixture is pinned."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.weights.registry import entries

pytest.importorskip("torch")
SHIPPED = [e.name for e in entries("transcribe") if e.default]
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no transcribe model shipped")


@pytest.fixture(scope="module")
def transcriber():  # type: ignore[no-untyped-def]
    from mtk.transcribe.infer import load

    return load()


def test_known_hits_transcribed_back(transcriber, kit_stem) -> None:  # type: ignore[no-untyped-def]
    from mtk.transcribe.components import EVAL_CLASSES
    from mtk.transcribe.eval import Song, score

    y, hits, _ = kit_stem
    song = Song("s", y, {c: np.array(t) for c, t in hits.items()}, {c: np.full(len(t), 100) for c, t in hits.items()})
    thresholds = {name: transcriber.thresholds[members[0]] for name, members in EVAL_CLASSES.items()}
    result = score([song], [transcriber.activations(y)], transcriber.rate, thresholds)
    assert result["mean_f1"] >= 0.95, result
