"""Runtime helpers shared by commands: state, stderr messages, output choice, batches."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtk.errors import MtkError, UsageError


@dataclass
class _State:
    command: str = "mtk"
    quiet: bool = False
    verbose: bool = False
    debug: bool = False

    def reset(self) -> None:
        self.command, self.quiet, self.verbose = "mtk", False, self.debug


STATE = _State()


def console() -> Any:
    """A rich console on stderr (rich honours NO_COLOR)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def warn(message: str) -> None:
    """A warning on stderr, unless ``-q``."""
    if not STATE.quiet:
        print(f"{STATE.command}: warning: {message}", file=sys.stderr)


def info(message: str) -> None:
    """A detail on stderr, only with ``-v``."""
    if STATE.verbose:
        print(f"{STATE.command}: {message}", file=sys.stderr)


def binary_target(output: str | None, *, kind: str) -> str:
    """Where one binary result goes: ``-o FILE``, or stdout ('-') when it is not a terminal."""
    from mtk.io.files import STDIO, stdout_is_terminal

    target = output or STDIO
    if target == STDIO and stdout_is_terminal():
        raise UsageError(f"refusing to write {kind} to a terminal", hint="use -o FILE or pipe the output")
    return target


def is_batch(inputs: list[str] | None, items: list[str], output: str | None) -> bool:
    """True when a command writing one file per input runs as a batch into a folder:
    several inputs, a folder or @list among them, or -o naming a folder (existing or ending in /)."""
    from pathlib import Path

    to_folder = output is not None and (output.endswith("/") or Path(output).is_dir())
    return to_folder or len(items) > 1 or any(Path(a).is_dir() or a.startswith("@") for a in inputs or [])


def batch_folder(output: str | None, *, force: bool = False) -> Path:
    """The output folder of a batch (``-o DIR``, required), created when missing."""
    if not output or output == "-":
        raise UsageError("several inputs need an output folder", hint="use -o DIR")
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: exists and is not a folder", hint="-o must name a folder for several inputs")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def progress(items: list[str], *, label: str) -> Iterator[str]:
    """Iterate ``items``, drawing a progress bar on stderr only when it is a terminal."""
    if STATE.quiet or not sys.stderr.isatty() or len(items) < 2:
        yield from items
        return
    from rich.progress import Progress

    with Progress(console=console(), transient=True) as bar:
        task = bar.add_task(label, total=len(items))
        for item in items:
            yield item
            bar.advance(task)


def run_batch(
    items: list[str],
    work: Callable[[str], dict[str, Any]],
    *,
    jobs: int = 1,
    fail_fast: bool = False,
    label: str = "working",
    emit: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Run ``work`` on every input; return the number of failures.

    ``work`` returns one record per input (with ``input``), emitted in input order. An
    ``MtkError`` fails that input only: a message on stderr and an ``{"input", "error"}``
    record, then the batch goes on (or stops with ``fail_fast``). ``jobs > 1`` runs ``work``
    in worker processes (it must then be picklable: a module-level function or partial).
    """
    from mtk.io.records import JsonLinesWriter

    write = emit or JsonLinesWriter().write
    failures = 0
    outcomes = _outcomes(items, work, jobs=jobs, label=label)
    with contextlib.closing(outcomes):  # leaving early (--fail-fast, a signal) stops the workers now
        for source, outcome in outcomes:
            if isinstance(outcome, MtkError):
                failures += 1
                print(f"{STATE.command}: error: {outcome}", file=sys.stderr)
                write({"input": source, "error": str(outcome)})
                if fail_fast:
                    break
            else:
                write(outcome)
    return failures


def _outcomes(
    items: list[str], work: Callable[[str], dict[str, Any]], *, jobs: int, label: str
) -> Iterable[tuple[str, dict[str, Any] | MtkError]]:
    if jobs <= 1 or len(items) < 2:
        for source in progress(items, label=label):
            try:
                yield source, work(source)
            except MtkError as exc:
                yield source, exc
        return
    from mtk.parallel import worker_pool

    with worker_pool(jobs) as pool:  # stopped at once when the batch ends early (signal, --fail-fast)
        futures = [pool.submit(work, source) for source in items]
        for source, future in zip(progress(items, label=label), futures, strict=True):
            try:
                yield source, future.result()
            except MtkError as exc:
                yield source, exc


def tune_sources(spec: str) -> tuple[str, ...]:
    """``"bach,oneills"`` -> the music21 tune books named; unknown names are a usage error."""
    from mtk.corpus.works import SOURCES

    chosen = tuple(x.strip() for x in spec.split(",") if x.strip())
    unknown = [x for x in chosen if x not in SOURCES]
    if unknown or not chosen:
        raise UsageError(
            f"unknown source(s): {', '.join(unknown) or '(none given)'}", hint=f"known: {', '.join(SOURCES)}"
        )
    return chosen


def tune_records(spec: str, *, jobs: int = 1) -> list[dict[str, Any]]:
    """The melodies of the tune books named in ``spec`` (``mtk train infill``, ``mtk eval
    infill``), parsed once and cached in ``$MTK_CACHE_DIR/infill``."""
    from mtk.infill.data import load_melodies
    from mtk.weights.store import cache_dir

    return load_melodies(
        cache_dir() / "infill", sources=tune_sources(spec), jobs=jobs, progress=lambda xs: progress(xs, label="tunes")
    )


def default_command(name: str, *, stdin: bool = False) -> type:
    """A Typer group class where ``GROUP ARGS`` means ``GROUP name ARGS`` unless ARGS start with
    a sub-command (or ask for help); with ``stdin``, no ARGS and a piped stdin, ``name`` reads it."""
    from typer.core import TyperGroup

    class DefaultGroup(TyperGroup):
        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
                args = [name, *args]
            elif stdin and not args and not sys.stdin.isatty():
                args = [name]
            return super().parse_args(ctx, args)

    DefaultGroup.__doc__ = f"``GROUP ARGS`` means ``GROUP {name} ARGS``."
    return DefaultGroup


def index_target(output: str | None, *, skip_existing: bool, force: bool) -> Path:
    """The index file ``-o`` names (``detect-cover index``, ``embed index``): required, and an
    existing one only with --skip-existing (extend) or --force (rebuild)."""
    from mtk.errors import OutputExistsError

    if not output or output == "-":
        raise UsageError("the index needs a file", hint="use -o library.idx")
    target = Path(output)
    if target.exists() and not (skip_existing or force):
        raise OutputExistsError(f"{target}: exists", hint="use --skip-existing to extend it or --force to rebuild")
    return target
