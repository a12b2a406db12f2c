"""``mtk models``: list, locate and verify shipped models."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mtk.cli.options import Quiet, Verbose

app = typer.Typer(add_completion=False, no_args_is_help=True, help="List, locate and verify mtk's shipped models.")


@app.command("list")
def list_models(
    task: Annotated[Optional[str], typer.Option("--task", help="Only this task's models.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include <task>-debug models (tiny, random; for tests).")] = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """One JSON line per model: name, task, version, size, card summary."""
    from mtk.io.records import JsonLinesWriter
    from mtk.weights.registry import entries

    out = JsonLinesWriter()
    for entry in entries(task):
        if all_ or not entry.debug:
            out.write(entry.to_dict())


@app.command("path")
def model_path(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Registry name.")],
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Print the verified path of each file of model NAME (and of its card), one per line."""
    from mtk.errors import BadModelError
    from mtk.weights.store import card_path, resolve

    resolved = resolve(name)
    if not resolved.paths:
        raise BadModelError(f"{name}: has no files (a debug model is built from its config)")
    for path in resolved.paths:
        print(path)
    card = card_path(resolved.entry) if resolved.entry else None
    if card is not None:
        print(card)


@app.command("verify")
def verify(
    names: Annotated[
        Optional[list[str]], typer.Argument(metavar="[NAME]...", help="Models to check (default: all).")
    ] = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Check every file's sha256 against the registry; one JSON line per file; exit 1 on a mismatch."""
    from mtk.io.records import JsonLinesWriter
    from mtk.weights.registry import entries, get_entry
    from mtk.weights.store import verify_entry

    chosen = [get_entry(n) for n in names] if names else entries()
    out, bad = JsonLinesWriter(), 0
    for entry in chosen:
        for record in verify_entry(entry):
            bad += not record["ok"]
            out.write(record)
    if bad:
        raise typer.Exit(1)
