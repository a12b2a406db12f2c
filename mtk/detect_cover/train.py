"""Train stage 1's projection and fit the pair-score calibration (``mtk train detect-cover``).

The projection (:mod:`mtk.detect_cover.project`) is trained contrastively: each step takes
``works`` works of the training corpora, two different versions of each, every one a
random excerpt (half to all of its beats) summarised by its fingerprints; the similarity
of two recordings is the largest cosine similarity over their level pairings; an InfoNCE
loss (temperature ``tau``) asks each version to pick its partner among the batch's other
versions and ``negatives`` excerpts of unrelated real music. Fingerprints of
:data:`VIEWS` excerpts per recording are computed once.

Pairs for the calibration come from a training corpus built with versions: each song against its stage-1 top
``candidates`` recordings, the pairs stage 2 re-ranks in use; those of the same work are
positives. (Adding positives from outside that list would bias the distance weight.)
A logistic regression of (Qmax, stage-1 distance) gives the probability; the threshold is
the one that maximises F1 on these pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtk.detect_cover.eval import SAME, Item, pair_kind, scored_pairs
from mtk.detect_cover.features import FeatureConfig, fingerprints
from mtk.detect_cover.index import Recording
from mtk.detect_cover.infer import Calibration
from mtk.detect_cover.project import Projection
from mtk.errors import InputError

VIEWS = 6  # excerpts per recording (the first is the whole recording)


@dataclass
class ProjectionOptions:
    steps: int = 600
    works: int = 64  # per step, two versions each
    negatives: int = 64  # per step
    hidden: int = 512
    out: int = 128
    tau: float = 0.1
    lr: float = 1e-3
    seed: int = 0


def views(rec: Recording, rng: np.random.Generator, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """``(VIEWS, levels, dim)``: the fingerprints of the whole recording and of random
    excerpts of half to all of its beats."""
    chroma = rec.chroma.astype(np.float32)
    n = chroma.shape[1] // cfg.grid
    out = [fingerprints(chroma, cfg)]
    for _ in range(VIEWS - 1):
        length = int(rng.integers(min(n, max(8, n // 2)), n + 1))
        start = int(rng.integers(0, n - length + 1))
        out.append(fingerprints(chroma[:, start * cfg.grid : (start + length) * cfg.grid], cfg))
    return np.stack(out)


def train_projection(
    groups: list[list[Recording]],
    negatives: list[Recording],
    opts: ProjectionOptions = ProjectionOptions(),
    *,
    produced: Mapping[str, list[Recording]] | None = None,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> Projection:
    """A projection trained on ``groups`` (the versions of each work, two or more) against
    ``negatives`` (unrelated recordings; may be empty).

    ``produced`` maps a version's path to copies of it through production chains: a view of a
    version is then drawn from the clean recording and its copies alike, so a pair still joins
    two different versions but each may come through another chain (the copies teach
    invariance to production, the versions invariance to arrangement)."""
    import torch

    groups = [g for g in groups if len(g) >= 2]
    if not groups:
        raise ValueError("no work with two versions to learn from")
    rng = np.random.default_rng(opts.seed)
    torch.manual_seed(opts.seed)
    produced = produced or {}
    bank = [[np.concatenate([views(x, rng) for x in [r, *produced.get(r.path, [])]]) for r in g] for g in groups]
    neg = np.stack([views(r, rng) for r in negatives]) if negatives else None
    dim = bank[0][0].shape[-1]
    net = torch.nn.Sequential(
        torch.nn.Linear(dim, opts.hidden), torch.nn.ReLU(), torch.nn.Linear(opts.hidden, opts.out)
    )
    optim = torch.optim.AdamW(net.parameters(), lr=opts.lr, weight_decay=1e-4)

    def embed(x: np.ndarray) -> torch.Tensor:
        return torch.nn.functional.normalize(net(torch.from_numpy(x)), dim=-1)

    def similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # best level pairing
        return torch.einsum("ikd,jld->ijkl", a, b).flatten(2).max(dim=2).values

    for step in range(1, opts.steps + 1):
        chosen = rng.choice(len(bank), size=min(opts.works, len(bank)), replace=False)
        first, second = [], []
        for c in chosen:
            i, j = rng.choice(len(bank[c]), size=2, replace=False)
            first.append(bank[c][i][rng.integers(len(bank[c][i]))])
            second.append(bank[c][j][rng.integers(len(bank[c][j]))])
        a, b = embed(np.stack(first)), embed(np.stack(second))
        extra = []
        if neg is not None:
            picks = rng.choice(len(neg), size=min(opts.negatives, len(neg)), replace=False)
            extra = [embed(neg[picks, rng.integers(VIEWS, size=len(picks))])]
        target = torch.arange(len(a))
        loss = torch.nn.functional.cross_entropy(similarity(a, torch.cat([b, *extra])) / opts.tau, target)
        loss = loss + torch.nn.functional.cross_entropy(similarity(b, torch.cat([a, *extra])) / opts.tau, target)
        optim.zero_grad()
        loss.backward()
        optim.step()
        if log and (step % 50 == 0 or step == opts.steps):
            log({"step": step, "loss": round(loss.item(), 4)})
    w1, w2 = net[0], net[2]
    return Projection(*(t.detach().numpy().astype(np.float32).copy() for t in (w1.weight, w1.bias, w2.weight, w2.bias)))


def pair_table(
    items: list[Item], *, candidates: int = 20, projection: Projection | None = None, jobs: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """``(features (n, 2) [qmax, distance], labels (n,))`` for calibration."""
    queries, results = scored_pairs(items, rerank=candidates, projection=projection, jobs=jobs)
    rows, labels = [], []
    for query, res in zip(queries, results, strict=True):
        top = set(res["order"][:candidates].tolist())
        for i, qmax in res["qmax"].items():
            if i not in top or pair_kind(items[query], items[i]) == SAME:
                continue  # a produced copy of the song itself is no version
            rows.append((qmax, float(res["dist"][i])))
            labels.append(i in res["relevant"])
    return np.array(rows), np.array(labels)


def check_calibration_items(items: list[Item], where: str) -> None:
    """Calibration learns covers from non-covers: it needs a work with two recordings or more
    (cover pairs) and two works (pairs that are not). InputError naming what is missing."""
    from collections import Counter

    per_work = Counter(str(it.work) for it in items)
    if not any(n > 1 for n in per_work.values()):
        raise InputError(
            f"{where}: no work has two versions ({len(items)} recordings of {len(per_work)} works): no cover pairs "
            "to calibrate on",
            hint="build it with `mtk corpus songs --versions 2` or more",
        )
    if len(per_work) < 2:
        raise InputError(f"{where}: one work only: no pairs of different works to calibrate on")


def fit_calibration(features: np.ndarray, labels: np.ndarray, *, name: str) -> tuple[Calibration, dict[str, Any]]:
    """Logistic regression (scikit-learn) and the F1-maximising threshold; returns the scores too."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score

    if len(set(labels.tolist())) < 2:
        kind = "cover" if not labels.any() else "non-cover"
        raise InputError(f"no {kind} pairs among the {len(labels)} candidate pairs: nothing to calibrate")

    model = LogisticRegression(C=10.0).fit(features, labels)
    w_qmax, w_dist = (float(w) for w in model.coef_[0])
    cal = Calibration(w_qmax, w_dist, float(model.intercept_[0]), 0.5, name)
    probs = np.array([cal.probability(q, d) for q, d in features])
    grid = np.linspace(0.05, 0.95, 91)
    f1s = [f1_score(labels, probs >= t) for t in grid]
    best = float(grid[int(np.argmax(f1s))])
    cal = Calibration(cal.w_qmax, cal.w_distance, cal.bias, round(best, 3), name)
    scores = {
        "pairs": int(len(labels)),
        "positives": int(labels.sum()),
        "roc_auc": round(float(roc_auc_score(labels, probs)), 4),
        "f1": round(float(max(f1s)), 4),
        "threshold": cal.threshold,
    }
    return cal, scores
