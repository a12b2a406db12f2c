"""The Jukebox-style bottleneck: nearest codes, straight-through gradients, EMA and restarts."""

from __future__ import annotations

import torch

from mtk.nn.vq import Bottleneck


def test_codebook_vectors_encode_to_themselves() -> None:
    torch.manual_seed(0)
    vq = Bottleneck(codes=8, dim=4)
    vq.codebook.copy_(torch.randn(8, 4) * 3)
    vq.initialised.fill_(True)
    idx = torch.tensor([[3, 1, 7, 0, 3]])
    x = vq.decode(idx)  # (1, 4, 5)
    assert x.shape == (1, 4, 5)
    assert torch.equal(vq.encode(x), idx)
    assert torch.equal(vq.encode(x + 0.01), idx)


def test_straight_through_gradient_is_identity() -> None:
    vq = Bottleneck(codes=4, dim=2).eval()
    vq.codebook.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]]))
    vq.initialised.fill_(True)
    x = torch.tensor([[[0.9, -0.1], [1.1, 0.2]]], requires_grad=True)  # (1, 2, 2)
    q, idx, commit, _ = vq(x)
    assert idx.tolist() == [[1, 0]]
    assert torch.allclose(q, torch.tensor([[[1.0, 0.0], [1.0, 0.0]]]))
    q.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    assert commit.item() > 0


def test_training_initialises_from_data_and_restarts_unused_codes() -> None:
    torch.manual_seed(0)
    vq = Bottleneck(codes=16, dim=3, mu=0.5).train()
    x = torch.randn(2, 3, 50) + 10.0  # far from the zero initial codebook
    vq(x)
    assert bool(vq.initialised)
    assert vq.codebook.mean().item() > 5.0  # codes drawn from the data
    vq.codebook[5] = 1000.0  # a code no vector is near any more
    vq.ema_count[5] = 0.0
    before = vq.codebook[5].clone()
    _, _, _, stats = vq(x)
    assert stats["restarted"] >= 1
    assert not torch.equal(vq.codebook[5], before)


def test_ema_moves_codes_towards_their_vectors() -> None:
    vq = Bottleneck(codes=2, dim=1, mu=0.9).train()
    vq.codebook.copy_(torch.tensor([[0.0], [10.0]]))
    vq.ema_sum.copy_(vq.codebook)
    vq.initialised.fill_(True)
    x = torch.full((1, 1, 20), 1.0)
    x[0, 0, 10:] = 9.0
    for _ in range(50):
        vq(x)
    assert torch.allclose(vq.codebook, torch.tensor([[1.0], [9.0]]), atol=0.05)
