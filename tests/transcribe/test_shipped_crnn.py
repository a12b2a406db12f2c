"""The shipped CRNN: drum parts as people play them come back, and its output is pinned."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.weights.registry import entries
from tests.transcribe.conftest import FILL, GHOSTS

pytest.importorskip("torch")
NAME = "transcribe-crnn-v4"
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


@pytest.mark.xfail(
    strict=True,
    reason="v4 names every stroke of the run a floor tom and hears two floor toms also as kicks (card)",
)
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


@pytest.mark.xfail(strict=True, reason="v4 misses the quietest ghost stroke (velocity 15; v3 found it; card)")
def test_every_ghost_note_comes_back(fill_events) -> None:  # type: ignore[no-untyped-def]
    assert None not in _ghosts(fill_events)


def _f1(crnn, y, sr):  # type: ignore[no-untyped-def]
    import mir_eval

    from mtk.transcribe.components import EVAL_CLASSES
    from tests.transcribe.conftest import HITS

    events = crnn.from_audio(y, sr).events
    return {
        name: mir_eval.onset.f_measure(np.array(HITS[name]), np.array([e.time for e in events if e.drum in m]), 0.05)[0]
        for name, m in EVAL_CLASSES.items()
    }


def test_band_limited_audio_loses_no_kick_or_hi_hat(crnn, kit_stem) -> None:  # type: ignore[no-untyped-def]
    """The known-hits stem at 16 kHz (nothing above 8 kHz): every kick and hi-hat and nothing
    else of them (v1, trained without band-limited excerpts, found the kicks only)."""
    y, _, _ = kit_stem
    f1 = _f1(crnn, y, 16000)
    assert f1["kick"] == 1.0 and f1["hihat"] == 1.0, f1


@pytest.mark.xfail(strict=True, reason="v4 adds snares under GMRockKit's hi-hats (card)")
def test_known_hits_transcribed_back(crnn, kit_stem) -> None:  # type: ignore[no-untyped-def]
    y, _, _ = kit_stem
    assert min(_f1(crnn, y, 16000).values()) >= 0.95


# v4 on the fill stem (the card says what it misses)
GOLDEN = [
    (0.0, "kick", 81),
    (0.0, "snare", 55),
    (0.0, "hihat_closed", 92),
    (0.249, "snare", 45),
    (0.249, "hihat_closed", 87),
    (0.499, "snare", 60),
    (0.748, "snare", 41),
    (0.748, "hihat_closed", 88),
    (0.998, "kick", 87),
    (0.998, "snare", 43),
    (0.998, "hihat_closed", 93),
    (1.247, "hihat_closed", 89),
    (1.257, "snare", 59),
    (1.497, "snare", 67),
    (1.746, "hihat_closed", 87),
    (1.756, "snare", 67),
    (1.995, "tom_low", 80),
    (2.125, "tom_low", 86),
    (2.255, "tom_low", 86),
    (2.375, "tom_low", 86),
    (2.494, "kick", 92),
    (2.504, "tom_low", 86),
    (2.624, "tom_low", 87),
    (2.744, "kick", 92),
    (2.754, "tom_low", 90),
    (3.003, "kick", 102),
    (3.003, "crash", 105),
    (3.751, "snare", 40),
    (4.001, "snare", 42),
    (4.25, "snare", 51),
]


def test_golden_output(fill_events) -> None:  # type: ignore[no-untyped-def]
    got = [(round(e.time, 3), e.drum, e.velocity) for e in fill_events]
    assert len(got) == len(GOLDEN)
    for (t, drum, vel), (gt, gdrum, gvel) in zip(got, GOLDEN, strict=True):
        assert drum == gdrum and abs(t - gt) < 0.002 and abs(vel - gvel) <= 2
