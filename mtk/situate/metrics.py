"""The protocol's metrics (Ibrahim et al., section 6): AUC and accuracy for auSP, accuracy and
accuracy@3 for duSP, and the joint overlap: the share of streams both branches get right."""

from __future__ import annotations

import numpy as np


def accuracy_at(p: np.ndarray, y: np.ndarray, k: int = 1) -> float:
    top = np.argsort(-p, axis=1)[:, :k]
    return float((top == y[:, None]).any(axis=1).mean())


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """Macro one-vs-rest ROC AUC over the classes present in ``y`` (scikit-learn)."""
    from sklearn.metrics import roc_auc_score

    present = np.unique(y)
    scores = [roc_auc_score(y == c, p[:, c]) for c in present if 0 < (y == c).sum() < len(y)]
    return float(np.mean(scores)) if scores else float("nan")


def branch_scores(p_audio: np.ndarray | None, p_device: np.ndarray | None, y: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {"streams": int(len(y))}
    if p_audio is not None:
        out |= {"ausp_auc": auc(p_audio, y), "ausp_accuracy": accuracy_at(p_audio, y)}
    if p_device is not None:
        out |= {"dusp_accuracy": accuracy_at(p_device, y), "dusp_accuracy_at_3": accuracy_at(p_device, y, 3)}
    if p_audio is not None and p_device is not None:
        both = (p_audio.argmax(1) == y) & (p_device.argmax(1) == y)
        out["joint_overlap"] = float(both.mean())
    return out
