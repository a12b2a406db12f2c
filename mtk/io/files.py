"""Byte-level input and output: stdin buffering, magic-byte sniffing, atomic writes.

Every file mtk writes goes through :func:`atomic_write` or :func:`atomic_path`: the data
lands in a temporary file in the target folder, then is renamed over the target, so a
failure never leaves a half-written file, and an existing file is never replaced unless
``force`` is set.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mtk.errors import InputError, OutputExistsError, UsageError

STDIO = "-"

# Leading bytes of the formats mtk reads, as the CLI convention lists them.
_MAGIC: list[tuple[bytes, str]] = [
    (b"RIFF", "wav"),
    (b"RIFX", "wav"),
    (b"RF64", "wav"),
    (b"fLaC", "flac"),
    (b"OggS", "ogg"),
    (b"FORM", "aiff"),
    (b".snd", "au"),
    (b"ID3", "mp3"),
    (b"\xff\xfb", "mp3"),
    (b"\xff\xf3", "mp3"),
    (b"\xff\xf2", "mp3"),
    (b"MThd", "midi"),
    (b"{", "json"),
]


def sniff_format(head: bytes) -> str | None:
    """Name the format of data from its first bytes (``wav``, ``flac``, ``midi`` ...), or None."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def read_bytes(source: str | os.PathLike[str], *, limit: int | None = None) -> bytes:
    """Read all bytes (or the first ``limit``) of a path, or of stdin when ``source`` is ``-``.

    Raises :class:`InputError` for a missing or unreadable file.
    """
    if str(source) == STDIO:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("refusing to read from a terminal", hint="pipe data in or name a file")
        return sys.stdin.buffer.read()
    path = Path(source)
    try:
        if limit is not None:
            with open(path, "rb") as fh:
                return fh.read(limit)
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def check_writable(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Refuse early when ``path`` exists and ``force`` is not set; return it as a Path."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{target}: is a folder", hint="name an output file")
    if target.exists() and not force:
        raise OutputExistsError(f"{target}: exists", hint="use --force to overwrite")
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    For writers that insist on a file name (external programs). On any exception the
    temporary file is removed and ``path`` is left as it was.
    """
    target = check_writable(path, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if target.exists() and not force:  # appeared while we worked
            raise OutputExistsError(f"{target}: exists", hint="use --force to overwrite")
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike[str], data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; never overwrite unless ``force``."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_stdout(data: bytes, *, stream: BinaryIO | None = None) -> None:
    """Write bytes to stdout (or ``stream``) and flush."""
    out = stream if stream is not None else sys.stdout.buffer
    out.write(data)
    out.flush()


def stdout_is_terminal() -> bool:
    """True when stdout is an interactive terminal (binary output must then be refused)."""
    return sys.stdout is not None and sys.stdout.isatty()


def sha256_file(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
