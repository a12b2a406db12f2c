"""Reading a song corpus built by ``mtk corpus songs``: every song's ``meta.json``, checked.

The one reader that training, evaluation and ``mtk corpus stats`` share, so that a damaged
or foreign corpus is one input error (exit 2) naming the file, never a ``KeyError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mtk.errors import InputError

# What every song's meta.json holds and its readers rely on: key -> type (and keys inside).
REQUIRED: dict[str, tuple[type | tuple[type, ...], tuple[str, ...]]] = {
    "split": (str, ()),
    "style": (str, ()),
    "meter": (str, ()),
    "duration": ((int, float), ()),
    "tempo": ((int, float), ()),
    "work": (dict, ("id",)),
    "drums": (dict, ("mode", "kit")),
    "soundfont": (dict, ("name",)),
    "drum_hits": (list, ()),
    "beats": (list, ()),
    "downbeats": (list, ()),
}
HIT_KEYS = ("time", "class", "velocity")


def song_metas(corpus: str | Path, *, need: Iterable[str] = tuple(REQUIRED)) -> list[tuple[Path, dict[str, Any]]]:
    """``(song folder, meta)`` of every song of ``corpus``, in folder order; ``need``: the
    keys of :data:`REQUIRED` the caller reads.

    Raises:
        InputError: not a corpus (no ``*/meta.json``), or a ``meta.json`` that is not JSON or
            lacks what a song's record holds.
    """
    paths = sorted(Path(corpus).glob("*/meta.json"))
    if not paths:
        raise InputError(f"{corpus}: not a song corpus (no */meta.json)")
    return [(path.parent, read_meta(path, need=need)) for path in paths]


def read_meta(path: Path, *, need: Iterable[str] = tuple(REQUIRED)) -> dict[str, Any]:
    """One song's ``meta.json``, checked for the keys ``need`` (see :func:`song_metas`)."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise InputError(f"{path}: not a song's meta.json ({detail})") from None
    problem = _problem(meta, tuple(need))
    if problem:
        raise InputError(f"{path}: not a song's meta.json ({problem}); rebuild it with 'mtk corpus songs'")
    return meta


def _problem(meta: object, need: tuple[str, ...]) -> str | None:
    if not isinstance(meta, dict):
        return "not a JSON object"
    for key in need:
        kind, inner = REQUIRED[key]
        value = meta.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"no {key!r}" if value is None else f"{key!r} is not a {getattr(kind, '__name__', 'number')}"
        missing = [k for k in inner if k not in value]
        if missing:
            return f"{key!r} has no {missing[0]!r}"
    for hit in meta.get("drum_hits", []) if "drum_hits" in need else []:
        if not isinstance(hit, dict) or any(k not in hit for k in HIT_KEYS):
            return f"a drum hit without {', '.join(HIT_KEYS)}"
    return None
