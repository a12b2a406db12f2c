"""detect-cover speed and memory, each against a baseline in the same run. Prints one JSON object.

- feature extraction as a multiple of real time on one core (baseline: decoding alone);
- stage-1 query time against a 10,000-recording index with the default model (its learned
  projection when it has one; scikit-learn brute-force kNN over every level); baseline: the
  unprojected fingerprints by a plain numpy distance + argsort;
- stage-2 time to re-rank the top 50 (Qmax at two metrical levels per recording, four
  pairings) for 30 s and for 4-minute recordings at 120 bpm, in one call over every core
  (baselines: one candidate a call; the plain path, numpy's embedding and one compiled plot
  per pairing, as stage 2 ran before it was compiled whole);
- whole queries (stage 1, then stage 2 on the top ``rerank``), one process, a batch of 5
  queries against one index: seconds a query for 60-s and 4-minute recordings at 120 bpm
  against indexes of 200 and 10,000 recordings, for rerank 50, 100 and 200 (baseline: stage 1
  alone);
- peak memory (max RSS) of extracting a 10-minute recording, in a fresh process
  (baseline: the same process only decoding it).
Usage: python benchmarks/detect_cover.py [--audio FILE ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mtk.detect_cover.align import crp_qmax, embed, multilevel_score, multilevel_scores, oti, pairings
from mtk.detect_cover.features import FeatureConfig, level
from mtk.detect_cover.index import CoverIndex, Recording, extract
from mtk.detect_cover.infer import DEFAULT_RERANK, CoverDetector, load_model
from mtk.io.audio import read_audio, write_audio

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"x_realtime": 100, "stage1_ms": 50, "stage2_top50_s": 1.0, "ten_minute_rss_mb": 1024, "query_200_60s_s": 0.5}
RERANKS = (50, 100, 200)
RSS = """
import sys
from mtk.io.audio import read_audio
if sys.argv[2] == "decode":
    read_audio(sys.argv[1], sr=11025, mono=True)
else:
    from mtk.detect_cover.index import extract
    extract(sys.argv[1], use_cache=False)
