"""Ranking and indexing speed of `mtk rank-samples` against reading the samples, in one run.

On one CPU thread (issue 26's goals):
- ranking: a 30-s context encoded and ranked against a 10,000-sample index read from disk
  (goal <= 1 s in all), beside the baseline of ranking without an index (every sample read,
  classed and encoded: measured on --baseline-samples and scaled to 10,000);
- indexing: samples read, classed and encoded a second (goal >= 50).
The shipped model is used when there is one (else the full-size encoders, randomly
initialised: the cost is the same). The samples are synthetic one-shots of 0.1-1.5 s written to
a temporary folder; the index for ranking is that folder's vectors repeated to 10,000 rows.
Prints one JSON object.
Usage: python benchmarks/rank_samples.py [--samples 10000] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

GOAL_RANK_SECONDS = 1.0
GOAL_INDEX_RATE = 50.0


def _ranker():  # type: ignore[no-untyped-def]
    from mtk.errors import MtkError
    from mtk.rank_samples.infer import Ranker, load
    from mtk.rank_samples.model import SampleMatch

    try:
        return load()
    except MtkError:
        return Ranker(SampleMatch(), name="samplematch-lite0-random")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10_000, help="Index size for ranking.")
    parser.add_argument("--index-samples", type=int, default=200, help="Sample files indexed to time indexing.")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import soundfile as sf
    import torch

    from mtk.rank_samples.frontend import SAMPLE_RATE
    from mtk.rank_samples.index import SampleIndex, SampleInfo
    from mtk.rank_samples.infer import sample_index

    torch.set_num_threads(args.threads)
    ranker = _ranker()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = []
        for i in range(args.index_samples):
            n = int(rng.uniform(0.1, 1.5) * SAMPLE_RATE)
            y = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.1 * SAMPLE_RATE)) * 0.3
            paths.append(str(folder / f"s{i:04d}.wav"))
            sf.write(paths[-1], y.astype(np.float32), SAMPLE_RATE)
        sample_index(ranker, paths[:8])  # warm up
        start = time.perf_counter()
        small = sample_index(ranker, paths)
        index_s = time.perf_counter() - start
        big = SampleIndex(small.model)
        for i in range(args.samples):
            item = small.items[i % len(small)]
            big.add(SampleInfo(f"{item.path}#{i}", item.sha256, item.duration, item.cls, 1.0, "audio", item.vector))
        big.save(folder / "big.idx")
        t = np.arange(30 * SAMPLE_RATE) / SAMPLE_RATE
        context = (0.2 * np.sin(2 * np.pi * 110 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
        sf.write(folder / "context.wav", context, SAMPLE_RATE)
        ranker.context_from_file(folder / "context.wav")  # warm up
        start = time.perf_counter()
        loaded = SampleIndex.load(folder / "big.idx")
        vector = ranker.context_from_file(folder / "context.wav")
        ranked = loaded.rank(vector, k=20)
        rank_s = time.perf_counter() - start
    assert len(ranked) == 20
    rate = len(paths) / index_s
    out = {
        "benchmark": "rank-samples",
        "model": ranker.name,
        "threads": args.threads,
        "index_samples": len(paths),
        "index_samples_per_s": round(rate, 1),
        "rank_samples": args.samples,
        "rank_30s_context_s": round(rank_s, 3),
        "baseline_without_index_s": round(args.samples / rate, 1),
        "speedup_of_the_index": round(args.samples / rate / rank_s, 1),
        "goals": {
            f"rank <= {GOAL_RANK_SECONDS} s": rank_s <= GOAL_RANK_SECONDS,
            f"index >= {GOAL_INDEX_RATE}/s": rate >= GOAL_INDEX_RATE,
        },
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
