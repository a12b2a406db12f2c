"""``mtk transcribe``: drum audio in, drum hits out (MIDI, JSON Lines or CSV)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from mtk.cli import common
from mtk.cli.options import (
    Device,
    FailFast,
    Force,
    Inputs,
    Model,
    NameTemplate,
    Output,
    Quiet,
    SkipExisting,
    Verbose,
)
from mtk.errors import UsageError
from mtk.io.inputs import AUDIO_EXTENSIONS
from mtk.io.records import dumps

FORMATS = {"mid": ".mid", "json": ".jsonl", "csv": ".csv"}
SUFFIXES = {".mid": "mid", ".midi": "mid", ".json": "json", ".jsonl": "json", ".csv": "csv"}
CSV_FIELDS = ("time", "drum", "note", "velocity", "strength", "onset")

app = typer.Typer(add_completion=False)

EPILOG = """Examples:
  mtk transcribe drums.wav -o drums.mid
  cat drums.wav | mtk transcribe - > drums.mid
  mtk transcribe drums.wav --format csv | head
  mtk transcribe stems/ -o midi/ --skip-existing
  mtk transcribe drums.wav --format json --threshold snare=0.3
  mtk transcribe drums.wav --onset-threshold hihat=0   # no onset gate on hi-hats
  mtk transcribe drums.wav --kit GMRockKit   # the kit that played is known (or a Hydrogen kit folder)
  mtk transcribe drums.wav --model transcribe-drummernet-v2   # the unsupervised model
