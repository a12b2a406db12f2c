"""Audio file I/O through soundfile (libsndfile): read, validate, resample, write WAV.

Arrays are float32 and channels-first: ``(channels, samples)``, or ``(samples,)`` when a
mono mix-down was asked for. Reading accepts anything libsndfile decodes (WAV, FLAC, OGG,
AIFF, ...) at any rate and channel count, from a path, ``-`` (stdin, buffered) or bytes.
"""

from __future__ import annotations

import io
import os
from typing import Literal

import numpy as np
import soundfile as sf

from mtk.errors import InputError
from mtk.io.files import STDIO, atomic_write, read_bytes, sniff_format, write_stdout

Subtype = Literal["16", "24", "float"]
SUBTYPES: dict[str, str] = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT"}
_AUDIO_FORMATS = {"wav", "flac", "ogg", "aiff", "au", "mp3"}


def read_audio(
    source: str | os.PathLike[str] | bytes,
    *,
    sr: int | None = None,
    mono: bool = False,
    min_duration: float = 0.0,
    name: str | None = None,
) -> tuple[np.ndarray, int]:
    """Read and validate audio.

    Args:
        source: a path, ``-`` for stdin, or the encoded bytes themselves.
        sr: resample to this rate (soxr, high quality); None keeps the file's rate.
        mono: average the channels and return shape ``(samples,)``.
        min_duration: seconds the command needs at least; shorter input is an error.
        name: how to call the input in messages (defaults to the path, or ``-``).

    Returns:
        ``(y, sr)``: float32 samples, shape ``(channels, samples)`` or ``(samples,)`` when
        ``mono``, and the sample rate.

    Raises:
        InputError: missing, unreadable, not audio, empty, non-finite or too short.
    """
    if isinstance(source, bytes) or str(source) == STDIO:
        data = source if isinstance(source, bytes) else read_bytes(STDIO)
        label = name or STDIO
        y, rate = _decode(io.BytesIO(data), data[:12], name=label, mono=mono)
    else:  # a path: libsndfile reads it directly, without a copy of the file in memory
        label = name or str(source)
        y, rate = _decode(source, read_bytes(source, limit=12), name=label, mono=mono)
    validate_audio(y, rate, name=label, min_duration=min_duration)
    if sr is not None and sr != rate:
        y, rate = resample(y, rate, sr), sr
    return y, rate


def decode_audio(data: bytes, *, name: str = STDIO) -> tuple[np.ndarray, int]:
    """Decode encoded audio bytes to ``(channels, samples)`` float32 and the sample rate."""
    return _decode(io.BytesIO(data), data[:12], name=name, mono=False)


def _decode(src: object, head: bytes, *, name: str, mono: bool) -> tuple[np.ndarray, int]:
    if not head:
        raise InputError(f"{name}: empty file")
    kind = sniff_format(head)
    if kind is not None and kind not in _AUDIO_FORMATS:
        raise InputError(f"{name}: not an audio file (looks like {kind.upper()})")
    try:
        frames, rate = sf.read(src, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        if kind is None:
            raise InputError(f"{name}: not an audio file (no RIFF/FLAC/OGG/AIFF header)") from None
        raise InputError(f"{name}: cannot decode {kind.upper()} ({_first_line(exc)})") from None
    if mono:  # average on the decoded (samples, channels) layout: no transposed copy
        return (frames[:, 0].copy() if frames.shape[1] == 1 else frames.mean(axis=1, dtype=np.float32)), int(rate)
    return np.ascontiguousarray(frames.T), int(rate)


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
