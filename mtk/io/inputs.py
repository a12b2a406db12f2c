"""Turn command-line INPUT arguments into a list of inputs.

An argument is a file, a folder (walked recursively, sorted, dot-files skipped, filtered by
the command's extensions), ``-`` for stdin, or ``@list.txt``: a file naming one input per
line (blank lines and ``#`` comments skipped; ``@-`` reads the list from stdin). With no
argument, stdin is read when it is a pipe; a terminal is a usage error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from mtk.errors import InputError, UsageError
from mtk.io.files import STDIO

# What folder walks keep for commands that read audio (files named explicitly are kept whatever their suffix).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".aiff", ".aif", ".mp3")


def expand_inputs(args: Sequence[str], *, extensions: Iterable[str], stdin_ok: bool = True) -> list[str]:
    """Expand INPUT arguments into a flat, ordered list of file paths and/or ``-``.

    Args:
        args: the INPUT arguments as given.
        extensions: lower-case suffixes (``.wav``) that folder walks keep; files named
            explicitly are kept whatever their suffix.
        stdin_ok: whether ``-`` (and reading stdin when no INPUT is given) is allowed.

    Raises:
        UsageError: no input and stdin is a terminal; ``-`` used where it is not allowed.
        InputError: a named path or list file does not exist; a folder holds no input.
    """
    exts = tuple(e.lower() for e in extensions)
    if not args:
        if sys.stdin is None or sys.stdin.isatty() or not stdin_ok:
            raise UsageError("no input given", hint="name a file or folder, or pipe data in")
        return [STDIO]
    out: list[str] = []
    for arg in args:
        if arg == STDIO:
            if not stdin_ok:
                raise UsageError("reading stdin ('-') is not supported here")
            out.append(STDIO)
        elif arg.startswith("@") and len(arg) > 1:
            lines = _read_list(arg[1:])
            if not lines:  # as an empty folder is: nothing to do is not what was asked
                raise InputError(f"{arg}: the list names no input")
            for line in lines:
                out.extend(_expand_path(line, exts))
        else:
            out.extend(_expand_path(arg, exts))
    if out.count(STDIO) > 1:
        raise UsageError("stdin ('-') can be read only once")
    return out


def _expand_path(arg: str, exts: tuple[str, ...]) -> list[str]:
    path = Path(arg)
    if path.is_dir():
        found = sorted(str(p) for p in _walk(path) if p.suffix.lower() in exts)
        if not found:
            raise InputError(f"{arg}: folder holds no {'/'.join(exts)} files")
        return found
    if not path.exists():
        raise InputError(f"{arg}: no such file or folder")
    return [arg]


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith("."):
                yield Path(dirpath, name)


def _read_list(list_file: str) -> list[str]:
    try:
        text = sys.stdin.read() if list_file == STDIO else Path(list_file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"@{list_file}: not a text list of inputs (not UTF-8)") from None
    except OSError:
        raise InputError(f"@{list_file}: cannot read list file") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def output_name(source: str, template: str, *, index: int) -> str:
    """Fill an output name template such as ``{stem}.wav`` for one input.

    Fields: ``{stem}`` (file name without suffix), ``{name}`` (file name), ``{parent}`` (the
    name of its folder), ``{index}`` (position in the batch, from 0). stdin's stem is ``stdin``.
    """
    path = Path("stdin" if source == STDIO else source)
    try:
        return template.format(stem=path.stem, name=path.name, parent=path.resolve().parent.name, index=index)
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(
            f"bad --name template {template!r} ({exc})", hint="fields: {stem} {name} {parent} {index}"
        ) from None
