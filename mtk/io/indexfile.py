"""Index files, shared by ``mtk detect-cover index`` and ``mtk embed index``.

An index file is a plain ``.npz`` (no pickle): a ``meta`` entry (JSON text as bytes, with the
index ``kind`` and its ``format`` version) and named arrays. It is written atomically, so a
killed run leaves the previous index; any file that is not a whole index of the expected
kind and format is an :class:`~mtk.errors.InputError` naming the command that rebuilds it.
"""

from __future__ import annotations

import io
import json
import os
import zlib
from typing import Any
from zipfile import BadZipFile

import numpy as np

from mtk.errors import InputError
from mtk.io.files import atomic_write

# What reading a file that is not a whole index raises (np.load of an empty file: EOFError).
UNREADABLE = (OSError, EOFError, ValueError, KeyError, TypeError, IndexError, AttributeError, BadZipFile, zlib.error)


def save_index(
    path: str | os.PathLike[str],
    *,
    kind: str,
    fmt: int,
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
    force: bool,
) -> None:
    """Write ``meta`` (JSON-able) and ``arrays`` as one index file, atomically."""
    head = {"kind": kind, "format": fmt, **meta}
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(head).encode(), dtype=np.uint8), **arrays)
    atomic_write(path, buf.getvalue(), force=force)


def load_index(
    path: str | os.PathLike[str], *, kind: str, fmt: int, names: tuple[str, ...], rebuild: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` of an index file written by :func:`save_index` with ``kind`` and
    ``fmt``; ``rebuild`` is the command that makes a new one (named in the error). An index
    written before ``kind`` was recorded counts as the expected kind."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes())
            found_kind, version = meta.get("kind", kind), meta.get("format")
            if found_kind == kind and version == fmt:
                arrays = {name: z[name] for name in names}
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UNREADABLE as exc:  # empty, truncated, another .npz, damaged arrays
        raise InputError(f"{path}: not an mtk {kind} index ({type(exc).__name__})") from None
    if found_kind != kind:
        raise InputError(f"{path}: an mtk {found_kind} index, not an mtk {kind} index")
    if version != fmt:
        raise InputError(f"{path}: index format {version}, this mtk reads {fmt}: rebuild it with '{rebuild}'")
    return meta, arrays
