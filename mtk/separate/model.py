"""Separator networks: a mixture waveform in, one waveform per stem out.

Two families, compared at the same training budget (the card says which one ships):

- ``umx``: Open-Unmix (Stöter et al. 2019; ``openunmix.model.OpenUnmix``, MIT): one
  BLSTM magnitude estimator per stem on the STFT (4096/1024, inputs cut at ``bandwidth``).
  Here the four estimates become ratio masks that sum to one in every bin, applied to the
  mixture's complex STFT: the stems sum to the mixture by construction (up to the STFT's
  round trip), with the mixture's phase.
- ``hdemucs``: Hybrid Demucs (Défossez 2021; ``demucs.hdemucs.HDemucs``, MIT), waveform and
  spectrogram U-Nets, sized for a CPU (``width`` channels, ``depth`` layers). It predicts
  every stem freely; what is left of the mixture (mixture minus the sum) goes to the last
  stem (``other``), so its stems sum to the mixture too.

``forward(mix)``: ``(batch, channels, samples)`` at ``sample_rate`` -> ``(batch, stems,
channels, samples)``. No I/O, no device choice: :mod:`mtk.separate.infer` does that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

ARCH = "separator"
STEMS = ("drums", "bass", "lead", "other")
ARCHS = ("umx", "hdemucs")


@dataclass(frozen=True)
class SeparatorConfig:
    arch: str = "umx"
    stems: tuple[str, ...] = STEMS
    sample_rate: int = 44_100
    channels: int = 2
    # umx
    n_fft: int = 4096
    hop: int = 1024
    hidden: int = 128
    layers: int = 3
    bandwidth: float = 16_000.0  # Hz: the BLSTM reads bins below this (Open-Unmix's max_bin)
    # hdemucs
    width: int = 16
    depth: int = 6

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, not {self.arch!r}")
        if len(self.stems) < 2 or self.stems[-1] != "other":
            raise ValueError("stems must end with 'other' (the residual stem)")

    @property
    def max_bin(self) -> int:
        bins = self.n_fft // 2 + 1
        return min(bins, int(round(self.bandwidth * self.n_fft / self.sample_rate)) + 1)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["stems"] = list(self.stems)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeparatorConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "stems" in values:
            values["stems"] = tuple(values["stems"])
        return cls(**values)


class MaskSeparator(nn.Module):
    """Open-Unmix estimators, one per stem, turned into ratio masks of the mixture STFT."""

    def __init__(self, cfg: SeparatorConfig) -> None:
        super().__init__()
        from openunmix.model import OpenUnmix

        self.cfg = cfg
        bins = cfg.n_fft // 2 + 1
        self.estimators = nn.ModuleList(
            OpenUnmix(
                nb_bins=bins,
                nb_channels=cfg.channels,
                hidden_size=cfg.hidden,
                nb_layers=cfg.layers,
                max_bin=cfg.max_bin,
            )
            for _ in cfg.stems
        )
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)

    def set_input_statistics(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        """Standardise the estimators' inputs: per-bin mean and std of training magnitudes
        (Open-Unmix's ``input_mean``/``input_scale``, which stay trainable)."""
        n = self.cfg.max_bin
        for est in self.estimators:
            est.input_mean.data.copy_(-mean[:n])
            est.input_scale.data.copy_(1.0 / scale[:n].clamp(min=1e-4))

    def stft(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., samples)`` -> complex ``(..., bins, frames)``."""
        lead = x.shape[:-1]
        spec = torch.stft(
            x.reshape(-1, x.shape[-1]),
            self.cfg.n_fft,
            self.cfg.hop,
            window=self.window,
            center=True,
            return_complex=True,
        )
        return spec.reshape(*lead, *spec.shape[-2:])

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        b, c, t = mix.shape
        spec = self.stft(mix)  # (B, C, F, N) complex
        mag = spec.abs()
        est = torch.stack([e(mag) for e in self.estimators], 1)  # (B, S, C, F, N)
        eps = 1e-8
        masks = (est + eps / len(self.estimators)) / (est.sum(1, keepdim=True) + eps)  # sum to 1 over S
        stems = masks * spec.unsqueeze(1)
        s = stems.shape[1]
        wave = torch.istft(
            stems.reshape(b * s * c, *stems.shape[-2:]),
            self.cfg.n_fft,
            self.cfg.hop,
            window=self.window,
            center=True,
            length=t,
        )
        return wave.reshape(b, s, c, t)


class DemucsSeparator(nn.Module):
    """Hybrid Demucs at CPU size; the residual of the mixture is added to ``other``."""

    def __init__(self, cfg: SeparatorConfig) -> None:
        super().__init__()
        try:
            from demucs.hdemucs import HDemucs
        except ImportError as exc:  # an optional extra
            raise ImportError("the hdemucs separator needs the demucs package: pip install 'mtk[demucs]'") from exc
        self.cfg = cfg
        self.net = HDemucs(
            list(cfg.stems),
            audio_channels=cfg.channels,
            samplerate=cfg.sample_rate,
            channels=cfg.width,
            depth=cfg.depth,
        )

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        out = self.net(mix)  # (B, S, C, T)
        residual = mix - out.sum(1)
        return torch.cat([out[:, :-1], out[:, -1:] + residual.unsqueeze(1)], 1)


def build_separator(cfg: SeparatorConfig) -> nn.Module:
    """The network a config describes (randomly initialised)."""
    return MaskSeparator(cfg) if cfg.arch == "umx" else DemucsSeparator(cfg)
