"""``mtk rank-samples``: a musical context and drum samples in, the samples ranked by fit out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mtk.cli import common
from mtk.cli.options import Device, FailFast, Force, Inputs, Model, Output, Quiet, SkipExisting, Verbose
from mtk.io.inputs import AUDIO_EXTENSIONS

app = typer.Typer(
    cls=common.default_command("rank"),  # mtk rank-samples CONTEXT SAMPLES...: mtk rank-samples rank ...
    add_completion=False,
    no_args_is_help=True,
    help="Rank drum samples (kick, snare, hi-hat, toms, crash, ride) by how well they fit a musical context "
    "(SampleMatch). `mtk rank-samples CONTEXT SAMPLES...` runs `mtk rank-samples rank`.",
)
RANK_EPILOG = """Examples:
  mtk rank-samples song.wav ~/samples/ -k 10                 # the 10 best samples of any class
  mtk rank-samples song.wav samples.idx --class snare -k 5   # from an index: no sample audio read
  mtk rank-samples mix.wav samples.idx --exclude-drums       # a full mix: its drums removed first
  mtk render tune.mid | mtk rank-samples - samples.idx --class kick --class snare
"""
INDEX_EPILOG = """Examples:
  mtk rank-samples index ~/samples/ -o samples.idx
  mtk rank-samples index ~/new-samples/ -o samples.idx --skip-existing
"""
INDEX_SUFFIX = ".idx"
Classes = Annotated[
    Optional[list[str]],
    typer.Option(
        "--class",
        metavar="CLASS",
        help="Rank only samples of this class: kick, snare, hihat, toms, crash, ride or other (repeatable).",
    ),
]


def _ranker(model: str | None, device: str) -> Any:
    from mtk.device import resolve_device
    from mtk.rank_samples.infer import load

    return load(model, device=resolve_device(device))


def _sample_paths(args: list[str]) -> tuple[list[str], list[str]]:
    """``(indexes, audio files)`` named by SAMPLES arguments (folders walked)."""
    from mtk.errors import UsageError
    from mtk.io.inputs import expand_inputs

    if "-" in args:
        raise UsageError("samples are files, folders or an index, not stdin ('-')")
    indexes = [a for a in args if a.endswith(INDEX_SUFFIX) and Path(a).is_file()]
    rest = [a for a in args if a not in indexes]
    return indexes, expand_inputs(rest, extensions=AUDIO_EXTENSIONS, stdin_ok=False) if rest else []


@app.command("rank", epilog=RANK_EPILOG)
def rank(
    context: Annotated[
        str, typer.Argument(metavar="CONTEXT", help="The musical context: any audio file, or '-' for stdin.")
    ],
    samples: Annotated[
        list[str],
        typer.Argument(
            metavar="SAMPLES...",
            help="Drum samples: files, folders (walked recursively), @list.txt, or indexes (.idx).",
            show_default=False,
        ),
    ],
    classes: Classes = None,
    k: Annotated[int, typer.Option("-k", min=1, help="How many samples to list.")] = 20,
    exclude_drums: Annotated[
        bool,
        typer.Option("--exclude-drums", help="The context is a full mix: remove its drums (mtk separate) first."),
    ] = False,
    output: Output = None,
    model: Model = None,
    device: Device = "auto",
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Rank drum samples by how well they fit CONTEXT: one JSON line each, best first.

    Each line holds rank, path, class, score (the cosine between the context's and the sample's
    encodings, -1 to 1) and input (the context). The context is read as 4-second windows every
    2 s; their unit-length encodings are averaged. Samples come from audio files (read from
    their onset, 2 s) or indexes built by `mtk rank-samples index` with the same model; a
    sample that cannot be read is skipped with a warning (stderr and a record with 'warning')."""
    from mtk.corpus.styles import STEM_CLASSES as KNOWN
    from mtk.errors import InputError, UsageError
    from mtk.io.files import STDIO, atomic_write, read_bytes
    from mtk.io.records import JsonLinesWriter, dumps
    from mtk.rank_samples.index import SampleIndex
    from mtk.rank_samples.infer import sample_index

    chosen = set(classes) if classes else None
    if chosen and not chosen <= set(KNOWN):
        raise UsageError(f"unknown --class {', '.join(sorted(chosen - set(KNOWN)))}", hint=f"one of {', '.join(KNOWN)}")
    target = None if output in (None, STDIO) else Path(output)
    if target is not None and target.exists() and not force:
        from mtk.errors import OutputExistsError

        raise OutputExistsError(f"{target}: exists", hint="use --force to overwrite it")
    indexes, files = _sample_paths(samples)
    loaded = [SampleIndex.load(p) for p in indexes]
    models = {i.model for i in loaded}
    if len(models) > 1 or (model and models and model not in models):
        raise UsageError(f"indexes of different models ({', '.join(sorted(models | {model or ''} - {''}))})")
    ranker = _ranker(model or (models.pop() if models else None), device)
    source: str | bytes = read_bytes(STDIO) if context == STDIO else context  # type: ignore[assignment]
    name = "<stdin>" if context == STDIO else None
    if exclude_drums:
        from mtk.separate.infer import load as load_separator

        y, sr = load_separator(device=ranker.device).stem_from_file(source, "no_drums")  # type: ignore[arg-type]
        vector = ranker.context_from_audio(y, sr, name=name or context)
    else:
        vector = ranker.context_from_file(source, name=name)
    skipped: list[tuple[str, InputError]] = []
    pool = SampleIndex(ranker.name)
    for idx in loaded:
        pool.extend(idx)
    pool.extend(
        sample_index(ranker, common.progress(files, label="samples"), on_error=lambda p, e: skipped.append((p, e)))
    )
    if not len(pool):
        if not skipped:
            raise InputError("no samples to rank (the indexes are empty)")
        if len(skipped) == 1:
            raise skipped[0][1]
        raise InputError(f"none of the {len(skipped)} samples is readable (the first: {skipped[0][1]})")
    for _, error in skipped:
        common.warn(f"skipped {error}")
    warnings = [{"input": context, "path": path, "warning": f"skipped: {error}"} for path, error in skipped]
    hits = pool.rank(vector, classes=chosen, k=k)
    if not hits:
        raise InputError(f"no samples of class {', '.join(sorted(chosen or ()))} among {len(pool)} samples")
    records = warnings + [
        {
            "rank": n,
            "path": pool.items[i].path,
            "class": pool.items[i].cls,
            "score": round(score, 6),
            "input": context,
            "model": ranker.name,
        }
        for n, (i, score) in enumerate(hits, 1)
    ]
    if target is None:
        writer = JsonLinesWriter()
        for record in records:
            writer.write(record)
    else:
        atomic_write(target, "".join(dumps(r) + "\n" for r in records).encode(), force=force)


