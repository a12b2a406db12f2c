"""On a GPU: SampleMatch's inference and one training step agree with the CPU (make test-cuda)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from mtk.rank_samples.frontend import SAMPLE_RATE, SAMPLES, SHOT_SAMPLES
from mtk.rank_samples.model import SampleMatch, SampleMatchConfig, samplematch_loss

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"),
]


def _waves(n: int, length: int, seed: int) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal((n, length))).astype(np.float32)


def test_inference_matches_the_cpu() -> None:
    from mtk.rank_samples.infer import Ranker

    torch.manual_seed(0)
    model = SampleMatch(SampleMatchConfig())
    context = _waves(1, 9 * SAMPLE_RATE, 1)[0]
    shots = _waves(5, SHOT_SAMPLES, 2)
    cpu, gpu = Ranker(copy.deepcopy(model), name="x", device="cpu"), Ranker(model, name="x", device="cuda")
    np.testing.assert_allclose(gpu.encode_context(context), cpu.encode_context(context), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(gpu.encode_samples(shots), cpu.encode_samples(shots), rtol=1e-3, atol=1e-4)


def test_one_training_step_matches_the_cpu() -> None:
    torch.manual_seed(0)
    cpu_model = SampleMatch(SampleMatchConfig(drop_connect=0.0))
    gpu_model = copy.deepcopy(cpu_model).cuda()
    contexts, shots = torch.from_numpy(_waves(6, SAMPLES, 3)), torch.from_numpy(_waves(6, SHOT_SAMPLES, 4))
    after = []
    for model, device in ((cpu_model, "cpu"), (gpu_model, "cuda")):
        optim = torch.optim.Adam(model.parameters(), lr=3e-4, weight_decay=3e-5)
        model.train()
        loss = samplematch_loss(model.query(contexts.to(device)), model.sample(shots.to(device)))["loss"]
        loss.backward()
        optim.step()
        after.append((float(loss), model.query.project.weight.detach().cpu()))
    assert after[1][0] == pytest.approx(after[0][0], rel=1e-3)
    torch.testing.assert_close(after[1][1], after[0][1], rtol=1e-3, atol=1e-4)
