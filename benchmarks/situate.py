"""situate speed, each against a baseline in the same run. Prints one JSON object.

- duSP: streams per second on one CPU core from a parsed stream table (features + XGBoost),
  and from a JSON Lines file (parsing and validation too); baseline: a scikit-learn decision
  tree on the same features (one of the paper's alternatives);
- auSP: new tracks per second on one core, everything a session does for a track it has not
  seen (decode a 3-minute 44.1 kHz stereo WAV, resample, mel, audio branch, user branch and
  head); baseline: decode and mel alone. Both over --tracks files, after one warm-up track (the
  first calls of librosa and of the network set up what later calls reuse), best of 3 runs.
Usage: python benchmarks/situate.py [--ausp NAME|PATH] [--dusp NAME|PATH] [--tracks N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

GOALS = {"dusp_streams_per_s": 100_000, "ausp_new_tracks_per_s": 20}


def _streams(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    devices, networks = ("mobile", "desktop", "tablet"), ("mobile", "wifi", "LAN", "plane")
    return [
        {
            "timestamp": f"2019-08-{1 + i % 28:02d}T{rng.integers(24):02d}:{rng.integers(60):02d}:00",
            "device": devices[rng.integers(3)],
            "network": networks[rng.integers(4)],
            "user": f"u{rng.integers(1000)}",
            "age": int(rng.integers(16, 70)),
            "country": ("FR", "BR", "DE", "US")[rng.integers(4)],
            "gender": ("female", "male", "other")[rng.integers(3)],
            "track": "t",
        }
        for i in range(n)
    ]


def _best(f, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        f()
        times.append(time.perf_counter() - tic)
    return min(times)


def main() -> None:
    import torch
    from sklearn.tree import DecisionTreeClassifier

    from mtk.io.audio import write_audio
    from mtk.situate.audio import read_log_mel
    from mtk.situate.infer import load
    from mtk.situate.schema import parse_streams, read_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ausp", default=None)
    parser.add_argument("--dusp", default=None)
    parser.add_argument("--tracks", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    situator = load(args.ausp, args.dusp)
    situator.dusp.booster.set_param({"nthread": 1})

    rows = _streams(100_000)
    table = parse_streams(rows)
    situator.device_proba(table.take(np.arange(1000)))  # warm-up
    dusp_s = _best(lambda: situator.device_proba(table))
    text = "".join(json.dumps(r) + "\n" for r in rows)
    file_s = _best(lambda: situator.device_proba(parse_streams(read_rows(text, source="b"))), repeats=1)
    features = situator.dusp.features(table)
    labels = np.random.default_rng(0).integers(len(situator.situations), size=len(rows))
    tree = DecisionTreeClassifier(random_state=0).fit(features, labels)
    tree_s = _best(lambda: tree.predict_proba(situator.dusp.features(table)))

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(1)
        paths = []
        for i in range(args.tracks):
            t = np.arange(180 * 44_100) / 44_100
            y = 0.2 * np.sin(2 * np.pi * (110 + 20 * i) * t) + 0.05 * rng.standard_normal(len(t))
            paths.append(str(Path(tmp) / f"{i}.wav"))
            write_audio(paths[-1], np.stack([y, y]).astype(np.float32), 44_100)
        user = np.zeros((1, 128), np.float32)
        # warm-up: librosa's first call and the network's (its first forward pass sets up kernels)
        situator.audio.proba(situator.audio.audio_embeddings(read_log_mel(paths[0])[None]), user)

        def session() -> None:
            for p in paths:
                mel = read_log_mel(p)
                situator.audio.proba(situator.audio.audio_embeddings(mel[None]), user)

        ausp_s = _best(session)
        mel_s = _best(lambda: [read_log_mel(p) for p in paths])
    print(
        json.dumps(
            {
                "models": {"ausp": situator.audio.name, "dusp": situator.dusp.meta.get("name")},
                "dusp_streams_per_s": round(len(rows) / dusp_s),
                "dusp_streams_per_s_from_jsonl": round(len(rows) / file_s),
                "baseline_decision_tree_streams_per_s": round(len(rows) / tree_s),
                "ausp_new_tracks_per_s": round(args.tracks / ausp_s, 1),
                "baseline_decode_and_mel_tracks_per_s": round(args.tracks / mel_s, 1),
                "goals": GOALS,
            }
        )
    )


if __name__ == "__main__":
    main()