# VmHWM, not ru_maxrss: the latter keeps the (large) parent's size across fork and exec.
print(next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


def _example_audio(tmp: Path) -> list[str]:
    from mtk.corpus.render import render_midi

    r = render_midi((ROOT / "examples" / "ode_to_joy.mid").read_bytes(), synth="builtin", sample_rate=44_100)
    write_audio(tmp / "ode.wav", r.audio, r.sample_rate)
    return [str(tmp / "ode.wav")]


def _whole_queries(rng: np.random.Generator, det: CoverDetector) -> dict[str, dict[str, dict[str, float]]]:
    """Seconds a query (mean of a batch of 5) by length, index size and rerank."""
    from mtk.detect_cover.features import fingerprints

    projection = det.projection
    grid, out = FeatureConfig().grid, {}
    for label, beats, seconds in (("60s", 120, 60.0), ("4min", 480, 240.0)):
        # chroma with some structure (fingerprints of noise are all alike); one pool reused
        pool = [rng.random((12, grid * beats)).astype(np.float32) ** 4 for _ in range(40)]
        recs = [
            Recording(f"r{i}", f"h{i}", seconds, fingerprints(c), np.round(c * 255).astype(np.uint8))
            for i, c in enumerate(pool)
        ]
        out[label] = {}
        for size in (200, 10_000):
            index = CoverIndex()
            for i in range(size):
                r = recs[i % len(recs)]
                index.add(Recording(f"x{i}", f"x{i}", r.duration, r.vectors, r.chroma))
            queries = recs[:5]
            det.query(queries[0], index, k=10, rerank=10)  # builds the searcher once
            row = {}
            start = time.perf_counter()
            for q in queries:
                index.knn(q.vectors, 50, projection=projection)
            row["stage1_only"] = round((time.perf_counter() - start) / len(queries), 4)
            for rerank in RERANKS:
                start = time.perf_counter()
                for q in queries:
                    det.query(q, index, k=10, rerank=rerank)
                row[f"rerank_{rerank}"] = round((time.perf_counter() - start) / len(queries), 3)
            out[label][str(size)] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--audio", nargs="*", default=None, help="Audio files to time extraction on.")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mtk-bench-dc-"))
    files = args.audio or _example_audio(tmp)
    extract(files[0], use_cache=False)  # warm up librosa/numba

    seconds, t_decode, t_extract = 0.0, 0.0, 0.0
    for f in files:
        start = time.perf_counter()
        y, sr = read_audio(f, sr=11_025, mono=True)
        t_decode += time.perf_counter() - start
        start = time.perf_counter()
        rec = extract(f, use_cache=False)
        t_extract += time.perf_counter() - start
        seconds += rec.duration

    rng = np.random.default_rng(0)
    index = CoverIndex()
    dim, levels = FeatureConfig().dim, len(FeatureConfig().levels)
    vectors = rng.random((10_000, levels, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=2, keepdims=True)
    empty = np.zeros((12, FeatureConfig().grid), np.uint8)
    for i, v in enumerate(vectors):
        index.add(Recording(f"r{i}", f"h{i}", 30.0, v, empty))
    calibration, projection = load_model()
    index.knn(vectors[0], 50, projection=projection)  # projects the index and builds the searcher once
    queries = rng.random((20, levels, dim)).astype(np.float32)
    start = time.perf_counter()
    for q in queries:
        index.knn(q, 50, projection=projection)
    stage1 = (time.perf_counter() - start) / len(queries)
    start = time.perf_counter()
    for q in queries:
        np.argsort(np.linalg.norm(vectors[:, :, None] - q[None, None], axis=3).min(axis=(1, 2)))[:50]
    numpy_knn = (time.perf_counter() - start) / len(queries)

    stage2, stage2_one_by_one, stage2_plain = {}, {}, {}
    grid = FeatureConfig().grid
    for label, beats in (("30s", 60), ("4min", 480)):
        length = beats / 2.0  # seconds at 120 bpm
        a = rng.integers(0, 256, (12, grid * beats)).astype(np.uint8)
        cands = [rng.integers(0, 256, (12, grid * beats)).astype(np.uint8) for _ in range(50)]
        multilevel_scores(a, cands[:2], length, [length] * 2)  # compiled once (cached after the first run)
        start = time.perf_counter()
        multilevel_scores(a, cands, length, [length] * len(cands))
        stage2[label] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        for c in cands:
            multilevel_score(a, c, length, length)
        stage2_one_by_one[label] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()  # the plain path: numpy embedding, then the compiled plot, per pairing
        for c in cands:
            shift = oti(a, c)
            for ka, kb in pairings(a, c, length, length):
                crp_qmax(embed(level(a, ka), 5), embed(np.roll(level(c, kb), shift, axis=0), 5), kappa=0.2)
        stage2_plain[label] = round(time.perf_counter() - start, 3)

    queries_s = _whole_queries(rng, CoverDetector(calibration, projection))

    y, sr = read_audio(files[0], sr=22_050)
    reps = int(np.ceil(600 * sr / y.shape[-1]))
    long = tmp / "ten_minutes.wav"
    write_audio(long, np.tile(y, (1, reps))[:, : 600 * sr], sr)
    rss = {
        mode: int(
            subprocess.run(
                [sys.executable, "-c", RSS, str(long), mode], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        for mode in ("decode", "extract")
    }
    x = seconds / t_extract
    print(
        json.dumps(
            {
                "benchmark": "detect-cover",
                "audio_s": round(seconds, 1),
                "extract_x_realtime_1_core": round(x, 1),
                "decode_only_x_realtime": round(seconds / t_decode, 1),
                "stage1_query_ms_10k": round(1000 * stage1, 2),
                "stage1_projection": projection is not None,
                "numpy_bruteforce_query_ms_10k": round(1000 * numpy_knn, 2),
                "stage2_top50_s": stage2,
                "stage2_top50_s_one_pair_a_call": stage2_one_by_one,
                "stage2_top50_s_plain_per_pairing": stage2_plain,
                "ten_minute_rss_mb": rss,
                "query_s": queries_s,
                "goals": GOALS,
                "meets_goals": {
                    "x_realtime": x >= GOALS["x_realtime"],
                    "stage1_ms": 1000 * stage1 <= GOALS["stage1_ms"],
                    "stage2_top50_s": max(stage2.values()) <= GOALS["stage2_top50_s"],
                    "ten_minute_rss_mb": rss["extract"] <= GOALS["ten_minute_rss_mb"],
                    "query_200_60s_s": queries_s["60s"]["200"][f"rerank_{DEFAULT_RERANK}"] <= GOALS["query_200_60s_s"],
                },
            }
        )
    )


if __name__ == "__main__":
    main()
