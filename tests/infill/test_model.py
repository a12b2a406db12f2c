"""The infill Transformer: sizes, causality, attention selecting."""

from __future__ import annotations

import pytest
import torch

from mtk.infill.model import InfillConfig, InfillTransformer, parameter_count
from mtk.infill.tokens import VOCAB


def _model() -> InfillTransformer:
    torch.manual_seed(0)
    return InfillTransformer(InfillConfig(vocab=len(VOCAB), dropout=0.0)).eval()


def _batch(t: int = 12, s: int = 8) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(5, len(VOCAB), (2, t), generator=g)
    orders = torch.zeros(2, t, dtype=torch.long)
    orders[:, t // 2 :] = 1
    contexts = torch.full((2, t), -1)
    contexts[:, t // 2 :] = torch.tensor([[0], [1]])  # target tokens use context 0 (item 0), 1 (item 1)
    struct = torch.randint(5, len(VOCAB), (2, s), generator=g)
    struct_ctx = torch.tensor([[0] * (s // 2) + [1] * (s // 2), [1] * (s // 2) + [-1] * (s // 2)])
    return tokens, orders, contexts, struct, struct_ctx


def test_size_and_shapes() -> None:
    model = _model()
    assert parameter_count(model) == 2_837_044  # 820 tokens
    tokens, orders, contexts, struct, struct_ctx = _batch()
    assert model(tokens, orders, contexts, struct, struct_ctx).shape == (2, 12, len(VOCAB))
    empty = torch.zeros(2, 0, dtype=torch.long)
    assert torch.isfinite(model(tokens, orders, torch.full_like(contexts, -1), empty, empty)).all()


@torch.no_grad()
def test_decoder_is_causal() -> None:
    model = _model()
    tokens, orders, contexts, struct, struct_ctx = _batch()
    base = model(tokens, orders, contexts, struct, struct_ctx)
    changed = tokens.clone()
    changed[:, 8] = 7
    out = model(changed, orders, contexts, struct, struct_ctx)
    torch.testing.assert_close(out[:, :8], base[:, :8])
    assert not torch.allclose(out[:, 8:], base[:, 8:])


@torch.no_grad()
def test_attention_selects_each_tokens_own_context() -> None:
    model = _model()
    tokens, orders, contexts, struct, struct_ctx = _batch()
    base = model(tokens, orders, contexts, struct, struct_ctx)
    other = struct.clone()
    other[0, 4:] = 9  # item 0's context 1, which none of its tokens selects
    torch.testing.assert_close(model(tokens, orders, contexts, other, struct_ctx), base)
    other[0, :4] = 9  # its context 0: the target tokens change, the past does not
    out = model(tokens, orders, contexts, other, struct_ctx)
    torch.testing.assert_close(out[0, :6], base[0, :6])
    assert not torch.allclose(out[0, 6:], base[0, 6:])
    off = torch.full_like(contexts, -1)  # structure switched off: the contexts are never read
    torch.testing.assert_close(
        model(tokens, orders, off, other, struct_ctx), model(tokens, orders, off, struct, struct_ctx)
    )


@torch.no_grad()
def test_incremental_decoding_gives_the_full_forward_logits() -> None:
    from mtk.infill.decode import IncrementalDecoder

    model = _model()
    tokens, orders, contexts, struct, struct_ctx = _batch(t=14)
    full = model(tokens[:1], orders[:1], contexts[:1], struct[:1], struct_ctx[:1])[0]
    dec = IncrementalDecoder(model, struct[:1], struct_ctx[:1])
    got = [dec.feed(tokens[0, :6].tolist(), orders[0, :6].tolist(), contexts[0, :6].tolist())]  # a prompt at once
    for p in range(6, 14):  # then one token at a time
        got.append(dec.feed([int(tokens[0, p])], [int(orders[0, p])], [int(contexts[0, p])]))
    torch.testing.assert_close(torch.stack(got), full[5:], atol=1e-4, rtol=1e-4)


def test_remap_vocabulary_matches_rows_by_token_name() -> None:
    from mtk.infill.model import over_vocabulary, remap_vocabulary

    state = {
        "token.weight": torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]),
        "head.weight": torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        "head.bias": torch.tensor([0.5, -2.0, 1.0]),
        "other": torch.tensor([7.0]),
    }
    out = remap_vocabulary(state, ["a", "b", "c"], ["c", "new", "a"])
    assert out["token.weight"].tolist() == [[3.0, 3.0], [2.0, 2.0], [1.0, 1.0]]  # new: the mean row
    assert torch.allclose(out["head.weight"], torch.tensor([[1.0, 1.0], [2 / 3, 2 / 3], [1.0, 0.0]]))
    assert out["head.bias"].tolist() == [1.0, -2.0, 0.5]  # new: as unlikely as the least likely
    assert out["other"] is state["other"]
    ckpt = {"config": {"vocab": 3}, "state_dict": state, "meta": {"vocabulary": ["a", "b", "c"]}}
    config, same = over_vocabulary(ckpt, ["a", "b", "c"])
    assert config == {"vocab": 3} and torch.equal(same["token.weight"], state["token.weight"])
    with pytest.raises(ValueError, match="3 tokens in the weights, 2 in their vocabulary"):
        over_vocabulary({**ckpt, "meta": {"vocabulary": ["a", "b"]}}, ["a"])
