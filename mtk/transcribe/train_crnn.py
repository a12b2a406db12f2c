"""Training the supervised drum transcriber (:class:`~mtk.transcribe.crnn.DrumCRNN`) on hit lists.

Data: the drum stems (``drums.wav``) of ``mtk corpus songs`` folders, any drummer (a recorded
kit, an exported soundfont kit, a soundfont's own kit), with every hit's time, drum (the class
that sounded, as ``meta.json`` records it) and velocity. Train-split songs train; valid-split
songs of ``--valid`` corpora validate (mean onset F1 of kick, snare and hi-hat at a fixed
threshold of 0.5, every ``checkpoint_every`` steps: ``best.pt``) and then tune the thresholds
(:func:`finalize`). Stems are held in memory as float16.

Targets per frame (100 a second) and drum: 1 at the frame nearest each hit, 0.5 at its two
neighbours (the target widening of Vogl et al.), else 0; the velocity (``velocity / 127``) at
the hit frames. Loss: binary cross-entropy of the onsets plus the squared error of the
velocities at hit frames.

Augmentation, so that it hears kits and mixes it was not trained on: each excerpt (4 s) is
scaled to peak 1 (inference scales whole files so) then by -12..0 dB; half are tilted by a
random low and high shelf (+-6 dB around 200 Hz-2 kHz); with probability ``bleed`` the song's
drumless mix is added 6-24 dB down, as in a stem that ``mtk separate`` left some of the band in;
with probability ``speed`` the excerpt is played up to 3 semitones slower or faster (the kit
retuned, its decays changed, the hits moved with it); with probability ``lowpass`` it is
band-limited at 5-11 kHz (audio recorded or resampled at a lower rate); with probability
``layer`` another song's excerpt is added 0-6 dB under it with its hits (two kits at once, so
that a drum is told by its own sound rather than by the kit around it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.corpus.reader import song_metas
from mtk.errors import InputError
from mtk.io.audio import read_audio
from mtk.transcribe.components import COMPONENTS, EVAL_CLASSES

ARCH = "drum-crnn"


@dataclass
class HitSong:
    name: str
    drums: np.ndarray  # float16 mono at the model's rate, peak 1
    drumless: np.ndarray | None  # the rest of the mix, same scale
    hits: np.ndarray  # (n, 3): time, component, velocity / 127


def load_hit_songs(corpora: list[Path], *, split: str, sample_rate: int, bleed: bool = False) -> list[HitSong]:
    """Every song of ``split`` in ``corpora`` with drums (any drummer) and its hit list."""
    from mtk.transcribe.infer import MIN_SECONDS

    out = []
    for corpus in corpora:
        for folder, meta in song_metas(corpus, need=("split", "drums", "drum_hits")):
            if meta["split"] != split or meta["drums"]["mode"] == "none" or not (folder / "drums.wav").is_file():
                continue
            y, _ = read_audio(folder / "drums.wav", sr=sample_rate, mono=True, min_duration=MIN_SECONDS)
            peak = float(np.abs(y).max(initial=0.0))
            if peak <= 0:
                continue
            rest = None
            if bleed and (folder / "drumless.wav").is_file():
                rest, _ = read_audio(folder / "drumless.wav", sr=sample_rate, mono=True)
                rest = (rest[: len(y)] / peak).astype(np.float16)
            hits = np.array(
                [(h["time"], COMPONENTS.index(h["class"]), h["velocity"] / 127) for h in meta["drum_hits"]
                 if h["class"] in COMPONENTS],
                dtype=np.float64,
            ).reshape(-1, 3)  # fmt: skip
            out.append(HitSong(folder.name, (y / peak).astype(np.float16), rest, hits))
    if not out:
        raise InputError(f"no {split}-split songs with drums in {', '.join(map(str, corpora))}")
    return out


def targets(hits: np.ndarray, start_s: float, frames: int, rate: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Onset targets (1 at a hit's frame, 0.5 beside it) and velocities, each ``(k, frames)``,
    for the excerpt starting at ``start_s``."""
    onset = np.zeros((k, frames), np.float32)
    vel = np.zeros((k, frames), np.float32)
    for t, comp, v in hits:
        f = int(round((t - start_s) * rate))
        c = int(comp)
        for g, w in ((f - 1, 0.5), (f + 1, 0.5)):
            if 0 <= g < frames:
                onset[c, g] = max(onset[c, g], w)
        if 0 <= f < frames:
            onset[c, f] = 1.0
            vel[c, f] = max(vel[c, f], v)
    return onset, vel


