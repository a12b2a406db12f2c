"""``mtk train``: train mtk's models on corpora built by ``mtk corpus``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mtk.cli import common
from mtk.cli.options import CorpusData, Force, Jobs, Output, Quiet, Verbose

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Train mtk's models on corpora built by `mtk corpus`."
)


@app.callback()
def _group() -> None:
    """One sub-command per task."""


@app.command("detect-cover")
def detect_cover(
    data: CorpusData,
    output: Output = None,
    split: Annotated[str, typer.Option("--split", help="Corpus split to train on.")] = "train",
    candidates: Annotated[
        int, typer.Option("--candidates", min=1, help="Stage-1 candidates per song to learn from.")
    ] = 50,
    name: Annotated[str, typer.Option("--name", help="Model name recorded in the file.")] = "detect-cover-calib",
    jobs: Jobs = 1,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Fit the pair-score calibration (logistic model of Qmax and stage-1 distance) on version pairs.

    Writes the calibration as JSON to -o FILE and prints its training scores as one JSON line.
    """
    from mtk.detect_cover.eval import corpus_items
    from mtk.detect_cover.train import fit_calibration, pair_table
    from mtk.errors import UsageError
    from mtk.io.files import atomic_write
    from mtk.io.records import JsonLinesWriter

    if not output or output == "-":
        raise UsageError("the calibration needs a file", hint="use -o calibration.json")
    items = corpus_items(data, split=split, jobs=jobs, progress=lambda xs: common.progress(xs, label="features"))
    features, labels = pair_table(items, candidates=candidates, jobs=jobs)
    calibration, scores = fit_calibration(features, labels, name=name)
    payload = {
        **calibration.to_dict(),
        "trained_on": {
            "corpus": str(data),
            "split": split,
            "recordings": len(items),
            "candidates_per_song": candidates,
        },
        "scores": scores,
    }
    atomic_write(output, (json.dumps(payload, indent=1, sort_keys=True) + "\n").encode(), force=force)
    JsonLinesWriter().write({"output": output, **scores})
