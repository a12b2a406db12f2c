"""Start-up cost of `mtk --help` against bare Python and `import torch`, in one run.

Goal: `mtk --help` within 0.3 s of `python -c pass`. Prints one JSON object.
Usage: python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "mtk --help": [sys.executable, "-m", "mtk", "--help"],
    "mtk render --help": [sys.executable, "-m", "mtk", "render", "--help"],
}
GOAL_S = 0.3


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for cmd in CASES.values():  # warm the file cache
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    median = {name: round(wall(cmd, args.runs), 4) for name, cmd in CASES.items()}
    base = median["python -c pass"]
    over = round(median["mtk --help"] - base, 4)
    print(
        json.dumps(
            {
                "benchmark": "startup",
                "runs": args.runs,
                "median_s": median,
                "mtk_help_over_python_s": over,
                "goal_s": GOAL_S,
                "meets_goal": over <= GOAL_S,
            }
        )
    )


if __name__ == "__main__":
    main()
