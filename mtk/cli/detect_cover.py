"""``mtk detect-cover``: are these recordings versions of the same work?"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mtk.cli import common
from mtk.cli.options import FailFast, Force, Inputs, Jobs, Model, Output, Quiet, SkipExisting, Verbose
from mtk.io.inputs import AUDIO_EXTENSIONS

app = typer.Typer(
    cls=common.default_command("pair"),  # mtk detect-cover A B: mtk detect-cover pair A B
    add_completion=False,
    no_args_is_help=True,
    help="Are these recordings versions of the same work? (2D Fourier chroma + kNN, Qmax re-ranking)",
)
IndexOpt = Annotated[Path, typer.Option("--index", metavar="IDX", help="Index built by `mtk detect-cover index`.")]
CliqueOpt = Annotated[Path, typer.Option("--clique", metavar="DIR", help="Folder of versions of one work.")]
K = Annotated[int, typer.Option("-k", min=1, help="Candidates to return.")]
Rerank = Annotated[int, typer.Option("--rerank", min=1, help="Stage-1 candidates re-ranked by stage 2.")]


def _detector(model: str | None) -> Any:
    from mtk.detect_cover.infer import CoverDetector, load_model

    return CoverDetector(*load_model(model))


def _extract_or_error(path: str) -> Any:
    from mtk.detect_cover.index import extract
    from mtk.errors import MtkError

    try:
        return extract(path)
    except MtkError as exc:
        return exc


def _extract_all(paths: list[str], jobs: int, *, fail_fast: bool = False) -> tuple[list[Any], int]:
    """Features of every file (in ``jobs`` processes); files that fail are reported on
    stderr and as ``{"input", "error"}`` records, and left out. Returns (records, failures);
    with ``fail_fast`` the first failure ends the command (exit 1)."""
    from mtk.errors import MtkError
    from mtk.io.records import JsonLinesWriter
    from mtk.parallel import parallel_map

    def ticker(items: list[str]) -> Any:
        return common.progress(items, label="features")

    results = (
        map(_extract_or_error, ticker(paths)) if jobs <= 1 else parallel_map(_extract_or_error, paths, jobs, ticker)
    )
    good, failures = [], 0
    for path, res in zip(paths, results, strict=True):
        if isinstance(res, MtkError):
            failures += 1
            print(f"{common.STATE.command}: error: {res}", file=sys.stderr)
            JsonLinesWriter().write({"input": path, "error": str(res)})
            if fail_fast:
                raise typer.Exit(1)
        else:
            good.append(res)
    return good, failures


@app.command("pair")
def pair(
    a: Annotated[str, typer.Argument(metavar="A", help="Audio file ('-' for stdin).")],
    b: Annotated[str, typer.Argument(metavar="B", help="Audio file.")],
    model: Model = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """One JSON line: the pair's calibrated score in [0, 1], is_cover, stage-1 distance, Qmax, method."""
    from mtk.detect_cover.index import extract
    from mtk.io.records import JsonLinesWriter

    det = _detector(model)
    match = det.compare(extract(a), extract(b))
    fields = {k: v for k, v in match.to_dict().items() if k not in ("query", "candidate")}
    JsonLinesWriter().write({"a": a, "b": b, **fields, "model": det.calibration.name})


