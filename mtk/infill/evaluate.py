"""``mtk eval infill``: the paper's protocol on held-out tunes.

Targets are repeated sections (not first occurrences) of up to 4 bars of the test split's
tunes, with :data:`~mtk.infill.data.CONTEXT_BARS` bars of past and future context; the first
section with the same letter is the structural context (:func:`mtk.infill.data.examples`).
Each system fills every target, once per seed:

- ``structure-aware``: the model with the structural context, one sample, drawn with the
  options' ``closeness`` (:class:`~mtk.infill.sample.CopyPrior`);
- ``structure-aware, best of N``: with ``ranked`` = N > 1, the first of N samples ranked as
  ``mtk infill -n N`` ranks them;
- ``structure-agnostic``: the same model with the structure encoder switched off (the
  paper's baselines see no structural context);
- ``copy-reference``: the structural context's bars copied into the gap bar for bar, aligned
  as the copy expert aligns them (:func:`~mtk.infill.data.reference_bars`);
- ``random-bars``: as many consecutive bars of a random training tune in the same meter.

Metrics per infill, averaged over targets: the paper's melody similarity
(:func:`~mtk.infill.structure.similarity`) to the ground truth and to the structural
context (also over the variations alone: targets whose analysis label is primed, A', so
not exact repeats of their context), the overlap of pitch-class histograms with the ground truth (1: the same
distribution), the note-density error (notes per bar) against the ground truth, and whether
the infill has exactly the target's number of bars; for the two model systems also the
ground truth's token negative log-likelihood. Each figure is the mean over seeds with its
standard deviation across seeds. Similarity to the truth is also given per meter and per tune
book, and on exact repeats (A) and variations (A') apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mtk.infill.data import Example, examples, from_json, meter_name, reference_bars
from mtk.infill.sequence import window
from mtk.infill.structure import similarity
from mtk.infill.tokens import Melody, Note

MAX_EVAL_BARS = 4  # the paper's targets: repeated sections of up to 4 bars
SYSTEMS = ("structure-aware", "structure-agnostic", "copy-reference", "random-bars")
RANKED = "structure-aware, best of {n}"
METRICS = ("similarity_truth", "similarity_reference", "pitch_class_overlap", "density_error", "exact_bars")


def target_examples(records: list[dict[str, Any]], *, split: str = "test", limit: int | None = None) -> list[Example]:
    """The protocol's targets in the tunes of ``split``, in corpus order; ``limit`` keeps an
    evenly spaced subset."""
    out = [
        ex
        for r in records
        if r["split"] == split
        for ex in examples(from_json(r), source=str(r.get("work", "")).split(":")[0])
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
    notes = [n for n in infill.notes if n.start < infill.bar_start(n_bars)]
    return {
        "similarity_truth": similarity([n.pitch for n in notes], [n.pitch for n in truth]),
        "similarity_reference": similarity([n.pitch for n in notes], [n.pitch for n in ref]),
        "pitch_class_overlap": pitch_class_overlap(notes, truth),
        "density_error": abs(len(notes) - len(truth)) / n_bars,
        "exact_bars": float(infill.n_bars == n_bars),
    }


def copy_reference(example: Example) -> Melody:
    """The structural context copied into the gap bar for bar: its bars aligned with the gap's
    (:func:`~mtk.infill.data.reference_bars`: a pickup bar of the reference is not copied), each
    bar's notes at the same place in the gap's bar (those past a shorter gap bar dropped, lengths
    cut at the next onset); a gap longer than the reference keeps its last bars empty."""
    m = example.melody
    grid = window(m, example.first, example.end)
    first, end = reference_bars(example)
    onsets: list[tuple[int, Note]] = []
    for i, bar in enumerate(range(first, end)):
        origin = m.bar_start(bar)
        for x in m.bar_notes(bar, bar + 1):
            if x.start - origin < grid.bar_ticks_at(i):
                onsets.append((grid.bar_start(i) + x.start - origin, x))
    ends = [t for t, _ in onsets[1:]] + [grid.bar_start(grid.n_bars)] * bool(onsets)
    notes = [Note(x.pitch, t, min(x.duration, e - t)) for (t, x), e in zip(onsets, ends, strict=True)]
    return replace(grid, notes=notes, sections=[])


def random_bars(example: Example, pool: Sequence[Melody], rng: np.random.Generator) -> Melody:
    """As many consecutive bars as the gap has, from a random training tune of the same meter."""
    n = example.end - example.first
    m = example.melody
    meter = m.meter_at(example.first)
    same = [p for p in pool if p.meter == meter and p.n_bars >= n] or [m]
    source = same[int(rng.integers(len(same)))]
    first = int(rng.integers(source.n_bars - n + 1))
    return replace(window(source, first, first + n), sections=[])


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
    closeness: float | None = None  # None: the Infiller's default
    ranked: int = 0  # N > 1: also the best of N ranked samples

    def systems(self) -> tuple[str, ...]:
        return (*SYSTEMS[:1], RANKED.format(n=self.ranked), *SYSTEMS[1:]) if self.ranked > 1 else SYSTEMS


Scores = tuple[dict[str, list[dict[str, float]]], dict[str, float]]


def target_scores(infiller: Any, example: Example, index: int, pool: Sequence[Melody], opts: EvalOptions) -> Scores:
    """Every system's metrics on target number ``index``, one dict per seed, and the two
    model systems' negative log-likelihood of the truth. Depends only on the target, its
    index and the seeds, so any split of the targets across processes gives the same numbers."""
    scores: dict[str, list[dict[str, float]]] = {s: [] for s in opts.systems()}
    runs = [("structure-aware", True, 1), ("structure-agnostic", False, 1)]
    if opts.ranked > 1:
        runs.append((RANKED.format(n=opts.ranked), True, opts.ranked))
    for seed in opts.seeds:
        for system, use_struct, n in runs:
            best = infiller.sample(
                example,
                n=n,
                seed=seed,
                temperature=opts.temperature,
                top_k=opts.top_k,
                top_p=opts.top_p,
                closeness=opts.closeness if use_struct else 0.0,
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
    repeats = sorted(set(range(len(targets))) - set(variations))
    systems: dict[str, dict[str, Any]] = {}
    for system in opts.systems():
        runs = [[scores[system][k] for scores, _ in results] for k in range(len(opts.seeds))]
        out: dict[str, Any] = {}
        for metric in METRICS:
            means = [float(np.mean([r[metric] for r in run])) for run in runs]
            out[metric] = {"mean": round(float(np.mean(means)), 4), "std": round(float(np.std(means)), 4)}
        if system in results[0][1]:
            out["nll"] = round(float(np.mean([losses[system] for _, losses in results])), 4)
        for key, subset in (("variations_similarity_truth", variations), ("repeats_similarity_truth", repeats)):
            if subset:
                means = [float(np.mean([run[i]["similarity_truth"] for i in subset])) for run in runs]
                out[key] = {"mean": round(float(np.mean(means)), 4), "std": round(float(np.std(means)), 4)}
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
        "closeness": opts.closeness,
        "by_meter": _grouped(targets, results, opts, lambda ex: meter_name(ex.melody)),
        "by_book": _grouped(targets, results, opts, lambda ex: ex.source or "?"),
    }


def _grouped(
    targets: list[Example], results: list[Scores], opts: EvalOptions, key: Callable[[Example], str]
) -> dict[str, dict[str, Any]]:
    """Targets, variations and each system's similarity to the truth (mean over seeds) per group."""
    groups: dict[str, list[int]] = {}
    for i, ex in enumerate(targets):
        groups.setdefault(key(ex), []).append(i)
    out: dict[str, dict[str, Any]] = {}
    for name, idx in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        row: dict[str, Any] = {"targets": len(idx), "variations": sum("'" in targets[i].label for i in idx)}
        for system in opts.systems():
            sims = [results[i][0][system][k]["similarity_truth"] for i in idx for k in range(len(opts.seeds))]
            row[system] = round(float(np.mean(sims)), 4)
        out[name] = row
    return out


