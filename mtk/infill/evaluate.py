"""``mtk eval infill``: the paper's protocol on held-out tunes.

Targets are repeated sections (not first occurrences) of up to 4 bars of the test split's
tunes, with :data:`~mtk.infill.data.CONTEXT_BARS` bars of past and future context; the first
section with the same letter is the structural context (:func:`mtk.infill.data.examples`).
Each system fills every target, once per seed:

- ``structure-aware``: the model with the structural context;
- ``structure-agnostic``: the same model with the structure encoder switched off (the
  paper's baselines see no structural context);
- ``copy-reference``: the structural context's bars copied into the gap;
- ``random-bars``: as many consecutive bars of a random training tune in the same meter.

Metrics per infill, averaged over targets: the paper's melody similarity
(:func:`~mtk.infill.structure.similarity`) to the ground truth and to the structural
context (also over the variations alone: targets whose analysis label is primed, A', so
not exact repeats of their context), the overlap of pitch-class histograms with the ground truth (1: the same
distribution), the note-density error (notes per bar) against the ground truth, and whether
the infill has exactly the target's number of bars; for the two model systems also the
ground truth's token negative log-likelihood. Each figure is the mean over seeds with its
standard deviation across seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtk.infill.data import Example, examples, from_json
from mtk.infill.sequence import window
from mtk.infill.structure import similarity
from mtk.infill.tokens import Melody, Note

MAX_EVAL_BARS = 4  # the paper's targets: repeated sections of up to 4 bars
SYSTEMS = ("structure-aware", "structure-agnostic", "copy-reference", "random-bars")
METRICS = ("similarity_truth", "similarity_reference", "pitch_class_overlap", "density_error", "exact_bars")


def target_examples(records: list[dict[str, Any]], *, split: str = "test", limit: int | None = None) -> list[Example]:
    """The protocol's targets in the tunes of ``split``, in corpus order; ``limit`` keeps an
    evenly spaced subset."""
    out = [
        ex
        for r in records
        if r["split"] == split
        for ex in examples(from_json(r))
        if ex.struct is not None and ex.end - ex.first <= MAX_EVAL_BARS
    ]
    if limit is not None and len(out) > limit:
        out = [out[i] for i in np.linspace(0, len(out) - 1, limit).round().astype(int)]
    return out


def pitch_class_overlap(a: list[Note], b: list[Note]) -> float:
    """Sum of the minima of two normalised 12-bin pitch-class histograms (note counts)."""
    if not a or not b:
        return float(not a and not b)
    ha = np.bincount([n.pitch % 12 for n in a], minlength=12) / len(a)
    hb = np.bincount([n.pitch % 12 for n in b], minlength=12) / len(b)
    return float(np.minimum(ha, hb).sum())


def score(infill: Melody, example: Example) -> dict[str, float]:
    """The metrics of one infill (bars from 0) against the example's truth and reference."""
    n_bars = example.end - example.first
    truth = window(example.melody, example.first, example.end).notes
    assert example.struct is not None
    ref = window(example.melody, example.struct.first_bar, example.struct.end_bar).notes
    notes = [n for n in infill.notes if n.start < n_bars * infill.bar_ticks]
    return {
        "similarity_truth": similarity([n.pitch for n in notes], [n.pitch for n in truth]),
        "similarity_reference": similarity([n.pitch for n in notes], [n.pitch for n in ref]),
        "pitch_class_overlap": pitch_class_overlap(notes, truth),
        "density_error": abs(len(notes) - len(truth)) / n_bars,
        "exact_bars": float(infill.n_bars == n_bars),
    }


def copy_reference(example: Example) -> Melody:
    """The structural context's first bars, as many as the gap has (fewer if it is shorter)."""
    assert example.struct is not None
    n = example.end - example.first
    m = example.melody
    bars = min(n, example.struct.n_bars)
    copied = window(m, example.struct.first_bar, example.struct.first_bar + bars)
    return Melody(m.meter, m.tempo, copied.notes, n)


def random_bars(example: Example, pool: Sequence[Melody], rng: np.random.Generator) -> Melody:
    """As many consecutive bars as the gap has, from a random training tune of the same meter."""
    n = example.end - example.first
    m = example.melody
    same = [p for p in pool if p.meter == m.meter and p.n_bars >= n] or [m]
    source = same[int(rng.integers(len(same)))]
    first = int(rng.integers(source.n_bars - n + 1))
    return Melody(m.meter, m.tempo, window(source, first, first + n).notes, n)


def nll(model: Any, example: Example, *, use_struct: bool) -> float:
    """Mean negative log-likelihood (nats per token) of the example's true target tokens."""
    import torch

    from mtk.infill.sequence import build
    from mtk.infill.train import collate, loss_of

    with torch.inference_mode():
        return float(loss_of(model, collate([build(example, use_struct=use_struct)])))


@dataclass
class EvalOptions:
    seeds: tuple[int, ...] = (0, 1, 2)
    temperature: float = 1.0
    top_k: int = 8
    top_p: float = 0.9


Scores = tuple[dict[str, list[dict[str, float]]], dict[str, float]]