"""
HELP = (
    "Transcribe drum audio into kick, snare, hi-hat, toms, cymbals: by default a CRNN trained on the hits of mtk's "
    "corpus; --model transcribe-drummernet-v2 is DrummerNet, trained without labels (and the model --kit refits).\n\n"
    "MIDI is channel 10 with General MIDI notes (36 kick, 38 snare, 42 closed and 46 open hi-hat, 43/47/50 toms, "
    "49 crash, 51 ride, 39 clap, 37 side stick); JSON Lines and CSV give one event per line with time (s), drum, "
    "note, velocity, strength (the hit's probability, or DrummerNet's activation mass) and onset (the onset "
    "strength in the drum's band). A kick, "
    "snare or hi-hat is kept only where the audio has an onset in its band above its onset threshold (0: no gate). "
    "One input writes to -o FILE or stdout; several inputs (or a folder) need -o DIR and print one JSON line per "
    "output. Closed and open hi-hat are one detection (labelled by the larger) and share thresholds ('hihat'). "
    "Works best on a drum stem: give --separate for a full mix."
)


def parse_thresholds(values: list[str] | None, option: str = "--threshold") -> dict[str, float]:
    """``["kick=0.3", ...]`` -> ``{"kick": 0.3}``; ``hihat`` (or either hi-hat) sets both
    hi-hats, which are detected together; unknown drums and bad numbers are usage errors
    (``--onset-threshold`` takes only the drums with an onset gate)."""
    from mtk.transcribe.components import COMPONENTS, ONSET_BAND_OF, sharing

    drums = list(ONSET_BAND_OF) if option == "--onset-threshold" else list(COMPONENTS)
    drums.append("hihat")
    out: dict[str, float] = {}
    for value in values or []:
        drum, _, text = value.partition("=")
        if drum not in drums:
            raise UsageError(f"{option} {value}: unknown drum {drum!r}", hint=f"one of {', '.join(drums)}")
        try:
            number = float(text)
        except ValueError:
            raise UsageError(f"{option} {value}: expected DRUM=NUMBER") from None
        if not number >= 0:
            raise UsageError(f"{option} {value}: must be >= 0")
        out.update(dict.fromkeys(sharing(drum), number))
    return out


def encode(transcription: Any, fmt: str) -> bytes:
    """The transcription as MIDI, JSON Lines or CSV bytes."""
    if fmt == "mid":
        from mtk.io.midi import midi_to_bytes

        return midi_to_bytes(transcription.to_midi())
    rows = [e.to_dict() for e in transcription.events]
    if fmt == "json":
        return "".join(dumps(r) + "\n" for r in rows).encode()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


@app.command(help=HELP, epilog=EPILOG, no_args_is_help=False)
def transcribe(
    inputs: Inputs = None,
    output: Output = None,
    fmt: Annotated[
        Optional[Literal["mid", "json", "csv"]],
        typer.Option("--format", "-f", help="Output format (default: from -o's suffix, else mid)."),
    ] = None,
    threshold: Annotated[
        Optional[list[str]],
        typer.Option("--threshold", metavar="DRUM=VALUE", help="Detection threshold of one drum (repeatable)."),
    ] = None,
    onset_threshold: Annotated[
        Optional[list[str]],
        typer.Option(
            "--onset-threshold",
            metavar="DRUM=VALUE",
            help="Onset gate of a kick, snare or hi-hat: the band onset strength a hit needs; 0 = off (repeatable).",
        ),
    ] = None,
    kit: Annotated[
        Optional[str],
        typer.Option(
            "--kit",
            metavar="DIR|NAME",
            help="The kit that played (a Hydrogen kit folder or an installed kit): refit every hit with its one-shots "
            "and drop those the fit silences (DrummerNet's analysis by synthesis: the default model becomes "
            "transcribe-drummernet-v2). Slower (about 2 s of CPU a second of audio).",
        ),
    ] = None,
    separate: Annotated[
        bool,
        typer.Option(
            "--separate",
            help="The input is a full mix: separate its drums first (mtk separate's shipped model), then transcribe.",
        ),
    ] = False,
    model: Model = None,
    device: Device = "auto",
    name: NameTemplate = None,
    skip_existing: SkipExisting = False,
    fail_fast: FailFast = False,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    from mtk.device import resolve_device
    from mtk.io.files import STDIO, atomic_write, check_writable, write_stdout
    from mtk.io.inputs import expand_inputs, output_name
    from mtk.transcribe.infer import load

    thresholds = parse_thresholds(threshold)
    gates = parse_thresholds(onset_threshold, "--onset-threshold")
    items = expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS)
    batch = common.is_batch(inputs, items, output)
    if fmt is None:
        suffix = Path(output).suffix.lower() if output and not batch and output != STDIO else ""
        fmt = SUFFIXES.get(suffix, "mid")
    if kit is not None and model is None:
        from mtk.transcribe.infer import DEFAULT_DRUMMERNET

        model = DEFAULT_DRUMMERNET  # the refit is DrummerNet's analysis by synthesis
    transcriber = load(model, resolve_device(device), thresholds=thresholds, onset_thresholds=gates)
    if kit is not None:
        from mtk.transcribe.infer import DEFAULT_DRUMMERNET
        from mtk.transcribe.refine import kit_shots

        if not transcriber.refits:
            raise UsageError(
                f"{transcriber.name} cannot refit with a known kit",
                hint=f"--kit needs DrummerNet: --model {DEFAULT_DRUMMERNET}",
            )
        transcriber.kit = kit_shots(kit, transcriber.cfg.sample_rate)
    separator = None
    if separate:
        from mtk.separate.infer import load as load_separator

        separator = load_separator(None, resolve_device(device))

    def run_one(source: str, target: str) -> dict[str, Any]:
        if skip_existing and target != STDIO and Path(target).exists():
            return {"input": source, "output": target, "skipped": True}
        if target != STDIO:
            check_writable(target, force=force)
        if separator is not None:
            drums, sr = separator.stem_from_file(source, "drums")
            result = transcriber.from_audio(drums.mean(axis=0), sr)
        else:
            result = transcriber.from_file(source)
        data = encode(result, fmt)
        if target == STDIO:
            write_stdout(data)
        else:
            atomic_write(target, data, force=force)
        return {
            "input": source,
            "output": target,
            "format": fmt,
            "duration": round(result.duration, 3),
            "events": len(result.events),
            "counts": result.counts,
            "model": result.model,
        } | ({"kit": result.kit} if result.kit else {})

    if not batch:
        target = common.binary_target(output, kind="MIDI") if fmt == "mid" else (output or STDIO)
        record = run_one(items[0], target)
        if record.get("skipped") or target != STDIO:
            common.info(dumps(record))
        return
    folder = common.batch_folder(output)
    template = name or "{stem}" + FORMATS[fmt]
    targets = {src: str(folder / output_name(src, template, index=i)) for i, src in enumerate(items)}
    if len(set(targets.values())) < len(targets):
        raise UsageError("two inputs map to the same output name", hint="use --name with {index}")
    failures = common.run_batch(items, lambda s: run_one(s, targets[s]), fail_fast=fail_fast, label="transcribing")
    if failures:
        raise typer.Exit(1)
