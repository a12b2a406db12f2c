"""DrummerNet's modules: exact shapes, sparsity, synthesis and loss known answers."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mtk.transcribe.model import (  # noqa: E402
    DrummerNet,
    DrummerNetConfig,
    DrumSynthesizer,
    MultiBandLogSpectrumLoss,
    upsample_zeros,
)

SMALL = DrummerNetConfig(channels=8)


def test_config_grid_and_parameter_count() -> None:
    cfg = DrummerNetConfig()
    assert (cfg.hop, cfg.multiple) == (16, 1024)
    n = sum(p.numel() for p in DrummerNet(cfg).parameters())
    assert 150_000 < n < 250_000  # the paper's network has 203,869


def test_activations_are_sparse_bounded_and_shaped() -> None:
    torch.manual_seed(0)
    net = DrummerNet(SMALL)
    act = net(torch.randn(2, 4096) * 0.1)
    assert act.shape == (2, SMALL.n_components, 4096 // SMALL.hop)
    act = act.detach()
    assert float(act.min()) >= 0 and float(act.max()) <= 1
    assert float((act == 0).float().mean()) > 0.5  # really sparse: most entries exactly zero
    # Each 64-step window of one component holds at most the instant's component mass (<= 1).
    windows = act.reshape(2, SMALL.n_components, -1, SMALL.window).sum(-1)
    assert float(windows.max()) <= 1 + 1e-5


def test_sparsemax_over_components_sums_to_one_with_nothing_slot() -> None:
    from entmax import sparsemax

    z = torch.tensor([[3.0, 0.0, 0.0, -1.0], [0.0, 0.0, 0.0, 5.0]])
    p = sparsemax(z, dim=-1)
    assert torch.allclose(p.sum(-1), torch.ones(2))
    assert int((p == 0).sum()) >= 4  # zeros, not just small values
    assert float(p[1, :3].sum()) == 0.0  # all mass on the last ("nothing") slot: silence


def test_single_impulse_synthesises_the_component() -> None:
    bank = torch.zeros(2, 3, 200)
    bank[1, 2] = torch.linspace(1, 0, 200)
    synth = DrumSynthesizer(bank, hop=16)
    act = torch.zeros(1, 3, 40)
    act[0, 2, 5] = 1.0
    y = synth(act, torch.tensor([1]))
    expected = torch.zeros(640)
    expected[80:280] = bank[1, 2]
    assert torch.allclose(y[0], expected, atol=1e-5)


def test_upsample_zeros() -> None:
    x = torch.tensor([[[1.0, 2.0]]])
    assert upsample_zeros(x, 3).tolist() == [[[1.0, 0, 0, 2.0, 0, 0]]]


def test_loss_is_zero_on_identity_and_grows_with_difference() -> None:
    loss = MultiBandLogSpectrumLoss()
    g = torch.Generator().manual_seed(0)
    y = torch.randn(1, 16000, generator=g) * 0.1
    assert float(loss(y, y)) == pytest.approx(0.0, abs=1e-6)
    assert float(loss(0.5 * y, y)) < float(loss(0.1 * y, y))
    assert float(loss(0.5 * y, y)) == pytest.approx(np.log(2), rel=0.05)  # |log 0.5| in every bin


def test_tiled_first_layers_equal_the_whole_input(monkeypatch: pytest.MonkeyPatch) -> None:
    import mtk.transcribe.model as model

    torch.manual_seed(1)
    net = DrummerNet(SMALL).eval()
    x = torch.randn(2, 5 * 1024) * 0.3
    with torch.inference_mode():
        monkeypatch.setattr(model, "TILE", 10**9)
        whole = net.features(x)
        monkeypatch.setattr(model, "TILE", 1024)  # 5 tiles, the last one short of its margin
        tiled = net.features(x)
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("inputs", "hidden", "bidirectional"), [(20, 11, True), (22, 12, False), (1, 1, False)])
def test_fast_gru_is_torchs_gru(inputs: int, hidden: int, bidirectional: bool) -> None:
    from mtk.transcribe.fastgru import gru

    torch.manual_seed(2)
    module = torch.nn.GRU(inputs, hidden, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(3, 50, inputs)
    with torch.inference_mode():
        torch.testing.assert_close(gru(module, x), module(x)[0], rtol=0, atol=1e-5)
        net = DrummerNet(SMALL).eval()
        seq = torch.randn(2, 256, 2 * SMALL.channels)
        torch.testing.assert_close(net.head(seq, rnn=gru), net.head(seq), rtol=0, atol=1e-5)


@pytest.mark.parametrize(("inputs", "hidden", "bidirectional"), [(20, 11, True), (22, 12, False), (1, 1, False)])
def test_fast_gru_training_gradients_are_torchs(inputs: int, hidden: int, bidirectional: bool) -> None:
    from mtk.transcribe.fastgru import gru_train

    torch.manual_seed(3)
    module = torch.nn.GRU(inputs, hidden, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(3, 40, inputs, requires_grad=True)
    weight = torch.randn(3, 40, hidden * (2 if bidirectional else 1))  # a loss that weighs every output
    grads = []
    for run in (gru_train, lambda m, v: m(v)[0]):
        module.zero_grad()
        x.grad = None
        out = run(module, x)
        (out * weight).sum().backward()
        grads.append([out.detach(), x.grad.clone(), *(p.grad.clone() for p in module.parameters())])
    for fast, reference in zip(*grads, strict=True):
        torch.testing.assert_close(fast, reference, rtol=1e-4, atol=1e-5)


def test_training_with_fast_gru_has_torchs_gradients() -> None:
    from mtk.transcribe.fastgru import gru_train

    torch.manual_seed(4)
    net = DrummerNet(SMALL)
    x = torch.randn(2, 4096) * 0.1
    grads = []
    for rnn in (gru_train, None):
        net.zero_grad()
        act = net(x, 2.0, rnn)
        (act * torch.linspace(0, 1, act.shape[-1])).sum().backward()
        grads.append([act.detach(), *(p.grad.clone() for p in net.parameters())])
    for fast, reference in zip(*grads, strict=True):
        torch.testing.assert_close(fast, reference, rtol=1e-3, atol=1e-5)
