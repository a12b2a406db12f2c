"""The paper's protocol (Ibrahim et al., section 6): tag sets x splits x repeats, mean (std).

For each tag set C (streams of its situations only), each split kind and each repeat seed:
user embeddings are fitted on the training users' history, duSP and (unless skipped) auSP are
trained on the training streams, and the test streams are scored (:mod:`mtk.situate.metrics`).
With a ``runs`` folder the protocol survives interruption: each finished (C, split, repeat) is
kept as ``RUNS/c<C>-<split>-<seed>/record.json`` and each auSP checkpoints beside it, so a rerun
with the same folder and settings resumes where the last one stopped (one auSP of 3,000 steps
takes about an hour on a 2-core CPU).
:func:`tables` prints the results in the shape of the paper's Tables 2, 3 and 5, with the
paper's own figures beside them (its Deezer data, not ours: a comparison of shape).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import UsageError
from mtk.situate.schema import tag_set
from mtk.situate.splits import SPLITS, make_split
from mtk.situate.train import AuSPOptions, SituateData, fit_embedder, predict_ausp, train_ausp

# The paper's Tables 2, 3 and 5: mean over its splits, (C, split) -> value.
PAPER = {
    "ausp_auc": {
        (4, "cold-user"): 0.889, (4, "cold-track"): 0.873, (4, "warm"): 0.959,
        (8, "cold-user"): 0.815, (8, "cold-track"): 0.866, (8, "warm"): 0.945,
        (12, "cold-user"): 0.852, (12, "cold-track"): 0.824, (12, "warm"): 0.941,
    },
    "ausp_accuracy": {
        (4, "cold-user"): 0.6972, (4, "cold-track"): 0.6377, (4, "warm"): 0.8375,
        (8, "cold-user"): 0.4756, (8, "cold-track"): 0.5244, (8, "warm"): 0.7081,
        (12, "cold-user"): 0.5268, (12, "cold-track"): 0.3761, (12, "warm"): 0.6914,
    },
    "dusp_accuracy": {
        (4, "cold-user"): 0.4746, (4, "cold-track"): 0.6681, (4, "warm"): 0.6696,
        (8, "cold-user"): 0.3095, (8, "cold-track"): 0.4913, (8, "warm"): 0.4923,
        (12, "cold-user"): 0.2500, (12, "cold-track"): 0.3905, (12, "warm"): 0.3992,
    },
    "dusp_accuracy_at_3": {
        (4, "cold-user"): 0.9051, (4, "warm"): 0.963,
        (8, "cold-user"): 0.6411, (8, "warm"): 0.7962,
        (12, "cold-user"): 0.5204, (12, "warm"): 0.6762,
    },
    "joint_overlap": {
        (4, "cold-user"): 0.3622, (4, "cold-track"): 0.4460, (4, "warm"): 0.5892,
        (8, "cold-user"): 0.1777, (8, "cold-track"): 0.2894, (8, "warm"): 0.3952,
        (12, "cold-user"): 0.1619, (12, "cold-track"): 0.1875, (12, "warm"): 0.3126,
    },
}  # fmt: skip


def subset(data: SituateData, n_classes: int) -> SituateData:
    """The streams of tag set C only, relabelled."""
    situations = tag_set(n_classes)
    labels = data.streams.labels(situations)
    keep = np.flatnonzero(labels >= 0)
    return replace(
        data,
        streams=data.streams.take(keep),
        situations=situations,
        labels=labels[keep],
        track_of=data.track_of[keep],
    )


def fingerprint(data: SituateData) -> str:
    """A short hash of the labelled streams and the history, so a runs folder is never resumed
    on other data."""
    h = hashlib.sha256()
    s = data.streams
    for array in (s.hour, s.weekday, s.device, s.network, s.age, s.gender, data.labels):
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(json.dumps([s.user, s.track, s.country, data.history], sort_keys=True).encode())
    return h.hexdigest()[:16]


_NOT_SCORED = ("seed", "device", "threads", "checkpoint_every", "log_every")  # seeds come from the repeat


def _settings(data: SituateData, ausp: AuSPOptions | None) -> dict[str, Any]:
    kept = None
    if ausp is not None:  # what changes the scores (not the device, threads or logging), and the audio
        kept = {k: v for k, v in asdict(ausp).items() if k not in _NOT_SCORED}
        kept["mels"] = hashlib.sha256(np.ascontiguousarray(data.mels).tobytes()).hexdigest()[:16]
    return {"data": fingerprint(data), "ausp": kept}


def _runs_folder(runs: Path, settings: dict[str, Any]) -> None:
    from mtk.io.files import atomic_write

    runs.mkdir(parents=True, exist_ok=True)
    saved = runs / "protocol.json"
    if saved.exists():
        before = json.loads(saved.read_text())
        if before != settings:
            changed = sorted(k for k in settings if before.get(k) != settings[k])
            what = " and ".join(changed)
            raise UsageError(f"{runs}: holds a protocol run with other {what} settings; use another folder")
    else:
        atomic_write(saved, (json.dumps(settings, indent=1) + "\n").encode())


def run_protocol(
    data: SituateData,
    *,
    classes: Sequence[int] = (4, 8, 12),
    splits: Sequence[str] = SPLITS,
    repeats: int = 4,
    ausp: AuSPOptions | None = None,
    runs: Path | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """One record per (C, split, repeat): sizes and scores. ``ausp=None`` scores duSP only.
    ``on_log`` gets auSP's training log records, each with its ``cell`` (``c<C>-<split>-<seed>``).

    Repeats run outermost, so a partial run has every cell once before any twice. With
    ``runs``, finished records are kept there and reused, and auSP training resumes from its
    checkpoint.
    """
    from mtk.io.files import atomic_write

    if runs is not None:
        _runs_folder(runs, _settings(data, ausp))
    parts = {c: subset(data, c) for c in classes}
    results = []
    for seed in range(repeats):
        for c in classes:
            for kind in splits:
                name = f"c{c}-{kind}-{seed}"
                cell = runs / name if runs is not None else None
                if cell is not None and (cell / "record.json").exists():
                    record = json.loads((cell / "record.json").read_text())
                else:
                    log = (lambda r, name=name: on_log({"cell": name, **r})) if on_log else None
                    record = _score_split(parts[c], kind, seed, ausp, cell, log)
                    if cell is not None:
                        atomic_write(cell / "record.json", (json.dumps(record) + "\n").encode(), force=True)
                results.append(record)
                if on_result:
                    on_result(record)
    return results


def _score_split(
    part: SituateData,
    kind: str,
    seed: int,
    ausp: AuSPOptions | None,
    run: Path | None,
    on_log: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any]:
    """duSP and (with ``ausp``) auSP trained on one split's training streams, scored on its test streams."""
    from mtk.situate.dusp import DuSP
    from mtk.situate.metrics import branch_scores

    split = make_split(part.streams, kind, seed)
    dusp = DuSP.fit(part.streams.take(split.train), part.situations, seed=seed)
    p_device = dusp.predict_proba(part.streams.take(split.test))
    p_audio = None
    if ausp is not None:
        embedder = fit_embedder(part, split.train, seed=seed)
        model = train_ausp(part, split.train, embedder, replace(ausp, seed=seed), run=run, on_log=on_log)
        p_audio = predict_ausp(model, part, split.test, embedder)
    record = {"classes": len(part.situations), "split": kind, "seed": seed, "train_streams": int(len(split.train))}
    return record | branch_scores(p_audio, p_device, part.labels[split.test])


