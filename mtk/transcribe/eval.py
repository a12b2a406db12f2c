"""`mtk eval transcribe`: onset F-measure per class on corpus drum stems, DrummerNet and baseline.

Songs: those of a split drummed by a recorded kit (the test split's kits are held out from
training). Reference onsets come from each song's hit list, each hit classed by what the kit
actually played (a kit without a clap plays its snare). Scores: mir_eval's onset matching
with a 50 ms window, counted over all songs (micro F1) for kick, snare and hi-hat (closed or
open), and their mean; the same for the NMF baseline. Thresholds for the three classes can be
tuned on another split (``tune_thresholds``: a grid maximising each class's F1), which is
how the shipped thresholds were chosen (on the validation split, never the test split).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import InputError
from mtk.io.audio import read_audio
from mtk.transcribe.components import COMPONENTS, EVAL_CLASSES
from mtk.transcribe.peaks import detect, velocities

WINDOW_S = 0.05
GRID = np.geomspace(0.01, 2.0, 40)


@dataclass
class Song:
    name: str
    audio: np.ndarray  # mono, peak 1, at the model's rate
    onsets: dict[str, np.ndarray]  # eval class -> reference times
    velocity: dict[str, np.ndarray]  # eval class -> reference velocities


def load_songs(corpus: Path, *, split: str, sample_rate: int, limit: int | None = None) -> list[Song]:
    """The sampler-drummed songs of ``split`` with their reference onsets per eval class."""
    from mtk.corpus.kits import installed_kits

    kits = {k.name: k for k in installed_kits()}
    metas = sorted(Path(corpus).glob("*/meta.json"))
    if not metas:
        raise InputError(f"{corpus}: not a song corpus (no */meta.json)")
    songs = []
    for m in metas:
        meta = json.loads(m.read_text())
        if meta["split"] != split or meta["drums"]["mode"] != "sampler" or meta["drums"]["kit"] not in kits:
            continue
        kit = kits[meta["drums"]["kit"]]
        played: dict[str, list[tuple[float, int]]] = {c: [] for c in EVAL_CLASSES}
        for hit in meta["drum_hits"]:
            cls = kit.resolve_class(hit["class"])
            for name, members in EVAL_CLASSES.items():
                if cls in members:
                    played[name].append((hit["time"], hit["velocity"]))
        y, _ = read_audio(m.parent / "drums.wav", sr=sample_rate, mono=True)
        y = y / max(float(np.abs(y).max(initial=0.0)), 1e-12)
        songs.append(
            Song(
                m.parent.name,
                y.astype(np.float32),
                {c: np.array(sorted(t for t, _ in v)) for c, v in played.items()},
                {c: np.array([v for _, v in sorted(vs)]) for c, vs in played.items()},
            )
        )
        if limit and len(songs) >= limit:
            break
    if not songs:
        raise InputError(f"{corpus}: no {split}-split songs drummed by an installed recorded kit")
    return songs


def _groups() -> dict[str, list[int]]:
    return {name: [COMPONENTS.index(c) for c in members] for name, members in EVAL_CLASSES.items()}


def _estimates(act: np.ndarray, rate: float, threshold: float, group: list[int]) -> tuple[np.ndarray, np.ndarray]:
    peaks = detect(act, rate, np.full(act.shape[0], threshold), groups=[group])
    return np.array([p.time for p in peaks]), np.array([p.mass for p in peaks])


def _micro(songs: list[Song], acts: list[np.ndarray], rate: float, threshold: float, name: str) -> dict[str, float]:
    """Micro precision/recall/F1 of eval class ``name`` over ``songs`` at ``threshold``."""
    tp = n_est = n_ref = 0
    for song, act in zip(songs, acts, strict=True):
        est, _ = _estimates(act, rate, threshold, _groups()[name])
        hits, e, r, _ = _counts(song.onsets[name], est)
        tp, n_est, n_ref = tp + hits, n_est + e, n_ref + r
    return _f1(tp, n_est, n_ref)


def _counts(ref: np.ndarray, est: np.ndarray) -> tuple[int, int, int, list[tuple[int, int]]]:
    import mir_eval

    matches = mir_eval.util.match_events(ref, est, WINDOW_S) if len(ref) and len(est) else []
    return len(matches), len(est), len(ref), matches


def _f1(tp: int, n_est: int, n_ref: int) -> dict[str, float]:
    p = tp / n_est if n_est else 0.0
    r = tp / n_ref if n_ref else 0.0
    return {"f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "precision": round(p, 4), "recall": round(r, 4)}


def score(
    songs: list[Song],
    acts: list[np.ndarray],
    rate: float,
    thresholds: dict[str, float],
    gains: np.ndarray | None = None,
) -> dict[str, Any]:
    """Micro precision/recall/F1 per eval class and the mean F1; with ``gains``, also the
    mean per-song Spearman correlation of estimated and reference velocities."""
    from scipy.stats import spearmanr

    out: dict[str, Any] = {}
    correlations = []
    for name, group in _groups().items():
        tp = n_est = n_ref = 0
        for song, act in zip(songs, acts, strict=True):
            est, mass = _estimates(act, rate, thresholds[name], group)
            hits, e, r, matches = _counts(song.onsets[name], est)
            tp, n_est, n_ref = tp + hits, n_est + e, n_ref + r
            if gains is not None and len(matches) > 2:
                pred = velocities(mass * gains[group[0]])[[j for _, j in matches]]
                true = song.velocity[name][[i for i, _ in matches]]
                if np.ptp(true) > 0 and np.ptp(pred) > 0:
                    correlations.append(float(spearmanr(pred, true).statistic))
        out[name] = _f1(tp, n_est, n_ref)
    out["mean_f1"] = round(float(np.mean([out[c]["f1"] for c in EVAL_CLASSES])), 4)
    if gains is not None:
        out["velocity_spearman"] = round(float(np.mean(correlations)), 4) if correlations else None
    return out


def tune_thresholds(songs: list[Song], acts: list[np.ndarray], rate: float) -> dict[str, float]:
    """Per eval class, the grid threshold with the best micro F1 on ``songs``."""
    best = {}
    for name in EVAL_CLASSES:
        f1s = [_micro(songs, acts, rate, float(thr), name)["f1"] for thr in GRID]
        best[name] = round(float(GRID[int(np.argmax(f1s))]), 4)
    return best


def component_thresholds(per_class: dict[str, float]) -> dict[str, float]:
    """Eval-class thresholds spread to the components they cover."""
    return {c: thr for name, thr in per_class.items() for c in EVAL_CLASSES[name]}


def baseline_for(transcriber: Any) -> Any:
    """The NMF baseline with templates from the kits ``transcriber`` was trained with (the
    corpus's training kits when unknown)."""
    from mtk.corpus.build import DEFAULT_TEST_KITS
    from mtk.corpus.kits import installed_kits
    from mtk.transcribe.baseline import NmfTranscriber
    from mtk.transcribe.components import kit_bank

    kits = [
        k
        for k in installed_kits()
        if (k.name in transcriber.kits if transcriber.kits else k.name not in DEFAULT_TEST_KITS)
    ]
    return NmfTranscriber(kit_bank(kits, transcriber.cfg.sample_rate), transcriber.cfg.sample_rate)


BASELINE_THRESHOLD = 0.2  # the paper's delta after max-normalisation


def evaluate(transcriber: Any, baseline: Any, songs: list[Song], *, tune: list[Song] | None = None) -> dict[str, Any]:
    """DrummerNet (``transcriber``) and the NMF ``baseline`` on ``songs``; with ``tune``,
    both systems' thresholds are first chosen on those songs (another split)."""
    acts = [transcriber.activations(s.audio) for s in songs]
    base_acts = [baseline.activations(s.audio) for s in songs]
    if tune:
        thresholds = tune_thresholds(tune, [transcriber.activations(s.audio) for s in tune], transcriber.rate)
        base_thr = tune_thresholds(tune, [baseline.activations(s.audio) for s in tune], baseline.rate)
    else:
        thresholds = {name: transcriber.thresholds[members[0]] for name, members in EVAL_CLASSES.items()}
        base_thr = {name: BASELINE_THRESHOLD for name in EVAL_CLASSES}
    return {
        "songs": len(songs),
        "seconds": round(sum(len(s.audio) for s in songs) / transcriber.cfg.sample_rate, 1),
        "onsets": {c: int(sum(len(s.onsets[c]) for s in songs)) for c in EVAL_CLASSES},
        "window_s": WINDOW_S,
        "drummernet": {
            **score(songs, acts, transcriber.rate, thresholds, gains=transcriber.gains),
            "thresholds": thresholds,
            "model": transcriber.name,
        },
        "baseline": {
            **score(songs, base_acts, baseline.rate, base_thr),
            "thresholds": base_thr,
            "method": "NMF with fixed drum templates from the training kits (KL, multiplicative updates)",
        },
    }
