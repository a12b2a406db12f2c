"""Shared option spellings: every command spells the same option the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mtk.cli import common
from mtk.corpus.works import DEFAULT_SOURCES


def _device(value: str) -> str:
    from mtk.device import check_device_spec
    from mtk.errors import UsageError

    try:
        return check_device_spec(value)
    except UsageError as exc:
        raise typer.BadParameter(str(exc)) from None


def _quiet(value: bool) -> bool:
    common.STATE.quiet = common.STATE.quiet or value
    return value


def _verbose(value: bool) -> bool:
    common.STATE.verbose = common.STATE.verbose or value
    return value


Inputs = Annotated[
    Optional[list[str]],
    typer.Argument(
        metavar="INPUT",
        help="Files, folders (walked recursively), '-' for stdin or @list.txt; stdin when omitted and piped.",
        show_default=False,
    ),
]
Output = Annotated[
    Optional[str],
    typer.Option(
        "-o",
        "--output",
        metavar="PATH",
        help="Output file, or folder for several inputs; '-' is stdout.",
        show_default=False,
    ),
]
Model = Annotated[
    Optional[str],
    typer.Option(
        "--model", metavar="NAME|PATH", help="Registry name or weight file (default: the task's shipped model)."
    ),
]
Device = Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda[:N]", callback=_device, help="Compute device.")]
Seed = Annotated[
    Optional[int], typer.Option("--seed", help="Random seed; drawn and reported when omitted.", show_default=False)
]
Jobs = Annotated[int, typer.Option("-j", "--jobs", min=1, metavar="N", help="Worker processes for batches.")]
Quiet = Annotated[
    bool, typer.Option("-q", "--quiet", callback=_quiet, is_eager=True, help="No progress or warnings on stderr.")
]
Verbose = Annotated[
    bool,
    typer.Option(
        "-v", "--verbose", callback=_verbose, is_eager=True, help="More detail on stderr; tracebacks on errors."
    ),
]
SkipExisting = Annotated[
    bool, typer.Option("--skip-existing", help="Skip inputs whose output already exists (resumable batches).")
]
FailFast = Annotated[bool, typer.Option("--fail-fast", help="Stop a batch at the first failed input.")]
Force = Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")]
NameTemplate = Annotated[
    Optional[str],
    typer.Option("--name", metavar="TEMPLATE", help="Output file name in a folder: {stem}, {name}, {parent}, {index}."),
]
CorpusData = Annotated[Path, typer.Option("--data", metavar="CORPUS", help="A corpus built by `mtk corpus songs`.")]
RunFolder = Annotated[str, typer.Option("-o", "--output", metavar="RUN", help="Run folder (created; resumed).")]
CorpusDataList = Annotated[
    list[Path], typer.Option("--data", metavar="CORPUS", help="Corpora built by `mtk corpus songs` (repeatable).")
]
StreamsFile = Annotated[
    str, typer.Option("--streams", metavar="FILE", help="Labelled streams, CSV or JSON Lines (mtk corpus streams).")
]
HistoryFile = Annotated[
    str, typer.Option("--history", metavar="FILE", help="Listening history: user, track, plays (CSV or JSON Lines).")
]
AudioCorpora = Annotated[
    Optional[list[Path]],
    typer.Option("--audio", metavar="CORPUS", help="Song corpus resolving track ids to audio (repeatable)."),
]
TuneSources = Annotated[
    str,
    typer.Option(
        "--sources",
        help="music21 corpora, comma-separated: bach, oneills, ryans, aird, miscfolk, essen (Essen: non-commercial "
        "licence).",
    ),
]
DEFAULT_TUNE_SOURCES = ",".join(DEFAULT_SOURCES)
