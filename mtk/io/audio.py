"""Audio file I/O through soundfile (libsndfile): read, validate, resample, write WAV.

Arrays are float32 and channels-first: ``(channels, samples)``, or ``(samples,)`` when a
mono mix-down was asked for. Reading accepts anything libsndfile decodes (WAV, FLAC, OGG,
AIFF, ...) at any rate and channel count, from a path, ``-`` (stdin, buffered) or bytes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import soundfile as sf

from mtk.errors import InputError
from mtk.io.files import STDIO, atomic_write, read_bytes, sniff_format, write_stdout

Subtype = Literal["16", "24", "float"]
SUBTYPES: dict[str, str] = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT"}
_AUDIO_FORMATS = {"wav", "flac", "ogg", "aiff", "au", "mp3"}
MIN_TRUNCATED_S = 1.0  # a truncated file with less than this readable is an error, not a warning
_SAMPLE_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}
_BLOCK = 1 << 16  # frames decoded at a time (what a decoding error part way loses)
_PREALLOCATE = 4 << 30  # bytes: a header promising more is decoded block by block, as far as it goes
logger = logging.getLogger(__name__)


def read_audio(
    source: str | os.PathLike[str] | bytes,
    *,
    sr: int | None = None,
    mono: bool = False,
    min_duration: float = 0.0,
    window: tuple[float, float] | None = None,
    name: str | None = None,
) -> tuple[np.ndarray, int]:
    """Read and validate audio.

    A truncated file (its header promises more than is there, or decoding stops early) is an
    error when what can be read is shorter than ``min_duration`` or :data:`MIN_TRUNCATED_S`,
    and otherwise a warning (logged on ``mtk.io.audio``) that says how much was read.

    Args:
        source: a path, ``-`` for stdin, or the encoded bytes themselves.
        sr: resample to this rate (soxr, high quality); None keeps the file's rate.
        mono: average the channels and return shape ``(samples,)``.
        min_duration: seconds the command needs at least; shorter input is an error.
        window: ``(start, seconds)``: decode only that stretch, moved earlier so it fits in a
            shorter file (seekable formats decode only those samples).
        name: how to call the input in messages (defaults to the path, or ``-``).

    Returns:
        ``(y, sr)``: float32 samples, shape ``(channels, samples)`` or ``(samples,)`` when
        ``mono``, and the sample rate.

    Raises:
        InputError: missing, unreadable, not audio, empty, non-finite, too short, or truncated
            with too little left.
    """
    if isinstance(source, bytes) or str(source) == STDIO:
        data = source if isinstance(source, bytes) else read_bytes(STDIO)
        label = name or STDIO
        decoded = _decode(io.BytesIO(data), data[:12], name=label, mono=mono, window=window)
    else:  # a path: libsndfile reads it directly, without a copy of the file in memory
        label = name or str(source)
        decoded = _decode(source, read_bytes(source, limit=12), name=label, mono=mono, window=window)
    y, rate = decoded.samples, decoded.rate
    if decoded.truncated:
        _report_truncation(decoded, label, min_duration)
    validate_audio(y, rate, name=label, min_duration=min_duration)
    if sr is not None and sr != rate:
        y, rate = resample(y, rate, sr), sr
    return y, rate


def decode_audio(data: bytes, *, name: str = STDIO) -> tuple[np.ndarray, int]:
    """Decode encoded audio bytes to ``(channels, samples)`` float32 and the sample rate."""
    decoded = _decode(io.BytesIO(data), data[:12], name=name, mono=False)
    if decoded.truncated:
        _report_truncation(decoded, name, 0.0)
    return decoded.samples, decoded.rate


@dataclass
class _Decoded:
    samples: np.ndarray
    rate: int
    kind: str
    truncated: str | None = None  # what shows it ("its header declares 37 s"), None when whole


def _decode(src: object, head: bytes, *, name: str, mono: bool, window: tuple[float, float] | None = None) -> _Decoded:
    if not head:
        raise InputError(f"{name}: empty file")
    kind = sniff_format(head)
    if kind is not None and kind not in _AUDIO_FORMATS:
        raise InputError(f"{name}: not an audio file (looks like {kind.upper()})")
    label = (kind or "audio").upper()
    # libmpg123 (libsndfile's MP3 decoder) prints its own warnings on file descriptor 2,
    # past -q: catch them and log them as details instead.
    with _c_stderr(kind in (None, "mp3")) as chatter:
        try:
            with sf.SoundFile(src) as fh:
                rate, declared, log, seekable = int(fh.samplerate), fh.frames, fh.extra_info, fh.seekable()
                frame_bytes = fh.channels * _SAMPLE_BYTES.get(fh.subtype, 0)
                start, stop = _span(window, declared, rate) if seekable else (0, declared)
                if start:
                    fh.seek(start)
                frames, error = _read_blocks(fh, stop - start)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OverflowError) as exc:
            if kind is None:
                raise InputError(f"{name}: not an audio file (no RIFF/FLAC/OGG/AIFF header)") from None
            raise InputError(f"{name}: cannot decode {label} ({_first_line(exc)})") from None
    for line in chatter:
        logger.info("%s: decoder: %s", name, line)
    if error is not None and len(frames) == 0:
        raise InputError(f"{name}: cannot decode {label} ({_first_line(error)})")
    truncated = _truncation(
        log, expected=stop - start, read=len(frames), declared=declared, rate=rate, error=error, frame_bytes=frame_bytes
    )
    if window is not None and not seekable:
        first, end = _span(window, len(frames), rate)
        frames = frames[first:end]
    if mono:  # average on the decoded (samples, channels) layout: no transposed copy
        y = frames[:, 0].copy() if frames.shape[1] == 1 else frames.mean(axis=1, dtype=np.float32)
    else:
        y = np.ascontiguousarray(frames.T)
    return _Decoded(y, rate, label, truncated)


def _span(window: tuple[float, float] | None, frames: int, rate: int) -> tuple[int, int]:
    if window is None:
        return 0, frames
    length = int(window[1] * rate)
    start = int(min(window[0] * rate, max(0, frames - length)))
    return start, min(frames, start + length)


def _read_blocks(fh: sf.SoundFile, frames: int) -> tuple[np.ndarray, Exception | None]:
    """Up to ``frames`` frames, ``(n, channels)``, and the error that stopped decoding early
    (a truncated FLAC loses sync part way: what came before is kept). Decoded into one array
    sized from the header, unless the header claims more than :data:`_PREALLOCATE` bytes."""
    whole = np.empty((frames, fh.channels), np.float32) if frames * fh.channels * 4 <= _PREALLOCATE else None
    blocks, done, error = [], 0, None
    while done < frames:
        n = min(frames - done, _BLOCK)
        try:
            block = fh.read(n, dtype="float32", always_2d=True, out=None if whole is None else whole[done : done + n])
        except (sf.LibsndfileError, RuntimeError) as exc:
            error = exc
            break
        if len(block) == 0:
            break
        if whole is None:
            blocks.append(block)
        done += len(block)
    if whole is not None:  # a short read keeps no more memory than it needs
        return (whole[:done] if done > len(whole) // 2 else whole[:done].copy()), error
    if not blocks:
        return np.zeros((0, fh.channels), np.float32), error
    return (blocks[0] if len(blocks) == 1 else np.concatenate(blocks)), error


_SHOULD_BE = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def _truncation(
    log: str, *, expected: int, read: int, declared: int, rate: int, error: Exception | None, frame_bytes: int
) -> str | None:
    """Why the decoded audio is less than the file promised, or None when it is whole.

    Three signs, from libsndfile: a data chunk larger than the file (WAV, AIFF: its log says
    "should be"), an Ogg stream without its end-of-stream page, and fewer frames decoded than
    the header declares (MP3's Xing frame count, FLAC's STREAMINFO: ``expected`` of the
    ``declared`` frames were asked for) or an error part way.
    """
    match = _SHOULD_BE.search(log)
    if match and int(match[2]) < int(match[1]):
        promised, there = int(match[1]), int(match[2])
        if frame_bytes:
            return f"its header declares {_duration(promised / frame_bytes / rate)}"
        if read and there:
            return f"its header declares {_duration(read / rate * promised / there)}"
        return f"its header declares {promised} bytes of audio, {there} are there"
    if "lacks an end-of-stream" in log:
        return "the stream ends without its last page"
    if error is not None or read < 0.99 * expected:
        return f"its header declares {_duration(declared / rate)}"
    return None


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.3g} h" if seconds >= 3600 else f"{seconds:.3g} s"


def _report_truncation(decoded: _Decoded, name: str, min_duration: float) -> None:
    seconds = decoded.samples.shape[-1] / decoded.rate
    what = f"{name}: truncated {decoded.kind} file ({decoded.truncated}; {seconds:.3g} s readable)"
    if seconds < max(min_duration, MIN_TRUNCATED_S):
        raise InputError(what)
    logger.warning("%s: truncated %s file: read %.3g s (%s)", name, decoded.kind, seconds, decoded.truncated)


@contextlib.contextmanager
def _c_stderr(capture: bool) -> Iterator[list[str]]:
    """While active, what C code writes on file descriptor 2 goes to the yielded list."""
    lines: list[str] = []
    if not capture:
        yield lines
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(x for x in sink.read().decode(errors="replace").splitlines() if x.strip())


def validate_audio(y: np.ndarray, sr: int, *, name: str = STDIO, min_duration: float = 0.0) -> None:
    """Check decoded audio once at the boundary: non-empty, finite, long enough."""
    n = y.shape[-1]
    if n == 0:
        raise InputError(f"{name}: contains no audio (0 samples)")
    if not np.isfinite(y).all():
        raise InputError(f"{name}: contains NaN or infinite samples")
    if n / sr < min_duration:
        raise InputError(f"{name}: too short ({n / sr:.3g} s; this command needs at least {min_duration:g} s)")


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample along the last axis with soxr (HQ); ``y`` is ``(samples,)`` or ``(C, samples)``."""
    import soxr

    if sr_in == sr_out:
        return y
    out = soxr.resample(np.ascontiguousarray(y.T), sr_in, sr_out, quality="HQ")
    return np.ascontiguousarray(out.T, dtype=np.float32)


def encode_wav(y: np.ndarray, sr: int, *, subtype: Subtype = "16") -> bytes:
    """Encode ``(channels, samples)`` or ``(samples,)`` float audio as WAV bytes.

    Integer subtypes clip to [-1, 1] first (libsndfile would otherwise wrap around).
    """
    if subtype not in SUBTYPES:
        raise ValueError(f"subtype must be one of {sorted(SUBTYPES)}, not {subtype!r}")
    frames = np.asarray(y, dtype=np.float32)
    frames = frames.T if frames.ndim == 2 else frames
    if subtype != "float":
        frames = np.clip(frames, -1.0, 1.0)
    buf = io.BytesIO()
    sf.write(buf, frames, sr, subtype=SUBTYPES[subtype], format="WAV")
    return buf.getvalue()


def write_audio(
    dest: str | os.PathLike[str],
    y: np.ndarray,
    sr: int,
    *,
    subtype: Subtype = "16",
    force: bool = False,
) -> None:
    """Write WAV to a path (atomically, refusing to overwrite unless ``force``) or to ``-``."""
    data = encode_wav(y, sr, subtype=subtype)
    if str(dest) == STDIO:
        write_stdout(data)
    else:
        atomic_write(dest, data, force=force)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
