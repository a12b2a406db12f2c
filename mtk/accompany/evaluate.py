"""``mtk eval accompany``: the tracker, the generated drums and the tables that report them.

Tracker: each test song's ``drumless.wav`` is tracked whole by each method and scored against
the song's exact beats and downbeats with mir_eval (F-measure, 70 ms, first 5 s skipped), as
the mean over songs, per method and per meter. Generation: each system's drums for each
song's first seconds, scored by :mod:`mtk.accompany.drumscores`. The sound path's scores are
in :mod:`mtk.accompany.soundpath`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from mtk.accompany.beats import Beats, f_measures, librosa_beats
from mtk.accompany.data import Song

Method = Callable[[np.ndarray, int], Beats]


def evaluate_trackers(
    methods: Mapping[str, Method],
    songs: Sequence[Song],
    *,
    progress: Callable[[list[Song]], Iterator[Song]] | None = None,
) -> dict[str, Any]:
    from mtk.io.audio import read_audio

    per: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    for song in progress(list(songs)) if progress else songs:
        y, sr = read_audio(song.audio("drumless"), mono=True)
        for name, method in methods.items():
            est = method(y, sr)
            scores = f_measures(np.asarray(song.beats), np.asarray(song.downbeats), est)
            tempo_ok = abs(est.tempo - song.tempo) <= 0.04 * song.tempo
            per[name].append({**scores, "tempo_ok": float(tempo_ok), "meter": song.meter})  # type: ignore[dict-item]
    result: dict[str, Any] = {"songs": len(songs), "methods": {}}
    meters = sorted({s.meter for s in songs})
    for name, rows in per.items():
        entry = _means(rows)
        entry["by_meter"] = {m: _means([r for r in rows if r["meter"] == m]) for m in meters}
        result["methods"][name] = entry
    return result


def _means(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"songs": len(rows)}
    for key in ("beat_f", "downbeat_f", "tempo_ok"):
        vals = [float(r[key]) for r in rows if not np.isnan(float(r[key]))]
        out[key] = round(float(np.mean(vals)), 4) if vals else None
    return out


def librosa_method(y: np.ndarray, sr: int) -> Beats:
    return librosa_beats(y, sr)


def table(result: Mapping[str, Any]) -> str:
    lines = [
        f"Beat tracking on {result['songs']} held-out drumless mixes (mir_eval F-measure; tempo within 4%):",
        "",
        "| method | beat F | downbeat F | tempo right | "
        + " | ".join(f"beat / downbeat F, {m}" for m in next(iter(result["methods"].values()))["by_meter"])
        + " |",
    ]
    meters = list(next(iter(result["methods"].values()))["by_meter"])
    lines.append("|---" * (4 + len(meters)) + "|")
    for name, e in result["methods"].items():
        cells = [f"{e['by_meter'][m]['beat_f']:.3f} / {e['by_meter'][m]['downbeat_f']:.3f}" for m in meters]
        lines.append(
            f"| {name} | {e['beat_f']:.3f} | {e['downbeat_f']:.3f} | {e['tempo_ok']:.3f} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


Drummer = Callable[[int, np.ndarray], np.ndarray]  # (song index, drumless mono) -> drums mono


def clip(song: Song, seconds: float) -> Song:
    """The song's beats and downbeats within its first ``seconds`` (what an excerpt is scored on)."""
    from dataclasses import replace

    return replace(
        song,
        beats=tuple(b for b in song.beats if b < seconds - 0.05),
        downbeats=tuple(d for d in song.downbeats if d < seconds - 0.05),
    )


def evaluate_generation(
    systems: Mapping[str, Drummer],
    songs: Sequence[Song],
    style_songs: Sequence[Song],
    embedder: Any,
    *,
    seconds: float,
    progress: Callable[[list[int]], Iterator[int]] | None = None,
) -> dict[str, Any]:
    """Rhythm, style distance and style agreement of each system's drums for each test song's
    first ``seconds``, with real drums of ``style_songs`` (training songs) fitting the style space."""
    from mtk.accompany.data import read_mono
    from mtk.accompany.drumscores import StyleSpace, rhythm, summarise
    from mtk.accompany.features import MEL

    sr, n = MEL.sample_rate, int(seconds * MEL.sample_rate)

    def vector(y: np.ndarray) -> np.ndarray:
        return embedder.from_audio(y, sr).vectors

    style_vectors = np.stack([vector(read_mono(s.audio("drums"))[:n]) for s in style_songs])
    space = StyleSpace(style_vectors, [s.style for s in style_songs])
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in systems}
    index = list(range(len(songs)))
    for i in progress(index) if progress else index:
        song = clip(songs[i], seconds)
        drumless = read_mono(song.audio("drumless"))[:n]
        for name, system in systems.items():
            drums = system(i, drumless)[:n]
            rows[name].append(rhythm(drums, sr, song))
            vectors[name].append(vector(drums))
    real = np.stack([vector(read_mono(s.audio("drums"))[:n]) for s in songs])
    styles = [s.style for s in songs]
    out: dict[str, Any] = {"songs": len(songs), "seconds": seconds, "style_songs": len(style_songs), "systems": {}}
    for name in systems:
        v = np.stack(vectors[name])
        out["systems"][name] = {
            **summarise(rows[name]),
            "style_distance": round(space.distance(v, real), 4),
            "style_agreement": _round(space.agreement(v, styles)),
        }
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def generation_table(result: Mapping[str, Any]) -> str:
    lines = [
        f"Drums for {result['songs']} held-out songs (first {result['seconds']:g} s); librosa tracks the drums alone:",
        "",
        "| system | beat F | downbeat F | tempo error | onsets on the 1/16 grid | style distance | style agreement |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, e in result["systems"].items():
        agree = "n/a" if e["style_agreement"] is None else f"{e['style_agreement']:.3f}"
        lines.append(
            f"| {name} | {e['beat_f']:.3f} | {e['downbeat_f']:.3f} | {e['tempo_error']:.3f} | {e['on_grid']:.3f} "
            f"| {e['style_distance']:.2f} | {agree} |"
        )
    return "\n".join(lines)


def sound_table(result: Mapping[str, Any]) -> str:
    lines = [
        f"The sound path on {result['stems']} held-out drum stems:",
        "",
        "| path | multi-resolution STFT distance | transcription F1 against the original |",
        "|---|---|---|",
    ]
    for name, e in result["methods"].items():
        f1 = "n/a" if e["transcription_f1"] is None else f"{e['transcription_f1']:.3f}"
        lines.append(f"| {name} | {e['stft_distance']:.3f} | {f1} |")
    return "\n".join(lines)
