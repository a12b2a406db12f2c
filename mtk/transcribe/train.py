"""Training DrummerNet without labels: reconstruct drum stems through the kit's one-shots.

Data: the drum stems (``drums.wav``) of ``mtk corpus songs`` folders of one split, each
scaled to peak 1 as a whole (inference scales whole files the same way), cut into random
2 s excerpts; nearly silent excerpts are drawn again. No onset, class or velocity of any hit
is read: the only metadata used is which recorded kit drummed the song and which of its
instruments it used for each drum (a kit may have two snares; the sample paths in
``meta.json`` tell), so the synthesizer convolves the transcription with the one-shots that
actually played (songs drummed by a soundfont are left out, as their one-shots are not in
the bank).

On the CPU the recurrent layers run as compiled loops forward and backward
(:func:`mtk.transcribe.fastgru.gru_train`, the same GRUs): a training step takes about half
the time it takes with torch's GRUs (``python benchmarks/transcribe.py``). The synthesis and
the loss compute only what they need (see :class:`~mtk.transcribe.model.DrumSynthesizer` and
:class:`~mtk.transcribe.model.MultiBandLogSpectrumLoss`): a step of 8 excerpts took 0.90 s
on one core against 1.20 s before (measured once, same loss).

Checkpoints (``run/last.pt``, every ``checkpoint_every`` steps and at the end) hold the
analysis network, the synthesizer gains, the optimiser and the step, so a run resumes
where it stopped; ``run/log.jsonl`` has the loss every ``log_every`` steps.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtk.corpus.reader import song_metas
from mtk.device import is_cpu
from mtk.errors import InputError
from mtk.io.audio import read_audio
from mtk.trainlog import StepLog

ARCH = "drummernet"


@dataclass
class StemSet:
    """Drum stems in memory with the synthesizer bank of each: ``banks[bank_of[i]]`` is the
    (kit name, instrument per class) that played stem ``i``."""

    stems: list[np.ndarray]
    bank_of: list[int]
    kit_names: list[str]
    songs: list[str]
    banks: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def load_stems(corpora: list[Path], *, split: str, sample_rate: int, kits: list[str] | None = None) -> StemSet:
    """The sampler-drummed songs of ``split`` in ``corpora``; ``kits`` restricts and orders the
    kits. Songs that played the same instruments of the same kit share a bank."""
    from mtk.corpus.kits import installed_kits
    from mtk.transcribe.components import played_instruments
    from mtk.transcribe.infer import MIN_SECONDS

    installed = {k.name: k for k in installed_kits()}
    found = []
    for corpus in corpora:
        for folder, meta in song_metas(corpus, need=("split", "drums", "drum_hits")):
            if meta["split"] == split and meta["drums"]["mode"] == "sampler" and (folder / "drums.wav").is_file():
                kit = meta["drums"]["kit"]
                played = played_instruments(installed[kit], meta["drum_hits"]) if kit in installed else {}
                found.append((folder, kit, played))
    if not found:
        raise InputError(f"no {split}-split songs drummed by a recorded kit in {', '.join(map(str, corpora))}")
    names = list(kits) if kits is not None else sorted({k for _, k, _ in found})
    keys = sorted({(k, tuple(sorted(p.items()))) for _, k, p in found if k in names})
    stems, idx, songs = [], [], []
    for folder, kit, played in found:
        if kit not in names:
            continue
        y, _ = read_audio(folder / "drums.wav", sr=sample_rate, mono=True, min_duration=MIN_SECONDS)
        peak = float(np.abs(y).max(initial=0.0))
        if peak > 0:
            stems.append((y / peak).astype(np.float32))
            idx.append(keys.index((kit, tuple(sorted(played.items())))))
            songs.append(folder.name)
    return StemSet(stems, idx, names, songs, [(k, dict(p)) for k, p in keys])


def sample_batch(data: StemSet, rng: np.random.Generator, *, batch: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(batch, length)`` excerpts and their bank indices; excerpts quieter than -50 dB RMS redrawn."""
    xs, ks = [], []
    while len(xs) < batch:
        i = int(rng.integers(len(data.stems)))
        y = data.stems[i]
        if len(y) < length:
            continue
        start = int(rng.integers(len(y) - length + 1))
        seg = y[start : start + length]
        if float(np.sqrt(np.mean(seg**2))) < 10 ** (-50 / 20):
            continue
        xs.append(seg)
        ks.append(data.bank_of[i])
    return np.array(xs, np.float32).reshape(batch, length), np.array(ks, np.int64)