METRICS = ("ausp_auc", "ausp_accuracy", "dusp_accuracy", "dusp_accuracy_at_3", "joint_overlap")


def summarize(results: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """``{C: {split: {metric: {"mean", "std", "n"}}}}`` over the repeats."""
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for r in results:
        cell = out.setdefault(str(r["classes"]), {}).setdefault(r["split"], {})
        for m in METRICS:
            if m in r:
                cell.setdefault(m, {"values": []})["values"].append(r[m])  # type: ignore[index]
    for by_split in out.values():
        for cell in by_split.values():
            for m, v in cell.items():
                values = np.asarray(v.pop("values"))  # type: ignore[arg-type]
                cell[m] = {"mean": float(values.mean()), "std": float(values.std()), "n": int(len(values))}
    return out


def _cell(summary: dict, c: int, split: str, metric: str, percent: bool) -> str:
    stat = summary.get(str(c), {}).get(split, {}).get(metric)
    if stat is None:
        return "-"
    scale = 100 if percent else 1
    digits = 2 if percent else 3
    if stat["n"] < 2:  # one split: no spread to show
        return f"{stat['mean'] * scale:.{digits}f}"
    return f"{stat['mean'] * scale:.{digits}f} ({stat['std'] * scale:.{digits}f})"


def _paper(c: int, split: str, metric: str, percent: bool) -> str:
    value = PAPER[metric].get((c, split))
    if value is None:
        return "-"
    return f"{value * 100:.2f}" if percent else f"{value:.3f}"


def tables(summary: dict, *, splits: Sequence[str] = SPLITS) -> str:
    """Markdown tables shaped as the paper's Tables 2 (auSP), 3 (duSP) and 5 (joint), mean (std)
    (the mean alone for a cell of one split); each row is followed by the paper's figure for
    the same cell (its data, not ours)."""
    classes = sorted(int(c) for c in summary)
    heads = {"cold-user": "Cold user", "cold-track": "Cold track", "warm": "Warm"}
    lines: list[str] = []

    def block(title: str, metric: str, percent: bool) -> None:
        if not any(metric in cell for by in summary.values() for cell in by.values()):
            return
        lines.extend([f"**{title}**", "", "| C | " + " | ".join(heads[s] for s in splits) + " |"])
        lines.append("|---" * (len(splits) + 1) + "|")
        for c in classes:
            lines.append(f"| {c} | " + " | ".join(_cell(summary, c, s, metric, percent) for s in splits) + " |")
            lines.append(f"| {c} (paper) | " + " | ".join(_paper(c, s, metric, percent) for s in splits) + " |")
        lines.append("")

    block("Table 2: auSP AUC", "ausp_auc", False)
    block("Table 2: auSP accuracy (%)", "ausp_accuracy", True)
    block("Table 3: duSP accuracy (%)", "dusp_accuracy", True)
    block("Table 3: duSP accuracy@3 (%)", "dusp_accuracy_at_3", True)
    if any("joint_overlap" in cell for by in summary.values() for cell in by.values()):
        lines.extend(
            ["**Table 5: joint accuracy (%)**", "", "| C | model | " + " | ".join(heads[s] for s in splits) + " |"]
        )
        lines.append("|---" * (len(splits) + 2) + "|")
        for c in classes:
            for label, metric in (("auSP", "ausp_accuracy"), ("duSP", "dusp_accuracy"), ("Overlap", "joint_overlap")):
                ours = " | ".join(_cell(summary, c, s, metric, True) for s in splits)
                paper = " | ".join(_paper(c, s, metric, True) for s in splits)
                lines.append(f"| {c} | {label} | {ours} |")
                lines.append(f"| {c} | {label} (paper) | {paper} |")
        lines.append("")
    return "\n".join(lines)
