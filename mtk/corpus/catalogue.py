"""A metadata catalogue for ``mtk train embed``: ``path,track,release,artist,label,split`` rows.

From two kinds of source:

- a song corpus built with ``mtk corpus songs --artists``: each song's mix, its song id as the
  track, and the artist, release, label and split its ``meta.json`` names;
- a folder of recorded music: each audio file's tags (libsndfile's ``album`` -> release,
  ``artist`` -> artist; where a file has none, an ``album.json`` of credits beside it), the
  label given for the folder (for game soundtracks: the game), the file's path below the
  folder as the track, and a split by artist (by release where the artist is unknown):
  whole artists are held out, as works are in corpora.

A tag that is missing leaves its field empty: the file still serves the track association.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass, replace
from pathlib import Path

from mtk.corpus.build import hash_split
from mtk.corpus.reader import song_metas
from mtk.embed.associations import CATALOGUE_COLUMNS, SEPARATOR
from mtk.errors import UsageError

COLUMNS = (*CATALOGUE_COLUMNS, "split")
SPLITS = (("test", 15), ("valid", 15), ("train", 70))  # percent of artists (real music)


@dataclass(frozen=True)
class Row:
    path: str
    track: str
    release: str
    artist: str
    label: str
    split: str


def held_out_split(key: str) -> str:
    """A stable split for an artist (or release) name: 15 % test, 15 % valid, 70 % train."""
    return hash_split(key.strip().lower(), SPLITS)


def corpus_rows(corpus: Path) -> Iterator[Row]:
    """The songs of a corpus built with ``--artists`` (songs without an artist are skipped)."""
    for folder, meta in song_metas(corpus, need=("split", "work")):
        if not isinstance(meta.get("artist"), dict):
            continue
        yield Row(
            path=str(folder / "mix.wav"),
            track=str(meta.get("id", folder.name)),
            release=str(meta["release"]["id"]),
            artist=str(meta["artist"]["id"]),
            label=str(meta["label"]["id"]),
            split=str(meta["split"]),
        )


def _clean(value: str | None) -> str:
    text = (value or "").replace(SEPARATOR, "/").strip()
    return "" if text.lower() in ("", "?", "<unknown>", "unknown") else text


def folder_rows(folder: Path, *, label: str, extensions: Iterable[str]) -> Iterator[Row]:
    """Tagged recordings under ``folder`` (walked recursively, sorted; unreadable files skipped)."""
    import soundfile as sf

    from mtk.io.inputs import expand_inputs

    for path in expand_inputs([str(folder)], extensions=tuple(extensions), stdin_ok=False):
        try:
            with sf.SoundFile(path) as fh:
                tags = fh.copy_metadata()
        except (sf.LibsndfileError, RuntimeError, OSError):
            continue
        credit = _album_credits(Path(path).parent).get(Path(path).name, {})
        artist = _clean(tags.get("artist")) or _clean(credit.get("artist"))
        release = _clean(tags.get("album")) or _clean(credit.get("release"))
        yield Row(
            path=path,
            track=f"{label}:{Path(path).relative_to(folder)}",
            release=release,
            artist=artist,
            label=label,
            split=held_out_split(artist or release or path),
        )


@functools.cache
def _album_credits(folder: Path) -> dict[str, dict[str, str]]:
    """Credits of an ``album.json`` beside the files (Warzone 2100's albums: a ``title`` and a
    ``tracks`` list of ``filename`` and ``author``): file name -> release and artist. Tags,
    where present, win; a missing or malformed file gives nothing."""
    import json

    try:
        album = json.loads((folder / "album.json").read_text(encoding="utf-8"))
        title, author = str(album.get("title", "")), str(album.get("author", ""))
        return {
            str(t["filename"]): {"release": title, "artist": str(t.get("author") or author)}
            for t in album.get("tracks", [])
            if isinstance(t, dict) and "filename" in t
        }
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def relative_to(rows: Iterable[Row], folder: Path) -> list[Row]:
    """Rows whose relative paths (to the working folder) are made relative to ``folder``, the
    catalogue's, as readers take them; absolute paths stay as they are."""
    base = os.path.abspath(folder)
    return [
        row if os.path.isabs(row.path) else replace(row, path=os.path.relpath(os.path.abspath(row.path), base))
        for row in rows
    ]


def write_csv(rows: Iterable[Row]) -> bytes:
    """The rows as CSV bytes with a header."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(astuple(row) for row in rows)
    return buf.getvalue().encode()


def summary(rows: list[Row]) -> dict[str, object]:
    """Counts the issue asks for: files, releases, artists, labels, untagged, per split."""
    per_split = Counter(row.split for row in rows)
    return {
        "files": len(rows),
        "releases": len({r.release for r in rows if r.release}),
        "artists": len({r.artist for r in rows if r.artist}),
        "labels": len({r.label for r in rows if r.label}),
        "without_artist": sum(not r.artist for r in rows),
        "without_release": sum(not r.release for r in rows),
        "splits": dict(sorted(per_split.items())),
    }


def check_source(source: str) -> Path:
    """``source`` as a folder; :class:`UsageError` when it is none."""
    folder = Path(source)
    if not folder.is_dir():
        raise UsageError(f"{source}: not a folder (a song corpus or a folder of music)")
    return folder


def source_rows(source: str, *, label: str | None, extensions: Iterable[str]) -> list[Row]:
    """Rows of one source: a song corpus (it has ``*/meta.json``) or a folder of music."""
    folder = check_source(source)
    if any(folder.glob("*/meta.json")):
        return list(corpus_rows(folder))
    return list(folder_rows(folder, label=label or folder.name, extensions=extensions))


def label_of(spec: str) -> tuple[str, str | None]:
    """``"DIR=LABEL"`` -> ``(DIR, LABEL)``; ``"DIR"`` -> ``(DIR, None)``."""
    folder, sep, label = spec.partition("=")
    if sep and not os.path.isdir(spec):
        return folder, label.strip() or None
    return spec, None
