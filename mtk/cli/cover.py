"""``mtk cover``: covers in a listener's favourite genre. So far: the taste profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mtk.cli import common
from mtk.cli.options import Device, FailFast, Force, Inputs, Model, Output, Quiet, Verbose
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
  mtk cover profile ~/Music -o taste.json              # one JSON line per track on stdout
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
    A file that fails is reported and left out (exit 1 at the end)."""
    import numpy as np

    from mtk.cover.profile import load, read_plays, taste_profile
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
    classifier = load(model, device=resolve_device(device))
    vectors = classifier.vectors()
    done: list[tuple[str, np.ndarray]] = []

    def work(source: str) -> dict[str, Any]:
        probs = classifier.probabilities(vectors(source)[None])[0]
        done.append((source, probs))
        ranked = np.argsort(-probs, kind="stable")
        return {
            "input": source,
            "model": classifier.name,
            "genre": classifier.genres[ranked[0]],
            "probabilities": {classifier.genres[i]: round(float(probs[i]), 4) for i in ranked},
        }

    writer = JsonLinesWriter()
    emit = writer.write if target is not None else (lambda record: None)
    if common.is_batch(inputs, paths, None):
        failures = common.run_batch(paths, work, fail_fast=fail_fast, label="classifying", emit=emit)
    else:  # one track: its failure is the command's (exit 2)
        failures = 0
        emit(work(paths[0]))
    if not done:  # every track failed, each reported: nothing to profile, nothing written
        raise typer.Exit(1)
    done.sort(key=lambda item: paths.index(item[0]))
    result = {"model": classifier.name, "failed": failures}
    result |= taste_profile(
        [p for p, _ in done], np.stack([q for _, q in done]), classifier.genres, plays=table, favourites=favourites
    )
    if target is None:
        writer.write(result)
    else:
        atomic_write(target, (dumps(result) + "\n").encode(), force=force)
        common.info(f"{target}: favourite genres {', '.join(result['favourites'])}")
    if failures:
        raise typer.Exit(1)
