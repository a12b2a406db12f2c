"""Speed and memory of the drum accompanist against the drum machine, in one run.

On one CPU thread (issue 27's goals):
- 30 s of drums from a 30-s drumless input, all the way to audio (goal <= 30 s), beside the
  rule-based drum machine on the same input (the baseline: tracker and one-shots only), and
  the share of the time each stage takes (tracker, VQ-VAE encoder, language model, decoder,
  vocoder);
- with ``--long``: peak memory (max RSS) for a 10-minute input (goal < 2 GB), in a
  subprocess so nothing else counts.
The parts are the shipped accompanist (``--model``, default), training runs (``--lm``, whose
checkpoint names its tracker and VQ-VAEs, and ``--vocoder``) or, with ``--model random``, the
default sizes randomly initialised (the cost is the same). The input is a synthetic drumless
signal (chords struck on each beat). Prints one JSON object.
Usage: python benchmarks/accompany.py [--model NAME|PATH|random | --lm RUN/best.pt --vocoder RUN/best.pt]
       [--threads 1] [--long]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

GOAL_SECONDS = 30.0
GOAL_MEMORY_GB = 2.0
SR = 22_050


def drumless(seconds: float, bpm: float = 110.0) -> np.ndarray:
    t = np.arange(int(0.5 * SR)) / SR
    tone = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) * np.exp(-t * 5) / 3
    y = np.zeros(int(seconds * SR), np.float32)
    for i, start in enumerate(np.arange(0, seconds - 0.5, 60 / bpm)):
        s = int(start * SR)
        y[s : s + tone.size] += (1.0 if i % 4 == 0 else 0.5) * tone.astype(np.float32)
    return 0.5 * y


def accompanist(lm: str | None, vocoder: str | None, model: str | None = None):  # type: ignore[no-untyped-def]
    from mtk.accompany.infer import Tracker
    from mtk.accompany.lm import DrumLM
    from mtk.accompany.pipeline import Accompanist, load
    from mtk.accompany.tracker import BeatTracker
    from mtk.accompany.vocoder import Vocoder
    from mtk.accompany.vqvae import VQVAE

    if lm or model != "random":
        return load(lm or model, vocoder=vocoder)  # a run's language model, or a released one
    import torch

    torch.manual_seed(0)
    vq_d, vq_p = VQVAE().eval(), VQVAE().eval()
    for vq in (vq_d, vq_p):
        vq.bottleneck.codebook.normal_()
        vq.bottleneck.initialised.fill_(True)
    return Accompanist(Tracker(BeatTracker()), vq_d, vq_p, DrumLM().eval(), Vocoder().eval())


def timed(acc, y: np.ndarray) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Seconds of each stage for one input."""
    from mtk.accompany import pipeline

    stages: dict[str, float] = {}
    originals = {"generate": pipeline.generate}

    def gen(*a, **k):  # type: ignore[no-untyped-def]
        tic = time.perf_counter()
        out = originals["generate"](*a, **k)
        stages["language model"] = time.perf_counter() - tic
        return out

    pipeline.generate = gen
    try:
        tic = time.perf_counter()
        acc.from_audio(y, SR, seed=0)
        stages["total"] = time.perf_counter() - tic
    finally:
        pipeline.generate = originals["generate"]
    return stages


def long_memory(args: argparse.Namespace) -> float:
    code = (
        "import sys, resource; sys.argv = sys.argv[:1]; import benchmarks.accompany as b, torch; "
        f"torch.set_num_threads({args.threads}); acc = b.accompanist({args.lm!r}, {args.vocoder!r}, {args.model!r}); "
        "acc.from_audio(b.drumless(600.0), b.SR, seed=0); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1e6  # KB -> GB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="registry name or release file (default: the shipped model); random")
    parser.add_argument("--lm")
    parser.add_argument("--vocoder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--long", action="store_true")
    args = parser.parse_args()
    import torch

    from mtk.accompany.drummachine import play
    from mtk.corpus.kits import installed_kits

    torch.set_num_threads(args.threads)
    acc = accompanist(args.lm, args.vocoder, args.model)
    y = drumless(30.0)
    acc.from_audio(y[: 5 * SR], SR, seed=0)  # warm-up
    stages = timed(acc, y)
    tic = time.perf_counter()
    kits = installed_kits()
    baseline = None
    if kits:
        play(acc.tracker.from_audio(y, SR), kits[0], 30.0, SR)
        baseline = round(time.perf_counter() - tic, 3)
    result = {
        "threads": args.threads,
        "parts": args.lm or ("default sizes, random weights" if args.model == "random" else acc.name),
        "seconds_for_30s": round(stages["total"], 3),
        "language_model_seconds": round(stages["language model"], 3),
        "goal_seconds": GOAL_SECONDS,
        "met": stages["total"] <= GOAL_SECONDS,
        "drum_machine_seconds": baseline,
        "max_rss_gb_this_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 3),
    }
    if args.long:
        gb = long_memory(args)
        result |= {
            "max_rss_gb_10min": round(gb, 3),
            "goal_memory_gb": GOAL_MEMORY_GB,
            "memory_met": gb < GOAL_MEMORY_GB,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
