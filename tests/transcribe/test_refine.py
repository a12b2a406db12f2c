"""Analysis-by-synthesis with the kit known: candidates, the amplitude fit, selection, kits."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.errors import InputError
from mtk.transcribe.infer import DrumEvent
from mtk.transcribe.refine import KitShots, Refit, align, fit_amplitudes, kit_shots, select

torch = pytest.importorskip("torch")
SR, HOP = 16_000, 16


def _shots() -> KitShots:
    """Three made-up one-shots, peak 1: a 60 Hz thump, a noise burst, a short bright tick."""
    rng = np.random.default_rng(0)
    t = np.arange(SR // 2) / SR
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.08)
    snare = rng.standard_normal(len(t)) * np.exp(-t / 0.05)
    hat = np.diff(rng.standard_normal(len(t) + 1)) * np.exp(-t / 0.01)
    shots = np.stack([s / np.abs(s).max() for s in (kick, snare, hat)]).astype(np.float32)
    return KitShots("made-up", ("kick", "snare", "hihat_closed"), ("Kick", "Snare", "Hat"), shots, SR)


def _render(kit: KitShots, hits: list[tuple[int, int, float]], seconds: float = 1.0) -> np.ndarray:
    """``(row, step, amplitude)`` hits through the synthesizer (zero insertion, convolution)."""
    from mtk.transcribe.model import DrumSynthesizer

    act = torch.zeros(1, len(kit.drums), int(seconds * SR) // HOP)
    for row, step, amp in hits:
        act[0, row, step] = amp
    with torch.no_grad():
        return DrumSynthesizer(torch.from_numpy(kit.shots[None]), HOP)(act, torch.zeros(1, dtype=torch.long))[0].numpy()


def test_align_finds_each_one_shot_within_5ms() -> None:
    kit = _shots()
    x = _render(kit, [(0, 200, 0.8), (1, 600, 0.5), (2, 600, 0.3)])
    late = np.array([200 * HOP + 64, 600 * HOP + 40, 600 * HOP - 30])  # detections 4, 2.5 ms late and 2 ms early
    assert align(x, np.array([0, 1, 2]), late, kit).tolist() == [200 * HOP, 600 * HOP, 600 * HOP]


def test_fit_recovers_known_amplitudes_and_silences_a_false_hit() -> None:
    """A kick (0.8) and a snare (0.5) rendered through the kit; the fit starts from wrong
    masses and a false hi-hat on the snare, and finds the true amplitudes, the hi-hat silenced."""
    kit = _shots()
    x = _render(kit, [(0, 200, 0.8), (1, 600, 0.5)])
    rows, steps, init = np.array([0, 1, 2]), np.array([200, 600, 600]), np.array([0.4, 0.9, 0.3])
    mass = fit_amplitudes(x, rows, steps, init, kit, np.ones(3), hop=HOP)
    assert mass[0] == pytest.approx(0.8, rel=0.05) and mass[1] == pytest.approx(0.5, rel=0.05)
    assert mass[2] < 0.02 * mass[1]
    half = fit_amplitudes(x, rows, steps, init, kit, np.full(3, 2.0), hop=HOP)  # the gains scale the masses
    np.testing.assert_allclose(half[:2], mass[:2] / 2, rtol=0.05)


def _event(time: float, drum: str, strength: float) -> DrumEvent:
    return DrumEvent(time, drum, 0, 64, strength, None)


def test_select_keeps_hits_the_fit_left_a_share_of_their_detected_mass() -> None:
    refits = [
        Refit(_event(0.1, "kick", 0.5), "kick", 1.0, 2.0),
        Refit(_event(0.2, "kick", 0.5), "kick", 0.3, 0.6),
        Refit(_event(0.2, "hihat_closed", 0.4), "hihat_open", 0.2, 0.2),  # the fit chose the open hat
        Refit(_event(0.3, "hihat_closed", 0.4), "hihat_closed", 0.01, 0.01),  # 2.5 % of its detected mass
        Refit(_event(0.4, "snare", 0.2), "snare", 0.0, 0.0),  # silenced
    ]
    events = select(refits, keep=0.05)
    assert [(e.time, e.drum) for e in events] == [(0.1, "kick"), (0.2, "kick"), (0.2, "hihat_open")]
    assert [e.velocity for e in events] == [127, 38, 13]  # the fitted amplitudes, linear
    assert events[2].note == 46 and events[2].strength == 0.2
    assert [e.time for e in select(refits, keep=0.0)] == [0.1, 0.2, 0.2, 0.3]  # only the silenced one goes
    assert [e.time for e in select(refits, keep=0.7)] == [0.1]
    assert select([], keep=0.05) == []


def test_kit_shots_by_name_and_folder_and_errors(rock_kit, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mtk.corpus.kits import HYDROGEN_DIRS

    shots = kit_shots("GMRockKit", SR)
    assert shots.name == "GMRockKit" and shots.shots.shape == (len(shots.drums), 2 * SR)
    assert {"kick", "snare", "hihat_closed", "hihat_open"} <= set(shots.drums)
    assert np.allclose(np.abs(shots.shots).max(axis=1), 1.0)
    folder = next(d / "GMRockKit" for d in HYDROGEN_DIRS if (d / "GMRockKit").is_dir())
    assert kit_shots(str(folder), SR).instruments == shots.instruments
    with pytest.raises(InputError, match="neither a Hydrogen kit folder nor an installed kit"):
        kit_shots("no-such-kit", SR)
    (tmp_path / "drumkit.xml").write_text("<drumkit_info><name>x</name></drumkit_info>")
    with pytest.raises(InputError, match="no readable instrument"):
        kit_shots(str(tmp_path), SR)
