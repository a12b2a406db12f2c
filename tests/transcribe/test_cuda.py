"""On a GPU: the CRNN's inference and one training step agree with the CPU (make test-cuda)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from mtk.transcribe.crnn import DrumCRNN

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"),
]


def test_crnn_inference_matches_the_cpu() -> None:
    from mtk.transcribe.infer import CrnnTranscriber

    torch.manual_seed(0)
    net = DrumCRNN()
    y = (0.2 * np.random.default_rng(0).standard_normal(22_050 * 20)).astype(np.float32)
    cpu = CrnnTranscriber(copy.deepcopy(net), name="x", device="cpu").outputs(y)
    gpu = CrnnTranscriber(net, name="x", device="cuda").outputs(y)
    for a, b in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-4)


def test_crnn_training_step_matches_the_cpu() -> None:
    import torch.nn.functional as F

    torch.manual_seed(0)
    cpu_net = DrumCRNN()
    gpu_net = copy.deepcopy(cpu_net).cuda()
    x = torch.from_numpy((0.1 * np.random.default_rng(1).standard_normal((2, 22_050 * 2))).astype(np.float32))
    after = []
    for net, device in ((cpu_net, "cpu"), (gpu_net, "cuda")):
        optim = torch.optim.Adam(net.parameters(), lr=1e-3)
        net.train()
        logits, vel = net(x.to(device))
        loss = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits)) + vel.mean()
        loss.backward()
        optim.step()
        after.append((float(loss), next(net.parameters()).detach().cpu()))
    assert after[1][0] == pytest.approx(after[0][0], rel=1e-3)
    torch.testing.assert_close(after[1][1], after[0][1], rtol=1e-3, atol=1e-4)
