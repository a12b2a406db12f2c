"""Separation speed and memory against file I/O alone, in one run (issue 24's goals).

Writes a synthetic 44.1 kHz stereo song (drum hits, bass, melody) of ``--minutes`` to a
temporary WAV, then times on ``--threads`` CPU threads: reading it and writing four copies
(the floor any separator pays), and `mtk.separate.infer.Separator.to_files` writing all four
stems, as `mtk separate song.wav -o stems/` does. Goals: >= 4x real time on one thread; a
10-minute file in < 1.5 GB (peak RSS of the process, which includes Python and torch).
Prints one JSON object.
Usage: python benchmarks/separate.py [--minutes M] [--threads N] [--model NAME|PATH]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

GOAL_X_REALTIME = 4.0
GOAL_PEAK_GB = 1.5
SR = 44_100


def write_song(path: Path, seconds: float) -> None:
    """A synthetic song, written a second at a time (the benchmark's own memory stays small)."""
    t = np.arange(SR) / SR
    kick = np.sin(2 * np.pi * 55 * t) * np.exp(-t * 25)
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=SR, channels=2, subtype="PCM_16") as f:
        for s in range(int(seconds)):
            bass = 0.2 * np.sin(2 * np.pi * (41.2 * 2 ** ((s % 4) / 12)) * t)
            lead = 0.1 * np.sin(2 * np.pi * (440 * 2 ** ((s % 7) / 12)) * t)
            hats = 0.05 * rng.standard_normal(SR) * (np.sin(2 * np.pi * 4 * t) > 0.9)
            y = 0.4 * kick + bass + lead + hats
            f.write(np.stack([y, 0.9 * y], 1).astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default=None, help="Registry name or weight file (default: the shipped one).")
    args = parser.parse_args()
    import torch

    from mtk.separate.infer import load

    torch.set_num_threads(args.threads)
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        song = Path(tmp) / "song.wav"
        write_song(song, seconds)
        separator = load(args.model)
        warm = Path(tmp) / "warm.wav"
        write_song(warm, 5)
        separator.from_file(warm)
        start = time.perf_counter()
        y, _ = sf.read(song, dtype="float32")
        for i in range(4):
            sf.write(Path(tmp) / f"copy{i}.wav", y, SR, subtype="PCM_16")
        io_s = time.perf_counter() - start
        del y
        targets = {s: str(Path(tmp) / f"{s}.wav") for s in separator.stems}
        start = time.perf_counter()
        separator.to_files(song, targets)
        total = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KB on Linux
    weights = None
    try:
        from mtk.errors import MtkError
        from mtk.weights.store import resolve

        weights = round(resolve(separator.name, task="separate").path.stat().st_size / 1e6, 1)
    except MtkError:  # a debug model has no file
        pass
    out = {
        "benchmark": "separate",
        "model": separator.name,
        "minutes": args.minutes,
        "threads": args.threads,
        "io_alone_x_realtime": round(seconds / io_s, 1),
        "separate_x_realtime": round(seconds / total, 1),
        "peak_rss_gb": round(peak_gb, 2),
        "weights_mb": weights,
        "goal_x_realtime": GOAL_X_REALTIME,
        "goal_peak_gb": GOAL_PEAK_GB,
        "meets_goal": bool(seconds / total >= GOAL_X_REALTIME and peak_gb < GOAL_PEAK_GB),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