def table(result: dict[str, Any]) -> str:
    """The summary as Markdown tables (mean ± std across seeds), then similarity to the truth
    per meter and per tune book."""
    head = "| system | sim. truth | sim. truth, repeats (A) | sim. truth, variations (A') | sim. reference "
    head += "| PC overlap | density err. | exact bars | NLL |"
    rows = [head, "|" + "---|" * 9]
    for system, m in result["systems"].items():
        keys = [METRICS[0], "repeats_similarity_truth", "variations_similarity_truth", *METRICS[1:4]]
        cells = [f"{m[k]['mean']:.3f} ± {m[k]['std']:.3f}" if k in m else "-" for k in keys]
        cells.append(f"{100 * m['exact_bars']['mean']:.0f}%")
        cells.append(f"{m['nll']:.3f}" if "nll" in m else "-")
        rows.append(f"| {system} | " + " | ".join(cells) + " |")
    systems = list(result["systems"])
    for title, key in (("meter", "by_meter"), ("tune book", "by_book")):
        if key not in result:
            continue
        rows += [
            "",
            f"| {title} | targets | variations | " + " | ".join(systems) + " |",
            "|" + "---|" * (3 + len(systems)),
        ]
        for name, g in result[key].items():
            cells = [str(g["targets"]), str(g["variations"]), *(f"{g[s]:.3f}" for s in systems)]
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
