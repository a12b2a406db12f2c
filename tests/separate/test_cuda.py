"""On a GPU: the separator's inference and one training step agree with the CPU (make test-cuda)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from mtk.separate.model import SeparatorConfig, build_separator

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"),
]


def test_inference_matches_the_cpu() -> None:
    from mtk.separate.infer import Separator

    torch.manual_seed(0)
    net = build_separator(SeparatorConfig())
    y = (0.2 * np.random.default_rng(0).standard_normal((2, 44_100 * 3))).astype(np.float32)
    cpu = Separator(copy.deepcopy(net), name="x", device="cpu").from_audio(y, 44_100).audio
    gpu = Separator(net, name="x", device="cuda").from_audio(y, 44_100).audio
    for stem in cpu:
        np.testing.assert_allclose(gpu[stem], cpu[stem], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("arch", ["umx", "hdemucs"])
def test_one_training_step_matches_the_cpu(arch: str) -> None:
    if arch == "hdemucs":
        pytest.importorskip("demucs")
    torch.manual_seed(0)
    cpu_net = build_separator(SeparatorConfig(arch=arch, hidden=32, width=8))
    gpu_net = copy.deepcopy(cpu_net).cuda()
    truth = torch.from_numpy((0.1 * np.random.default_rng(1).standard_normal((2, 4, 2, 44_100))).astype(np.float32))
    after = []
    for net, device in ((cpu_net, "cpu"), (gpu_net, "cuda")):
        optim = torch.optim.Adam(net.parameters(), lr=1e-3)
        net.train()
        x = truth.to(device)
        loss = (net(x.sum(1)) - x).abs().mean()
        loss.backward()
        optim.step()
        first = next(net.parameters()).detach().cpu()
        after.append((float(loss), first))
    assert after[1][0] == pytest.approx(after[0][0], rel=1e-3)
    torch.testing.assert_close(after[1][1], after[0][1], rtol=1e-3, atol=1e-4)
