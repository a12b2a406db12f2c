"""`mtk eval transcribe`: onset F-measure per class on corpus drum stems, DrummerNet and baseline.

Songs: those of a split drummed by a sampled kit, recorded or exported by `mtk corpus
oneshots` (the test split's kits are held out from training). Reference onsets come from each
song's hit list, each hit classed by what the kit actually played (a kit without a clap plays
its snare). Scores: mir_eval's onset matching with a 50 ms window, counted over all songs
(micro F1) for kick, snare and hi-hat (closed or open), and their mean; the same for the NMF
baseline. Both systems' peaks pass the onset gate (:mod:`mtk.transcribe.peaks`). Thresholds for
the three classes, hit mass and onset strength, can be tuned on another split
(``tune_thresholds``: a grid maximising each class's F1), which is how the shipped thresholds
were chosen (on the validation split, never the test split).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mtk.corpus.reader import song_metas
from mtk.errors import InputError
from mtk.io.audio import read_audio
from mtk.transcribe.components import COMPONENTS, EVAL_CLASSES, EXTRA_CLASSES, TOM_COMPONENTS, drum_onsets
from mtk.transcribe.infer import MIN_SECONDS
from mtk.transcribe.peaks import detect, one_per_stroke, velocities

logger = logging.getLogger(__name__)
WINDOW_S = 0.05
FLAM_S = 0.03  # reference strokes of one drum class closer than this are one onset (a flam's grace note)
GRID = np.geomspace(0.01, 2.0, 40)
ONSET_GRID = np.geomspace(0.01, 1.5, 30)


@dataclass
class Song:
    name: str
    audio: np.ndarray  # mono, peak 1, at the model's rate
    onsets: dict[str, np.ndarray]  # eval class (and extra class) -> reference times
    velocity: dict[str, np.ndarray]  # eval class -> reference velocities
    kit: str = ""  # the kit that played it
    part: str = "groove"  # where its drum part came from (meta.json's drum_part)
    recorded: bool = True  # an installed recorded kit (else a `mtk corpus oneshots` export)


def load_songs(corpus: Path, *, split: str, sample_rate: int, limit: int | None = None) -> list[Song]:
    """The sampler-drummed songs of ``split`` with their reference onsets per eval class: songs
    drummed by an installed recorded kit, and by an exported kit (``--kits-dir``) whose hits name
    the one-shot they played (its played class is the hit's class)."""
    from mtk.corpus.kits import installed_kits

    kits = {k.name: k for k in installed_kits()}
    songs = []
    for folder, meta in song_metas(corpus, need=("split", "drums", "drum_hits")):
        if meta["split"] != split or meta["drums"]["mode"] != "sampler":
            continue
        name = meta["drums"]["kit"]
        kit = kits.get(name)
        if kit is None and not all("sample" in hit for hit in meta["drum_hits"]):
            continue  # a kit neither installed nor exported: its classes are unknown
        played: dict[str, list[tuple[float, int]]] = {c: [] for c in (*EVAL_CLASSES, *EXTRA_CLASSES)}
        for hit in meta["drum_hits"]:
            cls = kit.resolve_class(hit["class"]) if kit is not None else hit["class"]
            for eval_class, members in (EVAL_CLASSES | EXTRA_CLASSES).items():
                if cls in members:
                    played[eval_class].append((hit["time"], hit["velocity"]))
        played = {c: _merge_flams(sorted(v)) for c, v in played.items()}
        y, _ = read_audio(folder / "drums.wav", sr=sample_rate, mono=True, min_duration=MIN_SECONDS)
        y = y / max(float(np.abs(y).max(initial=0.0)), 1e-12)
        songs.append(
            Song(
                folder.name,
                y.astype(np.float32),
                {c: np.array([t for t, _ in v]) for c, v in played.items()},
                {c: np.array([v for _, v in vs]) for c, vs in played.items()},
                name,
                meta.get("drum_part", {}).get("source", "groove"),
                recorded=kit is not None,
            )
        )
        if limit and len(songs) >= limit:
            break
    if not songs:
        raise InputError(f"{corpus}: no {split}-split songs drummed by a recorded or exported kit")
    return songs


def _merge_flams(hits: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Time-sorted (time, velocity) of one class with strokes closer than :data:`FLAM_S` to the
    previous kept one merged into it (a flam is heard, and transcribed, as one hit: the later,
    main stroke's velocity, at the grace note's time)."""
    out: list[tuple[float, int]] = []
    for t, v in hits:
        if out and t - out[-1][0] < FLAM_S:
            out[-1] = (out[-1][0], max(out[-1][1], v))
        else:
            out.append((t, v))
    return out


def _groups() -> dict[str, list[int]]:
    return {name: [COMPONENTS.index(c) for c in members] for name, members in EVAL_CLASSES.items()}


def _extra_scores(
    songs: list[Song], acts: list[np.ndarray], rate: float, thresholds: dict[str, float]
) -> dict[str, Any]:
    """Toms, crash and ride (:data:`EXTRA_CLASSES`): micro F1 of each drum's own peaks over its
    threshold (``thresholds`` per component; no gate), a class's drums pooled, the toms one a
    stroke as a transcription has them (:func:`~mtk.transcribe.peaks.one_per_stroke`)."""
    out = {}
    for name, members in EXTRA_CLASSES.items():
        tp = n_est = n_ref = 0
        for song, act in zip(songs, acts, strict=True):
            peaks = []
            for c in members:
                k = COMPONENTS.index(c)
                peaks += [replace(p, component=k) for p in detect(act[k : k + 1], rate, np.array([thresholds[c]]))]
            times = [p.time for p in one_per_stroke(peaks, TOM_COMPONENTS)]
            hits, e, r, _ = _counts(song.onsets[name], np.array(sorted(times)))
            tp, n_est, n_ref = tp + hits, n_est + e, n_ref + r
        out[name] = _f1(tp, n_est, n_ref)
    return out


def tune_extra(songs: list[Song], acts: list[np.ndarray], rate: float) -> dict[str, float]:
    """Per drum of :data:`EXTRA_CLASSES`, the threshold of :data:`GRID` with its class's best
    F1 on ``songs`` (a class no song plays keeps 0.5)."""
    out = {}
    for name, members in EXTRA_CLASSES.items():
        if not sum(len(s.onsets[name]) for s in songs):
            out |= dict.fromkeys(members, 0.5)
            continue
        f1s = {
            float(t): _extra_scores(songs, acts, rate, dict.fromkeys(COMPONENTS, float(t)))[name]["f1"] for t in GRID
        }
        best = max(f1s, key=lambda t: (f1s[t], t))
        out |= dict.fromkeys(members, round(best, 4))
    return out


Onsets = list[np.ndarray | None]  # a song's onset curve per component (components.drum_onsets)


def _candidates(act: np.ndarray, rate: float, group: list[int], onsets: Onsets | None, sr: int) -> np.ndarray:
    """``(n, 3)``: time, hit mass and onset strength (inf when ungated) of every peak of
    ``group``, before any threshold."""
    peaks = detect(act, rate, np.zeros(act.shape[0]), groups=[group], onsets=onsets, onset_sr=sr)
    return np.array([(p.time, p.mass, np.inf if p.onset is None else p.onset) for p in peaks]).reshape(-1, 3)


def _table(
    songs: list[Song], acts: list[np.ndarray], rate: float, name: str, onsets: list[Onsets] | None, sr: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per song, the reference onsets of class ``name`` and its candidate peaks."""
    group = _groups()[name]
    return [
        (song.onsets[name], _candidates(act, rate, group, onsets[i] if onsets else None, sr))
        for i, (song, act) in enumerate(zip(songs, acts, strict=True))
    ]


def _keep(cand: np.ndarray, threshold: float, onset_threshold: float) -> np.ndarray:
    keep = cand[:, 1] > threshold
    return keep & (cand[:, 2] > onset_threshold) if onset_threshold > 0 else keep


def _counts(ref: np.ndarray, est: np.ndarray) -> tuple[int, int, int, list[tuple[int, int]]]:
    import mir_eval

    matches = mir_eval.util.match_events(ref, est, WINDOW_S) if len(ref) and len(est) else []
    return len(matches), len(est), len(ref), matches


def _f1(tp: int, n_est: int, n_ref: int) -> dict[str, float]:
    p = tp / n_est if n_est else 0.0
    r = tp / n_ref if n_ref else 0.0
    return {"f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "precision": round(p, 4), "recall": round(r, 4)}


def _micro(table: list[tuple[np.ndarray, np.ndarray]], threshold: float, onset_threshold: float) -> float:
    tp = n_est = n_ref = 0
    for ref, cand in table:
        hits, e, r, _ = _counts(ref, cand[_keep(cand, threshold, onset_threshold), 0])
        tp, n_est, n_ref = tp + hits, n_est + e, n_ref + r
    return _f1(tp, n_est, n_ref)["f1"]


def score(
    songs: list[Song],
    acts: list[np.ndarray],
    rate: float,
    thresholds: dict[str, float],
    gains: np.ndarray | None = None,
    *,
    onsets: list[Onsets] | None = None,
    onset_thresholds: dict[str, float] | None = None,
    sr: int = 16_000,
    vels: list[np.ndarray] | None = None,
) -> dict[str, Any]:
    """Micro precision/recall/F1 per eval class and the mean F1; with ``onsets`` (per song)
    and ``onset_thresholds``, peaks pass the onset gate too; with ``gains`` (velocity from the
    hit mass) or ``vels`` (a velocity head's output per song), also the mean per-song Spearman
    correlation of estimated and reference velocities."""
    from scipy.stats import spearmanr

    out: dict[str, Any] = {}
    correlations = []
    for name, group in _groups().items():
        tp = n_est = n_ref = 0
        gate = (onset_thresholds or {}).get(name, 0.0) if onsets else 0.0
        causes: Counter[str] = Counter()
        for k, (song, (ref, cand)) in enumerate(zip(songs, _table(songs, acts, rate, name, onsets, sr), strict=True)):
            kept = cand[_keep(cand, thresholds[name], gate)]
            hits, e, r, matches = _counts(ref, kept[:, 0])
            tp, n_est, n_ref = tp + hits, n_est + e, n_ref + r
            if name == "hihat":
                false = np.delete(kept[:, 0], [j for _, j in matches])
                causes.update(false_hihat_cause(song, t) for t in false)
            if (gains is not None or vels is not None) and len(matches) > 2:
                if vels is not None:
                    curve = vels[k][group].max(axis=0)
                    frames = np.clip(np.round(kept[:, 0] * rate).astype(int), 0, len(curve) - 1)
                    pred = curve[frames][[j for _, j in matches]]
                else:
                    pred = velocities(kept[:, 1] * gains[group[0]])[[j for _, j in matches]]
                true = song.velocity[name][[i for i, _ in matches]]
                if np.ptp(true) > 0 and np.ptp(pred) > 0:
                    correlations.append(float(spearmanr(pred, true).statistic))
        out[name] = _f1(tp, n_est, n_ref)
        if name == "hihat":
            out[name]["false_hits"] = {c: causes[c] for c in FALSE_HIHAT_CAUSES}
    out["mean_f1"] = round(float(np.mean([out[c]["f1"] for c in EVAL_CLASSES])), 4)
    if gains is not None or vels is not None:
        out["velocity_spearman"] = round(float(np.mean(correlations)), 4) if correlations else None
    return out


FALSE_HIHAT_CAUSES = ("after_snare", "in_decay", "other")
AFTER_SNARE_S = 0.06  # a false hi-hat up to this long after a snare onset is "after_snare"
DECAY_S = 1.0  # ... up to this long after a tom, crash or ride onset (and not after a snare): "in_decay"


def false_hihat_cause(song: Song, t: float) -> str:
    """Why a false hi-hat at ``t`` may have been heard: just after a snare (:data:`AFTER_SNARE_S`),
    in the ring of a tom, crash or ride (:data:`DECAY_S`), or neither (``other``)."""
    snares = song.onsets["snare"]
    if np.any((t - snares >= -0.01) & (t - snares <= AFTER_SNARE_S)):
        return "after_snare"
    for name in ("toms", "crash", "ride"):
        ref = song.onsets.get(name, np.zeros(0))
        if np.any((t - ref >= -0.01) & (t - ref <= DECAY_S)):
            return "in_decay"
    return "other"


def tune_thresholds(
    songs: list[Song],
    acts: list[np.ndarray],
    rate: float,
    *,
    onsets: list[Onsets] | None = None,
    sr: int = 16_000,
    fallback: tuple[dict[str, float], dict[str, float]] | None = None,
    system: str = "DrummerNet",
) -> tuple[dict[str, float], dict[str, float]]:
    """Per eval class, the (threshold, onset threshold) pair of the grids with the best micro
    F1 on ``songs``; without ``onsets``, the onset thresholds are 0 (no gate).

    A class the songs cannot tune (no reference onset of it, or no pair finds one of its hits)
    would get the grid's top threshold and never fire: it keeps ``fallback``'s pair (the
    system's own) when given; either way a warning names it, as it does a threshold tuned to
    the grid's top (too few songs to tune on, usually)."""
    mass_grid = np.concatenate([[0.0], GRID])
    onset_grid = np.concatenate([[0.0], ONSET_GRID]) if onsets else np.zeros(1)
    best, best_onset = {}, {}
    for name in EVAL_CLASSES:
        table = _table(songs, acts, rate, name, onsets, sr)
        f1s = {(a, g): _micro(table, float(a), float(g)) for a in mass_grid for g in onset_grid}
        a, g = max(f1s, key=lambda k: (f1s[k], -k[1], k[0]))  # ties: the weaker gate, the higher threshold
        refs = sum(len(ref) for ref, _ in table)
        if not refs or f1s[(a, g)] == 0:
            why = f"no {name} onset" if not refs else f"no threshold finds a {name} hit"
            if fallback is not None:
                a, g = fallback[0][name], fallback[1][name]
                logger.warning("%s: tuning on %d song(s): %s; %s keeps its own", system, len(songs), why, name)
            else:
                logger.warning("%s: tuning on %d song(s): %s; %s would never fire", system, len(songs), why, name)
        elif a >= GRID[-1]:
            logger.warning(
                "%s: the %s threshold tuned on %d song(s) is the grid's top (%.3g): too few songs to tune on?",
                system,
                name,
                len(songs),
                a,
            )
        best[name], best_onset[name] = round(float(a), 4), round(float(g), 4)
    return best, best_onset


def own_thresholds(transcriber: Any) -> tuple[dict[str, float], dict[str, float]]:
    """A transcriber's (threshold, onset threshold) per eval class: its first component's."""
    return (
        {c: transcriber.thresholds[members[0]] for c, members in EVAL_CLASSES.items()},
        {c: transcriber.onset_thresholds[members[0]] for c, members in EVAL_CLASSES.items()},
    )


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
    """A transcriber (DrummerNet or the CRNN) and, unless None, the NMF ``baseline`` on ``songs``,
    each with the onset gate; toms, crash and ride too, at each system's own thresholds. With
    ``tune``, both systems' thresholds are first chosen on those songs (another split), with the
    gate and without it, and both are scored (``without_onset_gate``). Keys: the transcriber's
    arch (``drummernet``, ``crnn``) and ``baseline``."""
    sr = transcriber.cfg.sample_rate
    onsets = [drum_onsets(s.audio, sr) for s in songs]
    tune_onsets = [drum_onsets(s.audio, sr) for s in tune] if tune else []
    key = transcriber.kind
    systems = {key: transcriber} | ({"baseline": baseline} if baseline is not None else {})
    out: dict[str, Any] = {
        "songs": len(songs),
        "seconds": round(sum(len(s.audio) for s in songs) / sr, 1),
        "onsets": {c: int(sum(len(s.onsets[c]) for s in songs)) for c in (*EVAL_CLASSES, *EXTRA_CLASSES)},
        "parts": dict(sorted(Counter(s.part for s in songs).items())),
        "window_s": WINDOW_S,
    }
    for name, system in systems.items():
        rate = system.rate
        outputs = [_outputs(system, s.audio) for s in songs]
        acts = [a for a, _ in outputs]
        vels = [v for _, v in outputs] if outputs and outputs[0][1] is not None else None
        gains = system.gains if name == "drummernet" else None
        if name == "baseline":
            own = {c: BASELINE_THRESHOLD for c in EVAL_CLASSES}, {c: 0.0 for c in EVAL_CLASSES}
            per_component = dict.fromkeys(COMPONENTS, BASELINE_THRESHOLD)
        else:
            own = own_thresholds(system)
            per_component = system.thresholds
        thresholds, gates = own
        if tune:
            tune_acts = [_outputs(system, s.audio)[0] for s in tune]
            label = {"drummernet": "DrummerNet", "crnn": "the CRNN"}.get(name, "the NMF baseline")
            thresholds, gates = tune_thresholds(
                tune, tune_acts, rate, onsets=tune_onsets, sr=sr, fallback=own, system=label
            )
            ungated = own[0], dict.fromkeys(own[1], 0.0)
            plain, _ = tune_thresholds(tune, tune_acts, rate, fallback=ungated, system=label + " (no gate)")
            per_component = {**per_component, **tune_extra(tune, tune_acts, rate)}
        result = score(songs, acts, rate, thresholds, gains, onsets=onsets, onset_thresholds=gates, sr=sr, vels=vels)
        extra = {c: per_component[members[0]] for c, members in EXTRA_CLASSES.items()}
        out[name] = {**result, **_extra_scores(songs, acts, rate, per_component), "thresholds": thresholds | extra,
                     "onset_thresholds": gates}  # fmt: skip
        if tune:
            ungated = score(songs, acts, rate, plain, gains, vels=vels)
            out[name]["without_onset_gate"] = {**ungated, "thresholds": plain}
    out[key]["model"] = transcriber.name
    if "baseline" in out:
        out["baseline"]["method"] = "NMF with fixed drum templates from the training kits (KL, multiplicative updates)"
    return out


def _outputs(system: Any, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A system's activations and its velocity head's output (None without one)."""
    if hasattr(system, "outputs"):
        return system.outputs(audio)
    return system.activations(audio), None


KEEP_GRID = (0.0, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3)


def event_scores(songs: list[Song], events: list[list[Any]]) -> dict[str, Any]:
    """Micro precision/recall/F1 per eval class and the mean F1 of event lists, one per song."""
    out: dict[str, Any] = {}
    for name, members in EVAL_CLASSES.items():
        tp = n_est = n_ref = 0
        for song, evs in zip(songs, events, strict=True):
            hits, e, r, _ = _counts(song.onsets[name], np.array([ev.time for ev in evs if ev.drum in members]))
            tp, n_est, n_ref = tp + hits, n_est + e, n_ref + r
        out[name] = _f1(tp, n_est, n_ref)
    out["mean_f1"] = round(float(np.mean([out[c]["f1"] for c in EVAL_CLASSES])), 4)
    return out


def known_kit(transcriber: Any, songs: list[Song], *, tune: list[Song] | None = None) -> dict[str, Any]:
    """DrummerNet's hits (its own thresholds and gate) refitted with each song's own kit
    (:mod:`mtk.transcribe.refine`), scored before and after. The share a hit must keep of its
    detected mass is the shipped one, or with ``tune`` the one of :data:`KEEP_GRID` with the best
    mean F1 on those songs (refitted too; ``tuned_on`` has the grid)."""
    import time

    from mtk.transcribe import refine

    sr = transcriber.cfg.sample_rate
    shots: dict[str, refine.KitShots] = {}
    songs = [s for s in songs if s.recorded]  # refitting reads the installed kit's one-shots
    tune = [s for s in tune if s.recorded] if tune else tune
    if not songs:
        raise InputError("--known-kit: no songs drummed by an installed recorded kit")

    def refits(group: list[Song]) -> tuple[list[list[Any]], list[list[refine.Refit]]]:
        before, after = [], []
        for song in group:
            if song.kit not in shots:
                shots[song.kit] = refine.kit_shots(song.kit, sr)
            events = transcriber.from_audio(song.audio, sr).events
            before.append(events)
            after.append(refine.refit(transcriber, song.audio, events, shots[song.kit]))
        return before, after

    keep = refine.KEEP
    out: dict[str, Any] = {}
    if tune:
        _, tuned = refits(tune)
        grid = {k: event_scores(tune, [refine.select(r, keep=k) for r in tuned])["mean_f1"] for k in KEEP_GRID}
        keep = max(grid, key=lambda k: (grid[k], k))  # ties: the larger share
        out["tuned_on"] = {"songs": len(tune), "mean_f1_by_keep": {str(k): f for k, f in grid.items()}}
    start = time.process_time()
    before, after = refits(songs)
    seconds = sum(len(s.audio) for s in songs) / sr
    return {
        "before": event_scores(songs, before),
        "after": event_scores(songs, [refine.select(r, keep=keep) for r in after]),
        "keep": keep,
        "cpu_seconds_per_audio_second": round((time.process_time() - start) / seconds, 2),
        **out,
    }
