"""Training both situate branches on labelled streams, listening history and track audio.

Data (:func:`load_data`): the labelled streams of one tag set, each track resolved to an
audio file (a path as given, relative to the stream file or the working folder, or a song id
of an ``--audio`` corpus) and turned into its log-mel once (:class:`~mtk.situate.audio.MelCache`);
the history gives user embeddings (:mod:`mtk.situate.users`), fitted on training users only.

auSP training (:func:`train_ausp`): Adam (lr 1e-3, weight decay 1e-4) on class-weighted cross
entropy, as in the paper's code (the paper's text says lr 0.1, which does not train with
Adam). A batch holds ``tracks`` tracks drawn in proportion to their streams and
``streams_per_track`` of each track's streams: the audio branch, the costly part, runs once
per track, and the streams are still drawn as the data has them. Checkpoints
(``last.pt``) and ``log.jsonl`` make a run resumable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import InputError
from mtk.situate.schema import SITUATIONS, Streams, read_streams, tag_set
from mtk.situate.users import ContentMap, UserEmbedder, read_history_file
from mtk.trainlog import StepLog

logger = logging.getLogger(__name__)

ARCH = "ausp"
INT8_KEYS = ("audio_fc.weight",)


@dataclass
class SituateData:
    streams: Streams  # labelled streams of the tag set
    situations: tuple[str, ...]
    labels: np.ndarray  # (streams,) class index
    track_ids: list[str]  # unique tracks, as written in the streams
    track_of: np.ndarray  # (streams,) index into track_ids
    mels: np.ndarray  # (tracks, 96, 646) float16 dB
    history: dict[str, dict[str, float]]
    paths: list[str] = field(default_factory=list)  # each track's audio (empty without need_audio)


def resolve_track(track: str, *, base: Path, corpora: Sequence[Path]) -> Path | None:
    """An audio path for a stream's ``track``: a file as given (or relative to ``base``), else
    ``CORPUS/<id>/mix.wav`` in the first corpus that has it."""
    for candidate in (Path(track), base / track):
        if candidate.is_file():
            return candidate
    for corpus in corpora:
        mix = Path(corpus) / track / "mix.wav"
        if mix.is_file():
            return mix
    return None


def load_data(
    streams_path: str,
    history_path: str,
    corpora: Sequence[Path],
    *,
    n_classes: int = 12,
    cache: Any = None,
    need_audio: bool = True,
    progress: Callable[[list[str]], Any] = lambda xs: xs,
) -> SituateData:
    """The streams of tag set ``n_classes``, their tracks' log-mels (skipped without
    ``need_audio``: duSP alone) and the listening history."""
    from mtk.situate.audio import FRAMES, N_MELS, MelCache

    situations = tag_set(n_classes)
    streams = read_streams(
        streams_path, situations=SITUATIONS, need=("timestamp", "device", "network", "user", "track")
    )
    streams = streams.take(np.flatnonzero(streams.labels(situations) >= 0))  # the tag set's streams only
    if not len(streams):
        raise InputError(f"{streams_path}: no streams of the C={n_classes} situations ({', '.join(situations)})")
    check_situations(streams.labels(situations), situations, f"{streams_path}")
    history = read_history_file(history_path)
    track_ids = sorted(set(streams.track))
    base = Path(streams_path).parent
    paths = []
    for track in track_ids if need_audio else []:
        path = resolve_track(track, base=base, corpora=corpora)
        if path is None:
            row = streams.track.index(track) + 1
            raise InputError(f"{streams_path}: row {row}: column 'track': no audio for {track!r} (give --audio CORPUS)")
        paths.append(str(path))
    cache = cache or MelCache()
    mels = (
        np.stack([cache.get(p).astype(np.float16) for p in progress(paths)])
        if paths
        else np.zeros((0, N_MELS, FRAMES), np.float16)
    )
    index = {t: i for i, t in enumerate(track_ids)}
    return SituateData(
        streams=streams,
        situations=situations,
        labels=streams.labels(situations),
        track_ids=track_ids,
        track_of=np.array([index[t] for t in streams.track]),
        mels=mels,
        history=history,
        paths=paths,
    )


def check_situations(labels: np.ndarray, situations: Sequence[str], where: str) -> None:
    """Every situation of the tag set needs streams to learn from (duSP's XGBoost refuses a
    class it never sees, and auSP would never predict it): InputError naming those missing."""
    counts = np.bincount(labels[labels >= 0], minlength=len(situations))
    missing = [s for s, n in zip(situations, counts, strict=True) if n == 0]
    if missing:
        raise InputError(
            f"{where}: no streams of {len(missing)} of the {len(situations)} situations ({', '.join(missing)})",
            hint="simulate more streams (mtk corpus streams), or train a smaller tag set (-C 4 or -C 8)",
        )


@dataclass
class AuSPOptions:
    steps: int = 3000
    tracks: int = 16
    streams_per_track: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 100
    log_every: int = 20
    threads: int | None = None


def user_vectors(data: SituateData, embedder: UserEmbedder) -> tuple[list[str], np.ndarray]:
    """Every user of the streams and their embedding from history (zeros without history)."""
    users = sorted(set(data.streams.user))
    return users, embedder.embed({u: data.history.get(u, {}) for u in users})


def fit_embedder(data: SituateData, train_idx: np.ndarray, *, seed: int = 0) -> UserEmbedder:
    """User embeddings fitted on the histories of the users of the training streams only."""
    users = {data.streams.user[i] for i in train_idx}
    return UserEmbedder.fit({u: h for u, h in data.history.items() if u in users}, seed=seed)


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """``len / count`` per class as in the paper's code, divided by the number of classes so a
    balanced set weighs 1 each (classes without streams get 0)."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    return np.where(counts > 0, len(labels) / np.maximum(counts, 1), 0.0) / n_classes


