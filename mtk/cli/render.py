"""``mtk render``: MIDI to audio through a SoundFont synthesizer."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from mtk.cli import common
from mtk.cli.options import FailFast, Force, Inputs, Jobs, NameTemplate, Output, Quiet, SkipExisting, Verbose
from mtk.errors import UsageError

app = typer.Typer(add_completion=False)

EPILOG = """Examples:

  mtk render song.mid -o song.wav

  cat song.mid | mtk render - > song.wav

  mtk render midi/ -o wav/ -j 2 --skip-existing

  mtk render song.mid --stems stems/ --synth fluidsynth
"""


HELP = (
    "Render MIDI files to WAV (stereo) through a SoundFont synthesizer.\n\n"
    "One input writes WAV to -o FILE or to stdout. Several inputs (or a folder) need -o DIR and print "
    "one JSON line per output. Reverb and chorus are off, so --stems sum to the mix."
)


@app.command(help=HELP, epilog=EPILOG, no_args_is_help=False)
def render(
    inputs: Inputs = None,
    output: Output = None,
    soundfont: Annotated[
        Optional[Path],
        typer.Option(
            "--soundfont", metavar="SF2", help="SoundFont (.sf2/.sf3); default: best installed General MIDI font."
        ),
    ] = None,
    synth: Annotated[
        Literal["auto", "fluidsynth", "builtin", "timidity"],
        typer.Option(
            "--synth",
            help="fluidsynth (system program), builtin (pure-wheel midirenderer) or timidity (TiMidity++, another "
            "engine over the same SoundFont); auto prefers fluidsynth.",
        ),
    ] = "auto",
    sample_rate: Annotated[int, typer.Option("--sample-rate", "-r", help="Output sample rate in Hz.")] = 44_100,
    gain: Annotated[
        float, typer.Option("--gain", help="Linear synth gain; renders that would clip are scaled to -0.1 dBFS.")
    ] = 1.0,
    bits: Annotated[Literal["16", "24", "float"], typer.Option("--bits", help="WAV sample format.")] = "16",
    stems: Annotated[
        Optional[Path],
        typer.Option(
            "--stems",
            metavar="DIR",
            help="Also write one WAV per MIDI channel plus mix.wav into DIR (DIR/<name>/ for several inputs).",
        ),
    ] = None,
    name: NameTemplate = "{stem}.wav",
    jobs: Jobs = 1,
    skip_existing: SkipExisting = False,
    fail_fast: FailFast = False,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Render MIDI files to WAV (stereo) through a SoundFont synthesizer."""
    from mtk.io.inputs import expand_inputs
    from mtk.io.midi import MIDI_EXTENSIONS

    items = expand_inputs(inputs or [], extensions=MIDI_EXTENSIONS)
    batch = common.is_batch(inputs, items, output)
    options: dict[str, Any] = dict(
        soundfont=soundfont, synth=synth, sample_rate=sample_rate, gain=gain, bits=bits, force=force
    )
    if not batch:
        target = None if stems is not None and output is None else common.binary_target(output, kind="WAV audio")
        record = render_one(items[0], target=target, stems_dir=stems, skip_existing=skip_existing, **options)
        if stems is not None or record.get("skipped"):
            from mtk.io.records import JsonLinesWriter

            JsonLinesWriter().write(record)
        return
    folder = common.batch_folder(output)
    from mtk.io.inputs import output_name

    targets = {src: str(folder / output_name(src, name, index=i)) for i, src in enumerate(items)}
    if len(set(targets.values())) < len(targets):
        raise UsageError("two inputs map to the same output name", hint="use --name with {index}")
    stem_dirs = {src: (stems / Path(targets[src]).stem if stems is not None else None) for src in items}
    work = partial(_render_item, targets=targets, stem_dirs=stem_dirs, skip_existing=skip_existing, **options)
    failures = common.run_batch(items, work, jobs=jobs, fail_fast=fail_fast, label="rendering")
    if failures:
        raise typer.Exit(1)


def _render_item(
    source: str, *, targets: dict[str, str], stem_dirs: dict[str, Path | None], **kwargs: Any
) -> dict[str, Any]:
    return render_one(source, target=targets[source], stems_dir=stem_dirs[source], **kwargs)


def render_one(
    source: str,
    *,
    target: str | None,
    stems_dir: Path | None,
    soundfont: Path | None,
    synth: str,
    sample_rate: int,
    gain: float,
    bits: str,
    force: bool,
    skip_existing: bool,
) -> dict[str, Any]:
    """Render one MIDI input; write the mix (and stems) atomically; return its record."""
    from mtk.corpus.render import render_midi
    from mtk.io.audio import write_audio
    from mtk.io.files import STDIO, check_writable, read_bytes

    outputs = [target] if target is not None else []
    if stems_dir is not None:
        outputs.append(str(stems_dir / "mix.wav"))
    files = [path for path in outputs if path != STDIO]
    if skip_existing and files and all(Path(path).exists() for path in files):
        return {"input": source, "output": outputs[0], "skipped": True}
    for path in files:
        check_writable(path, force=force)
    rendering = render_midi(
        read_bytes(source),
        soundfont=soundfont,
        synth=synth,
        sample_rate=sample_rate,
        gain=gain,
        stems=stems_dir is not None,
        name=source,
    )
    if rendering.headroom_db < 0:
        common.warn(
            f"{source}: scaled by {rendering.headroom_db:.1f} dB to avoid clipping (lower --gain to silence this)"
        )
    record: dict[str, Any] = {"input": source, "output": outputs[0], **rendering.to_dict()}
    if stems_dir is not None:
        stem_paths = {label: str(stems_dir / f"{label}.wav") for label in rendering.stems}
        for path in stem_paths.values():
            check_writable(path, force=force)
        for label, audio in rendering.stems.items():
            write_audio(stem_paths[label], audio, rendering.sample_rate, subtype=bits, force=force)
        record["stems"] = stem_paths
    for path in outputs:
        write_audio(path, rendering.audio, rendering.sample_rate, subtype=bits, force=force)
    return record
