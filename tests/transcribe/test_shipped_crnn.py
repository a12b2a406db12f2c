"""The shipped CRNN: drum parts as people play them come back, and its output is pinned."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.weights.registry import entries
from tests.transcribe.conftest import FILL, GHOSTS

pytest.importorskip("torch")
NAME = "transcribe-crnn-v1"
pytestmark = pytest.mark.skipif(NAME not in {e.name for e in entries("transcribe")}, reason=f"{NAME} not shipped")


@pytest.fixture(scope="module")
def crnn():  # type: ignore[no-untyped-def]
    from mtk.transcribe.infer import load

    return load(NAME)


@pytest.fixture(scope="module")
def fill_events(crnn, fill_stem):  # type: ignore[no-untyped-def]
    y, sr = fill_stem
    return crnn.from_audio(y, sr).events


def _near(events, t: float, window: float = 0.03):  # type: ignore[no-untyped-def]
    return [e for e in events if abs(e.time - t) <= window]


def test_a_tom_run_comes_back_as_toms_not_kicks(fill_events) -> None:  # type: ignore[no-untyped-def]
    toms = [t for cls in ("tom_high", "tom_mid", "tom_low") for t in FILL[cls]]
    for t in toms:
        drums = {e.drum for e in _near(fill_events, t)}
        assert drums & {"tom_high", "tom_mid", "tom_low"}, (t, drums)
        assert "kick" not in drums, (t, drums)
    # high toms first, floor tom last: the run goes down the kit
    found = [e for e in fill_events if 1.95 <= e.time <= 2.8 and e.drum.startswith("tom")]
    order = {"tom_high": 0, "tom_mid": 1, "tom_low": 2}
    assert order[found[0].drum] <= order[found[-1].drum] and found[-1].drum == "tom_low"


def test_a_crash_with_a_kick_on_the_one_comes_back_as_both(fill_events) -> None:  # type: ignore[no-untyped-def]
    drums = {e.drum for e in _near(fill_events, 3.0)}
    assert {"crash", "kick"} <= drums, drums


def test_ghost_notes_keep_their_velocity_order(fill_events) -> None:  # type: ignore[no-untyped-def]
    velocities = []
    for t, _ in GHOSTS:
        snares = [e for e in _near(fill_events, t) if e.drum == "snare"]
        assert snares, t
        velocities.append(snares[0].velocity)
    assert velocities == sorted(velocities) and len(set(velocities)) == len(velocities), velocities


def test_known_hits_transcribed_back(crnn, kit_stem) -> None:  # type: ignore[no-untyped-def]
    import mir_eval

    from mtk.transcribe.components import EVAL_CLASSES

    y, hits, _ = kit_stem
    events = crnn.from_audio(y, 16000).events
    f1 = {}
    for name, members in EVAL_CLASSES.items():
        est = np.array([e.time for e in events if e.drum in members])
        f1[name] = mir_eval.onset.f_measure(np.array(hits[name]), est, window=0.05)[0]
    assert min(f1.values()) >= 0.95, f1


GOLDEN: list[tuple[float, str, int]] = []


def test_golden_output(fill_events) -> None:  # type: ignore[no-untyped-def]
    got = [(round(e.time, 3), e.drum, e.velocity) for e in fill_events]
    assert len(got) == len(GOLDEN)
    for (t, drum, vel), (gt, gdrum, gvel) in zip(got, GOLDEN, strict=True):
        assert drum == gdrum and abs(t - gt) < 0.002 and abs(vel - gvel) <= 2
