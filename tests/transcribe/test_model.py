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


@pytest.mark.parametrize("hop", [16, 3])
def test_synthesis_equals_direct_convolution_with_its_gradients(hop: int) -> None:
    """The frequency-domain synthesis against the definition: zero-insertion upsampling, then
    each component convolved with its one-shot times its gain, summed (values and gradients)."""
    g = torch.Generator().manual_seed(0)
    bank = torch.randn(3, 4, 150, generator=g)
    act = torch.rand(2, 4, 37, generator=g) * (torch.rand(2, 4, 37, generator=g) > 0.8)
    which = torch.tensor([2, 0])
    synth = DrumSynthesizer(bank, hop=hop)
    with torch.no_grad():
        synth.log_gain.copy_(torch.tensor([0.1, -0.3, 0.5, 0.0]))

    def direct(a: torch.Tensor, log_gain: torch.Tensor) -> torch.Tensor:
        up = torch.zeros(2, 4, 37 * hop, dtype=a.dtype)
        up[..., ::hop] = a * log_gain.exp()[:, None]
        full = torch.nn.functional.conv1d(
            torch.nn.functional.pad(up, (149, 0)).reshape(1, 8, -1),
            bank[which].flip(-1).reshape(8, 1, 150).to(a.dtype),
            groups=8,
        )
        return full.reshape(2, 4, -1).sum(dim=1)

    a1, a2 = act.clone().requires_grad_(), act.double().clone().requires_grad_()
    gain2 = synth.log_gain.detach().double().clone().requires_grad_()
    y, ref = synth(a1, which), direct(a2, gain2)
    assert y.shape == (2, 37 * hop)
    assert torch.allclose(y.double(), ref, atol=1e-4)
    w = torch.randn(y.shape, generator=g)
    (y * w).sum().backward()
    (ref * w.double()).sum().backward()
    assert torch.allclose(a1.grad.double(), a2.grad, atol=1e-3)
    assert torch.allclose(synth.log_gain.grad.double(), gain2.grad, atol=1e-3)
    again = synth(act, which)  # the one-shots' spectra are kept between calls
    assert torch.equal(again, y.detach())


@pytest.mark.parametrize("windows", [None, MultiBandLogSpectrumLoss.SEED_WINDOWS])
def test_band_spectra_equal_the_stft_through_the_filterbank(windows: tuple[int, ...] | None) -> None:
    """The loss's band magnitudes (DFT rows of the used bins only, frames of the window's
    length) against ``torch.stft`` (whose shorter windows are centred in the FFT frame)."""
    from mtk.transcribe.model import _log_filterbank

    loss = MultiBandLogSpectrumLoss(windows=windows)
    y = torch.randn(2, 8192, generator=torch.Generator().manual_seed(0))
    bands = loss.band_spectra(y)
    assert len(bands) == len(loss.bands) == 8
    for b, ((window, hop), got) in enumerate(zip(loss.bands, bands, strict=True)):
        n_fft = loss.N_FFTS[b]
        assert window == (windows[b] if windows else n_fft)
        spec = torch.stft(y, n_fft, hop, window, torch.hann_window(window), return_complex=True)
        expected = _log_filterbank(16_000, n_fft, 32.0 * 2**b) @ spec.abs()
        assert got.shape == expected.shape == (2, 12, 8192 // hop + 1)
        assert torch.allclose(got, expected, rtol=1e-4, atol=1e-4 * float(expected.max())), n_fft


def test_seed_windows_time_a_click_to_a_millisecond_in_the_top_band() -> None:
    """A click at 0.5 s: the top band's 2 ms seed window (hop 1 ms) sees it in one frame, the
    whole 16 ms frame (hop 4 ms) in three; the lowest band's window is the same either way."""
    y = torch.zeros(1, 16_000)
    y[0, 8000] = 1.0
    frame, seed = MultiBandLogSpectrumLoss(), MultiBandLogSpectrumLoss(windows=MultiBandLogSpectrumLoss.SEED_WINDOWS)
    assert seed.bands[7] == (32, 16) and frame.bands[7] == (256, 64)
    for loss, frames in ((seed, [500]), (frame, [124, 125, 126])):
        top = loss.band_spectra(y)[7][0].sum(dim=0)
        assert torch.nonzero(top > 1e-6 * float(top.max())).flatten().tolist() == frames
    assert torch.equal(seed.band_spectra(y)[0], frame.band_spectra(y)[0])
    with pytest.raises(ValueError, match="window 512 must be even and within the FFT size 256"):
        MultiBandLogSpectrumLoss(windows=(4096, 2048, 1024, 512, 512, 512, 64, 32))


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
