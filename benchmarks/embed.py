"""Embedding speed and memory against the front end alone, in one run (issue 23's goals).

Times, on one CPU thread, a 10-minute file's log-mel alone (librosa) and the whole
`mtk.embed.infer.Embedder.from_audio` with `--pool mean`, for the full-size B0 and Lite0
encoders. No weights are shipped yet: the encoders are randomly initialised, which does not
change their cost. Goal: >= 100x real time; a 10-minute file in < 1 GB (peak RSS of the
process, which includes Python, torch and librosa). Prints one JSON object.
Usage: python benchmarks/embed.py [--minutes M] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

GOAL_X_REALTIME = 100.0
GOAL_PEAK_GB = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16, help="Patches encoded at a time.")
    parser.add_argument("--backbones", default="b0,lite0")
    args = parser.parse_args()
    import torch

    from mtk.embed.frontend import SAMPLE_RATE, log_mel
    from mtk.embed.infer import Embedder
    from mtk.embed.model import EmbedConfig, EmbedModel

    torch.set_num_threads(args.threads)
    imports_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KB on Linux
    seconds = args.minutes * 60
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    y = (0.2 * np.sin(2 * np.pi * (220 + 80 * np.sin(0.5 * t)) * t)).astype(np.float32)
    del t
    log_mel(y[: SAMPLE_RATE * 5])  # warm librosa up
    start = time.perf_counter()
    log_mel(y)
    mel_s = time.perf_counter() - start
    out: dict[str, object] = {
        "benchmark": "embed",
        "minutes": args.minutes,
        "threads": args.threads,
        "batch": args.batch,
        "mel_alone_x_realtime": round(seconds / mel_s, 1),
    }
    for backbone in args.backbones.split(","):
        torch.manual_seed(0)
        embedder = Embedder(EmbedModel(EmbedConfig(backbone=backbone)), name=f"{backbone}-random", batch=args.batch)
        embedder.from_audio(y[: SAMPLE_RATE * 5], SAMPLE_RATE)  # warm up
        start = time.perf_counter()
        embedder.from_audio(y, SAMPLE_RATE, pool="mean")
        total = time.perf_counter() - start
        out[f"{backbone}_pool_mean_x_realtime"] = round(seconds / total, 1)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KB on Linux
    out["peak_rss_gb"] = round(peak_gb, 2)
    out["rss_after_imports_gb"] = round(imports_gb, 2)
    out["goal_x_realtime"] = GOAL_X_REALTIME
    speeds = [v for k, v in out.items() if k.endswith("_pool_mean_x_realtime")]
    out["meets_goal"] = bool(min(speeds) >= GOAL_X_REALTIME and peak_gb < GOAL_PEAK_GB)  # type: ignore[type-var]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
