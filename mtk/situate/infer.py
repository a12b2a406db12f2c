"""Situation prediction API: per-stream predictions, "right now" and situational sessions.

``load(ausp=..., dusp=...)`` gives a :class:`Situator` holding either branch or both:

- duSP (``situate-dusp-v1``): ``P(c | device context, demographics)``;
- auSP (``situate-ausp-v2``): ``P(c | track audio, user)``; the user is an embedding of their
  listening history, from the model's table of the users it was trained with, or folded in
  from a history given at run time (``--history``: plays of the tracks the model was trained
  on, and, with a model that has a content map, of any audio, its factor row predicted from
  how it sounds); a user with neither (or whose history has no usable track) gets the zero
  embedding (the model then reads the audio alone), with a warning from the CLI;
- joint: ``P(c | all) ∝ P_auSP(c | a, u) · P_duSP(c | d, g)``. auSP is trained with
  class-balanced weights, so its output carries a flat prior, and the product is the naive
  Bayes combination of the two views with duSP's class prior counted once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.device import is_cpu
from mtk.errors import BadModelError, UsageError
from mtk.situate.schema import Streams

DEFAULT_AUSP = "situate-ausp-v2"
DEFAULT_DUSP = "situate-dusp-v1"
AUSP_TASK, DUSP_TASK = "situate-ausp", "situate-dusp"


@dataclass
class AudioBranch:
    model: Any  # mtk.situate.model.AuSP, eval mode
    situations: tuple[str, ...]
    users: dict[str, int]
    user_vectors: np.ndarray  # (users, 128)
    embedder: Any  # mtk.situate.users.UserEmbedder
    name: str
    device: str = "cpu"
    content_map: Any = None  # mtk.situate.users.ContentMap: factor rows of tracks heard, not known

    def user_vector(
        self, user: str, history: Mapping[str, float] | None = None, heard: Mapping[str, np.ndarray] | None = None
    ) -> np.ndarray | None:
        """From ``history`` when given (its tracks the factorization knows, and those of
        ``heard``: rows :meth:`hear` predicted), else the model's table. None when the history
        has no usable track (the model's own user of that id is someone else) or, without a
        history, the model does not know the user."""
        if history is not None:
            vector = self.embedder.embed({user: history}, heard)[0]
            return vector if vector.any() else None
        if user in self.users:
            return self.user_vectors[self.users[user]]
        return None

    def unknown_tracks(self, histories: Mapping[str, Mapping[str, float]]) -> list[str]:
        """The histories' tracks the factorization does not know, sorted."""
        return sorted({t for plays in histories.values() for t in plays if not self.embedder.knows(t)})

    def hear(
        self, paths: Mapping[str, str], *, progress: Any = lambda xs: xs
    ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """Factor rows of tracks the model was not trained on, from their audio (``track ->
        audio path``) through the content map, each file heard as the map was fitted (the
        model's own audio branch, or an ``mtk embed`` model); and the tracks whose audio could
        not be read, with why."""
        if self.content_map is None:
            raise UsageError(f"{self.name} has no content map: it folds in only tracks it was trained on")
        from mtk.situate.content import content_vectors

        heard, failed, _ = content_vectors(paths, self.content_map.embed_model, branch=self, progress=progress)
        if not heard:
            return {}, failed
        rows = self.content_map.predict(np.stack(list(heard.values())))
        return dict(zip(heard, rows, strict=True)), failed

    def audio_of(
        self, paths: Mapping[str, str], *, progress: Any = lambda xs: xs
    ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """The audio branch's ``(256,)`` embedding of each file (``track -> path``), and the
        tracks whose audio could not be read, with why. One file's mel at a time, so a history
        of any size holds one mel in memory."""
        from mtk.errors import InputError
        from mtk.situate.audio import read_log_mel

        heard, failed = {}, {}
        for track in progress(list(paths)):
            try:
                mel = read_log_mel(paths[track])
            except InputError as exc:
                failed[track] = str(exc)
                continue
            heard[track] = self.audio_embeddings(mel[None])[0]
        return heard, failed

    def audio_embeddings(self, mels: np.ndarray, *, batch: int | None = None) -> np.ndarray:
        """``(n, 96, 646)`` dB mels -> ``(n, 256)``; one mel at a time on a CPU (batches of 8 cost
        more per mel there: 29 vs 24 ms on one core), 16 on a GPU."""
        import torch

        batch = batch or (1 if is_cpu(self.device) else 16)
        out = []
        with torch.inference_mode():
            for lo in range(0, len(mels), batch):
                x = torch.from_numpy(np.asarray(mels[lo : lo + batch], dtype=np.float32)).to(self.device)
                out.append(self.model.audio_embedding(x).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.audio_dim), np.float32)

    def proba(self, audio: np.ndarray, users: np.ndarray) -> np.ndarray:
        """Audio embeddings ``(n, 256)`` and user embeddings ``(n, 128)`` -> ``(n, C)``."""
        import torch

        with torch.inference_mode():
            a = torch.from_numpy(np.asarray(audio, dtype=np.float32)).to(self.device)
            u = torch.from_numpy(np.asarray(users, dtype=np.float32)).to(self.device)
            return torch.softmax(self.model.classify(a, u), dim=1).double().cpu().numpy()


def joint(p_audio: np.ndarray, p_device: np.ndarray) -> np.ndarray:
    p = p_audio * p_device
    return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-300)


def top_k(p: np.ndarray, situations: Sequence[str], k: int) -> list[list[dict[str, Any]]]:
    order = np.argsort(-p, axis=1)[:, :k]
    return [
        [{"situation": situations[j], "p": round(float(row[j]), 4)} for j in idx]
        for row, idx in zip(p, order, strict=True)
    ]


class Situator:
    def __init__(self, audio: AudioBranch | None, dusp: Any | None) -> None:
        if audio is None and dusp is None:
            raise UsageError("no model: give an auSP, a duSP or both")
        if audio is not None and dusp is not None and tuple(audio.situations) != tuple(dusp.situations):
            raise BadModelError(
                f"the auSP and duSP models tag different situations ({len(audio.situations)} vs {len(dusp.situations)})"
            )
        self.audio, self.dusp = audio, dusp
        self.situations = tuple(audio.situations if audio is not None else dusp.situations)

    def device_proba(self, streams: Streams) -> np.ndarray:
        if self.dusp is None:
            raise UsageError("no duSP model loaded")
        return self.dusp.predict_proba(streams)

    def user_matrix(
        self,
        users: Sequence[str],
        histories: Mapping[str, Mapping[str, float]] | None = None,
        heard: Mapping[str, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, list[str]]:
        """``(len(users), 128)`` embeddings and the users auSP cannot embed (no usable history
        given, and, without one, not a user of the model's)."""
        assert self.audio is not None
        histories = histories or {}
        rows, unknown = [], []
        for user in users:
            vector = self.audio.user_vector(user, histories.get(user), heard)
            if vector is None:
                unknown.append(user)
                vector = np.zeros(self.audio.model.config.user_dim)
            rows.append(vector)
        return np.asarray(rows, dtype=np.float32).reshape(len(users), -1), unknown

    def predict(
        self,
        streams: Streams,
        *,
        k: int = 3,
        audio: Mapping[str, np.ndarray] | None = None,
        histories: Mapping[str, Mapping[str, float]] | None = None,
        heard: Mapping[str, np.ndarray] | None = None,
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """One record per stream with the top ``k`` situations of each loaded branch and, with
        both, the joint; ``audio`` maps each stream's track to its audio embedding
        (:meth:`AudioBranch.audio_embeddings`). Also returns the users auSP could not embed."""
        p_device = self.device_proba(streams) if self.dusp is not None else None
        p_audio, unknown = None, []
        if self.audio is not None:
            if audio is None:
                raise UsageError("auSP needs the tracks' audio")
            users = sorted(set(streams.user))
            vectors, unknown = self.user_matrix(users, histories, heard)
            row = {u: i for i, u in enumerate(users)}
            p_audio = self.audio.proba(
                np.stack([audio[t] for t in streams.track]), vectors[[row[u] for u in streams.user]]
            )
        records = []
        tops = {
            name: top_k(p, self.situations, k)
            for name, p in (
                ("dusp", p_device),
                ("ausp", p_audio),
                ("joint", joint(p_audio, p_device) if p_audio is not None and p_device is not None else None),
            )
            if p is not None
        }
        for i in range(len(streams)):
            record: dict[str, Any] = {"row": i + 1, "user": streams.user[i]}
            if streams.track[i]:
                record["track"] = streams.track[i]
            if streams.timestamp:
                record["timestamp"] = streams.timestamp[i]
            records.append(record | {name: top[i] for name, top in tops.items()})
        return records, unknown

    def now(self, context: Mapping[str, object], *, k: int = 3) -> dict[str, Any]:
        """duSP's top ``k`` for one user's device context (``timestamp`` defaults to now)."""
        from datetime import datetime

        from mtk.situate.schema import parse_streams

        row = dict(context)
        if not row.get("timestamp"):
            row["timestamp"] = datetime.now().replace(microsecond=0).isoformat()
        streams = parse_streams([row], source="now", need=("timestamp", "device", "network"))
        p = self.device_proba(streams)
        return {
            "user": row.get("user"),
            "timestamp": streams.timestamp[0],
            "situations": top_k(p, self.situations, k)[0],
        }

    def session(
        self,
        user: str,
        situation: str,
        tracks: Sequence[str],
        audio: np.ndarray,
        *,
        n: int = 20,
        history: Mapping[str, float] | None = None,
        heard: Mapping[str, np.ndarray] | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """``tracks`` (with their audio embeddings ``(n, 256)``) ranked by auSP's probability of
        ``situation`` for ``user``, best ``n``; and whether the user was known (from the model
        or ``history``)."""
        if self.audio is None:
            raise UsageError("a session needs the auSP model")
        if situation not in self.situations:
            raise UsageError(f"unknown situation {situation!r} (expected {', '.join(self.situations)})")
        vectors, unknown = self.user_matrix([user], {user: history} if history is not None else None, heard)
        p = self.audio.proba(audio, np.repeat(vectors, len(tracks), axis=0))[:, self.situations.index(situation)]
        order = np.argsort(-p, kind="stable")[:n]
        ranked = [
            {"rank": r + 1, "track": tracks[i], "situation": situation, "p": round(float(p[i]), 4)}
            for r, i in enumerate(order)
        ]
        return ranked, not unknown


def _resolve(name: str | None, default: str, task: str) -> tuple[str, Path | None, Any]:
    """(name, path or None for a debug entry, registry entry or None)."""
    from mtk.weights.registry import check_task, get_entry
    from mtk.weights.store import looks_like_path, resolve

    name = name or default
    if not looks_like_path(name):
        entry = check_task(get_entry(name), task)
        if entry.debug:
            return entry.name, None, entry
    resolved = resolve(name, task=task)
    return resolved.name, resolved.path, None


def load_ausp_file(path: Path) -> dict[str, Any]:
    """An auSP inference file's contents; a training checkpoint (``run/last.pt``: weights and
    optimizer, no users nor factorization) is a usage error."""
    from mtk.situate.train import ARCH
    from mtk.weights.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path, arch=ARCH)
    if "track_factors" not in ckpt:
        raise BadModelError(
            f"{path}: a training checkpoint (last.pt), not an auSP model", hint="give the run's ausp.pt"
        )
    return ckpt


def load_ausp(name: str | None = None, device: str = "cpu") -> AudioBranch:
    import torch

    from mtk.situate.model import AuSP, AuSPConfig
    from mtk.situate.schema import tag_set
    from mtk.situate.users import DIM, ContentMap, UserEmbedder
    from mtk.weights.checkpoint import build_module, dequantize_rows

    label, path, entry = _resolve(name, DEFAULT_AUSP, AUSP_TASK)
    if path is None:
        torch.manual_seed(entry.seed)
        config = dict(entry.config)
        model = AuSP(
            build_module(AuSPConfig, {**config, "channels": tuple(config.get("channels", (32, 64, 128, 256)))})
        )
        situations = tag_set(model.config.n_classes)
        embedder = UserEmbedder([], np.zeros((0, DIM), np.float32))
        return AudioBranch(
            model.to(device, memory_format=torch.channels_last).eval(),
            situations,
            {},
            np.zeros((0, DIM), np.float32),
            embedder,
            label,
            device,
        )
    ckpt = load_ausp_file(path)
    config = dict(ckpt["config"])
    config["channels"] = tuple(config.get("channels", (32, 64, 128, 256)))
    model = AuSP(build_module(AuSPConfig, config))
    state = {k: v.float() for k, v in ckpt["state_dict"].items()}
    state |= {k: dequantize_rows(packed) for k, packed in ckpt.get("int8", {}).items()}
    model.load_state_dict(state)
    users = {u: i for i, u in enumerate(ckpt.get("users", []))}
    vectors = ckpt["user_vectors"].float().numpy() if "user_vectors" in ckpt else np.zeros((0, DIM), np.float32)
    embedder = UserEmbedder(ckpt.get("tracks", []), ckpt["track_factors"].float().numpy())
    situations = tuple(ckpt["meta"]["situations"])
    content = ContentMap.from_checkpoint(ckpt["content_map"]) if "content_map" in ckpt else None
    return AudioBranch(
        model.to(device, memory_format=torch.channels_last).eval(),
        situations,
        users,
        vectors,
        embedder,
        label,
        device,
        content,
    )


def load_dusp(name: str | None = None) -> Any:
    from mtk.situate.dusp import DuSP

    label, path, entry = _resolve(name, DEFAULT_DUSP, DUSP_TASK)
    if path is None:
        return debug_dusp(entry.seed, int(entry.config.get("n_classes", 12)))
    model = DuSP.load(path)
    model.meta = {**model.meta, "name": label}
    return model


def debug_dusp(seed: int, n_classes: int) -> Any:
    """A duSP fitted in a second on 600 streams simulated over 24 metadata-only tracks (tests only)."""
    from mtk.situate.dusp import DuSP
    from mtk.situate.schema import parse_streams, tag_set
    from mtk.situate.simulate import Track, simulate

    styles = ("rock", "ballad", "electronic", "folk")
    tracks = [Track(f"t{i}", styles[i % 4], 70.0 + 3 * i, (i + 0.5) / 24) for i in range(24)]
    _, rows, _ = simulate(tracks, n_users=40, n_streams=600, seed=seed)
    situations = tag_set(n_classes)
    streams = parse_streams([r for r in rows if r["situation"] in situations], situations=situations)
    model = DuSP.fit(streams, situations, seed=seed, n_estimators=10, max_depth=3)
    model.meta = {"name": f"situate-dusp-debug (seed {seed})"}
    return model


def load(ausp: str | None = None, dusp: str | None = None, *, device: str = "cpu", use: str = "both") -> Situator:
    """``use``: ``both``, ``ausp`` or ``dusp`` (which branches to load)."""
    audio = load_ausp(ausp, device) if use in ("both", "ausp") else None
    device_model = load_dusp(dusp) if use in ("both", "dusp") else None
    return Situator(audio, device_model)
