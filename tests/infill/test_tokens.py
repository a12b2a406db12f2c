"""Known answers for the infill tokens, MIDI round trips and structure analysis."""

from __future__ import annotations

import io

import miditoolkit
import numpy as np
import pytest

from mtk.infill.score import from_midi, to_midi
from mtk.infill.structure import analyze, phrase_bounds, similarity
from mtk.infill.tokens import (
    METERS,
    TOKEN_ID,
    VOCAB,
    Melody,
    Note,
    Section,
    bar_ticks,
    decode,
    encode,
    ids,
    quantize,
)


def _random_melody(meter: tuple[int, int], seed: int, n_bars: int = 8) -> Melody:
    """Notes on the grid, with triplets, rests, and notes tied over bar lines."""
    rng = np.random.default_rng(seed)
    steps = [2, 3, 4, 6, 8, 12, 18, 24]  # sixteenth triplet ... half note, in ticks
    notes, t, end = [], 0, n_bars * bar_ticks(meter)
    while t < end - 2:
        d = int(min(rng.choice(steps), end - t))
        if rng.random() < 0.85:
            notes.append(Note(int(rng.integers(55, 90)), t, d))
        t += d
    half = n_bars // 2
    return Melody(meter, 100.0, notes, n_bars, [Section(0, half, "A"), Section(half, n_bars, "B")])


def _midi_round_trip(melody: Melody) -> Melody:
    buf = io.BytesIO()
    to_midi(melody).dump(file=buf)
    buf.seek(0)
    return from_midi(miditoolkit.MidiFile(file=buf))


@pytest.mark.parametrize("meter", METERS)
def test_tokens_and_midi_round_trips_are_exact_in_every_meter(meter: tuple[int, int]) -> None:
    melody = _random_melody(meter, seed=sum(meter))
    tokens = encode(melody)
    back = decode(tokens)
    assert back.notes == melody.notes and back.sections == melody.sections and back.meter == meter
    assert encode(_midi_round_trip(melody)) == tokens
    assert all(t in TOKEN_ID for t in tokens)


def test_bar_positions_and_count_down_in_odd_meters() -> None:
    for meter, ticks in (((3, 8), 18), ((5, 4), 60), ((7, 8), 42), ((5, 8), 30), ((3, 2), 72)):
        assert bar_ticks(meter) == ticks
        notes = [Note(60, 0, 6), Note(62, 2 * ticks - 6, 6), Note(64, 2 * ticks, 3)]
        melody = Melody(meter, 120.0, notes, 3, [Section(0, 3, "A")])
        name = f"Meter({meter[0]}/{meter[1]})"
        assert encode(melody) == [
            *("Bar(2)", name, "Tempo(120)", "Struct(A)", "Position(0)", "Pitch(60)", "Duration(6)"),
            *("Bar(1)", "Struct(A)", f"Position({ticks - 6})", "Pitch(62)", "Duration(6)"),
            *("Bar(0)", "Struct(A)", "Position(0)", "Pitch(64)", "Duration(3)"),
        ]
        assert decode(encode(melody)) == melody


def _changing() -> Melody:
    """Two bars of 2/4, two of 3/4, one of 6/8 (changes at bars 2 and 4), sections A A."""
    notes = [Note(60, 0, 24), Note(62, 24, 24), Note(64, 48, 36), Note(65, 84, 30), Note(67, 114, 6), Note(69, 126, 18)]
    return Melody((2, 4), 100.0, notes, 5, [Section(0, 2, "A"), Section(2, 5, "A")], changes=((2, (3, 4)), (4, (6, 8))))


