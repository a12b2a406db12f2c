"""``mtk cover``: covers in a listener's favourite genre. So far: the taste profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mtk.cli import common
from mtk.cli.options import Device, FailFast, Force, Inputs, Jobs, Model, Output, Quiet, Verbose
from mtk.io.inputs import AUDIO_EXTENSIONS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Covers of a song in a listener's favourite genre. So far: `mtk cover profile`, the listener's taste.",
)


@app.callback()
def _group() -> None:
    """Covers of a song in a listener's favourite genre. So far: `mtk cover profile`, the listener's taste."""


PROFILE_EPILOG = """Examples:
  mtk cover profile ~/Music -o taste.json -j 2         # one JSON line per track on stdout
  mtk cover profile ~/Music --plays plays.csv -o -     # the profile itself on stdout
"""


@app.command("profile", epilog=PROFILE_EPILOG)
def profile(
    inputs: Inputs = None,
    output: Output = None,
    plays: Annotated[
        Path | None,
        typer.Option("--plays", metavar="CSV", help="path,plays rows: weight each track by its plays."),
    ] = None,
    favourites: Annotated[int, typer.Option("--favourites", min=1, help="How many favourite genres to name.")] = 3,
    model: Model = None,
    device: Device = "auto",
    jobs: Jobs = 1,
    fail_fast: FailFast = False,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """A listener's taste profile from their music: the genre classifier over each file, aggregated.

    -o FILE writes the profile (genre shares, favourite genres, the tracks that decided each)
    and puts one JSON line per track on stdout (input, model, genre, probabilities); -o -
    writes the profile to stdout instead. Shares average the tracks' genre probabilities,
    each track weighted by its plays with --plays (a track the table leaves out counts 0).
    A file that fails is reported and left out (exit 1 at the end); -j N classifies N files
    at a time on the CPU."""
    from functools import partial

    import numpy as np

    from mtk.cover.profile import classify_file, load_cached, read_plays, taste_profile
    from mtk.device import resolve_device
    from mtk.errors import OutputExistsError, UsageError
    from mtk.io.files import STDIO, atomic_write
    from mtk.io.inputs import expand_inputs
    from mtk.io.records import JsonLinesWriter, dumps

    if output is None:
        raise UsageError("name the profile's file with -o FILE (or -o - for stdout)")
    target = None if output == STDIO else Path(output)
    if target is not None and target.exists() and not force:
        raise OutputExistsError(f"{target}: exists", hint="use --force to overwrite it")
    table = read_plays(plays) if plays is not None else None
    paths = expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS, stdin_ok=False)
    dev = str(resolve_device(device))
    if jobs > 1 and dev != "cpu":
        raise UsageError("-j runs worker processes on the CPU; with --device cuda, leave -j out")
    classifier = load_cached(model, dev)  # a bad --model fails here, once, before any file is read
    work = partial(classify_file, model=model, device=dev)
    done: dict[str, list[float]] = {}
    writer = JsonLinesWriter()

    def emit(record: dict[str, Any]) -> None:
        if "error" not in record:
            done[record["input"]] = [record["probabilities"][g] for g in classifier.genres]
        if target is not None:
            writer.write(record)

    if common.is_batch(inputs, paths, None):
        failures = common.run_batch(paths, work, jobs=jobs, fail_fast=fail_fast, label="classifying", emit=emit)
    else:  # one track: its failure is the command's (exit 2)
        failures = 0
        emit(work(paths[0]))
    if not done:  # every track failed, each reported: nothing to profile, nothing written
        raise typer.Exit(1)
    kept = [p for p in paths if p in done]
    result = {"model": classifier.name, "failed": failures}
    result |= taste_profile(
        kept, np.array([done[p] for p in kept]), classifier.genres, plays=table, favourites=favourites
    )
    if target is None:
        writer.write(result)
    else:
        atomic_write(target, (dumps(result) + "\n").encode(), force=force)
        common.info(f"{target}: favourite genres {', '.join(result['favourites'])}")
    if failures:
        raise typer.Exit(1)
