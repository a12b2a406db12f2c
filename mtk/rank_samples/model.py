"""SampleMatch (Lattner 2022): two encoders and the loss that pulls a context to its drum samples.

A query encoder reads a musical context (a mixture of some of a song's stems), a sample
encoder reads a drum one-shot; each is the log-mel front end, an EfficientNet and one linear
layer to 256 dimensions, and the score of a sample for a context is the cosine between their
encodings. Training pulls each context towards the samples of its own song with decoupled
NT-Xent (the positive left out of the denominator, Yeh et al. 2021; temperature 0.2) and keeps
the space spread with VICReg's variance and covariance terms (weights 1) and a hinge on the
encodings' norms (c = 4, weight 10), as the paper's equations 1-7.

Differences from the paper, sized for a 2-core CPU: EfficientNet-Lite0 or B0 instead of B4,
one input channel (the ImageNet stem's RGB filters summed) after a batch-norm of the log-mel
(as mtk embed), and the pooled 1280-d features (not the 1000 ImageNet logits) projected to 256.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mtk.nn.efficientnet import EfficientNet, EfficientNetConfig
from mtk.rank_samples.frontend import LogMel

ARCH = "rank-samples-samplematch"
DIM = 256
TEMPERATURE = 0.2
VARIANCE_WEIGHT = 1.0  # gamma
COVARIANCE_WEIGHT = 1.0  # delta
NORM_WEIGHT = 10.0  # eta
NORM_LIMIT = 4.0  # c


@dataclass(frozen=True)
class SampleMatchConfig:
    backbone: str = "lite0"  # lite0 or b0
    dim: int = DIM
    drop_connect: float = 0.2
    width: float = 1.0  # below 1 only for small test models
    depth: float = 1.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Encoder(nn.Module):
    """``(B, samples)`` 44.1 kHz mono -> ``(B, dim)`` (not normalised: the norm hinge sees it)."""

    def __init__(self, cfg: SampleMatchConfig) -> None:
        super().__init__()
        self.frontend = LogMel()
        self.input_norm = nn.BatchNorm2d(1)
        self.encoder = EfficientNet(
            EfficientNetConfig(
                cfg.backbone, in_channels=1, drop_connect=cfg.drop_connect, width=cfg.width, depth=cfg.depth
            )
        )
        self.project = nn.Linear(self.encoder.out_dim, cfg.dim)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        mel = self.frontend(wave).unsqueeze(1)  # (B, 1, 128, frames)
        return self.project(self.encoder(self.input_norm(mel)))


class SampleMatch(nn.Module):
    """The two encoders; :meth:`score` is the cosine of every context with every sample."""

    def __init__(self, cfg: SampleMatchConfig = SampleMatchConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.query = Encoder(cfg)
        self.sample = Encoder(cfg)

    @staticmethod
    def score(queries: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
        """``(N, d)``, ``(M, d)`` encodings -> ``(N, M)`` cosine similarities."""
        return F.normalize(queries, dim=-1) @ F.normalize(samples, dim=-1).T


def dcl_loss(
    queries: torch.Tensor, samples: torch.Tensor, temperature: float = TEMPERATURE, same: torch.Tensor | None = None
) -> torch.Tensor:
    """Decoupled NT-Xent (the paper's equation 1): each query ``i`` against its sample ``i``,
    the other samples of the batch as negatives, the positive left out of the denominator.
    ``same[i, j]``: sample ``j`` is query ``i``'s one-shot too (another song of its kit), so
    not a negative."""
    sim = SampleMatch.score(queries, samples) / temperature  # (N, N)
    eye = torch.eye(len(sim), dtype=torch.bool, device=sim.device)
    if same is not None:
        eye = eye | same.to(torch.bool)
    negatives = torch.logsumexp(sim.masked_fill(eye, float("-inf")), dim=1)
    return (negatives - sim.diagonal()).mean()


def variance_loss(z: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """VICReg's hinge on each dimension's standard deviation over the batch (equations 2-3)."""
    return F.relu(1.0 - torch.sqrt(z.var(dim=0) + eps)).mean()


def covariance_loss(z: torch.Tensor) -> torch.Tensor:
    """VICReg's squared off-diagonal covariances over the dimension count (equations 4-5)."""
    n, d = z.shape
    centred = z - z.mean(dim=0)
    cov = centred.T @ centred / (n - 1)
    off = cov - torch.diag(torch.diagonal(cov))
    return off.square().sum() / d


def norm_loss(z: torch.Tensor, limit: float = NORM_LIMIT) -> torch.Tensor:
    """The hinge on encodings longer than ``limit`` (equation 6)."""
    return F.relu(z.norm(dim=1) - limit).mean()


def samplematch_loss(
    queries: torch.Tensor, samples: torch.Tensor, same: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Equation 7 over a batch of ``N`` positive pairs ``(N, d)``: ``loss`` and its terms
    (the regularisers over queries and samples alike); ``same`` as :func:`dcl_loss`."""
    terms = {
        "contrastive": dcl_loss(queries, samples, same=same),
        "variance": variance_loss(queries) + variance_loss(samples),
        "covariance": covariance_loss(queries) + covariance_loss(samples),
        "norm": norm_loss(queries) + norm_loss(samples),
    }
    terms["loss"] = (
        terms["contrastive"]
        + VARIANCE_WEIGHT * terms["variance"]
        + COVARIANCE_WEIGHT * terms["covariance"]
        + NORM_WEIGHT * terms["norm"]
    )
    return terms
