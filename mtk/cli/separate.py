"""``mtk separate``: a mix in, stems (drums, bass, lead, other) out as WAV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from mtk.cli import common
from mtk.cli.options import Device, FailFast, Force, Inputs, Model, Output, Quiet, SkipExisting, Verbose
from mtk.errors import UsageError
from mtk.io.inputs import AUDIO_EXTENSIONS
from mtk.io.records import dumps

STEMS = ("drums", "bass", "lead", "other")  # the shipped model's (checked against the loaded one)

app = typer.Typer(add_completion=False)

EPILOG = """Examples:
  mtk separate song.wav -o stems/                  # stems/{drums,bass,lead,other}.wav
  mtk separate song.wav --stem drums -o drums.wav
  mtk separate song.wav --stem drums | mtk transcribe - -o drums.mid
  mtk separate song.wav --two-stems drums -o parts/   # parts/drums.wav, parts/no_drums.wav
  mtk separate music/ -o stems/ --skip-existing    # stems/<song>/{drums,...}.wav
"""
HELP = (
    "Separate a mix into drums, bass, lead (the melody) and other (chords, pads, the rest).\n\n"
    "Stems keep the input's sample rate and channel count and sum to the input: whatever the model leaves "
    "of the mix goes to 'other' (and no_STEM is the mix minus STEM). Any length, separated in overlapping "
    "chunks in bounded memory. One input writes its stems into -o DIR (--stem: one stem to -o FILE or "
    "stdout); several inputs (or a folder) write DIR/<name>/STEM.wav each. One JSON line per input lists "
    "the outputs and their peaks (above 1.0 clips unless --bits float)."
)


def targets_for(folder: Path, names: list[str]) -> dict[str, str]:
    return {n: str(folder / f"{n}.wav") for n in names}


@app.command(help=HELP, epilog=EPILOG, no_args_is_help=False)
def separate(
    inputs: Inputs = None,
    output: Output = None,
    stem: Annotated[
        Optional[str],
        typer.Option("--stem", metavar="STEM", help="Write only this stem: drums, bass, lead or other."),
    ] = None,
    two_stems: Annotated[
        Optional[str],
        typer.Option("--two-stems", metavar="STEM", help="Write STEM and no_STEM (the mix without it)."),
    ] = None,
    bits: Annotated[Literal["16", "24", "float"], typer.Option("--bits", help="WAV sample format.")] = "16",
    chunk: Annotated[
        float, typer.Option("--chunk", min=1.0, metavar="SECONDS", help="Chunk length (memory grows with it).")
    ] = 10.0,
    model: Model = None,
    device: Device = "auto",
    name: Annotated[
        str,
        typer.Option(
            "--name",
            metavar="TEMPLATE",
            help="Each input's folder of stems in a batch: {stem}, {name}, {parent}, {index}.",
        ),
    ] = "{stem}",
    skip_existing: SkipExisting = False,
    fail_fast: FailFast = False,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    from mtk.device import resolve_device
    from mtk.io.files import STDIO
    from mtk.io.inputs import expand_inputs, output_name
    from mtk.io.records import JsonLinesWriter
    from mtk.separate.infer import load, stem_names

    if stem is not None and two_stems is not None:
        raise UsageError("--stem and --two-stems exclude each other")
    stem_names(STEMS, stem=stem, two_stems=two_stems)  # usage errors before any model loads
    items = expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS)
    # one file in: -o is its stems' folder (or, with --stem, the file); several: one folder each
    batch = len(items) > 1 or any(Path(a).is_dir() or a.startswith("@") for a in inputs or [])
    to_folder = output is not None and (output.endswith("/") or Path(output).is_dir())
    if not batch and stem is None and (not output or output == STDIO):
        raise UsageError("several stems need an output folder", hint="use -o DIR, or --stem STEM")
    separator = load(model, resolve_device(device), chunk_seconds=chunk)
    names = stem_names(separator.stems, stem=stem, two_stems=two_stems)

    def run_one(source: str, targets: dict[str, str]) -> dict[str, Any]:
        outputs = [t for t in targets.values() if t != STDIO]
        if skip_existing and outputs and all(Path(t).exists() for t in outputs):
            return {"input": source, "outputs": targets, "skipped": True}
        info = separator.to_files(source, targets, subtype=bits, force=force)
        clipped = [n for n, peak in info["peaks"].items() if peak > 1.0]
        if clipped and bits != "float":
            common.warn(f"{source}: {', '.join(clipped)} clipped (peak above 1.0); use --bits float to keep it")
        return {"input": source, "outputs": targets, **info, "model": separator.name}

    if not batch:
        if stem is not None and not to_folder:
            targets = {stem: common.binary_target(output, kind="audio")}
        else:
            targets = targets_for(Path(output), names)  # type: ignore[arg-type]
        record = run_one(items[0], targets)
        if STDIO in targets.values():
            common.info(dumps(record))
        else:
            JsonLinesWriter().write(record)
        return
    folder = common.batch_folder(output)
    per_input = {src: folder / output_name(src, name, index=i) for i, src in enumerate(items)}
    if len(set(per_input.values())) < len(per_input):
        raise UsageError(
            "two inputs map to the same output folder name", hint="use --name, e.g. '{parent}' or '{index}-{stem}'"
        )
    failures = common.run_batch(
        items,
        lambda s: run_one(s, targets_for(per_input[s], names)),
        fail_fast=fail_fast,
        label="separating",
    )
    if failures:
        raise typer.Exit(1)
