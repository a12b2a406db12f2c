"""Embed a music folder with Ray Data: one model per worker, vectors as JSON Lines.

    pip install 'mtk[ray]'
    python examples/ray_embed.py MUSIC_DIR -o vectors.jsonl [--workers 2] [--model NAME]

On a cluster, call ``ray.init(address="auto")`` instead of a local instance; the output's
records are those of ``mtk embed`` (``input``, ``model``, ``dims``, ``vector``), in input order,
and a file that fails is reported on stderr and left out, as the CLI does.
"""

from __future__ import annotations

import argparse
import json
import sys

import ray

from mtk.embed.batch import EmbedBatches
from mtk.io.inputs import AUDIO_EXTENSIONS, expand_inputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="Audio files and folders.")
    parser.add_argument("-o", "--output", required=True, help="JSON Lines file to write.")
    parser.add_argument("--model", default=None, help="Registry name or checkpoint (default: the shipped model).")
    parser.add_argument("--workers", type=int, default=2, help="Ray workers, one model each.")
    parser.add_argument("--batch-size", type=int, default=8, help="Files per batch.")
    args = parser.parse_args()

    paths = expand_inputs(args.inputs, extensions=AUDIO_EXTENSIONS, stdin_ok=False)
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    ds = ray.data.from_items([{"path": p} for p in paths]).map_batches(
        EmbedBatches,
        fn_constructor_kwargs={"model": args.model},
        batch_size=args.batch_size,
        batch_format="numpy",
        concurrency=args.workers,
        num_cpus=1,
    )
    rows = {row["path"]: row for row in ds.iter_rows()}
    failed = 0
    with open(args.output, "w", encoding="utf-8") as out:
        for path in paths:
            row = rows[path]
            if row["error"]:
                failed += 1
                print(f"ray_embed: error: {row['error']}", file=sys.stderr)
                continue
            vector = [round(float(v), 6) for v in row["vector"]]
            out.write(json.dumps({"input": path, "model": row["model"], "dims": len(vector), "vector": vector}) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
