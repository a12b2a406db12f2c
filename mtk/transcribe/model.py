"""DrummerNet (Choi & Cho, ISMIR 2019): unsupervised drum transcription by analysis-by-synthesis.

- :class:`DrummerNet` (analysis, the transcriber): a 1-D U-Net on the waveform (conv1d k=3,
  50 channels, 10 encoder layers with max-pool 2, 6 decoder layers, ELU, no bias), so its
  output runs at 1/16 of the sample rate (1 ms at 16 kHz); recurrent layers along time (a
  bidirectional GRU then a GRU, one unit per component) and across components (a GRU of
  width 1 run over the component axis); then two sparsemaxes multiplied: over components
  at each instant, and over time within each 64-step window. The component sparsemax has
  one extra "nothing" slot that is dropped afterwards, so silence can be transcribed as
  exactly zero (without it every window would hold some mass).
- :class:`DrumSynthesizer` (synthesis, training only): zero-insertion upsampling of the
  activations to the sample rate, convolution of each component's impulse train with its
  one-shot waveform, times a learned gain per component, summed (all in the frequency domain).
- :class:`MultiBandLogSpectrumLoss`: mean absolute error between log-magnitude spectra of
  input and resynthesis in 8 octave bands from 32 Hz, each with its own FFT size and 12
  log-spaced bins per octave (the paper's 8 "pseudo-CQT" bands with MAE).

Modules only: no file access, no device choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from entmax import sparsemax  # deep-spin's maintained sparsemax (Martins & Astudillo 2016)
from torch import nn


@dataclass(frozen=True)
class DrummerNetConfig:
    sample_rate: int = 16_000
    channels: int = 50
    n_encoder: int = 10
    n_decoder: int = 6
    n_components: int = 11
    window: int = 64  # time-sparsemax window, in activation steps

    @property
    def hop(self) -> int:
        """Input samples per activation step (16: one step per millisecond at 16 kHz)."""
        return 2 ** (self.n_encoder - self.n_decoder)

    @property
    def multiple(self) -> int:
        """Input lengths must be multiples of this (the U-Net's and the windows' grid)."""
        return max(2**self.n_encoder, self.hop * self.window)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


TILE = 16_384  # samples per tile of the layers before the first skip (see DrummerNet._pooled_layers)


def _conv(cin: int, cout: int) -> nn.Conv1d:
    return nn.Conv1d(cin, cout, kernel_size=3, padding=1, bias=False)


class DrummerNet(nn.Module):
    """Waveform ``(B, T)`` -> sparse activations ``(B, K, T // hop)`` in [0, 1].

    ``T`` must be a multiple of ``config.multiple`` (1024 at the defaults).
    """

    def __init__(self, config: DrummerNetConfig = DrummerNetConfig()) -> None:
        super().__init__()
        c, k = config.channels, config.n_components
        self.config = config
        self.encoder = nn.ModuleList([_conv(1 if i == 0 else c, c) for i in range(config.n_encoder)])
        self.decoder = nn.ModuleList([_conv(2 * c, c) for _ in range(config.n_decoder)])
        self.time_rnn = nn.GRU(2 * c, k, batch_first=True, bidirectional=True)
        self.time_rnn2 = nn.GRU(2 * k, k + 1, batch_first=True)
        self.comp_rnn = nn.GRU(1, 1, batch_first=True)
        # GRU outputs are bounded in [-1, 1]; learned scales let the sparsemaxes get as sparse as they need.
        self.log_scale = nn.Parameter(torch.zeros(2))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The U-Net: ``(B, T)`` -> ``(B, T', 2C)``, the decoder's output with its same-resolution skip.

        Three exact rewrites (same weights, same output) halve its CPU time: the first layer
        (one input channel) runs as a ``(T, 3) @ (3, C)`` product with channels last, faster
        than oneDNN's conv1d; layers whose output no decoder reads are max-pooled before the
        ELU (which commutes with max-pooling, being increasing), so it runs on half as many
        values; and those layers, which hold the largest tensors, run over tiles of
        :data:`TILE` samples (:meth:`_pooled_layers`), so their working set stays in cache.
        """
        cfg = self.config
        first_skip = cfg.n_encoder - cfg.n_decoder  # the first encoder output a decoder reads
        skips: list[torch.Tensor] = []  # the encoder outputs the decoders read, from ``first_skip`` on
        h = self._pooled_layers(x, first_skip) if first_skip else x
        for i in range(first_skip, cfg.n_encoder):
            h = self._first_layer(h) if i == 0 else self.encoder[i](h)
            h = F.elu(h, inplace=True)
            skips.append(h)
            h = F.max_pool1d(h, 2)
        for conv, skip in zip(self.decoder, reversed(skips), strict=False):
            h = F.interpolate(h, size=skip.shape[-1], mode="linear", align_corners=False)
            h = F.elu(conv(torch.cat([h, skip], dim=1)), inplace=True)
        # h: (B, C, T / hop); recurrent layers see it with its same-resolution skip.
        return torch.cat([h, skips[0]], dim=1).transpose(1, 2)  # (B, T', 2C)

    def _first_layer(self, x: torch.Tensor, *, pool: bool = False) -> torch.Tensor:
        """Layer 0's convolution of ``(B, T)`` as a product with channels last -> ``(B, C, T)``
        (``T / 2`` with ``pool``, max-pooled while channels are last and contiguous)."""
        # einsum, not ``@``: matmul does not fold the batch into one GEMM when the weight needs grad
        h = torch.einsum("ck,btk->btc", self.encoder[0].weight[:, 0, :], F.pad(x, (1, 1)).unfold(1, 3, 1))
        if pool:  # pairwise maximum: 1.7x faster forward and backward than amax over pairs
            h = torch.maximum(h[:, 0::2], h[:, 1::2])
        return h.transpose(1, 2).contiguous()

    def _pooled_layers(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """Layers ``0 .. n-1`` (conv, max-pool 2, ELU): ``(B, T)`` -> ``(B, C, T / 2**n)``, over
        tiles of :data:`TILE` samples, each read with a margin of ``4 * 2**n`` samples on either
        side and cropped: a tile's zero-padded edge changes one output step, so the result is
        the whole input's (the input's own edges are padded as before)."""
        scale = 2**n
        margin = 4 * scale
        length = x.shape[1]
        tile = max(scale, TILE // scale * scale)
        out = []
        for start in range(0, length, tile):
            lo, hi = max(0, start - margin), min(length, start + tile + margin)
            h = x[:, lo:hi]
            for i in range(n):
                h = self._first_layer(h, pool=True) if i == 0 else F.max_pool1d(self.encoder[i](h), 2)
                h = F.elu(h, inplace=True)
            first = (start - lo) // scale
            out.append(h[:, :, first : first + (min(length, start + tile) - start) // scale])
        return out[0] if len(out) == 1 else torch.cat(out, dim=2)

    def head(
        self, seq: torch.Tensor, temperature: float = 1.0, rnn: Callable[..., torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The recurrent layers and the two sparsemaxes: ``(B, T', 2C)`` -> ``(B, K, T')``.

        ``temperature`` > 1 (training only) softens the component sparsemax so that every
        component keeps a gradient early on: a component outside the support gets none, and
        one that drops out of it everywhere would never come back. ``rnn(gru, x)`` runs the
        recurrent layers (default: the module itself; on the CPU, inference passes
        :func:`mtk.transcribe.fastgru.gru` and training :func:`mtk.transcribe.fastgru.gru_train`).
        """
        cfg = self.config
        run = rnn or (lambda module, x: module(x)[0])
        seq = run(self.time_rnn, seq)  # (B, T', 2K)
        seq = run(self.time_rnn2, seq)  # (B, T', K + 1)
        b, t, k1 = seq.shape
        across = run(self.comp_rnn, seq.reshape(b * t, k1, 1))  # along the component axis
        z = seq + across.reshape(b, t, k1)  # (B, T', K + 1) scores; the last slot is "nothing"
        scale = self.log_scale.exp()
        over_components = sparsemax(z * (scale[0] / temperature), dim=-1)[..., : cfg.n_components]  # (B, T', K)
        windows = z[..., : cfg.n_components].reshape(b, t // cfg.window, cfg.window, cfg.n_components)
        over_time = sparsemax(windows * scale[1], dim=2).reshape(b, t, cfg.n_components)
        return (over_components * over_time).transpose(1, 2)  # (B, K, T')

    def forward(
        self, x: torch.Tensor, temperature: float = 1.0, rnn: Callable[..., torch.Tensor] | None = None
    ) -> torch.Tensor:
        return self.head(self.features(x), temperature, rnn)


class DrumSynthesizer(nn.Module):
    """Activations ``(B, K, T')`` and a bank index ``(B,)`` -> waveform ``(B, T' * hop)``.

    ``bank`` ``(n_banks, K, L)``: one-shot waveforms per component of each kit (as a song
    played it: which of the kit's instruments), onset at sample 0.

    Each component's activations, upsampled to the sample rate by zero insertion (each value
    followed by ``hop - 1`` zeros), are convolved with its one-shot times a learned gain, and
    the components summed. Computed in the frequency domain without forming the upsampled
    signals: with an FFT size ``n`` that is a multiple of ``hop``, the ``n``-point spectrum of
    a zero-inserted signal is the ``n / hop``-point spectrum of the activations repeated
    ``hop`` times. The one-shots' spectra are computed once per FFT size (the bank is fixed),
    and the components are summed before the inverse FFT (it is linear), so a step does one
    inverse FFT per excerpt instead of one per component. Forward and backward for 8 excerpts
    of 2 s and 11 one-shots of 2 s: 23 ms on one core, against 150 ms for the FFT convolution of
    the upsampled signals (measured once, when it replaced it; same output).
    """

    def __init__(self, bank: torch.Tensor, hop: int) -> None:
        super().__init__()
        self.register_buffer("bank", bank.float(), persistent=False)
        self.hop = hop
        self.log_gain = nn.Parameter(torch.zeros(bank.shape[1]))
        self._spectra: tuple[int, torch.Tensor, torch.Tensor] | None = None  # (n, the bank, its spectra)

    def bank_spectra(self, n: int) -> torch.Tensor:
        """``(n_banks, K, n // 2 + 1)``: the one-shots' ``n``-point spectra, kept for the next call."""
        cached = self._spectra
        if cached is None or cached[0] != n or cached[1] is not self.bank:  # .to() makes a new bank tensor
            cached = (n, self.bank, torch.fft.rfft(self.bank, n))
            self._spectra = cached
        return cached[2]

    def forward(self, act: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
        t = act.shape[-1] * self.hop
        m = 1 << math.ceil(math.log2(math.ceil((t + self.bank.shape[-1] - 1) / self.hop)))
        n = m * self.hop  # a multiple of hop, at least the full convolution's length
        low = torch.fft.fft(act * self.log_gain.exp()[:, None], m)  # (B, K, m) complex
        tiled = low.repeat(1, 1, self.hop // 2 + 1)[..., : n // 2 + 1]  # the n-point spectrum of the upsampled
        spec = (tiled * self.bank_spectra(n)[bank]).sum(dim=1)  # (B, n // 2 + 1)
        return torch.fft.irfft(spec, n)[..., :t]


def _log_filterbank(sample_rate: int, n_fft: int, fmin: float, n_bins: int = 12) -> torch.Tensor:
    """``(n_bins, n_fft // 2 + 1)`` triangular filters, log-spaced over one octave from ``fmin``;
    each at least one FFT bin wide, so low octaves with coarse FFTs still get energy."""
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    spacing = sample_rate / n_fft
    centers = fmin * 2 ** (torch.arange(n_bins) / n_bins)
    widths = torch.clamp(centers * (2 ** (1 / n_bins) - 1), min=spacing)
    fb = torch.clamp(1 - (freqs[None, :] - centers[:, None]).abs() / widths[:, None], min=0)
    return fb / fb.sum(dim=1, keepdim=True).clamp(min=1e-8)


def _windowed_dft(n_fft: int, lo: int, hi: int, window: int | None = None) -> torch.Tensor:
    """``(window, 2 (hi - lo))``: the DFT rows of ``n_fft``-point bins ``lo .. hi - 1`` for a
    Hann window of ``window`` samples (default ``n_fft``), real parts then imaginary parts, so
    that ``frames @ it`` gives those bins of the windowed frames' spectra (the window centred in
    an ``n_fft`` frame of zeros: a phase shift, the same magnitudes)."""
    window = window or n_fft
    n = torch.arange(window, dtype=torch.float64)
    angle = 2 * math.pi * torch.outer(n, torch.arange(lo, hi, dtype=torch.float64)) / n_fft
    window = torch.hann_window(window, dtype=torch.float64)[:, None]
    return torch.cat([window * torch.cos(angle), -window * torch.sin(angle)], dim=1).float()


class MultiBandLogSpectrumLoss(nn.Module):
    """MAE of log-magnitude spectra in 8 octave bands (fmin 32 Hz), FFT size per band.

    ``windows`` gives each band's Hann window length, centred in its FFT frame (zero-padded to
    the FFT size): by default the whole frame (16 ms in the three top bands); ``SEED_WINDOWS``
    are the seed code's pseudo-CQT windows, a quarter of its FFT size per octave (256 ms at
    32 Hz down to 2 ms at 4 kHz), which time a hi-hat's or a snare's attack to a few
    milliseconds. Each band's hop is a sixteenth of its FFT (at least ``hop``) and at most half
    its window (at least 16 samples), and only the frequency bins
    its filters touch are computed: as a product of the frames with the windowed DFT rows of
    those bins (``torch.stft``'s framing: centred, reflect-padded; the same magnitudes), not a
    full FFT whose backward pass would transform every bin of every frame. A band uses 9 to 65
    of its FFT's bins.
    """

    N_FFTS = (4096, 2048, 1024, 512, 512, 256, 256, 256)
    SEED_WINDOWS = (4096, 2048, 1024, 512, 256, 128, 64, 32)

    def __init__(
        self,
        sample_rate: int = 16_000,
        fmin: float = 32.0,
        hop: int = 64,
        floor: float = 1e-3,
        windows: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__()
        self.floor = floor
        self.bands: list[tuple[int, int]] = []  # (window, hop): frames of the window's length
        for b, n_fft in enumerate(self.N_FFTS):
            window = windows[b] if windows else n_fft
            if not 0 < window <= n_fft or window % 2:
                raise ValueError(f"band {b}: window {window} must be even and within the FFT size {n_fft}")
            fb = _log_filterbank(sample_rate, n_fft, fmin * 2**b)
            used = torch.nonzero(fb.sum(dim=0) > 0).flatten()
            lo, hi = int(used.min()), int(used.max()) + 1
            self.register_buffer(f"fb{b}", fb[:, lo:hi].contiguous(), persistent=False)
            self.register_buffer(f"dft{b}", _windowed_dft(n_fft, lo, hi, window), persistent=False)
            self.bands.append((window, max(16, min(max(hop, n_fft // 16), window // 2))))

    def band_spectra(self, y: torch.Tensor) -> list[torch.Tensor]:
        """``(B, T)`` -> per band ``(B, 12, frames)`` magnitudes (linear)."""
        out = []
        for b, (window, hop) in enumerate(self.bands):
            # the zeros around a short window in its FFT frame change no magnitude: frames of the window alone
            padded = F.pad(y[:, None], (window // 2, window // 2), mode="reflect")[:, 0]
            parts = padded.unfold(-1, window, hop) @ getattr(self, f"dft{b}")  # (B, frames, 2 x bins)
            re, im = parts.chunk(2, dim=-1)
            out.append(getattr(self, f"fb{b}") @ torch.complex(re, im).abs().transpose(1, 2))
        return out

    def target(self, y: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per band, the floored log magnitudes of ``y`` and the floor: what :meth:`compare`
        needs of the target (computed once when many estimates meet one target)."""
        with torch.no_grad():
            out = []
            for t in self.band_spectra(y):
                floor = t.amax(dim=(1, 2), keepdim=True) * self.floor + 1e-8
                out.append((torch.log(t + floor), floor))
            return out

    def compare(self, y_hat: torch.Tensor, target: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """The loss of ``y_hat`` against a :meth:`target`."""
        pairs = zip(self.band_spectra(y_hat), target, strict=True)
        return torch.stack([(torch.log(a + f) - b).abs().mean() for a, (b, f) in pairs]).mean()

    def forward(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Log magnitudes floored at ``floor`` (relative) times each excerpt's loudest bin in
        the band, so near-silence (decay tails, gaps) does not dominate the loss."""
        return self.compare(y_hat, self.target(y))