# Random-hit excerpts: per excerpt each drum plays with this probability (the other drums: toms,
# cymbals, clap and side stick, PLAYS_OTHER), at 0.5-4 hits a second, independently of the others.
PLAYS = {"kick": 0.7, "snare": 0.7, "hihat_closed": 0.7, "hihat_open": 0.3}
PLAYS_OTHER = 0.2


def random_hit_batch(
    bank: np.ndarray, rng: np.random.Generator, *, batch: int, length: int, sample_rate: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(batch, length)`` excerpts rendered from ``bank``'s one-shots hit at random, with the
    bank index of each.

    Corpus songs follow drum patterns (a snare nearly always sounds with a hi-hat), which a
    network may learn as a prior. These excerpts break every co-occurrence: each drum of a
    random bank plays or not, at its own random rate, random times (any sample) and random
    amplitudes (0.1-1). Hits up to a one-shot's length before the excerpt ring into it, as in a
    song. Each excerpt is scaled to a random peak in 0.3-1 (stems are scaled to peak 1 as a
    whole). No hit list reaches the loss: it compares the excerpt with the resynthesis of the
    network's transcription, as for the songs. Measured in the transcribe-drummernet-v2 card: a
    quarter of each batch fixed the snares of the known-hits test stem and raised validation
    F1, but lowered F1 on the held-out kits.
    """
    from scipy.signal import fftconvolve

    from mtk.transcribe.components import COMPONENTS

    n_banks, _, shot = bank.shape
    span = length + shot
    xs, ks = [], []
    while len(xs) < batch:
        k = int(rng.integers(n_banks))
        y = np.zeros(span + shot - 1)
        for c, name in enumerate(COMPONENTS):
            if not bank[k, c].any() or rng.random() >= PLAYS.get(name, PLAYS_OTHER):
                continue
            count = rng.poisson(rng.uniform(0.5, 4.0) * span / sample_rate)
            train = np.zeros(span)
            np.add.at(train, rng.integers(span, size=count), rng.uniform(0.1, 1.0, size=count))
            y += fftconvolve(train, bank[k, c])
        seg = y[shot : shot + length]
        peak = float(np.abs(seg).max(initial=0.0))
        if peak < 1e-3:  # nothing hit inside the excerpt
            continue
        xs.append((seg * rng.uniform(0.3, 1.0) / peak).astype(np.float32))
        ks.append(k)
    return np.stack(xs), np.array(ks)


@dataclass
class TrainOptions:
    steps: int = 20_000
    batch: int = 16
    seconds: float = 2.048  # 2 s, rounded up to the U-Net's grid (a multiple of 1,024 samples)
    lr: float = 4e-4
    seed: int = 0
    device: str = "cpu"
    anneal_steps: int = 1000  # component-sparsemax temperature goes from t0 down to 1 over these steps
    t0: float = 5.0
    checkpoint_every: int = 100
    log_every: int = 20
    threads: int | None = None
    init: str | None = None  # start from this model's weights (registry name or file); no annealing then
    keep_every: int = 0  # also keep run/step-NNNNNN.pt every this many steps, for `finalize(select=True)`
    random_hits: float = 0.0  # this fraction of each batch is random-hit excerpts (random_hit_batch)
    loss_windows: str = "frame"  # the loss's analysis windows: "frame" (its FFT frames) or "seed" (the seed code's)


LOSS_WINDOWS = ("frame", "seed")


def train(
    corpora: list[Path],
    run: Path,
    opts: TrainOptions,
    *,
    split: str = "train",
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a DrummerNet in ``run``; returns the last log record.

    With ``opts.init``, a new run starts from a trained model's analysis network and
    component gains (fine-tuning) at temperature 1: that model has been through the annealing.
    """
    import torch

    from mtk.corpus.kits import installed_kits
    from mtk.transcribe import fastgru
    from mtk.transcribe.components import kit_bank
    from mtk.transcribe.model import DrummerNet, DrummerNetConfig, DrumSynthesizer, MultiBandLogSpectrumLoss
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint
    from mtk.weights.store import resolve

    if opts.threads:
        torch.set_num_threads(opts.threads)
    if opts.loss_windows not in LOSS_WINDOWS:
        raise InputError(f"unknown loss windows {opts.loss_windows!r}", hint=f"one of {', '.join(LOSS_WINDOWS)}")
    last = run / "last.pt"
    state = load_checkpoint(last, arch=ARCH) if last.exists() else None
    trained_with = state["meta"].get("loss_windows", "frame") if state else opts.loss_windows
    if trained_with != opts.loss_windows:
        raise InputError(
            f"{run}: trained with --loss-windows {trained_with}, resumed with {opts.loss_windows}",
            hint=f"resume with --loss-windows {trained_with}",
        )
    init = load_checkpoint(resolve(opts.init, task="transcribe").path, arch=ARCH) if opts.init and not state else None
    cfg = DrummerNetConfig(**(state or init)["config"]) if state or init else DrummerNetConfig()
    data = load_stems(corpora, split=split, sample_rate=cfg.sample_rate, kits=state["meta"]["kits"] if state else None)
    by_name = {k.name: k for k in installed_kits()}
    missing = [k for k in data.kit_names if k not in by_name]
    if missing:
        raise InputError(f"kits not installed: {', '.join(missing)}", hint="make corpus-deps")
    played = [p for _, p in data.banks]
    bank_np = kit_bank([by_name[k] for k, _ in data.banks], cfg.sample_rate, played=played)
    bank = torch.from_numpy(bank_np)

    run.mkdir(parents=True, exist_ok=True)  # only once the data and the starting point are good
    torch.manual_seed(opts.seed)
    net = DrummerNet(cfg).to(opts.device)
    synth = DrumSynthesizer(bank, cfg.hop).to(opts.device)
    windows = MultiBandLogSpectrumLoss.SEED_WINDOWS if opts.loss_windows == "seed" else None
    loss_fn = MultiBandLogSpectrumLoss(cfg.sample_rate, windows=windows).to(opts.device)
    optim = torch.optim.Adam([*net.parameters(), *synth.parameters()], lr=opts.lr)
    step = 0
    if state:
        net.load_state_dict(state["state_dict"])
        synth.load_state_dict(state["synth"])
        optim.load_state_dict(state["optimizer"])
        step = int(state["step"])
    elif init:
        net.load_state_dict({k: v.float() for k, v in init["state_dict"].items()})
        gain = init.get("meta", {}).get("log_gain", init.get("synth", {}).get("log_gain"))  # model or run file
        if gain is not None:
            with torch.no_grad():
                synth.log_gain.copy_(torch.as_tensor(gain))
    fine_tune = bool(init) or bool(state and state["meta"].get("init"))
    rng = np.random.default_rng([opts.seed, step])  # a resumed run draws new excerpts
    length = int(round(opts.seconds * cfg.sample_rate / cfg.multiple)) * cfg.multiple
    meta = {"kits": data.kit_names, "songs": len(data.stems), "split": split, "corpora": [str(c) for c in corpora]}
    if fine_tune:
        meta["init"] = state["meta"]["init"] if state else opts.init
        # the kits the starting model had heard: the fine-tuned model has heard them too
        meta["init_kits"] = state["meta"].get("init_kits", []) if state else init.get("meta", {}).get("kits", [])

    def save() -> None:
        save_checkpoint(
            last,
            arch=ARCH,
            config=cfg.to_dict(),
            state_dict=net.state_dict(),
            synth=synth.state_dict(),
            optimizer=optim.state_dict(),
            step=step,
            meta={
                **meta,
                "steps": step,
                "batch": opts.batch,
                "excerpt_samples": length,
                "lr": opts.lr,
                "random_hits": opts.random_hits,
                "loss_windows": opts.loss_windows,
            },
        )

    rnn = fastgru.gru_train if is_cpu(opts.device) else None  # the same GRUs, several times faster on a CPU
    record: dict[str, Any] = {}
    with (run / "log.jsonl").open("a") as log_file:
        log = StepLog(log_file, on_log)
        while step < opts.steps:
            n_random = int(round(opts.batch * opts.random_hits))
            x, k = sample_batch(data, rng, batch=opts.batch - n_random, length=length)
            if n_random:
                xr, kr = random_hit_batch(bank_np, rng, batch=n_random, length=length, sample_rate=cfg.sample_rate)
                x, k = np.concatenate([x, xr]), np.concatenate([k, kr])
            x_t, k_t = torch.from_numpy(x).to(opts.device), torch.from_numpy(k).to(opts.device)
            temperature = 1.0 if fine_tune else 1 + (opts.t0 - 1) * max(0.0, 1 - step / max(opts.anneal_steps, 1))
            act = net(x_t, temperature, rnn)
            loss = loss_fn(synth(act, k_t), x_t)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            step += 1
            log.add(loss.item())
            if step % opts.log_every == 0 or step == opts.steps:
                record = log.record(
                    step,
                    active=round(float((act > 0).float().mean()), 5),
                    temperature=round(temperature, 3),
                    component_mass=[round(float(m), 3) for m in act.detach().sum(dim=(0, 2)) / act.shape[0]],
                )
            keep = opts.keep_every > 0 and step % opts.keep_every == 0
            if keep or step % opts.checkpoint_every == 0 or step == opts.steps:
                save()
            if keep:
                shutil.copyfile(last, run / f"step-{step:06d}.pt")
    if not last.exists():  # --steps 0 from --init: the starting model, to re-tune its thresholds
        save()
    return record


def finalize(
    run: Path, valid: list[Path], *, split: str = "valid", device: str = "cpu", select: bool = False
) -> tuple[Path, dict[str, Any]]:
    """Tune the detection and onset thresholds of ``run/last.pt`` on ``valid`` corpora's
    ``split`` songs and write ``run/model.pt``: the analysis network, thresholds and
    component gains (no synthesizer bank, no optimiser), ready for ``mtk transcribe --model``.
    With ``select``, every kept checkpoint (``run/step-*.pt``) and ``last.pt`` are tuned and
    the one with the best mean F1 on those songs is written (earlier steps win ties)."""
    from mtk.transcribe.components import drum_onsets
    from mtk.transcribe.eval import component_thresholds, load_songs, own_thresholds, score, tune_thresholds
    from mtk.transcribe.infer import load
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    candidates = [*sorted(run.glob("step-*.pt")), run / "last.pt"] if select else [run / "last.pt"]
    songs: list[Any] = []
    onsets: list[Any] = []
    tuned: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}  # step -> (checkpoint, model meta)
    for path in candidates:
        ckpt = load_checkpoint(path, arch=ARCH)
        if int(ckpt["step"]) in tuned:  # last.pt is also the latest kept step
            continue
        transcriber = load(str(path), device)
        sr = transcriber.cfg.sample_rate
        if not songs:
            songs = [s for corpus in valid for s in load_songs(corpus, split=split, sample_rate=sr)]
            onsets = [drum_onsets(s.audio, sr) for s in songs]
        acts = [transcriber.activations(s.audio) for s in songs]
        per_class, gates = tune_thresholds(
            songs, acts, transcriber.rate, onsets=onsets, sr=sr, fallback=own_thresholds(transcriber)
        )
        scores = score(
            songs, acts, transcriber.rate, per_class, transcriber.gains, onsets=onsets, onset_thresholds=gates, sr=sr
        )
        tuned[int(ckpt["step"])] = (
            ckpt,
            {
                **ckpt["meta"],
                "kits": sorted(set(ckpt["meta"]["kits"]) | set(ckpt["meta"].get("init_kits", []))),
                "thresholds": {**transcriber.thresholds, **component_thresholds(per_class)},
                "onset_thresholds": {**transcriber.onset_thresholds, **component_thresholds(gates)},
                "log_gain": ckpt["synth"]["log_gain"].tolist(),
                "tuned_on": {"corpora": [str(c) for c in valid], "split": split, "songs": len(songs), **scores},
            },
        )
    step = max(tuned, key=lambda k: (tuned[k][1]["tuned_on"]["mean_f1"], -k))
    ckpt, meta = tuned[step]
    if select:
        by_step = {str(k): m["tuned_on"]["mean_f1"] for k, (_, m) in sorted(tuned.items())}
        meta["selected"] = {"step": step, "valid_mean_f1_by_step": by_step}
    path = save_checkpoint(run / "model.pt", arch=ARCH, config=ckpt["config"], state_dict=ckpt["state_dict"], meta=meta)
    return path, meta["tuned_on"] | ({"selected": meta["selected"]} if select else {})