@app.command("index")
def index(
    inputs: Inputs = None,
    output: Output = None,
    jobs: Jobs = 1,
    skip_existing: SkipExisting = False,
    fail_fast: FailFast = False,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Build an index of audio files and folders (-o FILE), or extend one with --skip-existing.

    The file is written only when a recording was added: when every input fails, an existing
    index is left as it was and no new one appears."""
    from mtk.detect_cover.index import CoverIndex
    from mtk.io.inputs import expand_inputs
    from mtk.io.records import JsonLinesWriter

    target = common.index_target(output, skip_existing=skip_existing, force=force)
    idx = CoverIndex.load(target) if target.exists() and skip_existing else CoverIndex()
    paths = expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS, stdin_ok=False)
    todo = [p for p in paths if p not in idx]
    writer = JsonLinesWriter()
    for p in paths:
        if p not in todo:
            writer.write({"input": p, "skipped": True})
    recs, failures = _extract_all(todo, jobs, fail_fast=fail_fast)
    for rec in recs:
        idx.add(rec)
        writer.write(
            {
                "input": rec.path,
                "added": True,
                "duration": round(rec.duration, 3),
                "beats": rec.chroma.shape[1] // idx.cfg.grid,
            }
        )
    if recs:
        idx.save(target, force=True)
        common.info(f"{target}: {len(idx)} recordings")
    if failures:
        raise typer.Exit(1)


@app.command("query")
def query(
    index_path: IndexOpt,
    inputs: Inputs = None,
    k: K = 10,
    rerank: Rerank = 200,  # mtk.detect_cover.infer.DEFAULT_RERANK (not imported: --help stays light)
    model: Model = None,
    fail_fast: FailFast = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """One JSON line per query: its k best candidates in the index, ranked by calibrated score."""
    from mtk.detect_cover.index import CoverIndex, extract
    from mtk.io.inputs import expand_inputs

    idx = CoverIndex.load(index_path)
    det = _detector(model)

    def work(source: str) -> dict[str, Any]:
        matches = det.query(extract(source), idx, k=k, rerank=max(rerank, k))
        return {
            "input": source,
            "model": det.calibration.name,
            "candidates": [{key: v for key, v in m.to_dict().items() if key != "query"} for m in matches],
        }

    failures = common.run_batch(
        expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS), work, fail_fast=fail_fast, label="queries"
    )
    if failures:
        raise typer.Exit(1)


@app.command("cliques")
def cliques(
    inputs: Inputs = None,
    index_path: Annotated[Optional[Path], typer.Option("--index", metavar="IDX", help="Start from this index.")] = None,
    k: K = 10,
    model: Model = None,
    jobs: Jobs = 1,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Group recordings into cliques of versions: one JSON line per clique of two or more."""
    from mtk.detect_cover.index import CoverIndex
    from mtk.io.inputs import expand_inputs
    from mtk.io.records import JsonLinesWriter

    idx = CoverIndex.load(index_path) if index_path else CoverIndex()
    paths = [
        p
        for p in (expand_inputs(inputs, extensions=AUDIO_EXTENSIONS, stdin_ok=False) if inputs else [])
        if p not in idx
    ]
    recs, failures = _extract_all(paths, jobs)
    for rec in recs:
        idx.add(rec)
    det = _detector(model)
    writer = JsonLinesWriter()
    for n, group in enumerate(det.cliques(idx, k=k)):
        writer.write(
            {"clique": n, "size": len(group), "members": [idx.paths[i] for i in group], "model": det.calibration.name}
        )
    if failures:
        raise typer.Exit(1)


@app.command("classify")
def classify(
    clique: CliqueOpt,
    inputs: Inputs = None,
    model: Model = None,
    jobs: Jobs = 1,
    fail_fast: FailFast = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Is each query a version of the work whose versions are in --clique DIR? One JSON line per query."""
    from mtk.detect_cover.index import extract
    from mtk.errors import InputError
    from mtk.io.inputs import expand_inputs

    versions, _ = _extract_all(
        expand_inputs([str(clique)], extensions=AUDIO_EXTENSIONS, stdin_ok=False), jobs, fail_fast=True
    )
    det = _detector(model)

    def work(source: str) -> dict[str, Any]:
        rec = extract(source)
        others = [v for v in versions if v.sha256 != rec.sha256]
        if not others:
            raise InputError(f"{clique}: holds no version other than {source}")
        return {"input": source, "clique": str(clique), "model": det.calibration.name, **det.classify(rec, others)}

    failures = common.run_batch(
        expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS), work, fail_fast=fail_fast, label="queries"
    )
    if failures:
        raise typer.Exit(1)
