"""What mtk's checked audio reader costs against libsndfile's plain read, in one run.

`mtk.io.audio.read_audio` decodes block by block into one array sized from the header (so a
truncated file keeps what decoded and says how much), checks for truncation, NaN and length;
`soundfile.read` only decodes. Both read the same 10-minute stereo noise, as 16-bit WAV and as
FLAC, to (channels, samples) float32 and to mono. Goal: within 35% of the plain read's time
and no more peak memory than the plain read (plus its mono mix-down). Prints one JSON object.
Usage: python benchmarks/read_audio.py [--runs N] [--minutes M]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from mtk.io.audio import read_audio

SR = 44_100
GOAL_TIME_RATIO = 1.35  # the finite-sample scan alone is a fifth of a plain WAV read


def measure(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median seconds, peak MB traced by tracemalloc over one run)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return statistics.median(times), peak


def plain(path: Path, mono: bool) -> np.ndarray:
    frames, _ = sf.read(path, dtype="float32", always_2d=True)
    return frames.mean(axis=1, dtype=np.float32) if mono else np.ascontiguousarray(frames.T)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    noise = (0.1 * np.random.default_rng(0).standard_normal((int(args.minutes * 60 * SR), 2))).astype(np.float32)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("WAV", "FLAC"):
            path = Path(tmp, f"noise.{fmt.lower()}")
            sf.write(path, noise, SR, format=fmt, subtype="PCM_16")
            for mono in (False, True):
                base_s, base_mb = measure(lambda p=path, m=mono: plain(p, m), args.runs)
                mtk_s, mtk_mb = measure(lambda p=path, m=mono: read_audio(p, mono=m), args.runs)
                results[f"{fmt.lower()}_{'mono' if mono else 'stereo'}"] = {
                    "soundfile_read_s": round(base_s, 3),
                    "mtk_read_audio_s": round(mtk_s, 3),
                    "time_ratio": round(mtk_s / base_s, 3),
                    "soundfile_peak_mb": round(base_mb),
                    "mtk_peak_mb": round(mtk_mb),
                }
    print(
        json.dumps(
            {
                "benchmark": "read_audio",
                "minutes": args.minutes,
                "runs": args.runs,
                "cases": results,
                "goal_time_ratio": GOAL_TIME_RATIO,
                "meets_goal": all(
                    r["time_ratio"] <= GOAL_TIME_RATIO and r["mtk_peak_mb"] <= r["soundfile_peak_mb"] * 1.05
                    for r in results.values()
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