def train_ausp(
    data: SituateData,
    train_idx: np.ndarray,
    embedder: UserEmbedder,
    opts: AuSPOptions,
    *,
    run: Path | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> Any:
    """Train (or, with ``run`` holding ``last.pt``, resume) an auSP; returns the module in eval mode."""
    import torch
    import torch.nn.functional as F

    from mtk.situate.model import AuSP, AuSPConfig
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    if opts.threads:
        torch.set_num_threads(opts.threads)
    if run:
        run.mkdir(parents=True, exist_ok=True)
    last = run / "last.pt" if run else None
    state = load_checkpoint(last, arch=ARCH) if last and last.exists() else None
    cfg = AuSPConfig(n_classes=len(data.situations))
    torch.manual_seed(opts.seed)
    model = AuSP(cfg).to(opts.device, memory_format=torch.channels_last)
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    step = 0
    if state:
        model.load_state_dict(state["state_dict"])
        optim.load_state_dict(state["optimizer"])
        step = int(state["step"])
    users, vectors = user_vectors(data, embedder)
    user_row = {u: i for i, u in enumerate(users)}
    user_of = np.array([user_row[u] for u in data.streams.user])
    user_t = torch.from_numpy(vectors).float().to(opts.device)
    weights = torch.tensor(class_weights(data.labels[train_idx], cfg.n_classes), dtype=torch.float32)
    weights = weights.to(opts.device)
    grouped: dict[int, list[int]] = {}
    for i in train_idx:
        grouped.setdefault(int(data.track_of[i]), []).append(int(i))
    by_track = {t: np.array(group) for t, group in grouped.items()}
    tracks = np.array(sorted(by_track))
    p_track = np.array([len(by_track[t]) for t in tracks], dtype=np.float64)
    p_track /= p_track.sum()
    rng = np.random.default_rng([opts.seed, step])

    def save() -> None:
        if last is None:
            return
        meta = {"situations": list(data.situations), "steps": step, "options": asdict(opts)}
        save_checkpoint(
            last,
            arch=ARCH,
            config=cfg.to_dict(),
            state_dict=model.state_dict(),
            optimizer=optim.state_dict(),
            step=step,
            meta=meta,
        )

    log_file = (run / "log.jsonl").open("a") if run else None
    log = StepLog(log_file, on_log)
    model.train()
    try:
        while step < opts.steps:
            picked = rng.choice(tracks, size=min(opts.tracks, len(tracks)), replace=False, p=p_track)
            streams = np.concatenate([rng.choice(by_track[int(t)], opts.streams_per_track) for t in picked])
            mel = torch.from_numpy(data.mels[picked].astype(np.float32)).to(opts.device)
            audio = model.audio_embedding(mel).repeat_interleave(opts.streams_per_track, dim=0)
            logits = model.classify(audio, user_t[torch.from_numpy(user_of[streams]).to(opts.device)])
            target = torch.from_numpy(data.labels[streams]).to(opts.device)
            loss = F.cross_entropy(logits, target, weight=weights)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            step += 1
            log.add(loss.item())
            if step % opts.log_every == 0 or step == opts.steps:
                log.record(step)
            if step % opts.checkpoint_every == 0 or step == opts.steps:
                save()
    finally:
        if log_file:
            log_file.close()
    return model.eval()


def predict_ausp(
    model: Any, data: SituateData, idx: np.ndarray, embedder: UserEmbedder, *, batch: int = 32
) -> np.ndarray:
    """``(len(idx), C)`` probabilities for streams ``idx``; each track's audio embedding computed once."""
    import torch

    device = next(model.parameters()).device
    needed = np.unique(data.track_of[idx])
    audio = {}
    with torch.inference_mode():
        for lo in range(0, len(needed), batch):
            chunk = needed[lo : lo + batch]
            mel = torch.from_numpy(data.mels[chunk].astype(np.float32)).to(device)
            for t, e in zip(chunk, model.audio_embedding(mel), strict=True):
                audio[int(t)] = e
        users = sorted({data.streams.user[i] for i in idx})
        vectors = embedder.embed({u: data.history.get(u, {}) for u in users})
        row = {u: i for i, u in enumerate(users)}
        out = []
        for lo in range(0, len(idx), 4096):
            part = idx[lo : lo + 4096]
            a = torch.stack([audio[int(data.track_of[i])] for i in part])
            u = torch.from_numpy(vectors[[row[data.streams.user[i]] for i in part]]).float().to(device)
            out.append(torch.softmax(model.classify(a, u), dim=1).cpu().numpy())
    return np.concatenate(out).astype(np.float64)


@dataclass
class RunOptions:
    split: str = "warm"  # or "none": train on every stream
    split_seed: int = 0
    dusp_threads: int = 1
    content_embed: str | None = "ausp"  # the content map's ears: the model's audio branch, or an mtk embed model
    content_map: bool = True  # fit one (needs the tracks' audio)


def export_ausp(
    model: Any,
    data: SituateData,
    embedder: UserEmbedder,
    path: Path,
    *,
    content_map: ContentMap | None = None,
    **meta: Any,
) -> Path:
    """The inference file: auSP weights, situations, the history factorization and the
    embeddings of the users it was trained with. Weights are float16 except the flatten -> FC 256
    layer (15.7 M of the 16.2 M weights), stored as int8 per output row (:data:`INT8_KEYS`), so
    the file is about 17 MB instead of 32 MB in float16."""
    import torch

    from mtk.io.files import atomic_write
    from mtk.weights.checkpoint import checkpoint_bytes, quantize_rows

    users, vectors = user_vectors(data, embedder)
    state = dict(model.state_dict())
    int8 = {key: quantize_rows(state.pop(key)) for key in INT8_KEYS}
    data_bytes = checkpoint_bytes(
        arch=ARCH,
        config=model.config.to_dict(),
        state_dict=state,
        half=True,
        int8=int8,
        users=users,
        user_vectors=torch.from_numpy(vectors).half(),
        tracks=embedder.tracks,
        track_factors=torch.from_numpy(embedder.factors),
        **({"content_map": content_map.to_checkpoint()} if content_map is not None else {}),
        meta={"situations": list(data.situations), **meta},
    )
    return atomic_write(path, data_bytes, force=True)


def train_run(
    data: SituateData,
    run: Path,
    run_opts: RunOptions,
    ausp_opts: AuSPOptions,
    *,
    command: list[str],
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """duSP and auSP on the training part of one split (or all streams); scores on its test part.

    Writes ``run/dusp.ubj``, ``run/ausp.pt`` (for ``mtk situate --dusp/--ausp``), ``run/last.pt``
    and ``run/log.jsonl`` (training state), and ``run/scores.json``.
    """
    from mtk.io.files import atomic_write
    from mtk.situate.content import fit_content_map
    from mtk.situate.dusp import DuSP
    from mtk.situate.metrics import branch_scores
    from mtk.situate.splits import make_split

    run.mkdir(parents=True, exist_ok=True)
    if run_opts.split == "none":
        train_idx, test_idx = np.arange(len(data.labels)), np.zeros(0, dtype=int)
    else:
        split = make_split(data.streams, run_opts.split, run_opts.split_seed)
        train_idx, test_idx = split.train, split.test
        check_situations(data.labels[train_idx], data.situations, f"the training part of the {run_opts.split} split")
    embedder = fit_embedder(data, train_idx, seed=ausp_opts.seed)
    provenance = {
        "command": command,
        "split": run_opts.split,
        "split_seed": run_opts.split_seed,
        "train_streams": int(len(train_idx)),
        "tracks": len(data.track_ids),
        "users": len(set(data.streams.user)),
    }
    dusp = DuSP.fit(data.streams.take(train_idx), data.situations, seed=ausp_opts.seed, threads=run_opts.dusp_threads)
    dusp.meta = provenance
    dusp.save(run / "dusp.ubj")
    model = train_ausp(data, train_idx, embedder, ausp_opts, run=run, on_log=on_log)
    export_ausp(model, data, embedder, run / "ausp.pt", **provenance, steps=ausp_opts.steps)
    if run_opts.content_map and data.paths:
        from mtk.situate.infer import load_ausp

        pairs = [(t, p) for t, p in zip(data.track_ids, data.paths, strict=True) if embedder.knows(t)]
        branch = load_ausp(str(run / "ausp.pt"), ausp_opts.device)  # heard as inference will hear
        content = fit_content_map(pairs, embedder, source=run_opts.content_embed, branch=branch)
        if content is not None:
            provenance["content"] = {"embed_model": content.embed_model, "cv_r2": round(content.cv_r2, 4)}
            export_ausp(
                model, data, embedder, run / "ausp.pt", content_map=content, **provenance, steps=ausp_opts.steps
            )
    scores: dict[str, Any] = {"situations": list(data.situations), **provenance}
    if len(test_idx):
        y = data.labels[test_idx]
        p_audio = predict_ausp(model, data, test_idx, embedder)
        p_device = dusp.predict_proba(data.streams.take(test_idx))
        scores["test"] = branch_scores(p_audio, p_device, y)
    atomic_write(run / "scores.json", (json.dumps(scores, indent=1) + "\n").encode(), force=True)
    return scores
