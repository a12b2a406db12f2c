"""``mtk embed``: audio in, embedding vectors out; an index of them and nearest neighbours."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mtk.cli import common
from mtk.cli.options import Device, FailFast, Force, Inputs, Model, Output, Quiet, SkipExisting, Verbose
from mtk.io.inputs import AUDIO_EXTENSIONS

app = typer.Typer(
    cls=common.default_command("vectors", stdin=True),  # mtk embed X.wav: mtk embed vectors X.wav
    add_completion=False,
    no_args_is_help=True,
    help="Embed audio: one vector per recording (or a second), learned from metadata associations. "
    "`mtk embed FILE...` runs `mtk embed vectors`.",
)
Pool = Annotated[
    str,
    typer.Option("--pool", metavar="mean|max|none", help="Pool the patch vectors per recording (none: one a second)."),
]
Layer = Annotated[
    str,
    typer.Option(
        "--layer", metavar="embedding|projection", help="The encoder's 1280-d output or a head's 512-d projection."
    ),
]
VECTORS_EPILOG = """Examples:
  mtk embed song.wav                                   # one JSON line: input, model, dims, vector
  mtk embed music/ -o vectors.npy                      # a matrix, and vectors.jsonl naming its rows
  mtk embed --pool none --layer projection < song.flac # one 512-d vector a second
"""
INDEX_EPILOG = """Examples:
  mtk embed index music/ -o library.idx
  mtk embed index new-music/ -o library.idx --skip-existing
"""
SIMILAR_EPILOG = """Examples:
  mtk embed similar song.wav --index library.idx -k 10
  mtk render tune.mid | mtk embed similar - --index library.idx -k 3
"""
IndexOpt = Annotated[Path, typer.Option("--index", metavar="IDX", help="Index built by `mtk embed index`.")]


def _embedder(model: str | None, device: str) -> Any:
    from mtk.device import resolve_device
    from mtk.embed.infer import load

    return load(model, device=resolve_device(device))


@app.command("vectors", epilog=VECTORS_EPILOG)
def vectors(
    inputs: Inputs = None,
    output: Output = None,
    model: Model = None,
    pool: Pool = "mean",
    layer: Layer = "embedding",
    device: Device = "auto",
    fail_fast: FailFast = False,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Embed recordings: one JSON line each (the default command: mtk embed FILE...).

    Each line holds input, model, dims and vector (with --pool none: times and vectors, one a
    second), on stdout or -o FILE.jsonl; -o FILE.npy writes the vectors as one matrix (rows in
    input order) and FILE.jsonl beside it naming each row. Of several inputs, one that fails
    is reported and left out (exit 1); nothing is written when all fail."""
    import numpy as np

    from mtk.embed.infer import LAYERS, POOLS
    from mtk.errors import OutputExistsError, UsageError
    from mtk.io.files import STDIO, atomic_write
    from mtk.io.inputs import expand_inputs
    from mtk.io.records import JsonLinesWriter, dumps

    if pool not in POOLS or layer not in LAYERS:
        raise UsageError(f"--pool is one of {', '.join(POOLS)} and --layer one of {', '.join(LAYERS)}")
    target = None if output in (None, STDIO) else Path(output)
    if target is not None and target.suffix not in (".npy", ".jsonl"):
        raise UsageError(f"{output}: the output is a .npy matrix or a .jsonl file")
    sidecar = target.with_suffix(".jsonl") if target is not None and target.suffix == ".npy" else None
    for path in (target, sidecar):
        if path is not None and path.exists() and not force:
            raise OutputExistsError(f"{path}: exists", hint="use --force to overwrite it")
    paths = expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS)
    embedder = _embedder(model, device)
    records, rows = [], []

    def work(source: str) -> dict[str, Any]:
        emb = embedder.from_file(source, pool=pool, layer=layer)
        if sidecar is None:
            return {"input": source, **emb.to_dict()}
        start = sum(len(r) for r in rows)
        rows.append(np.atleast_2d(emb.vectors))
        record = {"input": source, **{k: v for k, v in emb.to_dict().items() if k not in ("vector", "vectors")}}
        return {**record, "rows": [start, start + len(rows[-1])]} if pool == "none" else {**record, "row": start}

    to_stdout = target is None
    emit = JsonLinesWriter().write if to_stdout else records.append
    if common.is_batch(inputs, paths, None):
        failures = common.run_batch(paths, work, fail_fast=fail_fast, label="embedding", emit=emit)
    else:  # one recording: its failure is the command's (exit 2)
        failures = 0
        emit(work(paths[0]))
    good = [r for r in records if "error" not in r]
    if not to_stdout and good:
        lines = "".join(dumps(r) + "\n" for r in good).encode()
        if sidecar is not None:
            import io

            buf = io.BytesIO()
            np.save(buf, np.concatenate(rows).astype(np.float32), allow_pickle=False)
            atomic_write(target, buf.getvalue(), force=force)  # type: ignore[arg-type]
            atomic_write(sidecar, lines, force=force)
        else:
            atomic_write(target, lines, force=force)  # type: ignore[arg-type]
    if failures:
        raise typer.Exit(1)


