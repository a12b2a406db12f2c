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
    import mir_eval

    from mtk.transcribe.components import EVAL_CLASSES

    y, hits, _ = kit_stem
    events = transcriber.from_audio(y, 16000).events
    f1 = {}
    for name, members in EVAL_CLASSES.items():
        est = np.array([e.time for e in events if e.drum in members])
        f1[name], _, recall = mir_eval.onset.f_measure(np.array(hits[name]), est, window=0.05)
        assert recall == 1.0, name  # every hit is found
    # Kicks are exact. False snares where only the hi-hat plays (GMRockKit's hat partly
    # explained by its snare) and soft false hi-hats 9 ms after snares keep the mean at 0.78,
    # short of the 0.95 (see the model card).
    assert f1["kick"] == 1.0 and np.mean(list(f1.values())) >= 0.75, f1


GOLDEN = [
    (0.249, "hihat_closed", 51),
    (0.254, "kick", 103),
    (0.501, "snare", 45),
    (0.501, "hihat_closed", 54),
    (0.749, "snare", 80),
    (0.758, "hihat_closed", 18),
    (1.001, "hihat_closed", 51),
    (1.254, "kick", 92),
    (1.501, "snare", 49),
    (1.501, "hihat_closed", 65),
    (1.749, "snare", 69),
    (1.758, "hihat_closed", 14),
    (2.001, "snare", 27),
    (2.001, "hihat_closed", 48),
    (2.254, "kick", 76),
    (2.501, "snare", 24),
    (2.501, "hihat_closed", 62),
    (2.749, "snare", 127),
    (2.758, "hihat_closed", 16),
    (3.004, "kick", 75),
    (3.501, "snare", 31),
    (3.501, "hihat_closed", 54),
    (3.749, "snare", 80),
    (3.758, "hihat_closed", 18),
    (4.001, "hihat_closed", 48),
    (4.249, "hihat_closed", 1),
    (4.254, "kick", 97),
    (4.501, "hihat_closed", 48),
    (4.749, "snare", 48),
    (4.758, "hihat_closed", 10),
    (5.004, "kick", 98),
    (5.01, "hihat_closed", 1),
    (5.251, "snare", 35),
    (5.251, "hihat_closed", 61),
    (5.501, "snare", 41),
    (5.501, "hihat_closed", 49),
    (5.749, "snare", 84),
    (5.758, "hihat_closed", 20),
    (6.001, "snare", 30),
    (6.001, "hihat_closed", 54),
    (6.254, "kick", 95),
    (6.501, "snare", 30),
    (6.501, "hihat_closed", 53),
]


def test_golden_output(transcriber, kit_stem) -> None:  # type: ignore[no-untyped-def]
    y, _, _ = kit_stem
    events = transcriber.from_audio(y, 16000).events
    assert [e.drum for e in events] == [d for _, d, _ in GOLDEN]
    np.testing.assert_allclose([e.time for e in events], [t for t, _, _ in GOLDEN], atol=0.002)
    np.testing.assert_allclose([e.velocity for e in events], [v for _, _, v in GOLDEN], atol=3)
