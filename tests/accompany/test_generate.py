"""The language model's cached sampling, and generation of any length, window by window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from mtk.accompany.beats import Beats
from mtk.accompany.conditioning import downbeat_tokens, levels, pool
from mtk.accompany.generate import generate, next_start
from mtk.accompany.infer import BeatAnalysis
from mtk.accompany.lm import DrumLM


@pytest.mark.parametrize("beat", ["low", "mid", "high", None])
def test_cached_steps_equal_the_full_pass(beat: str | None) -> None:
    torch.manual_seed(0)
    lm = DrumLM(width=32, depth=2, encoder_depth=1, context=24, beat=beat, beat_features=5).eval()
    drums, prime = torch.randint(0, 32, (2, 24)), torch.randint(0, 32, (2, 24))
    b = {"low": torch.randn(2, 24, 5), "mid": torch.randint(0, 2, (2, 24)), "high": torch.randint(0, 3, (2, 24))}
    cond = b.get(beat) if beat else None
    with torch.inference_mode():
        full = lm(drums, prime, cond)
        memory, cache = lm.encode_prime(prime), [{} for _ in lm.blocks]
        inp = torch.cat([torch.full((2, 1), lm.start), drums[:, :-1]], 1)
        steps = torch.cat([lm.step(inp[:, i : i + 1], i, memory, cond, cache) for i in range(24)], 1)
    assert torch.allclose(full, steps, atol=1e-5)


def test_causal_logits_do_not_see_the_future() -> None:
    torch.manual_seed(0)
    lm = DrumLM(width=32, depth=2, encoder_depth=1, context=16, beat=None).eval()
    drums, prime = torch.randint(0, 32, (1, 16)), torch.randint(0, 32, (1, 16))
    changed = drums.clone()
    changed[0, 10:] = (changed[0, 10:] + 1) % 32
    with torch.inference_mode():
        a, b = lm(drums, prime), lm(changed, prime)
    assert torch.allclose(a[:, :11], b[:, :11], atol=1e-6)  # logits up to 10 read codes < 10
    assert not torch.allclose(a[:, 11:], b[:, 11:])


def test_same_seed_same_codes_other_seed_other_codes() -> None:
    torch.manual_seed(0)
    lm = DrumLM(width=32, depth=1, encoder_depth=1, context=32, beat="low", beat_features=4).eval()
    prime = np.arange(80) % 32
    beat = np.random.default_rng(0).standard_normal((80, 4)).astype(np.float32)
    a = generate(lm, prime, beat, [0, 16, 32, 48, 64], seed=1, temperature=1.0, top_p=1.0)
    assert a.shape == (80,) and a.min() >= 0 and a.max() < 32
    assert np.array_equal(a, generate(lm, prime, beat, [0, 16, 32, 48, 64], seed=1, temperature=1.0, top_p=1.0))
    assert not np.array_equal(a, generate(lm, prime, beat, [0, 16, 32, 48, 64], seed=2, temperature=1.0, top_p=1.0))


@dataclass
class _Cfg:
    context: int


class PositionLM:
    """A fake model whose code at each window position is that position: the codes of a
    generated song tell where each window started."""

    def __init__(self, context: int, vocab: int = 1000) -> None:
        self.cfg, self.vocab, self.start, self.blocks = _Cfg(context), vocab, vocab, [None]

    def encode_prime(self, prime: torch.Tensor) -> None:
        return None

    def step(self, inp: torch.Tensor, offset: int, memory: None, beat: None, cache: list) -> torch.Tensor:
        pos = torch.arange(offset, offset + inp.shape[1])
        return torch.nn.functional.one_hot(pos, self.vocab).float()[None] * 100.0


def test_long_songs_join_windows_at_downbeats_with_no_gap_or_doubled_bar() -> None:
    context, n = 64, 200
    downbeats = list(range(0, n, 12))
    codes = generate(PositionLM(context), np.zeros(n, dtype=np.int64), None, downbeats, temperature=0.01)
    assert np.array_equal(codes[:context], np.arange(context))  # the first window
    s1 = next_start(context, context, downbeats)
    assert s1 in downbeats and context - context // 2 <= s1 <= context - context // 4
    end2 = s1 + context  # the second window continues the first's codes from s1 on
    assert np.array_equal(codes[context:end2], np.arange(context - s1, context))
    s2 = next_start(end2, context, downbeats)
    assert np.array_equal(codes[end2 : s2 + context], np.arange(end2 - s2, context))


def test_next_start_without_a_downbeat_in_range_takes_a_quarter_context() -> None:
    assert next_start(100, 64, [0, 3]) == 84


def test_beat_levels_pool_frames_into_codes() -> None:
    fps, hop = 100.0, 4
    feats = np.tile(np.arange(12, dtype=np.float32), (3, 1))  # (3 features, 12 frames)
    act = np.zeros((2, 12))
    act[0, 5] = 0.9
    act[1, 9] = 0.8
    beats = Beats(np.array([0.05, 0.09]), np.array([0.09]), 120.0, 2)
    got = levels(BeatAnalysis(feats, act, beats), fps, hop, 3)
    assert np.allclose(got["low"][:, 0], [1.5, 5.5, 9.5])
    assert got["mid"].tolist() == [0, 1, 1]
    assert got["high"].tolist() == [0, 1, 2]
    assert pool(feats[:, :10], hop, 3)[2, 0] == pytest.approx((8 + 9 + 9 + 9) / 4)  # the last frame repeats
    assert downbeat_tokens(np.array([0.0, 0.09, 5.0]), fps, hop, 3) == [0, 2]
