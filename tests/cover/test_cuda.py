"""On a GPU: the genre MLP's inference and one training step agree with the CPU (make test-cuda)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from mtk.cover.genre import FitOptions, fit_mlp, probabilities
from mtk.cover.model import GenreConfig, build_mlp

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"),
]
CFG = GenreConfig(inputs=64, hidden=32, dropout=0.0, genres=("rock", "folk", "swing"))


def test_inference_matches_the_cpu() -> None:
    torch.manual_seed(0)
    net = build_mlp(CFG)
    x = np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)
    cpu = probabilities(copy.deepcopy(net), x)
    gpu = probabilities(net.cuda(), x)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-5)


def test_one_training_step_matches_the_cpu() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 64)).astype(np.float32)
    y = [CFG.genres[i] for i in rng.integers(0, 3, 30)]
    cpu, _ = fit_mlp(CFG, x, y, FitOptions(epochs=1, device="cpu"))
    gpu, _ = fit_mlp(CFG, x, y, FitOptions(epochs=1, device="cuda"))
    for name, value in cpu.state_dict().items():
        torch.testing.assert_close(gpu.state_dict()[name], value, rtol=1e-4, atol=1e-5)
