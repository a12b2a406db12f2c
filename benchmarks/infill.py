"""infill speed against a baseline in the same run. Prints one JSON object.

- A 4-bar infill through ``mtk infill``'s API (read the MIDI, choose the line, plan, sample
  with the cached decoder, splice, write) on one CPU core: median of 5 (goal: under 1 s);
- baseline: the same 4-bar target decoded greedily without the key/value cache (a full
  forward pass over the growing sequence for each token, constrained by the same grammar;
  model time only, no file work);
- the whole ``mtk infill`` command in a fresh process (start-up and torch import included).
Usage: python benchmarks/infill.py [--model NAME|PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"four_bar_infill_seconds": 1.0}
A = [67, 69, 71, 72, 74, 72, 71, 69, 67, 71, 74, 79, 74, 71, 69, 67]
B = [76, 76, 74, 74, 72, 72, 71, 71, 69, 71, 72, 74, 76, 78, 79, 74]


def _tune(path: Path) -> None:
    """A 16-bar AABA tune in 4/4 eighth and quarter notes."""
    from mtk.infill.score import to_midi
    from mtk.infill.tokens import Melody, Note

    notes, t = [], 0
    for i, p in enumerate(A + A + B + A):
        d = 6 if i % 4 in (1, 2) else 12
        notes.append(Note(p, t, d))
        t += d if i % 4 != 2 else 18
    to_midi(Melody((4, 4), 112.0, notes, -(-t // 48))).dump(str(path))


def _uncached(model: object, example: object) -> None:
    """Greedy decoding of the whole target with a full forward pass per token."""
    import torch

    from mtk.infill.grammar import TargetGrammar
    from mtk.infill.sequence import TARGET, build
    from mtk.infill.train import collate

    seq = build(example)  # type: ignore[arg-type]
    m = example.melody  # type: ignore[attr-defined]
    grammar = TargetGrammar(
        [m.meter_at(b) for b in range(example.first, example.end)],  # type: ignore[attr-defined]
        tempo=m.tempo,
        label=example.label,  # type: ignore[attr-defined]
    )
    seq.tokens, seq.orders = seq.tokens[: seq.target_start], seq.orders[: seq.target_start]
    seq.contexts = seq.contexts[: seq.target_start]
    with torch.inference_mode():
        while not grammar.finished:
            batch = collate([seq])
            logits = model(  # type: ignore[operator]
                batch["tokens"], batch["orders"], batch["contexts"], batch["struct_tokens"], batch["struct_contexts"]
            )[0, -1]
            allowed = grammar.allowed()
            token = allowed[int(torch.argmax(logits[allowed]))]
            grammar.step(token)
            seq.tokens.append(token)
            seq.orders.append(TARGET)
            seq.contexts.append(seq.contexts[-1])


def main() -> None:
    import torch

    from mtk.infill.infer import load, plan
    from mtk.infill.scorefile import read_score

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model to time (default: the shipped one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    infiller = load(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "tune.mid", Path(tmp) / "out.mid"
        _tune(src)

        def once(seed: int) -> tuple[float, int]:
            tic = time.perf_counter()
            score = read_score(src.read_bytes(), name=str(src))
            line = score.line()
            melody = score.melody(line)
            example = plan(melody, (12, 16), (0, 4)).example
            best = infiller.sample(example, n=1, seed=seed)[0]
            out.write_bytes(score.with_notes(line, 12, 16, best.melody.notes))
            return time.perf_counter() - tic, best.tokens_sampled

        once(0)  # warm-up
        runs = [once(seed) for seed in range(1, 6)]
        cached = statistics.median(t for t, _ in runs)
        tokens = int(statistics.median(n for _, n in runs))
        score = read_score(src.read_bytes(), name=str(src))
        example = plan(score.melody(score.line()), (12, 16), (0, 4)).example
        tic = time.perf_counter()
        _uncached(infiller.model, example)
        uncached = time.perf_counter() - tic
        cmd = [sys.executable, "-m", "mtk", "infill", str(src), "--gap", "13-16", "--struct-from", "1-4"]
        cmd += ["--seed", "1", "-o", str(Path(tmp) / "cli.mid"), "--device", "cpu"]
        cmd += ["--model", args.model] if args.model else []
        tic = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        cli = time.perf_counter() - tic
    print(
        json.dumps(
            {
                "model": infiller.name,
                "four_bar_infill_seconds": round(cached, 3),
                "sampled_tokens": tokens,
                "baseline_uncached_decode_seconds": round(uncached, 3),
                "cli_seconds": round(cli, 2),
                "goals": GOALS,
            }
        )
    )


if __name__ == "__main__":
    main()
