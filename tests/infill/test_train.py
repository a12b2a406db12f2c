"""Infill sequences and a tiny resumable training run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mtk.infill.data import Example, examples, from_json, melody_of, to_json
from mtk.infill.sequence import FUTURE, PAST, TARGET, build, window
from mtk.infill.tokens import TOKEN_ID, VOCAB, Melody, Note, Section, decode
from mtk.infill.train import TrainOptions, collate, train


def _aaba(seed: int = 0) -> Melody:
    """16 bars of 4/4 in quarter notes: phrases A A B A, labelled."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(60, 80, 16), rng.integers(60, 80, 16)
    pitches = [*a, *a, *b, *a]
    notes = [Note(int(p), 12 * i, 12) for i, p in enumerate(pitches)]
    sections = [Section(0, 4, "A"), Section(4, 8, "A"), Section(8, 12, "B"), Section(12, 16, "A")]
    return Melody((4, 4), 120.0, notes, 16, sections)


def test_examples_pick_the_first_same_label_section_as_structure() -> None:
    exs = examples(_aaba())
    assert [(e.first, e.end, e.struct.first_bar if e.struct else None) for e in exs] == [
        (4, 8, 0),
        (8, 12, None),
        (12, 16, 0),
    ]
    assert (exs[2].past, exs[2].future) == (6, 16)  # 6 bars of past; the future ends with the tune


def test_training_sections_follow_the_scores_repeat_signs() -> None:
    """BWV 38.6 repeats its first two phrases (the Stollen): 18 bars whose sections run 0-5,
    5-10, then phrases of 4; on the 4-bar grid alone they would run 0-4, 4-8 ... 12-18."""
    from mtk.corpus.works import WorkRef, parse_work

    work = parse_work(WorkRef("bach", "bach/bwv38.6.mxl"))
    assert [kind for _, kind in work.marks] == ["||", "||"]  # the expanded repeat's two double bars
    melody = melody_of(work)
    assert melody.n_bars == 18 and melody.marks == (5, 10)
    assert [(s.first_bar, s.end_bar, s.label) for s in melody.sections] == [
        (0, 5, "A"),
        (5, 10, "A"),
        (10, 14, "B"),
        (14, 18, "C"),
    ]
    assert from_json(json.loads(json.dumps(to_json(melody)))) == melody


def test_sequences_of_an_example() -> None:
    melody = _aaba()
    ex = examples(melody)[2]  # the last A: past bars 6-11, no future
    seq = build(ex)
    assert len(seq.tokens) == len(seq.orders) == len(seq.contexts)
    words = [VOCAB[t] for t in seq.tokens]
    assert words[0] == "BOS" and words[-1] == "EOS" and words[seq.target_start - 1] == "GAP"
    assert words.index("SEP") == seq.target_start - 2  # no future bars
    target = decode(words[seq.target_start : -1])
    assert target.notes == window(melody, 12, 16).notes
    assert [w for w in words[seq.target_start :] if w.startswith("Bar(")] == ["Bar(3)", "Bar(2)", "Bar(1)", "Bar(0)"]
    assert decode([VOCAB[t] for t in seq.struct]).notes == window(melody, 0, 4).notes
    assert set(seq.orders[: words.index("SEP")]) == {PAST} and set(seq.orders[seq.target_start - 1 :]) == {TARGET}
    assert set(seq.contexts[seq.target_start - 1 :]) == {0} and set(seq.contexts[: seq.target_start - 1]) == {-1}
    off = build(ex, use_struct=False)
    assert off.struct == [] and set(off.contexts) == {-1} and off.tokens == seq.tokens
    middle = build(examples(melody)[0])
    assert FUTURE in middle.orders and VOCAB[middle.tokens[middle.target_start]] == "Bar(3)"


