"""``mtk eval separate``: SDR per stem on held-out corpus songs and on real recordings.

Scores are BSS Eval v4 SDR as museval computes it (the SiSEC 2018 protocol, 1-second windows
and hops; :func:`bss_sdr` gives museval's numbers a hundred times faster): the median over a
song's windows, then the median over songs.

Methods scored in one run, on the same excerpts:

- the separator;
- ``mixture``: the mixture as every stem's estimate (the floor);
- ``hpss``: librosa's harmonic-percussive separation, percussive as drums (drums only);
- ``oracle_irm``: the ideal ratio mask of the true stems' power spectrograms (|S_j|^2 /
  sum_k |S_k|^2, STFT 4096/1024) applied to the mixture: an upper bound for masking.

Real music: the fretsonfire songs (Debian ``fretsonfire-songs-*``) have a recorded guitar
stem (``guitar.ogg``) and the band without it (``song.ogg``); their sum is the mix. The
guitar is scored as whichever of ``lead`` and ``other`` is closer to it (global SDR), the
backing as the mix minus that stem, both against the mixture baseline.

Transcription proxy: ``mtk transcribe`` (its Python API) on the separated drums of test
mixes and on the true drum stems, onset F1 against the corpus's hit lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import InputError
from mtk.separate.data import StemSong
from mtk.separate.train import sdr as global_sdr

FRETSONFIRE = Path("/usr/share/games/fretsonfire/data/songs")
WINDOW_S = 1.0
IRM_FFT, IRM_HOP = 4096, 1024


def bss_sdr(references: np.ndarray, estimates: np.ndarray, sample_rate: int) -> list[float | None]:
    """BSS Eval v4 SDR of each source (``(sources, channels, samples)`` arrays), the median
    over 1-second windows; None where no window counts.

    museval's ``bss_eval`` (images, the SiSEC 2018 protocol) splits an estimate into the true
    image and spatial, interference and artefact errors that add up to ``estimate - image``, so
    its SDR is 10 log10(|s|^2 / |s' - s|^2) per window; computing that directly gives the same
    numbers (a test checks them against museval) without its 512-tap projection filters, which
    cost ~45 s per 20-second stereo song. As museval: full windows only, and a window where any
    reference or estimate sums to exactly zero is skipped for every source.
    """
    win = int(WINDOW_S * sample_rate)
    n = references.shape[-1]
    nwin = n // win if win < n else 1
    ref = references.astype(np.float64)
    err = estimates.astype(np.float64) - ref
    scores = np.full((ref.shape[0], nwin), np.nan)
    for t in range(nwin):
        cut = slice(t * win, min(t * win + win, n))
        r, e = ref[..., cut], estimates[..., cut]
        if np.any(r.sum(axis=(1, 2)) == 0) or np.any(e.sum(axis=(1, 2)) == 0):
            continue
        num = np.sum(r**2, axis=(1, 2))
        den = np.sum(err[..., cut] ** 2, axis=(1, 2))
        with np.errstate(divide="ignore"):
            scores[:, t] = np.where(den == 0, np.inf, 10 * np.log10(num / np.where(den == 0, 1.0, den)))
    out: list[float | None] = []
    for row in scores:
        finite = row[~np.isnan(row)]
        out.append(float(np.median(finite)) if finite.size else None)
    return out


@dataclass
class Excerpt:
    name: str
    stems: np.ndarray  # (S, C, T) at sample_rate; the mixture is their sum
    sample_rate: int


def corpus_excerpts(songs: Sequence[StemSong], stems: Sequence[str], *, seconds: float) -> list[Excerpt]:
    """The first ``seconds`` of each song's stems."""
    out = []
    for song in songs:
        frames = min(int(seconds * song.sample_rate), song.frames)
        out.append(Excerpt(song.path.name, np.stack([song.read(s, 0, frames) for s in stems]), song.sample_rate))
    return out


def hpss_drums(mix: np.ndarray) -> np.ndarray:
    """librosa's median-filtering HPSS (margin 1, kernel 31): the percussive part of ``mix``."""
    import librosa

    return np.asarray(librosa.effects.percussive(mix), dtype=np.float32)[..., : mix.shape[-1]]


def oracle_irm(stems: np.ndarray) -> np.ndarray:
    """The ideal (power) ratio mask of the true ``stems`` applied to their mixture."""
    import librosa

    mix = stems.sum(0)
    spec = librosa.stft(stems, n_fft=IRM_FFT, hop_length=IRM_HOP)
    power = np.abs(spec) ** 2
    mask = power / np.maximum(power.sum(0, keepdims=True), 1e-12)
    mix_spec = librosa.stft(mix, n_fft=IRM_FFT, hop_length=IRM_HOP)
    return librosa.istft(mask * mix_spec[None], hop_length=IRM_HOP, length=mix.shape[-1]).astype(np.float32)


def _summary(per_song: list[list[float | None]], stems: Sequence[str]) -> dict[str, Any]:
    medians: dict[str, float | None] = {}
    for i, s in enumerate(stems):
        values = [row[i] for row in per_song if row[i] is not None]
        medians[s] = round(float(np.median(values)), 2) if values else None
    scored = [v for v in medians.values() if v is not None]
    return {"sdr": medians, "mean_sdr": round(float(np.mean(scored)), 2) if scored else None}


Separate = Callable[[np.ndarray, int], np.ndarray]  # (mix (C, T), sr) -> (S, C, T)


def corpus_scores(
    separate: Separate, excerpts: Sequence[Excerpt], stems: Sequence[str], *, progress: Callable = iter
) -> dict[str, Any]:
    """Median BSS Eval v4 SDR per stem over ``excerpts`` of the separator and the baselines."""
    rows: dict[str, list[list[float | None]]] = {"model": [], "mixture": [], "hpss": [], "oracle_irm": []}
    drums = stems.index("drums") if "drums" in stems else None
    for ex in progress(excerpts):
        mix = ex.stems.sum(0)
        sr = ex.sample_rate
        rows["model"].append(bss_sdr(ex.stems, separate(mix, sr), sr))
        rows["mixture"].append(bss_sdr(ex.stems, np.repeat(mix[None], len(stems), 0), sr))
        rows["oracle_irm"].append(bss_sdr(ex.stems, oracle_irm(ex.stems), sr))
        if drums is not None:
            perc = hpss_drums(mix)
            rest = np.delete(ex.stems, drums, 0).sum(0)
            drum_sdr = bss_sdr(np.stack([ex.stems[drums], rest]), np.stack([perc, mix - perc]), sr)[0]
            rows["hpss"].append([drum_sdr if i == drums else None for i in range(len(stems))])
    out = {name: _summary(r, stems) for name, r in rows.items() if r}
    if "hpss" in out:
        out["hpss"]["method"] = "librosa HPSS (median filters, kernel 31, margin 1): percussive as drums"
    out["oracle_irm"]["method"] = f"ideal power ratio mask, STFT {IRM_FFT}/{IRM_HOP}"
    return out


def real_songs(root: Path = FRETSONFIRE) -> list[Path]:
    """Folders holding a ``guitar.ogg`` stem and its ``song.ogg`` backing."""
    return sorted(p.parent for p in root.glob("*/*/guitar.ogg") if (p.parent / "song.ogg").is_file())


def real_scores(
    separate: Separate,
    folders: Sequence[Path],
    stems: Sequence[str],
    *,
    seconds: float,
    offset: float,
    progress: Callable = iter,
) -> dict[str, Any]:
    """Guitar and backing SDR of the separator and of the mixture on ``seconds`` of each
    real song from ``offset``; which stem the model put the guitar in, per song."""
    from mtk.io.audio import read_audio

    rows: dict[str, list[list[float | None]]] = {"model": [], "mixture": []}
    assigned: dict[str, str] = {}
    candidates = [s for s in ("lead", "other") if s in stems]
    for folder in progress(folders):
        parts = []
        for name in ("guitar", "song"):
            y, sr = read_audio(folder / f"{name}.ogg", mono=False)
            y = np.atleast_2d(y)
            start = min(int(offset * sr), max(y.shape[-1] - int(seconds * sr), 0))
            parts.append(y[:, start : start + int(seconds * sr)])
        n = min(p.shape[-1] for p in parts)
        refs = np.stack([p[:, :n] for p in parts]).astype(np.float32)
        mix = refs.sum(0)
        est = separate(mix, sr)
        pick = max(candidates, key=lambda s: global_sdr(refs[0], est[stems.index(s)]))
        guitar = est[stems.index(pick)]
        assigned[f"{folder.parent.name}/{folder.name}"] = pick
        rows["model"].append(bss_sdr(refs, np.stack([guitar, mix - guitar]), sr))
        rows["mixture"].append(bss_sdr(refs, np.stack([mix, mix]), sr))
    out: dict[str, Any] = {name: _summary(r, ("guitar", "backing")) for name, r in rows.items()}
    out["songs"] = len(folders)
    out["seconds"] = seconds
    out["offset"] = offset
    out["guitar_stem"] = assigned
    return out


def transcription_scores(
    separate: Separate,
    corpus: Path,
    stems: Sequence[str],
    *,
    split: str,
    limit: int | None,
    transcriber: Any,
    progress: Callable = iter,
) -> dict[str, Any]:
    """``mtk transcribe``'s onset F1 on separated drums of full mixes and on the true drum stems
    of the same songs (those drummed by an installed recorded kit)."""
    from mtk.io.audio import read_audio
    from mtk.transcribe.eval import event_scores, load_songs

    songs = load_songs(corpus, split=split, sample_rate=transcriber.cfg.sample_rate, limit=limit)
    sr = transcriber.cfg.sample_rate
    true_events, sep_events = [], []
    drums = stems.index("drums")
    for song in progress(songs):
        mix, mix_sr = read_audio(corpus / song.name / "mix.wav", mono=False)
        est = separate(np.atleast_2d(mix).astype(np.float32), mix_sr)
        sep_events.append(transcriber.from_audio(est[drums].mean(0), mix_sr).events)
        true_events.append(transcriber.from_audio(song.audio, sr).events)
    true = event_scores(songs, true_events)
    sep = event_scores(songs, sep_events)
    return {
        "songs": len(songs),
        "model": transcriber.name,
        "true_drums": true,
        "separated_drums": sep,
        "f1_gap": round(true["mean_f1"] - sep["mean_f1"], 4),
    }


def evaluate(
    separator: Any,
    corpus: Path,
    *,
    split: str = "test",
    limit: int | None = None,
    seconds: float = 20.0,
    real: Sequence[Path] = (),
    real_seconds: float = 30.0,
    real_offset: float = 30.0,
    transcriber: Any = None,
    progress: Callable = iter,
) -> dict[str, Any]:
    """Everything ``mtk eval separate`` reports, as one dict."""
    from mtk.separate.data import find_songs

    stems = separator.stems

    def separate(mix: np.ndarray, sr: int) -> np.ndarray:
        out = separator.from_audio(mix, sr).audio
        return np.stack([out[s] for s in stems])

    songs = [s for s in find_songs(corpus) if s.split == split][:limit]
    if not songs:
        raise InputError(f"{corpus}: no {split}-split songs with stems")
    excerpts = corpus_excerpts(songs, stems, seconds=seconds)
    result: dict[str, Any] = {"model": separator.name, "stems": list(stems)}
    result["corpus"] = {
        "data": str(corpus),
        "split": split,
        "songs": len(songs),
        "seconds": seconds,
        **corpus_scores(separate, excerpts, stems, progress=progress),
    }
    if real:
        result["real"] = real_scores(separate, real, stems, seconds=real_seconds, offset=real_offset, progress=progress)
    if transcriber is not None:
        result["transcription"] = transcription_scores(
            separate, corpus, stems, split=split, limit=limit, transcriber=transcriber, progress=progress
        )
    return result


def table(result: dict[str, Any]) -> str:
    """A markdown rendering of :func:`evaluate`'s result."""
    stems = list(result["corpus"]["model"]["sdr"])
    lines = [
        f"Held-out corpus songs ({result['corpus']['songs']}, {result['corpus']['seconds']} s each): "
        "median BSS Eval v4 SDR (dB)",
        "",
        "| method | " + " | ".join(stems) + " | mean |",
        "|---|" + "---:|" * (len(stems) + 1),
    ]
    for name, row in result["corpus"].items():
        if not isinstance(row, dict) or "sdr" not in row:
            continue
        cells = ["" if row["sdr"][s] is None else f"{row['sdr'][s]:.2f}" for s in stems]
        mean = "" if name == "hpss" or row["mean_sdr"] is None else f"{row['mean_sdr']:.2f}"
        label = result["model"] if name == "model" else name
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {mean} |")
    if "real" in result:
        real = result["real"]
        lines += [
            "",
            f"Real songs (fretsonfire, {real['songs']} songs, {real['seconds']} s from {real['offset']} s): "
            "median SDR (dB)",
            "",
            "| method | guitar | backing |",
            "|---|---:|---:|",
        ]
        for name in ("model", "mixture"):
            row = real[name]["sdr"]
            label = result["model"] if name == "model" else name
            lines.append(f"| {label} | {row['guitar']:.2f} | {row['backing']:.2f} |")
    if "transcription" in result:
        tr = result["transcription"]
        lines += [
            "",
            f"`mtk transcribe` ({tr['model']}) on {tr['songs']} test songs: mean onset F1",
            "",
            "| drums from | kick | snare | hihat | mean |",
            "|---|---:|---:|---:|---:|",
        ]
        for key, label in (("true_drums", "true drum stem"), ("separated_drums", "separated from the mix")):
            row = tr[key]
            lines.append(
                f"| {label} | {row['kick']['f1']:.3f} | {row['snare']['f1']:.3f} | {row['hihat']['f1']:.3f} "
                f"| {row['mean_f1']:.3f} |"
            )
    return "\n".join(lines)
