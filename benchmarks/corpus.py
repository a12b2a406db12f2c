"""Corpus throughput: seconds of rendered music per wall second, against FluidSynth alone.

Builds `--count` songs with `-j` workers (default: 20 songs of 30 s, 2 workers, 44.1 kHz,
all installed soundfonts and kits), then renders the same songs' song.mid once each with
the fluidsynth program (the unavoidable synthesis cost) as the baseline. Projects the time
for 500 songs of 30 s. Prints one JSON object.
Usage: python benchmarks/corpus.py [--count N] [--jobs J] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from mtk.corpus.build import CorpusOptions, build_songs, plan_corpus
from mtk.corpus.render import fluidsynth_command

GOAL_X = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the corpus here.")
    args = parser.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="mtk-bench-corpus-"))
    try:
        start = time.perf_counter()
        plan = plan_corpus(CorpusOptions(count=args.count, seed=args.seed), jobs=args.jobs)
        planned = time.perf_counter() - start
        records = list(build_songs(plan, out, jobs=args.jobs))
        wall = time.perf_counter() - start
        music = sum(r["duration"] for r in records)
        base_start = time.perf_counter()
        for r in records:
            meta = json.loads((Path(r["path"]) / "meta.json").read_text())
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run(
                    fluidsynth_command(
                        Path(meta["soundfont"]["path"]), Path(r["path"]) / "song.mid", Path(tmp, "a.wav")
                    ),
                    check=True,
                    capture_output=True,
                )
        baseline = time.perf_counter() - base_start
        x = music / wall
        print(
            json.dumps(
                {
                    "benchmark": "corpus",
                    "songs": len(records),
                    "jobs": args.jobs,
                    "music_s": round(music, 1),
                    "wall_s": round(wall, 1),
                    "planning_s": round(planned, 1),
                    "x_realtime": round(x, 1),
                    "fluidsynth_mix_only_x_realtime_1_core": round(music / baseline, 1),
                    "projected_500_songs_of_30s_min": round(500 * 30 / x / 60, 1),
                    "goal_x_realtime": GOAL_X,
                    "meets_goal": x >= GOAL_X,
                }
            )
        )
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