def test_collate_pads_and_masks_the_target() -> None:
    seqs = [build(e) for e in examples(_aaba())]
    batch = collate(seqs)
    n = len(seqs[1].tokens)
    assert batch["tokens"].shape[0] == 3 and batch["struct_contexts"][1].eq(-1).all()  # B has no context
    assert batch["loss_mask"][1].sum() == n - seqs[1].target_start
    assert batch["tokens"][1, n:].eq(TOKEN_ID["PAD"]).all()


def test_tiny_training_learns_and_resumes(tmp_path: Path) -> None:
    records = [{"work": f"w{i}", "split": "train", **to_json(_aaba(i))} for i in range(3)]
    opts = TrainOptions(steps=12, batch=4, lr=1e-3, warmup=1, checkpoint_every=4, log_every=4)
    first = train(records, tmp_path / "run", opts)
    logs = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert first["step"] == 12 and logs[-1]["loss"] < logs[0]["loss"]
    again = train(records, tmp_path / "run", TrainOptions(**{**opts.__dict__, "steps": 16}))
    assert again["step"] == 16 and len((tmp_path / "run" / "log.jsonl").read_text().splitlines()) == 4
    with pytest.raises(ValueError, match="no training example"):
        train([{**records[0], "split": "test"}], tmp_path / "other", opts)


def test_example_label() -> None:
    ex: Example = examples(_aaba())[1]
    assert ex.label == "B" and ex.struct is None


def test_sampled_infills_have_the_gap_bars_and_repeat_under_a_seed() -> None:
    import torch

    from mtk.infill.model import InfillConfig, InfillTransformer
    from mtk.infill.sample import Sampling, infill

    torch.manual_seed(0)
    model = InfillTransformer(InfillConfig(vocab=len(VOCAB), d_model=64, heads=2, feed_forward=128)).eval()
    melody = _aaba()
    ex = examples(melody)[0]  # bars 4-8, structure from bars 0-4
    a = infill(model, ex, rng=np.random.default_rng(3), sampling=Sampling(temperature=1.2))
    b = infill(model, ex, rng=np.random.default_rng(3), sampling=Sampling(temperature=1.2))
    assert a.tokens == b.tokens and a.log_likelihood == b.log_likelihood < 0
    assert a.melody.n_bars == 4 and a.melody.meter == (4, 4)
    assert [t for t in a.tokens if t.startswith("Bar(")] == ["Bar(3)", "Bar(2)", "Bar(1)", "Bar(0)"]
    greedy = infill(model, ex, rng=np.random.default_rng(4), sampling=Sampling(top_k=1))
    again = infill(model, ex, rng=np.random.default_rng(5), sampling=Sampling(top_k=1))
    assert greedy.tokens == again.tokens  # top-1 leaves nothing to chance
    assert infill(model, ex, rng=np.random.default_rng(3), use_struct=False).melody.n_bars == 4


def test_train_command_refuses_an_unknown_source(tmp_path: Path) -> None:
    from tests.conftest import run_mtk

    proc = run_mtk("train", "infill", "--sources", "miscfolk,nope", "-o", str(tmp_path / "run"))
    assert proc.returncode == 2 and b"unknown source(s): nope" in proc.stderr and b"Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_batches_are_neighbours_in_length_order_and_the_rate_warms_up_then_decays() -> None:
    from mtk.infill.train import _similar_lengths, learning_rate

    rng = np.random.default_rng(0)
    for _ in range(50):
        picks = _similar_lengths(1000, 16, rng)
        assert len(set(picks.tolist())) == 16 and 0 <= picks.min() and picks.max() < 1000
        assert picks.max() - picks.min() < 64
    assert sorted(_similar_lengths(5, 16, rng).tolist()) == [0, 1, 2, 3, 4]
    opts = TrainOptions(steps=1000, lr=1e-3, warmup=100)
    assert learning_rate(0, opts) == pytest.approx(1e-5) and learning_rate(99, opts) == pytest.approx(1e-3)
    assert learning_rate(100, opts) == pytest.approx(1e-3) and learning_rate(1000, opts) == pytest.approx(1e-4)
    assert learning_rate(550, opts) == pytest.approx(5.5e-4)
