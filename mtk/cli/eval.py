"""``mtk eval``: measure mtk's models on held-out corpora."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mtk.cli import common
from mtk.cli.options import CorpusData, Device, Jobs, Model, Quiet, Verbose

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Measure mtk's models on held-out corpora.")


@app.callback()
def _group() -> None:
    """One sub-command per task."""


@app.command("detect-cover")
def detect_cover(
    data: CorpusData,
    split: Annotated[str, typer.Option("--split", help="Corpus split whose songs are the queries.")] = "test",
    distractors: Annotated[
        Optional[list[str]],
        typer.Option("--distractors", metavar="DIR", help="Folders of unrelated music (repeatable)."),
    ] = None,
    excerpt_seconds: Annotated[
        float, typer.Option("--excerpt-seconds", help="Cut distractor files into pieces this long (0: whole files).")
    ] = 30.0,
    rerank: Annotated[int, typer.Option("--rerank", min=1, help="Stage-1 candidates re-ranked by stage 2.")] = 50,
    model: Model = None,
    jobs: Jobs = 1,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """MAP, MR1, P@1 and ROC-AUC for stage 1 alone (the seed method) and stages 1+2, as one JSON object."""
    from mtk.detect_cover.eval import corpus_items, distractor_items, evaluate
    from mtk.detect_cover.infer import load_calibration
    from mtk.io.records import JsonLinesWriter

    calibration = load_calibration(model)
    items = corpus_items(data, split=split, jobs=jobs, progress=lambda xs: common.progress(xs, label="songs"))
    items += distractor_items(
        distractors or [],
        excerpt_s=excerpt_seconds,
        jobs=jobs,
        progress=lambda xs: common.progress(xs, label="distractors"),
    )
    result = evaluate(
        items, calibration, rerank=rerank, jobs=jobs, progress=lambda xs: common.progress(xs, label="queries")
    )
    JsonLinesWriter().write(
        {
            "task": "detect-cover",
            "data": str(data),
            "split": split,
            "model": calibration.name,
            "distractor_folders": distractors or [],
            **result,
        }
    )


@app.command("transcribe")
def transcribe(
    data: CorpusData,
    split: Annotated[str, typer.Option("--split", help="Corpus split to score.")] = "test",
    tune: Annotated[
        Optional[Path],
        typer.Option("--tune", metavar="CORPUS", help="Choose both systems' thresholds on this corpus first."),
    ] = None,
    tune_split: Annotated[str, typer.Option("--tune-split", help="Split of --tune to use.")] = "valid",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Score only the first N songs.")] = None,
    model: Model = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Onset F1 (50 ms) for kick, snare and hi-hat, DrummerNet and an NMF baseline, as one JSON object."""
    from mtk.device import resolve_device
    from mtk.io.records import JsonLinesWriter
    from mtk.transcribe.eval import baseline_for, evaluate, load_songs
    from mtk.transcribe.infer import load

    transcriber = load(model, resolve_device(device))
    rate = transcriber.cfg.sample_rate
    songs = load_songs(data, split=split, sample_rate=rate, limit=limit)
    tuning = load_songs(tune, split=tune_split, sample_rate=rate, limit=limit) if tune else None
    result = evaluate(transcriber, baseline_for(transcriber), songs, tune=tuning)
    JsonLinesWriter().write({"task": "transcribe", "data": str(data), "split": split, **result})
