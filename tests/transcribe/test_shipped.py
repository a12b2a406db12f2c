"""The shipped DrummerNet: known hits come back, and its output on a fixture is pinned."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.weights.registry import entries

pytest.importorskip("torch")
NAME = "transcribe-drummernet-v2"
pytestmark = pytest.mark.skipif(NAME not in {e.name for e in entries("transcribe")}, reason=f"{NAME} not shipped")


@pytest.fixture(scope="module")
def transcriber():  # type: ignore[no-untyped-def]
    from mtk.transcribe.infer import load

    return load(NAME)


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
    # explained by its snare) and soft false hi-hats 6 ms after snares and on kicks (both on
    # onsets the gate cannot refuse) keep the mean at 0.84 (snare 0.80, hi-hat 0.72) without
    # the kit; with the kit known, every one of them goes (the next test; see the model card).
    assert f1["kick"] == 1.0 and np.mean(list(f1.values())) >= 0.8, f1


def test_known_hits_transcribed_back_with_the_kit_known(transcriber, kit_stem, rock_kit) -> None:  # type: ignore[no-untyped-def]
    """The issue's known-answer test: the same stem, refitted with the kit that played it
    (`mtk transcribe --kit GMRockKit`), every hit and no other."""
    import copy

    import mir_eval

    from mtk.transcribe.components import EVAL_CLASSES
    from mtk.transcribe.refine import kit_shots

    y, hits, _ = kit_stem
    refitting = copy.copy(transcriber)
    refitting.kit = kit_shots(rock_kit.name, 16000)
    result = refitting.from_audio(y, 16000)
    assert result.kit == "GMRockKit"
    f1 = {}
    for name, members in EVAL_CLASSES.items():
        est = np.array([e.time for e in result.events if e.drum in members])
        f1[name] = mir_eval.onset.f_measure(np.array(hits[name]), est, window=0.05)[0]
    assert min(f1.values()) >= 0.95, f1
    assert len(result.events) == sum(len(t) for t in hits.values())  # no hit of another drum either


GOLDEN = [
    (0.249, "hihat_closed", 56),
    (0.254, "kick", 72),
    (0.501, "hihat_closed", 44),
    (0.752, "snare", 73),
    (0.758, "hihat_closed", 20),
    (1.001, "hihat_closed", 49),
    (1.249, "hihat_closed", 1),
    (1.254, "kick", 68),
    (1.501, "snare", 29),
    (1.501, "hihat_closed", 44),
    (1.752, "snare", 71),
    (1.758, "hihat_closed", 15),
    (2.001, "hihat_closed", 49),
    (2.254, "kick", 59),
    (2.501, "hihat_closed", 55),
    (2.752, "snare", 127),
    (2.758, "hihat_closed", 19),
    (3.004, "kick", 61),
    (3.501, "hihat_closed", 48),
    (3.751, "snare", 74),
    (3.758, "hihat_closed", 18),
    (4.001, "hihat_closed", 46),
    (4.249, "hihat_closed", 1),
    (4.254, "kick", 80),
    (4.501, "hihat_closed", 44),
    (4.752, "snare", 55),
    (4.758, "hihat_closed", 12),
    (4.999, "hihat_closed", 2),
    (5.004, "kick", 82),
    (5.251, "snare", 35),
    (5.251, "hihat_closed", 51),
    (5.501, "snare", 34),
    (5.501, "hihat_closed", 54),
    (5.751, "snare", 74),
    (5.758, "hihat_closed", 21),
    (6.001, "hihat_closed", 49),
    (6.249, "hihat_closed", 1),
    (6.254, "kick", 79),
    (6.501, "hihat_closed", 46),
]


def test_golden_output(transcriber, kit_stem) -> None:  # type: ignore[no-untyped-def]
    y, _, _ = kit_stem
    events = transcriber.from_audio(y, 16000).events
    assert [e.drum for e in events] == [d for _, d, _ in GOLDEN]
    np.testing.assert_allclose([e.time for e in events], [t for t, _, _ in GOLDEN], atol=0.002)
    np.testing.assert_allclose([e.velocity for e in events], [v for _, _, v in GOLDEN], atol=3)
