"""The contrastive embedding model: an EfficientNet encoder and one COLA head per association.

As the seed paper (after COLA, Saeed et al. 2021): the encoder's pooled 1280-d output is the
embedding; for training, a head per metadata association projects it to 512 dimensions, then
layer normalisation and tanh; anchors and positives are compared by a learned bilinear
similarity ``a^T B p`` and each anchor must pick its own positive among the batch's
(cross-entropy over the similarity matrix: the other positives are the negatives). The
multi-task model shares the encoder and sums the heads' losses with the paper's weights.
One difference, measured before it ships: a batch-norm on the input log-mel, so that an
ImageNet-initialised stem sees inputs of image-like scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from mtk.nn.efficientnet import HEAD, EfficientNet, EfficientNetConfig

ARCH = "embed-effnet"  # the checkpoints' architecture name
TAG = "tag"  # the loss of a supervised tagger (a classifier over ``EmbedConfig.classes``)
EMBEDDING_DIM = HEAD  # 1280
PROJECTION_DIM = 512
# The paper's multi-task loss weights, "prioritizing associations with better single-model performances".
MULTI_WEIGHTS = {"track": 0.1, "release": 0.15, "artist": 0.6, "label": 0.15}


@dataclass(frozen=True)
class EmbedConfig:
    backbone: str = "b0"  # b0 or lite0
    associations: tuple[str, ...] = ("artist",)  # one (a single model) or several (multi-task)
    projection_dim: int = PROJECTION_DIM
    drop_connect: float = 0.2
    bn_eps: float = 1e-5
    width: float = 1.0  # encoder channel multiplier: below 1 only for the embed-debug model
    depth: float = 1.0
    weights: dict[str, float] = field(default_factory=dict)  # loss weights; default MULTI_WEIGHTS
    classes: tuple[str, ...] = ()  # a supervised tagger instead (the seed's style-tag baseline)

    @classmethod
    def from_dict(cls, config: dict) -> EmbedConfig:  # type: ignore[type-arg]
        """The config of a checkpoint (its sequences may come back as lists)."""
        return cls(
            **{**config, "associations": tuple(config["associations"]), "classes": tuple(config.get("classes", ()))}
        )

    def loss_weights(self) -> dict[str, float]:
        if self.classes:
            return {TAG: 1.0}
        if len(self.associations) == 1:
            return {self.associations[0]: 1.0}
        chosen = self.weights or MULTI_WEIGHTS
        return {a: float(chosen[a]) for a in self.associations}


class ContrastiveHead(nn.Module):
    """``(B, 1280)`` -> ``(B, 512)`` projections, and the bilinear similarity between two sets."""

    def __init__(self, dim_in: int = EMBEDDING_DIM, dim: int = PROJECTION_DIM) -> None:
        super().__init__()
        self.project = nn.Linear(dim_in, dim)
        self.norm = nn.LayerNorm(dim)
        # Identity over sqrt(dim): a^T B p starts as a scaled dot product. Measured on a 160-song
        # band corpus, 16-pair batches, B0 from scratch: the first 25 steps' mean loss 7.0 against
        # 20.4 with a Xavier-random B (chance: log 16 = 2.8); after 200 steps both were near chance
        # (validation 2.59 and 2.66 on 17 pairs: not told apart).
        self.bilinear = nn.Parameter(torch.eye(dim) / dim**0.5)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:  # (B, 1280) -> (B, 512)
        return torch.tanh(self.norm(self.project(embedding)))

    def similarity(self, anchors: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
        """``(N, 512)``, ``(M, 512)`` -> ``(N, M)``: ``a^T B p`` for every pair."""
        return anchors @ self.bilinear @ positives.T


def cola_loss(
    head: ContrastiveHead, anchors: torch.Tensor, positives: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """COLA's loss over a batch of ``N`` pairs of projections ``(N, 512)``: cross-entropy of
    each anchor's similarities against its own positive, and the top-1 accuracy (the paper's
    validation accuracy)."""
    logits = head.similarity(anchors, positives)  # (N, N)
    target = torch.arange(len(logits), device=logits.device)
    loss = F.cross_entropy(logits, target)
    accuracy = (logits.argmax(dim=1) == target).float().mean()
    return loss, accuracy


class EmbedModel(nn.Module):
    """Log-mel patches ``(B, 96, 128)`` -> embeddings ``(B, 1280)`` (at width 1); ``heads[association]``
    project them for training (and for ``--layer projection``)."""

    def __init__(self, cfg: EmbedConfig = EmbedConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_norm = nn.BatchNorm2d(1)
        self.encoder = EfficientNet(
            EfficientNetConfig(
                cfg.backbone,
                in_channels=1,
                drop_connect=cfg.drop_connect,
                bn_eps=cfg.bn_eps,
                width=cfg.width,
                depth=cfg.depth,
            )
        )
        dim = self.encoder.out_dim
        self.heads = nn.ModuleDict(
            {} if cfg.classes else {a: ContrastiveHead(dim, cfg.projection_dim) for a in cfg.associations}
        )
        self.classifier = nn.Linear(dim, len(cfg.classes)) if cfg.classes else None

    def forward(self, patches: torch.Tensor) -> torch.Tensor:  # (B, 96, 128) -> (B, 1280)
        return self.encoder(self.input_norm(patches.unsqueeze(1)))

    def pair_loss(
        self, association: str, anchors: torch.Tensor, positives: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """COLA loss and accuracy of ``N`` anchor and positive patches ``(N, 96, 128)``, encoded
        in one pass (batch-norm statistics over both)."""
        head = self.heads[association]
        projected = head(self(torch.cat([anchors, positives])))  # (2N, 512)
        return cola_loss(head, *projected.chunk(2))

    def tag_loss(self, patches: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A tagger's cross-entropy and accuracy on patches ``(N, 96, 128)`` of classes ``labels``."""
        if self.classifier is None:
            raise ValueError("not a tagger: the config has no classes")
        logits = self.classifier(self(patches))
        return F.cross_entropy(logits, labels), (logits.argmax(dim=1) == labels).float().mean()
