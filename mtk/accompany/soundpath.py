"""The sound path alone: real drum stems through the VQ-VAE and a vocoder, and back.

What ``mtk eval accompany`` scores before any generation: each held-out drum stem's log-mel
is turned back into audio (optionally through the drum VQ-VAE's codes first) by the trained
vocoder or by Griffin-Lim (the baseline), and the result is compared with the original by
the multi-resolution STFT distance and by drum transcription: ``mtk transcribe`` on both,
onset F-measure (mir_eval, 50 ms) of the reconstruction's kick, snare and hi-hat hits
against the original's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from mtk.accompany.features import MEL, mel_basis

RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))
ONSET_WINDOW = 0.05

Inverter = Callable[[np.ndarray], np.ndarray]  # log-mel (n_mels, T) -> waveform


def stft_distance(est: Any, ref: Any) -> Any:
    """Multi-resolution STFT distance (Parallel WaveGAN's loss): spectral convergence plus
    log-magnitude L1 at FFT sizes 512, 1024 and 2048, averaged; torch tensors ``(..., samples)``."""
    import torch

    total = est.new_zeros(())
    for n_fft, hop in RESOLUTIONS:
        window = torch.hann_window(n_fft, device=est.device)
        s_est = torch.stft(est, n_fft, hop, window=window, return_complex=True).abs().clamp(min=1e-7)
        s_ref = torch.stft(ref, n_fft, hop, window=window, return_complex=True).abs().clamp(min=1e-7)
        sc = torch.linalg.norm(s_ref - s_est) / torch.linalg.norm(s_ref).clamp(min=1e-7)
        mag = (torch.log(s_ref) - torch.log(s_est)).abs().mean()
        total = total + sc + mag
    return total / len(RESOLUTIONS)


def griffin_lim(mel: np.ndarray, *, n_iter: int = 32, seed: int = 0) -> np.ndarray:
    """The baseline inverter: mel magnitudes to a linear spectrogram by non-negative least
    squares (librosa), then Griffin-Lim's phase (``n_iter`` iterations)."""
    import librosa

    mag = np.power(10.0, np.asarray(mel, dtype=np.float64))
    basis = mel_basis()
    stft = librosa.util.nnls(basis, mag).astype(np.float32)
    length = (mel.shape[-1] - 1) * MEL.hop
    y = librosa.griffinlim(stft, n_iter=n_iter, hop_length=MEL.hop, n_fft=MEL.n_fft, length=length, random_state=seed)
    return y.astype(np.float32)


CHUNK_FRAMES = 4096  # 47.6 s of mel a vocoder pass (memory stays flat for any length)
CONTEXT_FRAMES = 32  # each side: more than the vocoder's reach (27 frames of convolutions, 2 of the iSTFT)


def vocoder_inverter(net: Any, device: Any = "cpu", *, chunk: int = CHUNK_FRAMES) -> Inverter:
    """The vocoder as an inverter, ``chunk`` frames at a time with :data:`CONTEXT_FRAMES` of
    context either side; the chunks' samples are those of one pass over the whole mel."""
    import torch

    def invert(mel: np.ndarray) -> np.ndarray:
        mel = np.asarray(mel, dtype=np.float32)
        frames, hop = mel.shape[-1], net.cfg.hop
        out = []
        with torch.inference_mode():
            for start in range(0, max(frames - 1, 1), chunk):
                a, b = max(0, start - CONTEXT_FRAMES), min(frames, start + chunk + CONTEXT_FRAMES)
                y = net.eval()(torch.from_numpy(mel[None, :, a:b]).to(device))[0].float().cpu().numpy()
                out.append(y[(start - a) * hop : (start - a + chunk) * hop])
        return np.concatenate(out)[: (frames - 1) * hop]

    return invert


def through_codes(vq: Any, invert: Inverter, device: Any = "cpu") -> Inverter:
    """``invert`` after a round trip of the log-mel through the VQ-VAE's codes."""
    import torch

    def run(mel: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.asarray(mel, dtype=np.float32))[None].to(device)
            rec = vq.eval().decode(vq.encode(x))[0, :, : mel.shape[-1]].float().cpu().numpy()
        return invert(rec)

    return run


def hits(transcription: Any) -> dict[str, np.ndarray]:
    """Onset times per scored class (kick, snare, hi-hat closed or open) of a transcription."""
    from mtk.transcribe.components import EVAL_CLASSES

    return {
        name: np.array(sorted(e.time for e in transcription.events if e.drum in members))
        for name, members in EVAL_CLASSES.items()
    }


def transcription_f1(ref: Mapping[str, np.ndarray], est: Mapping[str, np.ndarray]) -> float | None:
    """Mean onset F-measure over the classes the reference plays."""
    import mir_eval

    scores = [
        mir_eval.onset.f_measure(ref[c], est[c], window=ONSET_WINDOW)[0] if est[c].size else 0.0
        for c in ref
        if ref[c].size
    ]
    return float(np.mean(scores)) if scores else None


def evaluate_sound_path(
    methods: Mapping[str, Inverter],
    waves: Sequence[np.ndarray],
    transcriber: Any,
    *,
    progress: Callable[[list[int]], Iterator[int]] | None = None,
) -> dict[str, Any]:
    """Per method: mean STFT distance and transcription F1 over drum stems ``waves``
    (mono, peak-normalised, at the mel rate)."""
    import torch

    from mtk.accompany.features import log_mel

    rows: dict[str, list[tuple[float, float | None]]] = {m: [] for m in methods}
    index = list(range(len(waves)))
    for i in progress(index) if progress else index:
        y = waves[i]
        mel = log_mel(y)
        ref_hits = hits(transcriber.from_audio(y, MEL.sample_rate))
        for name, invert in methods.items():
            est = invert(mel)
            n = min(est.size, y.size)
            dist = float(stft_distance(torch.from_numpy(est[:n]), torch.from_numpy(y[:n])))
            f1 = transcription_f1(ref_hits, hits(transcriber.from_audio(est, MEL.sample_rate)))
            rows[name].append((dist, f1))
    out: dict[str, Any] = {"stems": len(waves), "methods": {}}
    for name, vals in rows.items():
        f1s = [f for _, f in vals if f is not None]
        out["methods"][name] = {
            "stft_distance": round(float(np.mean([d for d, _ in vals])), 4),
            "transcription_f1": round(float(np.mean(f1s)), 4) if f1s else None,
        }
    return out
