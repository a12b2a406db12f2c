"""Metadata associations and the pairs they give, as the seed paper defines them.

Each recording has a track id and sets of releases, artists and labels. Two recordings are
associated by (Alonso-Jiménez et al., section 3):

- ``track``: the same recording (two patches of it; self-supervised);
- ``release``: at least one release in common;
- ``artist``: at least one artist in common and no release in common;
- ``label``: at least one label in common and no artist in common.

The exclusions keep the associations apart (without them release pairs would mostly be
artist pairs too). An epoch's pairs come from a pool of every recording: in a random order,
each recording still in the pool takes a random partner from the pool that the association
allows, and both leave the pool: one pair attempt per recording and epoch.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtk.errors import InputError

ASSOCIATIONS = ("track", "release", "artist", "label")
CATALOGUE_COLUMNS = ("path", "track", "release", "artist", "label")
SEPARATOR = "|"  # several releases, artists or labels in one field


@dataclass(frozen=True)
class Entry:
    """One recording of a catalogue: its file, track id and metadata sets."""

    path: str
    track: str
    releases: frozenset[str]
    artists: frozenset[str]
    labels: frozenset[str]
    split: str = ""  # the catalogue's split column (train, valid, test), where it has one


def associated(kind: str, a: Entry, b: Entry) -> bool:
    """Whether ``a`` and ``b`` form a pair of association ``kind`` (the paper's conditions)."""
    if kind == "track":
        return a.track == b.track
    if kind == "release":
        return bool(a.releases & b.releases)
    if kind == "artist":
        return bool(a.artists & b.artists) and not a.releases & b.releases
    if kind == "label":
        return bool(a.labels & b.labels) and not a.artists & b.artists
    raise ValueError(f"unknown association {kind!r} (expected one of {', '.join(ASSOCIATIONS)})")


FIELDS = {"release": "releases", "artist": "artists", "label": "labels"}  # what each association matches on


def _groups(entries: Sequence[Entry], field: str) -> dict[str, list[int]]:
    """Recordings by each value of ``field`` (``releases``, ``artists`` or ``labels``)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, entry in enumerate(entries):
        for key in getattr(entry, field):
            groups[key].append(i)
    return groups


def epoch_pairs(entries: Sequence[Entry], kind: str, rng: np.random.Generator) -> list[tuple[int, int]]:
    """One epoch's ``(anchor, positive)`` index pairs of association ``kind``.

    ``track`` pairs every recording with itself (the sampler takes two patches of it); the
    others follow the pool procedure of the module docstring, so a recording is in at most
    one pair an epoch and recordings nothing can match stay unpaired.
    """
    if kind not in ASSOCIATIONS:
        raise ValueError(f"unknown association {kind!r} (expected one of {', '.join(ASSOCIATIONS)})")
    order = rng.permutation(len(entries))
    if kind == "track":
        return [(int(i), int(i)) for i in order]
    field = FIELDS[kind]
    groups = _groups(entries, field)
    pooled = np.ones(len(entries), dtype=bool)
    pairs = []
    for a in order:
        if not pooled[a]:
            continue
        candidates = {
            b
            for key in getattr(entries[a], field)
            for b in groups[key]
            if b != a and pooled[b] and associated(kind, entries[a], entries[b])
        }
        if not candidates:
            continue
        b = sorted(candidates)[int(rng.integers(len(candidates)))]
        pooled[a] = pooled[b] = False
        pairs.append((int(a), int(b)))
    return pairs


def _split(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(SEPARATOR) if part.strip())


def parse_catalogue(text: str, *, source: str = "<catalogue>", base: Path | None = None) -> list[Entry]:
    """Entries of a catalogue CSV: a header with ``path,track,release,artist,label`` (in any
    order; an optional ``split`` column; others ignored), one row per recording; several
    releases, artists or labels separated by ``|``. Relative paths are taken from ``base``.

    Raises:
        InputError: a missing column, an empty path or track, a path listed twice, or text
            that is not CSV; the message names the row (counted from 1 after the header).
    """
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames or []
        missing = [c for c in CATALOGUE_COLUMNS if c not in header]
        if missing:
            raise InputError(
                f"{source}: the header lacks {', '.join(repr(c) for c in missing)}",
                hint=f"columns: {','.join(CATALOGUE_COLUMNS)}",
            )
        entries: list[Entry] = []
        seen: dict[str, int] = {}
        for n, row in enumerate(reader, start=1):
            entries.append(_entry(row, n, source, base, seen))
    except csv.Error as exc:
        raise InputError(f"{source}: line {reader.line_num}: not valid CSV ({exc})") from None
    if not entries:
        raise InputError(f"{source}: no recordings (a header and no rows)")
    return entries


def _entry(row: dict[str, str | None], n: int, source: str, base: Path | None, seen: dict[str, int]) -> Entry:
    values = {c: (row.get(c) or "").strip() for c in CATALOGUE_COLUMNS}
    for column in ("path", "track"):
        if not values[column]:
            raise InputError(f"{source}: row {n}: column {column!r}: empty (every recording needs a {column})")
    path = values["path"]
    if base is not None and not Path(path).is_absolute():
        path = str(base / path)
    if path in seen:
        raise InputError(f"{source}: row {n}: column 'path': {values['path']!r} is listed already (row {seen[path]})")
    seen[path] = n
    releases, artists, labels = _split(values["release"]), _split(values["artist"]), _split(values["label"])
    return Entry(path, values["track"], releases, artists, labels, (row.get("split") or "").strip())


def read_catalogue(path: str | Path) -> list[Entry]:
    """:func:`parse_catalogue` of a file; relative paths are taken from the file's folder."""
    from mtk.io.files import read_bytes

    try:
        text = read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    return parse_catalogue(text, source=str(path), base=Path(path).parent)
