"""Drum parts like people play: MMA's variations, Hydrogen's demo songs, generated fills."""

from __future__ import annotations

import numpy as np
import pytest
from miditoolkit import Note

from mtk.corpus import drumparts
from mtk.corpus.arrange import TPB, _tick
from mtk.corpus.styles import CLASS_NOTES

KICK, SNARE, HAT, CRASH = 36, 38, 42, 49
TOMS = {CLASS_NOTES[c] for c in ("tom_low", "tom_mid", "tom_high")}
GRID = drumparts.Grid(4.0, 4, 4)


def _groove(bars: int) -> list[Note]:
    """Kick on 1 and 3, snare on 2 and 4, closed hi-hat on every eighth."""
    out = []
    for bar in range(bars):
        for k in range(8):
            t = (bar * 4 + k / 2) * TPB
            out.append(Note(80, HAT, int(t), int(t) + 60))
            if k in (0, 4):
                out.append(Note(100, KICK, int(t), int(t) + 60))
            if k in (2, 6):
                out.append(Note(100, SNARE, int(t), int(t) + 60))
    return out


def _generate(seed: int, bars: int = 16) -> tuple[list[Note], dict]:
    tick = lambda ql, r=None: _tick(ql, r, 120.0)  # noqa: E731
    return drumparts.generate(_groove(bars), GRID, bars, np.random.default_rng(seed), tick, lambda t: t / TPB)


def test_sources_parse_and_refuse_unknown_ones() -> None:
    assert drumparts.parse_sources("generated, groove,generated") == ("generated", "groove")
    with pytest.raises(ValueError, match="fils"):
        drumparts.parse_sources("groove,fils")


def test_wide_tempo_stays_in_range() -> None:
    rng = np.random.default_rng(0)
    tempos = [drumparts.wide_tempo((60, 84), rng) for _ in range(200)] + [
        drumparts.wide_tempo((120, 180), rng) for _ in range(200)
    ]
    assert min(tempos) >= 55 and max(tempos) <= 210 and max(tempos) > 200 and min(tempos) < 50 * 1.2


def test_generated_fills_end_phrases_and_a_crash_opens_the_next() -> None:
    seen = set()
    for seed in range(12):
        notes, info = _generate(seed)
        assert notes == sorted(notes, key=lambda n: (n.start, n.pitch))
        assert all(0 <= n.start < 16 * 4 * TPB + TPB for n in notes)
        phrases = info["phrases"]
        assert phrases[0]["first_bar"] == 0 and phrases[-1]["end_bar"] == 16
        for i, ph in enumerate(phrases):
            seen.add(ph["feel"])
            if "fill" in ph:
                kind, beats = ph["fill"]["kind"], ph["fill"]["beats"]
                seen.add(kind)
                start = (ph["end_bar"] * 4 - beats) * TPB
                inside = [n for n in notes if start - TPB / 8 <= n.start < ph["end_bar"] * 4 * TPB - TPB / 8]
                assert inside, ph
                if kind == "toms":  # a tom run, with kicks under it and nothing else
                    assert {n.pitch for n in inside} <= TOMS | {KICK} and TOMS & {n.pitch for n in inside}
                if kind == "snare":
                    assert {n.pitch for n in inside} == {SNARE}
                    loud = [n.velocity for n in inside]
                    assert loud[-1] > loud[0]  # a crescendo
            if ph.get("crash"):
                one = phrases[i]["first_bar"] * 4 * TPB
                at_one = {n.pitch for n in notes if abs(n.start - one) < TPB / 16}
                assert {CRASH, KICK} <= at_one and "fill" in phrases[i - 1]
    assert {"toms", "snare", "triplet", "half", "ride"} <= seen


def test_ghost_notes_are_quiet_snares_between_the_backbeats() -> None:
    for seed in range(20):
        notes, info = _generate(seed, bars=8)
        if any(ph.get("ghosts") for ph in info["phrases"]):
            ghosts = [n for n in notes if n.pitch == SNARE and n.velocity <= 50]
            assert ghosts
            assert all(abs(n.start / TPB - round(n.start / TPB)) > 0.1 for n in ghosts)  # off the beat
            return
    pytest.fail("no seed drew ghost notes")


def test_a_drum_doubled_by_a_variation_plays_once() -> None:
    a, b, c = Note(70, 51, 0, 60), Note(90, 51, 10, 70), Note(60, 51, 400, 460)
    out = drumparts._dedupe([a, b, c])
    assert [(n.start, n.velocity) for n in out] == [(0, 90), (400, 60)]


def test_mma_variations_open_fill_and_close() -> None:
    if not drumparts.mma_grooves():
        pytest.skip("mma not installed: make corpus-deps")
    plans = [drumparts.groove_plan("8Beat", 16, np.random.default_rng(s)) for s in range(8)]
    for plan in plans:
        assert len(plan) == 16 and plan[0] == "8BeatIntro" and plan[-1] == "8BeatEnd"
    assert any("8BeatFill" in plan for plan in plans)
    assert all(g.lower() in drumparts.mma_grooves() for plan in plans for g in plan)
    trance = drumparts.groove_plan("Trance", 16, np.random.default_rng(0))  # the library has no TranceFill
    assert "TranceFill" not in trance and trance[-1] == "TranceEnd"


def test_hydrogen_demo_songs_hold_out_two_for_test() -> None:
    songs = drumparts.h2songs()
    if not songs:
        pytest.skip("hydrogen-data not installed: make corpus-deps")
    test = {s.name for s in drumparts.h2songs_for("test")}
    train = {s.name for s in drumparts.h2songs_for("train")}
    assert test == set(drumparts.TEST_H2SONGS) and not test & train and train
    song = drumparts.h2songs_for("train")[0]
    tick = lambda ql, r=None: _tick(ql, r, 120.0)  # noqa: E731
    notes, info = drumparts.hydrogen_part(song, 32.0, np.random.default_rng(1), tick)
    assert info["song"] == song.name and len(info["patterns"]) == 8
    assert notes and all(n.start < 32 * TPB + TPB for n in notes)
    assert {n.pitch for n in notes} <= set(CLASS_NOTES.values())


def test_pflib_sections_take_turns_with_fills_and_an_ending() -> None:
    for seed in range(6):
        family, plan = drumparts.pflib_plan(16, np.random.default_rng(seed))
        assert family in drumparts.PFLIB and len(plan) == 16
        assert plan[0] == family + "A" and plan[-2:] == [family + "E"] * 2
        assert set(plan) <= {family + s for s in ("A", "B", "FA", "FB", "E")}
        fills = [i for i, g in enumerate(plan) if g.startswith(family + "F")]
        assert all(plan[i][-1] == plan[i - 1][-1] for i in fills)  # a section's own fill-in ends it
    if drumparts.mma_grooves():
        assert all(g.lower() in drumparts.mma_grooves() for g in plan)
    assert drumparts.pflib_plan(4, np.random.default_rng(0))[1][-1].endswith("A")  # too short for an ending
