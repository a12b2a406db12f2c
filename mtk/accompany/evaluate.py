"""``mtk eval accompany``: the beat tracker on held-out drumless mixes, beside librosa's.

Each test song's ``drumless.wav`` is tracked whole by each method and scored against the
song's exact beats and downbeats with mir_eval (F-measure, 70 ms, first 5 s skipped); the
result gives the mean over songs, per method and per meter.
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
