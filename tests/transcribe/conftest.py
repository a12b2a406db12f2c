"""Shared fixture: a drum stem made of a recorded kit's one-shots at known times."""

from __future__ import annotations

import numpy as np
import pytest

HITS = {
    "kick": [0.25, 1.25, 2.25, 3.0, 4.25, 5.0, 6.25],
    "snare": [0.75, 1.75, 2.75, 3.75, 4.75, 5.75],
    "hihat": [0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.5, 4.0, 4.5, 5.25, 5.5, 6.0, 6.5],
}


@pytest.fixture(scope="session")
def rock_kit():  # type: ignore[no-untyped-def]
    """GMRockKit (hydrogen-data), or the test is skipped."""
    from mtk.corpus.kits import installed_kits

    kits = [k for k in installed_kits() if k.name == "GMRockKit"]
    if not kits:
        pytest.skip("hydrogen-data (GMRockKit) not installed: make test-deps")
    return kits[0]


@pytest.fixture(scope="session")
def kit_stem() -> tuple[np.ndarray, dict[str, list[float]], np.ndarray]:
    """7 s at 16 kHz, peak 1: GMRockKit's kick, snare and closed hi-hat at ``HITS``, varied velocities."""
    from mtk.corpus.kits import installed_kits
    from mtk.transcribe.components import kit_bank

    kits = [k for k in installed_kits() if k.name == "GMRockKit"]
    if not kits:
        pytest.skip("hydrogen-data (GMRockKit) not installed: make test-deps")
    bank = kit_bank(kits, 16000)
    comp = {"kick": 0, "snare": 1, "hihat": 2}
    rng = np.random.default_rng(0)
    y = np.zeros(16000 * 7, np.float32)
    for cls, times in HITS.items():
        for t in times:
            i = int(t * 16000)
            n = min(bank.shape[-1], len(y) - i)
            y[i : i + n] += rng.uniform(0.4, 0.8) * bank[0, comp[cls], :n]
    return y / np.abs(y).max(), HITS, bank


# A drum part as people play it (120 bpm, seconds): a bar of groove, a tom run down the kit,
# a crash with a kick on the next one, then quiet snare strokes rising in velocity.
FILL = {
    "kick": [0.0, 1.0, 3.0],
    "snare": [0.5, 1.5],
    "hihat_closed": [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75],
    "tom_high": [2.0, 2.125],
    "tom_mid": [2.25, 2.375],
    "tom_low": [2.5, 2.625, 2.75],
    "crash": [3.0],
}
GHOSTS = [(3.5, 0.12), (3.75, 0.22), (4.0, 0.35), (4.25, 0.5)]  # (time, velocity 0-1)


@pytest.fixture(scope="session")
def fill_stem(rock_kit) -> tuple[np.ndarray, int]:  # type: ignore[no-untyped-def]
    """5 s at 22.05 kHz, peak 1: :data:`FILL` and :data:`GHOSTS` on GMRockKit's plain hits, each
    hit the velocity layer its velocity picks (0.8 for :data:`FILL`)."""
    from mtk.transcribe.components import one_shot

    sr = 22050
    y = np.zeros(sr * 5, np.float32)
    plain = rock_kit.standard_by_class()
    hits = [(t, cls, 0.8) for cls, times in FILL.items() for t in times] + [(t, "snare", v) for t, v in GHOSTS]
    for t, cls, vel in hits:
        shot = one_shot(plain[cls][0], sr, velocity=vel)
        i = int(t * sr)
        n = min(len(shot), len(y) - i)
        y[i : i + n] += vel * shot[:n]
    return y / np.abs(y).max(), sr
