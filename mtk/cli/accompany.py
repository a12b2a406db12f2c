"""``mtk accompany``: drumless audio in, a generated drum track out (WAV, and MIDI on request)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any, Optional

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
    Seed,
    SkipExisting,
    Verbose,
)
from mtk.errors import UsageError
from mtk.io.inputs import AUDIO_EXTENSIONS
from mtk.io.records import dumps

app = typer.Typer(add_completion=False)

EPILOG = """Examples:
  mtk accompany song.wav -o drums.wav
  cat song.wav | mtk accompany - > drums.wav
  mtk accompany song.wav -o drums.wav --mix with-drums.wav --midi drums.mid
  mtk accompany song.wav -o drums.wav -n 4 --keep-all takes/ --seed 7
  mtk accompany song.wav -o drums.wav --kit GMRockKit   # the same groove on a recorded kit
  mtk accompany full-mix.wav --remove-drums -o drums.wav --mix new-mix.wav
  mtk accompany songs/ -o drums/ --mix mixes/ --midi midi/
"""
HELP = (
    "Play drums along to a drumless recording (JukeDrummer: a beat-aware Transformer over VQ-VAE codes, "
    "then a neural vocoder).\n\n"
    "The drums follow the input's beat and bars (its beats and downbeats are tracked first) for any length, "
    "generated window after window and joined at downbeats. The drum track (mono) has the input's sample rate "
    "and length and its loudness (ITU-R BS.1770; --drums-db sets the balance), so it lines up in any editor. "
    "-n draws several takes (seeds SEED, SEED+1, ...) and keeps the one whose beats agree best with the input's; "
    "--keep-all writes them all. --midi transcribes the drums (mtk transcribe) with the input's tempo; --kit plays "
    "that transcription on a kit instead of the vocoder's audio. One input writes to -o FILE or stdout; several "
    "inputs (or a folder) need -o DIR, and --mix/--midi then name folders too. One JSON line per input on stdout (on "
    "stderr with -v when an output goes to stdout) reports the tempo, meter, bars and each take's beat agreement."
)


@app.command(help=HELP, epilog=EPILOG, no_args_is_help=False)
def accompany(
    inputs: Inputs = None,
    output: Output = None,
    mix: Annotated[
        Optional[str],
        typer.Option("--mix", metavar="FILE|DIR", help="Also write the input with the drums under it."),
    ] = None,
    midi: Annotated[
        Optional[str],
        typer.Option(
            "--midi", metavar="FILE|DIR", help="Also write the drums as MIDI (transcribed by mtk transcribe)."
        ),
    ] = None,
    kit: Annotated[
        Optional[str],
        typer.Option(
            "--kit",
            metavar="NAME|DIR",
            help="Play the transcribed drums on this kit (an installed kit or a Hydrogen kit folder) instead of "
            "writing the vocoder's audio.",
        ),
    ] = None,
    takes: Annotated[int, typer.Option("-n", "--takes", min=1, max=64, help="Takes to draw; the best is written.")] = 1,
    keep_all: Annotated[
        Optional[Path],
        typer.Option("--keep-all", metavar="DIR", help="Write every take as DIR/<name>-take<K>.wav."),
    ] = None,
    seed: Seed = None,
    temperature: Annotated[
        float, typer.Option("--temperature", min=0.05, max=2.0, help="Sampling temperature.")
    ] = 0.96,
    top_p: Annotated[
        float,
        typer.Option("--top-p", min=0.01, max=1.0, help="Nucleus sampling: the smallest set of codes with this mass."),
    ] = 0.8,
    drums_db: Annotated[
        float, typer.Option("--drums-db", min=-40.0, max=20.0, help="Drums' loudness against the input's (LU).")
    ] = 0.0,
    remove_drums: Annotated[
        bool,
        typer.Option(
            "--remove-drums",
            help="The input is a full mix: take its drums out first (mtk separate's shipped model); --mix then "
            "lays the new drums under the rest.",
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
    from mtk.accompany.pipeline import load
    from mtk.device import resolve_device
    from mtk.io.files import STDIO
    from mtk.io.inputs import expand_inputs, output_name
    from mtk.io.records import JsonLinesWriter

    items = expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS)
    batch = common.is_batch(inputs, items, output)
    target = None if batch else common.binary_target(output, kind="WAV audio")
    if sum(x == STDIO for x in (target, mix, midi)) > 1:
        raise UsageError("only one output can go to stdout")
    seed = secrets.randbelow(2**31) if seed is None else seed
    dev = resolve_device(device)
    accompanist = load(model, dev)
    extras = _Extras(kit, midi is not None or kit is not None, remove_drums, dev)
    options = dict(takes=takes, seed=seed, temperature=temperature, top_p=top_p, offset_db=drums_db)

    if target is not None:
        record = _run_one(
            items[0], target, mix, midi, keep_all, accompanist, extras, options,
            skip_existing=skip_existing, force=force,
        )  # fmt: skip
        if STDIO in (target, mix, midi):  # stdout carries the audio or MIDI
            common.info(dumps(record))
        else:
            JsonLinesWriter().write(record)
        return
    folder = common.batch_folder(output)
    template = name or "{stem}.wav"
    targets = {src: str(folder / output_name(src, template, index=i)) for i, src in enumerate(items)}
    if len(set(targets.values())) < len(targets):
        raise UsageError("two inputs map to the same output name", hint="use --name with {index}")
    mixes = _folder_targets(mix, targets, ".wav", "--mix")
    midis = _folder_targets(midi, targets, ".mid", "--midi")

    def work(src: str) -> dict[str, Any]:
        return _run_one(
            src, targets[src], mixes.get(src), midis.get(src), keep_all, accompanist, extras, options,
            skip_existing=skip_existing, force=force,
        )  # fmt: skip

    failures = common.run_batch(items, work, fail_fast=fail_fast, label="accompanying")
    if failures:
        raise typer.Exit(1)


def _folder_targets(folder: str | None, targets: dict[str, str], suffix: str, option: str) -> dict[str, str]:
    """In a batch, ``--mix``/``--midi`` name folders: each input's file is named as its drums."""
    if folder is None:
        return {}
    if folder == "-":
        raise UsageError(f"{option} -: several inputs need a folder")
    out = common.batch_folder(folder)
    return {src: str(out / (Path(t).stem + suffix)) for src, t in targets.items()}