def test_a_meter_change_moves_the_bar_lines_and_round_trips() -> None:
    tune = _changing()
    assert [tune.bar_start(b) for b in range(6)] == [0, 24, 48, 84, 120, 156]
    assert [tune.bar_of(t) for t in (0, 23, 24, 47, 48, 83, 84, 119, 120, 155)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert tune.meters() == [(2, 4), (2, 4), (3, 4), (3, 4), (6, 8)]
    tokens = encode(tune)
    assert [t for t in tokens if t.startswith(("Bar", "Meter"))] == [
        *("Bar(1)", "Meter(2/4)", "Bar(0)", "Bar(2)", "Meter(3/4)", "Bar(1)", "Bar(0)", "Meter(6/8)"),
    ]
    assert "Position(30)" in tokens and "Position(6)" in tokens  # onsets count from their own bar line
    assert decode(tokens) == tune
    assert _midi_round_trip(tune) == tune
    from mtk.infill.sequence import window

    part = window(tune, 1, 4)  # 2/4, then 3/4 from its bar 1
    assert part.meter == (2, 4) and part.changes == ((1, (3, 4)),) and part.bar_start(3) == 96
    assert window(tune, 3, 5).meter == (3, 4) and window(tune, 3, 5).changes == ((1, (6, 8)),)


def test_meter_map_puts_changes_on_bar_lines() -> None:
    from mtk.infill.tokens import meter_map

    assert meter_map([]) == ((4, 4), ())
    assert meter_map([(0, (2, 4)), (48, (3, 4)), (84, (3, 4)), (120, (6, 8))]) == ((2, 4), ((2, (3, 4)), (4, (6, 8))))
    assert meter_map([(96, (3, 4))]) == ((4, 4), ((2, (3, 4)),))  # 4/4 until the first signature
    assert meter_map([(0, (3, 4)), (0, (6, 8))]) == ((6, 8), ())  # the later event at a time wins
    with pytest.raises(ValueError, match=r"meter 3/32 is not supported"):
        meter_map([(0, (4, 4)), (96, (3, 32))])


def test_trailing_empty_bars_survive_midi() -> None:
    melody = Melody((3, 4), 90.0, [Note(60, 0, 12)], 4, [Section(0, 4, "A")])
    assert _midi_round_trip(melody).n_bars == 4


def test_bar_count_down_per_section() -> None:
    sections = [Section(0, 4, "A"), Section(4, 8, "A"), Section(8, 10, "B")]
    melody = Melody((4, 4), 120.0, [Note(60, 0, 48)], 10, sections)
    bars = [int(t[4:-1]) for t in encode(melody) if t.startswith("Bar(")]
    assert bars == [3, 2, 1, 0, 3, 2, 1, 0, 1, 0]
    assert decode(encode(melody)).sections == sections  # two A sections stay two


def test_quantize_keeps_triplets_and_the_top_note() -> None:
    notes = quantize([(60, 0.0, 1 / 3), (62, 1 / 3, 1 / 3), (64, 2 / 3, 1 / 3), (67, 1.0, 0.52), (55, 1.0, 2.0)])
    assert [(n.pitch, n.start, n.duration) for n in notes] == [(60, 0, 4), (62, 4, 4), (64, 8, 4), (67, 12, 6)]
    assert quantize([(60, 0.0, 9.0), (62, 0.5, 1.0)])[0].duration == 6  # cut at the next onset
    assert quantize([(10, 0.0, 1.0)])[0].pitch == 22  # folded into the piano range


def test_vocabulary() -> None:
    assert len(VOCAB) == len(set(VOCAB)) and VOCAB[0] == "PAD"
    with pytest.raises(KeyError, match="Pitch"):
        ids(["Pitch(200)"])


def _tune(phrases: list[list[int]]) -> Melody:
    """4/4 phrases of 4 bars, one pitch list each, in quarter notes (16 per phrase)."""
    notes = [Note(p, (16 * i + k) * 12, 12) for i, phrase in enumerate(phrases) for k, p in enumerate(phrase)]
    return Melody((4, 4), 120.0, notes, 4 * len(phrases))


def test_structure_analysis_finds_a_planted_aaba() -> None:
    rng = np.random.default_rng(3)
    a, b = [int(x) for x in rng.integers(60, 80, 16)], [int(x) for x in rng.integers(60, 80, 16)]
    labels = [s.label for s in analyze(_tune([a, a, b, a]))]
    assert labels == ["A", "A", "B", "A"]
    varied = a[:15] + [a[15] + 2]  # the last note moved: a variation
    assert [s.label for s in analyze(_tune([a, b, varied]))] == ["A", "B", "A'"]
    assert [(s.first_bar, s.end_bar) for s in analyze(_tune([a, b]))] == [(0, 4), (4, 8)]


def test_any_difference_from_an_earlier_phrase_is_a_variation() -> None:
    """Issue 31: a repeat with one note an octave up, or one note longer, counted as exact."""
    rng = np.random.default_rng(3)
    a, b = [int(x) for x in rng.integers(60, 80, 16)], [int(x) for x in rng.integers(60, 80, 16)]
    octave = a[:7] + [a[7] + 12] + a[8:]
    assert [s.label for s in analyze(_tune([a, b, octave, a]))] == ["A", "B", "A'", "A"]
    tune = _tune([a, b, a])
    longer = [*tune.notes[:-1], Note(tune.notes[-1].pitch, tune.notes[-1].start, 6)]  # the last note shorter
    assert [s.label for s in analyze(Melody((4, 4), 120.0, longer, 12))] == ["A", "B", "A'"]


def test_structure_analysis_lines_phrases_up_after_a_pickup() -> None:
    rng = np.random.default_rng(4)
    a, b = [int(x) for x in rng.integers(60, 80, 16)], [int(x) for x in rng.integers(60, 80, 16)]
    tune = _tune([a, a, b, a])
    notes = [Note(59, 36, 12)] + [Note(n.pitch, n.start + 48, n.duration) for n in tune.notes]  # a one-beat pickup
    sections = analyze(Melody((4, 4), 120.0, notes, 17))
    assert [(s.first_bar, s.end_bar, s.label) for s in sections] == [
        (0, 5, "A"),
        (5, 9, "A'"),
        (9, 13, "B"),
        (13, 17, "A"),
    ]


def test_structure_analysis_takes_the_scores_marks_as_section_edges() -> None:
    rng = np.random.default_rng(5)
    a, b = [int(x) for x in rng.integers(60, 80, 16)], [int(x) for x in rng.integers(60, 80, 16)]
    tune = _tune([a, a, b, a])  # 16 bars: without marks, phrases of 4 bars
    assert [(s.first_bar, s.end_bar) for s in analyze(tune)] == [(0, 4), (4, 8), (8, 12), (12, 16)]
    # A double bar after bar 6 (a 6-bar strain): phrases start again there, and the 2-bar
    # remainders join the last phrase of their section.
    marked = Melody(tune.meter, tune.tempo, tune.notes, 16, marks=(6,))
    assert phrase_bounds(marked, 4) == [(0, 6), (6, 10), (10, 16)]
    assert phrase_bounds(Melody(tune.meter, tune.tempo, tune.notes, 16, marks=(2, 8)), 4) == [
        (0, 2),
        (2, 8),
        (8, 12),
        (12, 16),
    ]
    # A mark after a pickup bar does not split the pickup from its phrase.
    pickup = [Note(59, 36, 12)] + [Note(n.pitch, n.start + 48, n.duration) for n in tune.notes]
    assert phrase_bounds(Melody((4, 4), 120.0, pickup, 17, marks=(1, 9)), 4) == [(0, 5), (5, 9), (9, 13), (13, 17)]
    # Marks outside the melody are ignored; sections keep labels by similarity.
    labels = [s.label for s in analyze(Melody(tune.meter, tune.tempo, tune.notes, 16, marks=(0, 8, 16, 40)))]
    assert labels == ["A", "A", "B", "A"]


def test_similarity_known_answers() -> None:
    m = [60, 62, 64, 65, 67, 69, 71, 72]
    assert similarity(m, m) == 1.0
    assert similarity(m, [p + 12 for p in m]) == 1.0  # circular pitch distance
    assert similarity(m, m[:4] + [61] + m[4:]) == pytest.approx(1 - 3 / (6 * 8 + 3))  # one skip
    assert similarity([60] * 8, [66] * 8) == 0.0  # every note a tritone away
    assert similarity([], []) == 1.0 and similarity(m, []) == 0.0


def test_grammar_forces_the_bar_count_whatever_is_sampled() -> None:
    from mtk.infill.grammar import TargetGrammar

    rng = np.random.default_rng(0)
    for n_bars, meter in ((1, (3, 4)), (4, (6, 8)), (2, (4, 4)), (3, (5, 8))):
        grammar = TargetGrammar([meter] * n_bars, tempo=117.0, label="A'")
        out = []
        while not grammar.finished:
            options = grammar.allowed()
            token = options[int(rng.integers(len(options)))] if rng.random() < 0.7 else options[-1]
            grammar.step(token)
            out.append(VOCAB[token])
        assert out[-1] == "EOS" and grammar.allowed() == []
        melody = decode(out)
        assert melody.n_bars == n_bars and melody.meter == meter and melody.tempo == 116.0
        assert [t for t in out if t.startswith("Bar(")] == [f"Bar({k})" for k in range(n_bars - 1, -1, -1)]
        assert all(n.start // bar_ticks(meter) < n_bars for n in melody.notes)
        assert all(a.start < b.start for a, b in zip(melody.notes, melody.notes[1:], strict=False))
    with pytest.raises(ValueError, match="not allowed"):
        TargetGrammar([(4, 4)] * 2, tempo=120, label="A").step(TOKEN_ID["EOS"])


def test_grammar_follows_a_meter_change() -> None:
    from mtk.infill.grammar import TargetGrammar

    meters = [(2, 4), (3, 4), (3, 4), (7, 8)]
    rng = np.random.default_rng(1)
    for _ in range(5):
        grammar = TargetGrammar(meters, tempo=100.0, label="B")
        out, widest = [], [0] * 4
        while not grammar.finished:
            options = grammar.allowed()
            token = options[int(rng.integers(len(options)))] if rng.random() < 0.8 else options[-1]
            if VOCAB[token].startswith("Position"):
                widest[grammar.bars - 1] = max(widest[grammar.bars - 1], int(VOCAB[token][9:-1]))
            grammar.step(token)
            out.append(VOCAB[token])
        melody = decode(out)
        assert melody.meters() == meters and melody.changes == ((1, (3, 4)), (3, (7, 8)))
        assert all(w < bar_ticks(m) for w, m in zip(widest, meters, strict=True))
        assert [t for t in out if t.startswith("Meter")] == ["Meter(2/4)", "Meter(3/4)", "Meter(7/8)"]
