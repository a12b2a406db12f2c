"""Production chains: what a studio, a radio or a listener's copy does to a recording.

Two versions of one work often differ less in the notes than in how they were produced: a room,
an equaliser, a compressor, some drive, a wider or narrower stereo image, a low-pass of a band-
limited copy, a lossy encode, a tempo that wanders. :func:`draw_chain` draws such a chain from a
seeded generator and :func:`apply_chain` plays audio through it, deterministically, so that
corpora and training batches can make versions that differ in production.

Written on numpy/scipy/soundfile rather than a plug-in host: pedalboard is GPL-3.0 (mtk is MIT)
and audiomentations draws from the global random generators, which a library must not reseed.
The effects are the textbook ones: RBJ biquads for EQ, a decaying-noise impulse response for
reverb, a feed-forward RMS compressor, tanh drive, mid/side width, a Butterworth low-pass,
libsndfile's OGG Vorbis and MP3 encoders, and a phase-vocoder stretch per segment for drift.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

FORMAT = 1  # bump when a chain's processing changes (cached features of produced copies key on it)
KINDS = ("reverb", "eq", "compress", "saturate", "width", "bandlimit", "lossy", "drift")
CODECS = ("ogg", "mp3")
DRIFT_SEGMENT_S = 4.0  # a tempo per segment of this length (crossfaded)
MAX_CODEC_LAG = 4096  # samples a decoder may add in front (an encoder's delay, when not gapless)


@dataclass(frozen=True)
class Chain:
    """One production chain; every effect at its neutral value is off."""

    reverb_rt60: float = 0.0  # seconds for the tail to fall 60 dB; 0: no reverb
    reverb_mix: float = 0.0  # wet share, 0..1
    eq: tuple[tuple[str, float, float], ...] = ()  # (low|high|peak, Hz, gain dB) each
    compress_db: float = 0.0  # threshold below the RMS peak, dB; 0: no compression
    ratio: float = 1.0
    drive: float = 0.0  # tanh drive; 0: none
    width: float = 1.0  # side gain: 0 mono, 1 as is, above 1 wider
    lowpass_hz: float = 0.0  # band limit; 0: none
    codec: str = ""  # "", "ogg" or "mp3"
    quality: float = 0.5  # the codec's compression level, 0 (best) .. 0.95 (smallest)
    drift: float = 0.0  # largest tempo deviation as a share (0.02: +-2 %); 0: none

    def to_dict(self) -> dict:
        return asdict(self)


def draw_chain(rng: np.random.Generator, kinds: Iterable[str] = KINDS) -> Chain:
    """A chain with each effect of ``kinds`` drawn from ``rng`` (ranges a mix engineer or a
    lossy copy plausibly reaches); effects not named stay off."""
    kinds = set(kinds)
    unknown = kinds - set(KINDS)
    if unknown:
        raise ValueError(f"unknown production kind(s): {', '.join(sorted(unknown))} (known: {', '.join(KINDS)})")
    out: dict = {}
    if "reverb" in kinds:
        out |= {"reverb_rt60": float(rng.uniform(0.3, 2.5)), "reverb_mix": float(rng.uniform(0.1, 0.5))}
    if "eq" in kinds:
        bands = [("low", float(rng.uniform(80, 300)), float(rng.uniform(-9, 9)))]
        bands += [("peak", float(np.exp(rng.uniform(np.log(300), np.log(5000)))), float(rng.uniform(-9, 9)))]
        bands += [("high", float(rng.uniform(3000, 10000)), float(rng.uniform(-9, 9)))]
        out["eq"] = tuple(bands)
    if "compress" in kinds:
        out |= {"compress_db": float(rng.uniform(6, 24)), "ratio": float(rng.uniform(2, 8))}
    if "saturate" in kinds:
        out["drive"] = float(rng.uniform(1.5, 6))
    if "width" in kinds:
        out["width"] = float(rng.uniform(0.0, 1.8))
    if "bandlimit" in kinds:
        out["lowpass_hz"] = float(rng.uniform(3000, 8000))
    if "lossy" in kinds:
        out |= {"codec": str(rng.choice(CODECS)), "quality": float(rng.uniform(0.6, 0.95))}
    if "drift" in kinds:
        out["drift"] = float(rng.uniform(0.01, 0.04))
    return Chain(**out)


def apply_chain(y: np.ndarray, sr: int, chain: Chain, *, seed: int = 0) -> np.ndarray:
    """``y`` (channels, samples) float through ``chain``, in the order a production goes
    (tempo, EQ, compression, drive, room, width, band limit, encode), peak at most 1. The
    length is kept except with drift, which changes it by the tempo's mean. ``seed`` draws the
    reverb's impulse response and the drift's tempo curve."""
    x = np.atleast_2d(np.asarray(y, np.float64))
    rng = np.random.default_rng(seed)
    if chain.drift:
        x = _drift(x, sr, chain.drift, rng)
    for kind, hz, gain in chain.eq:
        if hz < sr / 2:
            x = _sosfilt(_biquad(kind, hz, gain, sr), x)
    if chain.compress_db:
        x = _compress(x, sr, chain.compress_db, chain.ratio)
    if chain.drive:
        x = np.tanh(chain.drive * x / max(np.abs(x).max(initial=0.0), 1e-12)) / np.tanh(chain.drive)
    if chain.reverb_rt60 and chain.reverb_mix:
        x = _reverb(x, sr, chain.reverb_rt60, chain.reverb_mix, rng)
    if chain.width != 1.0 and x.shape[0] == 2:
        mid, side = (x[0] + x[1]) / 2, (x[0] - x[1]) / 2 * chain.width
        x = np.stack([mid + side, mid - side])
    if chain.lowpass_hz and chain.lowpass_hz < sr / 2:
        from scipy.signal import butter

        x = _sosfilt(butter(4, chain.lowpass_hz, btype="lowpass", fs=sr, output="sos"), x)
    x = x / max(1.0, float(np.abs(x).max(initial=0.0)) / 0.99)  # an encoder must not clip
    if chain.codec:
        x = _encode(x, sr, chain.codec, chain.quality)
    return (x / max(1.0, float(np.abs(x).max(initial=0.0)))).astype(np.float32)


def _sosfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    from scipy.signal import sosfilt

    return sosfilt(sos, x, axis=-1)


def _biquad(kind: str, hz: float, gain_db: float, sr: int, q: float = 0.707) -> np.ndarray:
    """An RBJ cookbook biquad (low shelf, high shelf or peaking) as one second-order section."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * hz / sr
    cos, alpha = np.cos(w), np.sin(w) / (2 * q)
    if kind == "peak":
        b = [1 + alpha * a, -2 * cos, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cos, 1 - alpha / a]
    elif kind in ("low", "high"):
        s = 1 if kind == "low" else -1
        root = 2 * np.sqrt(a) * alpha
        b = [
            a * ((a + 1) - s * (a - 1) * cos + root),
            s * 2 * a * ((a - 1) - s * (a + 1) * cos),
            a * ((a + 1) - s * (a - 1) * cos - root),
        ]
        den = [
            (a + 1) + s * (a - 1) * cos + root,
            -s * 2 * ((a - 1) + s * (a + 1) * cos),
            (a + 1) + s * (a - 1) * cos - root,
        ]
    else:
        raise ValueError(f"unknown EQ band {kind!r} (low, high, peak)")
    return np.array([[*(np.array(b) / den[0]), 1.0, den[1] / den[0], den[2] / den[0]]])


