"""The contrastive model: shapes, the COLA loss's known values, and that it learns pairs."""

from __future__ import annotations

import math

import pytest
import torch

from mtk.embed.model import MULTI_WEIGHTS, ContrastiveHead, EmbedConfig, EmbedModel, cola_loss


def test_shapes_and_heads() -> None:
    torch.manual_seed(0)
    model = EmbedModel(EmbedConfig(associations=("track", "release", "artist", "label")))
    patches = torch.randn(4, 96, 128)
    model.eval()
    with torch.no_grad():
        emb = model(patches)
        assert emb.shape == (4, 1280)
        proj = model.heads["artist"](emb)
    assert proj.shape == (4, 512) and proj.abs().max() <= 1.0  # tanh
    assert set(model.heads) == set(MULTI_WEIGHTS) and model.cfg.loss_weights() == MULTI_WEIGHTS
    assert EmbedConfig(associations=("label",)).loss_weights() == {"label": 1.0}


def test_cola_loss_known_values() -> None:
    head = ContrastiveHead(8, 4)
    with torch.no_grad():
        head.bilinear.copy_(torch.eye(4))
    same = torch.zeros(5, 4)  # every similarity equal: the loss is log(N), chance accuracy
    loss, _ = cola_loss(head, same, same)
    assert loss.item() == pytest.approx(math.log(5), abs=1e-6)
    anchors = 10 * torch.eye(4)  # each anchor most like its own positive: near-zero loss, all right
    loss, accuracy = cola_loss(head, anchors, anchors)
    assert loss.item() < 1e-6 and accuracy.item() == 1.0


def test_a_toy_encoder_learns_to_match_pairs() -> None:
    """Positives are noisy copies of their anchors: a few steps take the loss well below chance."""
    torch.manual_seed(0)
    encoder, head = torch.nn.Linear(32, 64), ContrastiveHead(64, 16)
    opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=1e-2)
    x = torch.randn(16, 32)
    for _ in range(60):
        opt.zero_grad()
        loss, accuracy = cola_loss(head, head(encoder(x)), head(encoder(x + 0.1 * torch.randn_like(x))))
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * math.log(16) and accuracy.item() >= 0.9


def test_pair_loss_reaches_the_encoder() -> None:
    torch.manual_seed(0)
    model = EmbedModel(EmbedConfig(backbone="lite0"))
    loss, accuracy = model.pair_loss("artist", torch.randn(3, 96, 128), torch.randn(3, 96, 128))
    loss.backward()
    assert 0.0 <= accuracy.item() <= 1.0
    assert model.encoder.conv_stem.weight.grad.abs().sum() > 0 and model.heads["artist"].bilinear.grad is not None