def _shelves(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A random tilt: the band under a corner frequency (200 Hz-2 kHz) and the band over it
    scaled by +-6 dB each (one-pole split, so the two bands sum back to ``x``)."""
    from scipy.signal import lfilter

    fc = float(np.exp(rng.uniform(np.log(200), np.log(2000))))
    a = float(np.exp(-2 * np.pi * fc / sr))
    low = lfilter([1 - a], [1, -a], x).astype(np.float32)
    g_low, g_high = 10 ** (rng.uniform(-6, 6, size=2) / 20)
    return (g_low * low + g_high * (x - low)).astype(np.float32)


def _band_limit(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """``x`` low-passed at a random 5-11 kHz (8th-order Butterworth)."""
    from scipy.signal import butter, sosfilt

    fc = min(float(rng.uniform(5000, 11000)), 0.45 * sr)
    return sosfilt(butter(8, fc, fs=sr, output="sos"), x).astype(np.float32)


def _excerpt(
    song: HitSong, n: int, sample_rate: int, bleed: float, speed: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A random excerpt of ``song`` (at most ``n`` samples, with the drumless mix added 6-24 dB
    down with probability ``bleed`` and played 3 semitones slower to 3 faster with probability
    ``speed``) and its hits, times in seconds from the excerpt's start."""
    r = float(2 ** (rng.uniform(-3, 3) / 12)) if rng.random() < speed else 1.0
    m = int(round(n * r))  # source samples this excerpt plays
    start = int(rng.integers(max(len(song.drums) - m, 1)))
    seg = song.drums[start : start + m].astype(np.float32)
    if song.drumless is not None and rng.random() < bleed:
        rest = song.drumless[start : start + m].astype(np.float32)
        seg = seg + rest[: len(seg)] * np.float32(10 ** (-rng.uniform(6, 24) / 20))
    if r != 1.0:
        at = np.arange(min(n, int(len(seg) / r))) * r
        seg = np.interp(at, np.arange(len(seg)), seg).astype(np.float32)
    hits = song.hits.copy()
    hits[:, 0] = (hits[:, 0] - start / sample_rate) / r
    return seg, hits


def _added(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b``, the shorter zero-padded."""
    out = np.zeros(max(len(a), len(b)), np.float32)
    out[: len(a)] += a
    out[: len(b)] += b
    return out


def batches(
    songs: list[HitSong],
    *,
    batch: int,
    seconds: float,
    sample_rate: int,
    hop: int,
    k: int,
    bleed: float,
    seed: int,
    speed: float = 0.0,
    lowpass: float = 0.0,
    layer: float = 0.0,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Endless batches of augmented excerpts: audio ``(B, samples)``, onset and velocity
    targets ``(B, K, frames)``. Songs are drawn in proportion to their length. A ``speed``
    share of excerpts is played 3 semitones slower to 3 faster (linear interpolation; the
    hits move with it): every drum retuned and its decay changed, like another kit. A
    ``lowpass`` share is band-limited at 5-11 kHz (8th-order Butterworth), as audio recorded or
    resampled at 11-22 kHz is. A ``layer`` share has a second excerpt (another song, so mostly
    another kit and part) added 0-6 dB under it, the hits of both in the targets."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    frames = 1 + n // hop
    rate = sample_rate / hop
    weights = np.array([max(len(s.drums) - n, 1) for s in songs], np.float64)
    weights /= weights.sum()
    while True:
        x = np.zeros((batch, n), np.float32)
        on = np.zeros((batch, k, frames), np.float32)
        vel = np.zeros((batch, k, frames), np.float32)
        for b in range(batch):
            i = int(rng.choice(len(songs), p=weights))
            seg, hits = _excerpt(songs[i], n, sample_rate, bleed, speed, rng)
            if layer > 0 and len(songs) > 1 and rng.random() < layer:  # another song's drums on top
                j = (i + 1 + int(rng.integers(len(songs) - 1))) % len(songs)
                seg2, hits2 = _excerpt(songs[j], n, sample_rate, bleed, speed, rng)
                seg = _added(seg, seg2 * np.float32(10 ** (-rng.uniform(0, 6) / 20)))
                hits = np.concatenate([hits, hits2])
            if rng.random() < 0.5:
                seg = _shelves(seg, sample_rate, rng)
            if rng.random() < lowpass:
                seg = _band_limit(seg, sample_rate, rng)
            peak = float(np.abs(seg).max(initial=0.0))
            if peak > 0:
                seg = seg / peak * np.float32(10 ** (-rng.uniform(0, 12) / 20))
            x[b, : len(seg)] = seg
            on[b], vel[b] = targets(hits, 0.0, frames, rate, k)
        yield x, on, vel


@dataclass
class CrnnTrainOptions:
    steps: int = 6000
    batch: int = 16
    seconds: float = 4.0
    lr: float = 1e-3
    bleed: float = 0.3
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 250
    log_every: int = 25
    valid_songs: int = 40  # scored at each checkpoint, from each --valid corpus
    speed: float = 0.0  # share of excerpts played 3 semitones slower to 3 faster
    lowpass: float = 0.0  # share of excerpts band-limited at 5-11 kHz
    layer: float = 0.0  # share of excerpts with another song's drums layered on
    init: str | None = None  # a model (registry name or file) whose weights a new run starts from


def train(
    corpora: list[Path],
    valid: list[Path],
    run_dir: Path,
    opts: CrnnTrainOptions,
    *,
    config: dict[str, Any] | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a CRNN in ``run_dir``; ``best.pt`` has the best validation mean F1."""
    import torch
    import torch.nn.functional as F

    from mtk.trainloop import Run, Schedule, cosine, fit
    from mtk.transcribe.crnn import CrnnConfig, DrumCRNN
    from mtk.transcribe.eval import load_songs

    torch.manual_seed(opts.seed)
    cfg = CrnnConfig(**(config or {}))
    net = DrumCRNN(cfg).to(opts.device)
    train_songs = load_hit_songs(corpora, split="train", sample_rate=cfg.sample_rate, bleed=opts.bleed > 0)
    valid_songs = [  # the first ``valid_songs`` of each corpus, so that every one has its say
        s
        for corpus in valid
        for s in load_songs(corpus, split="valid", sample_rate=cfg.sample_rate, limit=opts.valid_songs)
    ]
    optim = torch.optim.Adam(net.parameters(), lr=opts.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: cosine(s, opts.steps))
    meta = {
        "train": [str(c) for c in corpora],
        "valid": [str(c) for c in valid],
        "train_songs": len(train_songs),
        "options": {k: v for k, v in vars(opts).items() if k != "device"},
    }
    run = Run(run_dir, ARCH, cfg.to_dict(), "valid_f1", lower=False, meta=meta, match=("train",))

    def stream(step: int) -> Iterator[Any]:
        return batches(
            train_songs, batch=opts.batch, seconds=opts.seconds, sample_rate=cfg.sample_rate, hop=cfg.hop,
            k=cfg.n_components, bleed=opts.bleed, seed=opts.seed * 1_000_003 + step, speed=opts.speed,
            lowpass=opts.lowpass, layer=opts.layer,
        )  # fmt: skip

    def fresh() -> None:  # a new run: start from --init's weights
        if opts.init:
            from mtk.transcribe.infer import load

            start = load(opts.init)
            if start.kind != "crnn" or start.cfg != cfg:
                from mtk.errors import UsageError

                raise UsageError(f"--init {opts.init}: not a CRNN of this configuration")
            net.load_state_dict(start.net.state_dict())

    def loss(batch: Any) -> tuple[Any, dict[str, Any]]:
        x, on, vel = (torch.from_numpy(a).to(opts.device) for a in batch)
        logits, v = net(x)
        onset_loss = F.binary_cross_entropy_with_logits(logits, on)
        hit = on >= 1.0
        vel_loss = ((v - vel)[hit] ** 2).mean() if bool(hit.any()) else torch.zeros((), device=x.device)
        return onset_loss + vel_loss, {"onset": round(onset_loss.item(), 5), "velocity": round(vel_loss.item(), 5)}

    def validate() -> dict[str, Any]:
        from mtk.transcribe.infer import CrnnTranscriber

        transcriber = CrnnTranscriber(net, name="run", device=opts.device)
        scores = transcriber.score(valid_songs)
        net.train()
        return {"valid_f1": scores["mean_f1"], **{f"valid_{c}": scores[c]["f1"] for c in ("kick", "snare", "hihat")}}

    return fit(
        run, net, optim, sched, Schedule(opts.steps, opts.checkpoint_every, opts.log_every, clip=5.0),
        batches=stream, loss=loss, validate=validate, fresh=fresh, on_log=on_log,
    )  # fmt: skip


def finalize(run_dir: Path, valid: list[Path], *, device: str = "cpu", limit: int | None = None) -> tuple[Path, dict]:
    """Tune ``best.pt``'s thresholds (peak probability and onset gate for kick, snare and
    hi-hat; peak probability for toms, crash and ride) on the valid split of ``valid`` and
    write ``run_dir/model.pt`` with them."""
    from mtk.transcribe.components import drum_onsets
    from mtk.transcribe.eval import component_thresholds, load_songs, score, tune_extra, tune_thresholds
    from mtk.transcribe.infer import load
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    best = run_dir / "best.pt"
    transcriber = load(str(best), device)
    sr = transcriber.cfg.sample_rate
    songs = [s for corpus in valid for s in load_songs(corpus, split="valid", sample_rate=sr, limit=limit)]
    acts = [transcriber.activations(s.audio) for s in songs]
    onsets = [drum_onsets(s.audio, sr) for s in songs]
    untuned = dict.fromkeys(EVAL_CLASSES, 0.5), dict.fromkeys(EVAL_CLASSES, 0.0)
    thresholds, gates = tune_thresholds(
        songs, acts, transcriber.rate, onsets=onsets, sr=sr, fallback=untuned, system="the CRNN"
    )
    scores = score(songs, acts, transcriber.rate, thresholds, onsets=onsets, onset_thresholds=gates, sr=sr)
    extra = tune_extra(songs, acts, transcriber.rate)  # toms, crash, ride
    ckpt = load_checkpoint(best, arch=ARCH)
    meta = {
        **ckpt.get("meta", {}),
        "thresholds": extra | component_thresholds(thresholds),
        "onset_thresholds": component_thresholds(gates),
        "valid_scores": scores,
        "step": int(ckpt.get("step", 0)),
    }
    path = save_checkpoint(
        run_dir / "model.pt", arch=ARCH, config=ckpt["config"], state_dict=ckpt["state_dict"], meta=meta
    )
    return path, {"thresholds": thresholds | extra, "onset_thresholds": gates, **scores}