def _compress(x: np.ndarray, sr: int, threshold_db: float, ratio: float) -> np.ndarray:
    """Feed-forward compression on the channels' joint RMS over 10 ms: above the threshold
    (``threshold_db`` under the loudest moment) the level rises 1/``ratio`` as fast; the gain
    is smoothed over 50 ms."""
    from scipy.signal import lfilter

    win = max(1, int(0.010 * sr))
    power = np.convolve((x**2).mean(axis=0), np.ones(win) / win, mode="same")
    level = 10 * np.log10(np.maximum(power, 1e-12))
    threshold = level.max(initial=-120.0) - threshold_db
    gain_db = np.minimum(0.0, (threshold - level) * (1 - 1 / ratio))
    pole = np.exp(-1 / (0.050 * sr))
    gain_db = lfilter([1 - pole], [1, -pole], gain_db)
    return x * 10 ** (gain_db / 20)


def _reverb(x: np.ndarray, sr: int, rt60: float, mix: float, rng: np.random.Generator) -> np.ndarray:
    """A room: exponentially decaying noise (its own per channel, so the tail is wide),
    darker as it decays, mixed ``mix`` wet at the dry signal's level; the length is kept."""
    from scipy.signal import butter, fftconvolve, sosfilt

    n = int(rt60 * sr)
    t = np.arange(n) / sr
    ir = rng.standard_normal((x.shape[0], n)) * np.exp(-6.91 * t / rt60)
    ir = sosfilt(butter(1, min(6000.0, 0.45 * sr), fs=sr, output="sos"), ir, axis=-1)
    ir /= np.sqrt((ir**2).sum(axis=-1, keepdims=True))
    wet = fftconvolve(x, ir, axes=-1)[:, : x.shape[-1]]
    return (1 - mix) * x + mix * wet