@app.command("index", epilog=INDEX_EPILOG)
def index(
    inputs: Inputs = None,
    output: Output = None,
    model: Model = None,
    layer: Layer = "embedding",
    device: Device = "auto",
    skip_existing: SkipExisting = False,
    fail_fast: FailFast = False,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Build an index of recordings' vectors (-o FILE), or extend one with --skip-existing.

    The index holds each recording's mean-pooled vector; an extension uses the model and
    layer that built it. One JSON line per input. The file is written only when a recording
    was added."""
    from mtk.embed.index import EmbedIndex
    from mtk.errors import UsageError
    from mtk.io.files import sha256_file
    from mtk.io.inputs import expand_inputs
    from mtk.io.records import JsonLinesWriter

    target = common.index_target(output, skip_existing=skip_existing, force=force)
    existing = EmbedIndex.load(target) if target.exists() and skip_existing else None
    if existing is not None and (model and model != existing.model or layer != existing.layer):
        raise UsageError(f"{target}: built with {existing.model} ({existing.layer}); extend it with the same")
    embedder = _embedder(existing.model if existing else model, device)
    idx = existing or EmbedIndex(embedder.name, layer)
    paths = expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS, stdin_ok=False)
    writer = JsonLinesWriter()
    added = 0

    def work(source: str) -> dict[str, Any]:
        nonlocal added
        if source in idx:
            return {"input": source, "skipped": True}
        emb = embedder.from_file(source, pool="mean", layer=layer)
        idx.add(source, sha256_file(Path(source)), emb.duration, emb.vectors)
        added += 1
        return {"input": source, "added": True, "duration": round(emb.duration, 3)}

    failures = common.run_batch(paths, work, fail_fast=fail_fast, label="embedding", emit=writer.write)
    if added:
        idx.save(target, force=True)
        common.info(f"{target}: {len(idx)} recordings")
    if failures:
        raise typer.Exit(1)


@app.command("similar", epilog=SIMILAR_EPILOG)
def similar(
    index_path: IndexOpt,
    inputs: Inputs = None,
    k: Annotated[int, typer.Option("-k", min=1, help="Neighbours to return.")] = 10,
    device: Device = "auto",
    fail_fast: FailFast = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """The k nearest recordings in an index to each query, by cosine similarity.

    One JSON line per query. Queries are embedded with the index's model and searched
    together; the query's own file (by content) is left out."""
    import hashlib

    import numpy as np

    from mtk.embed.index import EmbedIndex
    from mtk.errors import MtkError
    from mtk.io.files import STDIO, read_bytes, sha256_file
    from mtk.io.inputs import expand_inputs
    from mtk.io.records import JsonLinesWriter

    idx = EmbedIndex.load(index_path)
    embedder = _embedder(idx.model, device)
    paths = expand_inputs(inputs or [], extensions=AUDIO_EXTENSIONS)
    batch = common.is_batch(inputs, paths, None)
    writer = JsonLinesWriter()
    failures = 0
    found: list[tuple[str, str, np.ndarray]] = []
    for source in common.progress(paths, label="queries"):
        try:
            if source == STDIO:
                data = read_bytes(STDIO)
                sha = hashlib.sha256(data).hexdigest()  # type: ignore[arg-type]
                vector = embedder.from_file(data, name=source, pool="mean", layer=idx.layer).vectors
            else:
                sha = sha256_file(Path(source))
                vector = embedder.from_file(source, pool="mean", layer=idx.layer).vectors
            found.append((source, sha, vector))
        except MtkError as exc:
            if not batch:  # one query: its failure is the command's (exit 2)
                raise
            failures += 1
            print(f"{common.STATE.command}: error: {exc}", file=sys.stderr)
            writer.write({"input": source, "error": str(exc)})
            if fail_fast:
                raise typer.Exit(1) from None
    if found:
        same = [sum(h == sha for h in idx.hashes) for _, sha, _ in found]  # the query's own copies
        best, sims = idx.search(np.stack([v for _, _, v in found]), k + max(same))
        for (source, sha, _), row, scores in zip(found, best, sims, strict=True):
            hits = [(int(i), float(s)) for i, s in zip(row, scores, strict=True) if idx.hashes[i] != sha][:k]
            neighbours = [{"path": idx.paths[i], "similarity": round(s, 6)} for i, s in hits]
            writer.write({"input": source, "model": idx.model, "neighbours": neighbours})
    if failures:
        raise typer.Exit(1)
