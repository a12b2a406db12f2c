"""On a GPU: the accompanist's parts agree with the CPU, and one language-model training step
does too (make test-cuda). Sampling draws from each device's own random stream, so the parts
are compared on the same inputs, not on sampled takes."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from mtk.weights.registry import entries
from tests.accompany.conftest import SR, pulse_chords

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"),
]
MODEL = next((e.name for e in entries("accompany") if e.default), "accompany-debug")


def test_parts_match_the_cpu() -> None:
    import torch.nn.functional as F

    from mtk.accompany.features import log_mel
    from mtk.accompany.pipeline import load

    cpu, gpu = load(MODEL, "cpu"), load(MODEL, "cuda")
    y = pulse_chords(12.0, 110.0, 4, SR)
    mel = log_mel(y / np.abs(y).max())
    a, b = cpu.prepare(mel), gpu.prepare(mel)
    np.testing.assert_allclose(b.analysis.activations, a.analysis.activations, atol=1e-3)
    np.testing.assert_allclose(b.analysis.beats.beats, a.analysis.beats.beats, atol=0.012)
    assert (b.prime == a.prime).mean() > 0.99  # nearest codes: a near-tie may flip
    codes = torch.from_numpy(a.prime[: cpu.lm.cfg.context])[None] % cpu.lm.cfg.codes
    with torch.inference_mode():
        beat = None if a.beat is None else torch.as_tensor(a.beat[: codes.shape[1]])[None]
        args = [codes, codes, beat]
        logits = [
            net.lm(*[x if x is None else x.to(d) for x in args]).cpu() for net, d in ((cpu, "cpu"), (gpu, "cuda"))
        ]
        torch.testing.assert_close(F.softmax(logits[1], -1), F.softmax(logits[0], -1), atol=2e-3, rtol=1e-2)
        mels = [net.vq_drums.decode(codes.to(d)).cpu() for net, d in ((cpu, "cpu"), (gpu, "cuda"))]
        torch.testing.assert_close(mels[1], mels[0], atol=2e-3, rtol=1e-3)
    if cpu.vocoder is not None:
        np.testing.assert_allclose(gpu.render(mels[0][0].numpy()), cpu.render(mels[0][0].numpy()), atol=2e-3)


def test_one_language_model_step_matches_the_cpu() -> None:
    from mtk.accompany.lm import DrumLM

    torch.manual_seed(0)
    cpu_net = DrumLM(codes=16, prime_codes=16, width=32, depth=2, encoder_depth=1, heads=2, context=32, dropout=0.0)
    gpu_net = copy.deepcopy(cpu_net).cuda()
    g = torch.Generator().manual_seed(1)
    drums, prime = torch.randint(0, 16, (2, 32), generator=g), torch.randint(0, 16, (2, 32), generator=g)
    beat = torch.randn(2, 32, 50, generator=g)
    after = []
    for net, device in ((cpu_net, "cpu"), (gpu_net, "cuda")):
        optim = torch.optim.Adam(net.parameters(), lr=1e-3)
        net.train()
        logits = net(drums.to(device), prime.to(device), beat.to(device))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 16), drums.to(device).reshape(-1))
        loss.backward()
        optim.step()
        after.append((loss.item(), next(net.parameters()).detach().cpu()))
    assert after[1][0] == pytest.approx(after[0][0], rel=1e-4)
    torch.testing.assert_close(after[1][1], after[0][1], rtol=1e-3, atol=1e-5)