class _Extras:
    """What some runs need besides the accompanist, loaded once: the transcriber, the kit, the
    separator."""

    def __init__(self, kit: str | None, transcribe: bool, remove_drums: bool, device: Any) -> None:
        from mtk.separate.infer import load as load_separator
        from mtk.transcribe.infer import load as load_transcriber

        self.kit_spec = kit
        self.kits: dict[int, Any] = {}
        self.transcriber = load_transcriber(None, device) if transcribe else None
        self.separator = load_separator(None, device) if remove_drums else None
        if kit is not None:
            self.kit(44_100)  # a bad kit is an error before any work

    def kit(self, sr: int) -> Any:
        from mtk.transcribe.refine import kit_shots

        if sr not in self.kits:
            self.kits[sr] = kit_shots(self.kit_spec, sr)
        return self.kits[sr]


def _run_one(
    source: str,
    target: str,
    mix_target: str | None,
    midi_target: str | None,
    keep_all: Path | None,
    accompanist: Any,
    extras: _Extras,
    options: dict[str, Any],
    *,
    skip_existing: bool,
    force: bool,
) -> dict[str, Any]:
    from mtk.accompany import api
    from mtk.io.audio import encode_wav, read_audio
    from mtk.io.files import STDIO, atomic_write, check_writable

    stem = "stdin" if source == STDIO else Path(source).stem
    take_targets = (
        [str(keep_all / f"{stem}-take{k}.wav") for k in range(options["takes"])] if keep_all is not None else []
    )
    files = [p for p in (target, mix_target, midi_target, *take_targets) if p is not None and p != STDIO]
    if skip_existing and files and all(Path(p).exists() for p in files):
        return {"input": source, "output": target, "skipped": True}
    for path in files:
        check_writable(path, force=force)
    y, sr = read_audio(source)
    if extras.separator is not None:
        y = extras.separator.output_of(y, sr, "no_drums")
    result = api.accompany(accompanist, y, sr, name=source, **options)
    transcription = None
    if extras.transcriber is not None:
        transcription = extras.transcriber.from_audio(result.best.drums, sr)
    rendered = {t.take: t.drums for t in result.takes}
    if extras.kit_spec is not None:
        kit = extras.kit(sr)
        for t in result.takes if keep_all is not None else [result.best]:  # only the takes written
            hits = transcription if t is result.best else extras.transcriber.from_audio(t.drums, sr)
            rendered[t.take] = api.play_kit(hits, kit, t.drums.size, result.loudness, offset_db=options["offset_db"])
    # everything is computed: now write (each file atomically; stdout last)
    outputs: dict[str, str] = {}
    if keep_all is not None:
        keep_all.mkdir(parents=True, exist_ok=True)
        for t in result.takes:
            atomic_write(take_targets[t.take], encode_wav(rendered[t.take], sr), force=force)
    if midi_target is not None:
        from mtk.io.midi import midi_to_bytes

        data = midi_to_bytes(transcription.to_midi(tempo=result.beats.tempo or 120.0))
        _emit(midi_target, data, force)
        outputs["midi"] = midi_target
    if mix_target is not None:
        _emit(mix_target, encode_wav(api.mix(result.drumless, rendered[result.best.take]), sr), force)
        outputs["mix"] = mix_target
    _emit(target, encode_wav(rendered[result.best.take], sr), force)
    return {
        "input": source,
        "output": target,
        **outputs,
        "duration": round(result.duration, 3),
        "sample_rate": sr,
        "tempo": round(result.beats.tempo, 2),
        "beats_per_bar": result.beats.beats_per_bar,
        "bars": int(result.beats.downbeats.size),
        "take": result.best.take,
        "seed": result.best.seed,
        "takes": [t.record() for t in sorted(result.takes, key=lambda t: t.take)],
        "model": result.model,
    } | ({"kit": extras.kit(sr).name, "hits": len(transcription.events)} if extras.kit_spec else {})


def _emit(target: str, data: bytes, force: bool) -> None:
    from mtk.io.files import STDIO, atomic_write, write_stdout

    if target == STDIO:
        write_stdout(data)
    else:
        atomic_write(target, data, force=force)
