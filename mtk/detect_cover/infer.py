"""Cover detection API: compare two recordings, query an index, find cliques, classify.

Stage 1 (the seed's 2D Fourier magnitude fingerprints, one per metrical level) ranks by
the closest pairing of levels; stage 2 re-ranks the top candidates by Qmax alignment at
several levels. The default model, ``detect-cover-proj-v1``, projects the fingerprints
with a learned perceptron first (:mod:`mtk.detect_cover.project`). The pair score is a
calibrated probability, a logistic model of (Qmax, stage-1 distance) fitted by
``mtk train detect-cover``; ``detect-cover-calib-v2`` is the model without projection.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import numpy as np

from mtk.detect_cover.align import multilevel_scores
from mtk.detect_cover.features import distance as stage1_distance
from mtk.detect_cover.index import CoverIndex, Recording
from mtk.detect_cover.project import Projection
from mtk.detect_cover.project import load_model as load_projection
from mtk.errors import BadModelError

TASK = "detect-cover"
DEFAULT_MODEL = "detect-cover-proj-v1"
# Stage-1 candidates stage 2 re-ranks by default: on held-out works produced differently, MAP
# 0.911 at 50 and 0.937 at 200 (README); a 60-s query against 200 recordings stays under 0.5 s.
DEFAULT_RERANK = 200


@dataclass(frozen=True)
class Calibration:
    """P(cover) = sigmoid(bias + w_qmax * qmax + w_distance * distance); cover when >= threshold."""

    w_qmax: float
    w_distance: float
    bias: float
    threshold: float = 0.5
    name: str = "custom"

    def probability(self, qmax: float, distance: float) -> float:
        z = self.bias + self.w_qmax * qmax + self.w_distance * distance
        return 1.0 / (1.0 + math.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {"format": 1, "arch": "logistic-qmax-distance", **asdict(self)}


def load_calibration(model: str | None = None) -> Calibration:
    """The calibration of a model (see :func:`load_model`)."""
    return load_model(model)[0]


def load_model(model: str | None = None) -> tuple[Calibration, Projection | None]:
    """``(calibration, projection or None)`` from a registry name (default
    :data:`DEFAULT_MODEL`), a calibration ``.json`` or a projection ``.npz``."""
    from mtk.weights.registry import check_task, get_entry
    from mtk.weights.store import looks_like_path, resolve

    name = model or DEFAULT_MODEL
    if not looks_like_path(name):
        entry = check_task(get_entry(name), TASK)
        if entry.debug:
            return Calibration(**entry.config, name=entry.name), None  # type: ignore[arg-type]
    resolved = resolve(name, task=TASK)
    try:
        if Path(resolved.path).suffix == ".npz":
            projection, data = load_projection(resolved.path)
        else:
            projection, data = None, json.loads(Path(resolved.path).read_text())
        cal = Calibration(data["w_qmax"], data["w_distance"], data["bias"], data.get("threshold", 0.5), resolved.name)
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError, BadZipFile) as exc:
        raise BadModelError(f"{resolved.path}: not a detect-cover model ({type(exc).__name__})") from None
    return cal, projection


@dataclass
class CoverMatch:
    """One compared pair."""

    query: str
    candidate: str
    distance: float
    qmax: float | None
    oti: int | None
    score: float | None
    is_cover: bool | None
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


class CoverDetector:
    """Two-stage cover detection with a calibrated pair score."""

    def __init__(self, calibration: Calibration, projection: Projection | None = None) -> None:
        self.calibration = calibration
        self.projection = projection

    def stage1_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """What stage 1 compares: the fingerprints, projected when the model has a projection."""
        return vectors if self.projection is None else self.projection(vectors)

    def compare(self, a: Recording, b: Recording) -> CoverMatch:
        """Both stages on one pair: stage-1 distance, Qmax, calibrated score and verdict."""
        return self.compare_many(a, [b])[0]

    def compare_many(self, a: Recording, bs: list[Recording], distances: list[float] | None = None) -> list[CoverMatch]:
        """:meth:`compare` of ``a`` with each of ``bs``, stage 2 in one call (see
        :func:`mtk.detect_cover.align.multilevel_scores`); ``distances``: their stage-1
        distances when already known."""
        if distances is None:
            query = self.stage1_vectors(a.vectors)
            distances = [stage1_distance(query, self.stage1_vectors(b.vectors)) for b in bs]
        scores = multilevel_scores(a.chroma, [b.chroma for b in bs], a.duration, [b.duration for b in bs])
        method = "2dftm+qmax" if self.projection is None else "2dftm+projection+qmax"
        matches = []
        for b, d, (q, shift) in zip(bs, distances, scores, strict=True):
            p = self.calibration.probability(q, d)
            matches.append(CoverMatch(a.path, b.path, d, q, shift, p, p >= self.calibration.threshold, method))
        return matches

    def query(
        self, rec: Recording, index: CoverIndex, *, k: int = 10, rerank: int = DEFAULT_RERANK, exclude_self: bool = True
    ) -> list[CoverMatch]:
        """The ``k`` best candidates: stage-1 top ``rerank`` re-ranked by the pair score."""
        idx, dist = index.knn(rec.vectors, rerank + (1 if exclude_self else 0), projection=self.projection)
        keep = [(int(i), float(d)) for i, d in zip(idx, dist, strict=True)]
        keep = [(i, d) for i, d in keep if not (exclude_self and index.hashes[i] == rec.sha256)][:rerank]
        matches = self.compare_many(rec, [index.recording(i) for i, _ in keep], [d for _, d in keep])
        matches.sort(key=lambda m: -(m.score or 0.0))
        return matches[:k]

    def cliques(self, index: CoverIndex, *, k: int = 10) -> list[list[int]]:
        """Groups of versions: connected components of the graph of pairs judged covers.

        Each recording is compared with its ``k`` nearest neighbours (stage 1), edges kept
        where the calibrated score passes the threshold (stage 2); components of two or
        more recordings are returned, largest first.
        """
        parent = list(range(len(index)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i in range(len(index)):
            rec = index.recording(i)
            for m in self.query(rec, index, k=k, rerank=k):
                if m.is_cover:
                    parent[find(i)] = find(index.position(m.candidate))
        groups: dict[int, list[int]] = {}
        for i in range(len(index)):
            groups.setdefault(find(i), []).append(i)
        return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))

    def classify(self, rec: Recording, versions: list[Recording]) -> dict[str, Any]:
        """The seed's binary task: is ``rec`` a version of the work whose versions are given?

        The verdict uses the mean of the two best pair scores (the best alone when one
        version is given), so one lucky match does not decide it.
        """
        matches = sorted(self.compare_many(rec, versions), key=lambda m: -(m.score or 0.0))
        top = [m.score or 0.0 for m in matches[:2]]
        score = float(np.mean(top))
        return {
            "score": round(score, 6),
            "is_cover": score >= self.calibration.threshold,
            "best": matches[0].candidate,
            "versions": len(versions),
            "matches": [m.to_dict() for m in matches],
        }
