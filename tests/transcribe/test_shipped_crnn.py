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


@pytest.mark.xfail(strict=True, reason="v1 hears the high toms as nothing and the floor toms also as kicks (card)")
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


def _ghosts(events):  # type: ignore[no-untyped-def]
    """The velocity of the snare found at each ghost stroke (None: not found)."""
    found = [[e for e in _near(events, t) if e.drum == "snare"] for t, _ in GHOSTS]
    return [f[0].velocity if f else None for f in found]


def test_ghost_notes_keep_their_velocity_order(fill_events) -> None:  # type: ignore[no-untyped-def]
    velocities = [v for v in _ghosts(fill_events) if v is not None]
    assert len(velocities) >= 3 and velocities == sorted(velocities) and len(set(velocities)) == len(velocities)


@pytest.mark.xfail(strict=True, reason="v1 hears the quietest ghost stroke (velocity 0.12) as a hi-hat (card)")
def test_every_ghost_note_comes_back(fill_events) -> None:  # type: ignore[no-untyped-def]
    assert None not in _ghosts(fill_events)


@pytest.mark.xfail(strict=True, reason="v1 needs full-band audio: in this 16 kHz stem it finds the kicks only (card)")
def test_known_hits_transcribed_back_from_16_khz(crnn, kit_stem) -> None:  # type: ignore[no-untyped-def]
    import mir_eval

    from mtk.transcribe.components import EVAL_CLASSES

    y, hits, _ = kit_stem
    events = crnn.from_audio(y, 16000).events
    f1 = {}
    for name, members in EVAL_CLASSES.items():
        est = np.array([e.time for e in events if e.drum in members])
        f1[name] = mir_eval.onset.f_measure(np.array(hits[name]), est, window=0.05)[0]
    assert min(f1.values()) >= 0.95, f1


# v1 on the fill stem (see the card for what it misses)
GOLDEN = [
    (0.0, "kick", 73),
    (0.0, "hihat_closed", 96),
    (0.249, "snare", 55),
    (0.249, "hihat_closed", 90),
    (0.499, "snare", 58),
    (0.499, "hihat_closed", 87),
    (0.748, "snare", 42),
    (0.748, "hihat_closed", 90),
    (0.998, "kick", 79),
    (0.998, "hihat_closed", 99),
    (1.247, "snare", 52),
    (1.247, "hihat_closed", 90),
    (1.497, "snare", 63),
    (1.497, "hihat_closed", 86),
    (1.746, "snare", 53),
    (1.746, "hihat_closed", 92),
    (2.125, "tom_low", 80),
    (2.245, "hihat_closed", 59),
    (2.245, "tom_low", 90),
    (2.375, "hihat_closed", 58),
    (2.375, "tom_low", 91),
    (2.494, "kick", 101),
    (2.494, "tom_low", 97),
    (2.624, "kick", 99),
    (2.624, "hihat_closed", 58),
    (2.624, "tom_low", 99),
    (2.744, "kick", 102),
    (2.744, "tom_low", 103),
    (3.003, "kick", 103),
    (3.003, "hihat_closed", 70),
    (3.003, "crash", 100),
    (3.502, "hihat_closed", 65),
    (3.751, "snare", 39),
    (4.001, "snare", 47),
    (4.25, "snare", 50),
]


def test_golden_output(fill_events) -> None:  # type: ignore[no-untyped-def]
    got = [(round(e.time, 3), e.drum, e.velocity) for e in fill_events]
    assert len(got) == len(GOLDEN)
    for (t, drum, vel), (gt, gdrum, gvel) in zip(got, GOLDEN, strict=True):
        assert drum == gdrum and abs(t - gt) < 0.002 and abs(vel - gvel) <= 2
