"""Taste-profile speed against reading the audio alone, in one run (issue 29's profile goal).

Writes ``--tracks`` synthetic recordings of ``--seconds`` each, then times on one CPU thread:
reading them (soundfile, the floor any profile pays on a cold cache), a profile with a cold
feature cache (log-mel, embedding, MLP: what a new music folder costs) and the same profile
again (vectors read from the cache). Reports seconds per 1,000 tracks; the goal is a profile
of 1,000 tracks in <= 10 minutes on two cores with the features cached. Prints one JSON object.
Usage: python benchmarks/cover.py [--tracks N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

GOAL_S_PER_1000 = 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--model", default=None, help="Genre classifier (default: the shipped one).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MTK_CACHE_DIR"] = str(Path(tmp) / "cache")
        import soundfile as sf
        import torch

        from mtk.cover.profile import load, taste_profile

        torch.set_num_threads(1)
        sr = 44_100
        paths = []
        rng = np.random.default_rng(0)
        t = np.arange(int(args.seconds * sr)) / sr
        for i in range(args.tracks):
            y = 0.2 * np.sin(2 * np.pi * rng.uniform(110, 440) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
            y += 0.02 * rng.standard_normal(t.size)
            paths.append(str(Path(tmp) / f"track{i:03d}.wav"))
            sf.write(paths[-1], np.stack([y, y], 1).astype(np.float32), sr)
        classifier = load(args.model)

        def profile() -> float:
            vectors = classifier.vectors()
            start = time.perf_counter()
            probs = np.stack([classifier.probabilities(vectors(p)[None])[0] for p in paths])
            taste_profile(paths, probs, classifier.genres)
            return time.perf_counter() - start

        start = time.perf_counter()
        for p in paths:
            sf.read(p, dtype="float32")
        read_s = time.perf_counter() - start
        cold_s, warm_s = profile(), profile()
    per = 1000.0 / args.tracks
    out = {
        "benchmark": "cover-profile",
        "tracks": args.tracks,
        "seconds_each": args.seconds,
        "threads": 1,
        "model": classifier.name,
        "read_alone_s_per_1000": round(read_s * per, 1),
        "cold_s_per_1000": round(cold_s * per, 1),
        "cached_s_per_1000": round(warm_s * per, 2),
        "goal_s_per_1000_cached": GOAL_S_PER_1000,
        "goal_met": warm_s * per <= GOAL_S_PER_1000,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
