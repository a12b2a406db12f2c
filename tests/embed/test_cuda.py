"""On a GPU: the embedding's inference and one training step agree with the CPU (make test-cuda)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from mtk.embed.model import EmbedConfig, EmbedModel

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"),
]


def _patches(n: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(0, 1, (n, 96, 128)).astype(np.float32))


@pytest.mark.parametrize("backbone", ["b0", "lite0"])
def test_inference_matches_the_cpu(backbone: str) -> None:
    from mtk.embed.infer import Embedder

    torch.manual_seed(0)
    model = EmbedModel(EmbedConfig(backbone=backbone, associations=("artist",)))
    mel = np.random.default_rng(1).normal(0, 1, (96, 600)).astype(np.float32)
    cpu = Embedder(copy.deepcopy(model), name="x", device="cpu").from_mel(mel, pool="none")
    gpu = Embedder(model, name="x", device="cuda").from_mel(mel, pool="none")
    np.testing.assert_allclose(gpu.vectors, cpu.vectors, rtol=1e-3, atol=1e-4)


def test_one_training_step_matches_the_cpu() -> None:
    torch.manual_seed(0)
    cpu_model = EmbedModel(EmbedConfig(backbone="lite0", associations=("artist", "track"), drop_connect=0.0))
    gpu_model = copy.deepcopy(cpu_model).cuda()
    anchors, positives = _patches(8, 2), _patches(8, 3)
    after = []
    for model, device in ((cpu_model, "cpu"), (gpu_model, "cuda")):
        optim = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        loss, _ = model.pair_loss("artist", anchors.to(device), positives.to(device))
        loss.backward()
        optim.step()
        after.append((float(loss), model.encoder.conv_stem.weight.detach().cpu()))
    assert after[1][0] == pytest.approx(after[0][0], rel=1e-3)
    torch.testing.assert_close(after[1][1], after[0][1], rtol=1e-3, atol=1e-4)
