"""JSON Lines records: one compact JSON object per line on stdout (or any text stream)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, TextIO


def _default(obj: Any) -> Any:
    """Encode numpy scalars/arrays, paths and dataclass-likes that ``json`` does not know."""
    if isinstance(obj, PurePath):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):  # numpy scalars and arrays, torch tensors
        return obj.tolist()
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def _finite(obj: Any) -> Any:
    """Replace NaN/inf floats by None: JSON has no spelling for them."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Mapping):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def dumps(record: Mapping[str, Any]) -> str:
    """One record as compact JSON text (no newline)."""
    plain = json.loads(json.dumps(record, default=_default))
    return json.dumps(_finite(plain), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class JsonLinesWriter:
    """Write records as JSON Lines, flushing after each so pipelines see them at once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def write(self, record: Mapping[str, Any]) -> None:
        """Write one record as one line."""
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(dumps(record) + "\n")
        stream.flush()