def _drift(x: np.ndarray, sr: int, depth: float, rng: np.random.Generator) -> np.ndarray:
    """A tempo that wanders: each segment of :data:`DRIFT_SEGMENT_S` time-stretched (phase
    vocoder, pitch kept) by a rate on a smooth random walk within ``1 +- depth``, crossfaded."""
    import librosa

    seg = int(DRIFT_SEGMENT_S * sr)
    starts = list(range(0, x.shape[-1], seg))
    steps = np.cumsum(rng.uniform(-0.5, 0.5, len(starts)))
    rates = 1 + depth * np.clip(steps / max(np.abs(steps).max(initial=0.0), 1e-12), -1, 1)
    fade = int(0.05 * sr)
    pieces = []
    for start, rate in zip(starts, rates, strict=True):
        piece = x[:, start : start + seg + fade]
        if piece.shape[-1] < 2048:
            pieces.append(piece)
            continue
        pieces.append(np.stack([librosa.effects.time_stretch(c, rate=float(rate)) for c in piece]))
    out = pieces[0]
    for piece in pieces[1:]:
        n = min(fade, out.shape[-1], piece.shape[-1])
        ramp = np.linspace(0, 1, n)
        joined = out[:, out.shape[-1] - n :] * (1 - ramp) + piece[:, :n] * ramp
        out = np.concatenate([out[:, : out.shape[-1] - n], joined, piece[:, n:]], axis=-1)
    return out


def _encode(x: np.ndarray, sr: int, codec: str, quality: float) -> np.ndarray:
    """A lossy round trip through libsndfile's encoder, realigned (the decoder's leading delay
    found by cross-correlation) and cut or padded to the input's length."""
    import soundfile as sf

    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r} (known: {', '.join(CODECS)})")
    buf = io.BytesIO()
    fmt, subtype = ("OGG", "VORBIS") if codec == "ogg" else ("MP3", "MPEG_LAYER_III")
    level = min(quality, 0.95)  # libsndfile's MP3 encoder refuses 1.0
    sf.write(buf, x.T.astype(np.float32), sr, format=fmt, subtype=subtype, compression_level=level)
    buf.seek(0)
    z, _ = sf.read(buf, dtype="float64", always_2d=True)
    z = z.T
    ref, got = x.mean(axis=0), z.mean(axis=0)
    n = min(len(ref), len(got)) - MAX_CODEC_LAG
    if n > 0:
        corr = np.correlate(got[: n + MAX_CODEC_LAG], ref[:n], mode="valid")
        lag = int(np.argmax(corr))
        z = z[:, lag:]
    if z.shape[-1] < x.shape[-1]:
        z = np.pad(z, ((0, 0), (0, x.shape[-1] - z.shape[-1])))
    return z[:, : x.shape[-1]]