@app.command("index", epilog=INDEX_EPILOG)
def index(
    inputs: Inputs = None,
    output: Output = None,
    model: Model = None,
    device: Device = "auto",
    skip_existing: SkipExisting = False,
    fail_fast: FailFast = False,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Index drum samples (-o FILE.idx): each one's encoding and class, so ranking reads no audio.

    --skip-existing extends an index with the samples it lacks (with the model that built it).
    One JSON line per sample: input, class, probability, by (audio: the one-shot classifier;
    name: the file name decided, the audio being unsure). The file is written only when a
    sample was added; unreadable samples are reported and left out (exit 1)."""
    from mtk.errors import InputError, UsageError
    from mtk.io.inputs import expand_inputs
    from mtk.io.records import JsonLinesWriter
    from mtk.rank_samples.index import SampleIndex

    target = common.index_target(output, skip_existing=skip_existing, force=force)
    existing = SampleIndex.load(target) if target.exists() and skip_existing else None
    if existing is not None and model and model != existing.model:
        raise UsageError(f"{target}: built with {existing.model}; extend it with the same model")
    ranker = _ranker(existing.model if existing else model, device)
    idx = existing or SampleIndex(ranker.name)
    paths = expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS, stdin_ok=False)
    todo = [p for p in paths if p not in idx]
    writer = JsonLinesWriter()
    for path in paths:
        if path in idx:
            writer.write({"input": path, "skipped": True})
    failures = added = 0
    for path, found in ranker.describe_samples(common.progress(todo, label="samples")):
        if isinstance(found, InputError):
            failures += 1
            print(f"{common.STATE.command}: error: {found}", file=sys.stderr)
            writer.write({"input": path, "error": str(found)})
            if fail_fast:
                break
            continue
        idx.add(found)
        added += 1
        writer.write(
            {"input": path, "class": found.cls, "probability": found.probability, "by": found.by, "added": True}
        )
    if added:
        idx.save(target, force=True)
        common.info(f"{target}: {len(idx)} samples")
    if failures:
        raise typer.Exit(1)