def target_scores(infiller: Any, example: Example, index: int, pool: Sequence[Melody], opts: EvalOptions) -> Scores:
    """Every system's metrics on target number ``index``, one dict per seed, and the two
    model systems' negative log-likelihood of the truth. Depends only on the target, its
    index and the seeds, so any split of the targets across processes gives the same numbers."""
    scores: dict[str, list[dict[str, float]]] = {s: [] for s in SYSTEMS}
    for seed in opts.seeds:
        for system, use_struct in (("structure-aware", True), ("structure-agnostic", False)):
            best = infiller.sample(
                example,
                n=1,
                seed=seed,
                temperature=opts.temperature,
                top_k=opts.top_k,
                top_p=opts.top_p,
                use_struct=use_struct,
            )[0]
            scores[system].append(score(best.melody, example))
        scores["copy-reference"].append(score(copy_reference(example), example))
        rng = np.random.default_rng([seed, index])
        scores["random-bars"].append(score(random_bars(example, pool, rng), example))
    losses = {
        "structure-aware": nll(infiller.model, example, use_struct=True),
        "structure-agnostic": nll(infiller.model, example, use_struct=False),
    }
    return scores, losses


@dataclass(frozen=True)
class _Shard:
    load: Callable[[], Any]  # picklable: e.g. functools.partial(mtk.infill.infer.load, name, device)
    items: list[tuple[int, Example]]
    pool: Sequence[Melody]
    opts: EvalOptions


def _run_shard(shard: _Shard) -> tuple[str, list[Scores]]:
    import torch

    torch.set_num_threads(1)  # one core per worker process
    infiller = shard.load()
    return infiller.name, [target_scores(infiller, ex, i, shard.pool, shard.opts) for i, ex in shard.items]


def evaluate(
    load: Callable[[], Any],
    targets: list[Example],
    train_pool: Sequence[Melody],
    opts: EvalOptions = EvalOptions(),
    *,
    jobs: int = 1,
    progress: Callable[[list[Any]], Any] = lambda xs: xs,
) -> dict[str, Any]:
    """Every system on every target and seed; the summary (mean and std across seeds).
    ``load()`` gives the :class:`~mtk.infill.infer.Infiller`; with ``jobs`` > 1 each worker
    process (spawned, so torch starts afresh) loads its own and scores a share of the targets."""
    from mtk.parallel import parallel_map

    indexed = list(enumerate(targets))
    if jobs <= 1:
        infiller = load()
        name, results = infiller.name, [target_scores(infiller, ex, i, train_pool, opts) for i, ex in progress(indexed)]
    else:
        n_shards = min(len(indexed), 16 * jobs)  # small shards: a progress tick each, even load
        shards = [_Shard(load, indexed[k::n_shards], train_pool, opts) for k in range(n_shards)]
        done = parallel_map(_run_shard, shards, jobs, progress, context="spawn")
        name = done[0][0]
        by_index = {
            i: r for shard, (_, rs) in zip(shards, done, strict=True) for (i, _), r in zip(shard.items, rs, strict=True)
        }
        results = [by_index[i] for i in range(len(indexed))]
    return {"model": name, **summarize(targets, results, opts)}


def summarize(targets: list[Example], results: list[Scores], opts: EvalOptions) -> dict[str, Any]:
    """Mean and std across seeds of each system's metrics over the targets."""
    variations = [i for i, ex in enumerate(targets) if "'" in ex.label]  # not exact repeats
    systems: dict[str, dict[str, Any]] = {}
    for system in SYSTEMS:
        runs = [[scores[system][k] for scores, _ in results] for k in range(len(opts.seeds))]
        out: dict[str, Any] = {}
        for metric in METRICS:
            means = [float(np.mean([r[metric] for r in run])) for run in runs]
            out[metric] = {"mean": round(float(np.mean(means)), 4), "std": round(float(np.std(means)), 4)}
        if system in results[0][1]:
            out["nll"] = round(float(np.mean([losses[system] for _, losses in results])), 4)
        if variations:
            means = [float(np.mean([run[i]["similarity_truth"] for i in variations])) for run in runs]
            out["variations_similarity_truth"] = {
                "mean": round(float(np.mean(means)), 4),
                "std": round(float(np.std(means)), 4),
            }
        systems[system] = out
    truth = [score(window(ex.melody, ex.first, ex.end), ex)["similarity_reference"] for ex in targets]
    aware, agnostic = systems["structure-aware"], systems["structure-agnostic"]
    margin = aware["similarity_truth"]["mean"] - agnostic["similarity_truth"]["mean"]
    spread = max(aware["similarity_truth"]["std"], agnostic["similarity_truth"]["std"])
    return {
        "targets": len(targets),
        "tunes": len({id(ex.melody) for ex in targets}),
        "variations": len(variations),
        "seeds": list(opts.seeds),
        "truth_similarity_reference": round(float(np.mean(truth)), 4) if truth else None,
        "systems": systems,
        "structure_margin": round(margin, 4),
        "structure_margin_exceeds_spread": bool(margin > spread),
    }


def table(result: dict[str, Any]) -> str:
    """The summary as a Markdown table (mean ± std across seeds)."""
    head = "| system | sim. truth | sim. truth, variations | sim. reference | PC overlap | density err. "
    head += "| exact bars | NLL |"
    rows = [head, "|" + "---|" * 8]
    for system, m in result["systems"].items():
        keys = [METRICS[0], "variations_similarity_truth", *METRICS[1:4]]
        cells = [f"{m[k]['mean']:.3f} ± {m[k]['std']:.3f}" if k in m else "-" for k in keys]
        cells.append(f"{100 * m['exact_bars']['mean']:.0f}%")
        cells.append(f"{m['nll']:.3f}" if "nll" in m else "-")
        rows.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
