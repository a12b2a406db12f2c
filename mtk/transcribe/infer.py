"""Drum transcription API: audio in, drum events (and MIDI) out.

``load(name_or_path, device)`` gives a :class:`Transcriber`; ``from_audio(y, sr)`` and
``from_file(path)`` return a :class:`Transcription`; with a ``kit``
(:func:`mtk.transcribe.refine.kit_shots`), the detections are refitted with its one-shots
(:mod:`mtk.transcribe.refine`). Any length: the input is cut into
chunks of ``chunk_s`` seconds with ``overlap_s`` on each side, run in small batches, and
only each chunk's centre is kept, so memory is bounded by the batch, not the file. Chunks
are batched through the recurrent layers, which run on the CPU as a compiled GRU scan
(:mod:`mtk.transcribe.fastgru`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtk.device import is_cpu
from mtk.errors import InputError, UsageError
from mtk.transcribe.components import COMPONENTS, GM_NOTES, TOM_COMPONENTS, detection_groups, drum_onsets
from mtk.transcribe.peaks import detect, one_per_stroke, velocities

TASK = "transcribe"
DEFAULT_MODEL = "transcribe-crnn-v4"
DEFAULT_DRUMMERNET = "transcribe-drummernet-v2"
ARCH = "drummernet"
CRNN_ARCH = "drum-crnn"
DEFAULT_THRESHOLD = 0.5
MIN_SECONDS = 0.05  # shorter audio gives the network no frame to read


@dataclass(frozen=True)
class DrumEvent:
    time: float  # seconds
    drum: str  # one of COMPONENTS
    note: int  # General MIDI percussion note
    velocity: int  # 1..127
    strength: float  # the detection's hit mass (what the threshold is compared with)
    onset: float | None = None  # the band onset strength near the hit (what the onset threshold is compared with)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": round(self.time, 4),
            "drum": self.drum,
            "note": self.note,
            "velocity": self.velocity,
            "strength": round(self.strength, 4),
            "onset": None if self.onset is None else round(self.onset, 4),
        }


@dataclass
class Transcription:
    events: list[DrumEvent]
    duration: float
    model: str
    counts: dict[str, int] = field(default_factory=dict)
    kit: str | None = None  # the kit whose one-shots refitted the hits, if any

    def to_midi(self, *, tempo: float = 120.0) -> Any:
        """A one-track MIDI file: channel 10 drums, 10 ms notes, at a nominal ``tempo``."""
        import miditoolkit

        midi = miditoolkit.MidiFile(ticks_per_beat=480)
        midi.tempo_changes = [miditoolkit.TempoChange(tempo, 0)]
        inst = miditoolkit.Instrument(program=0, is_drum=True, name="drums")
        ticks = lambda s: int(round(s * tempo / 60 * 480))  # noqa: E731
        for e in self.events:
            inst.notes.append(miditoolkit.Note(e.velocity, e.note, ticks(e.time), ticks(e.time + 0.01) + 1))
        midi.instruments = [inst]
        midi.max_tick = max([n.end for n in inst.notes], default=0)
        return midi


class Transcriber:
    """A DrummerNet analysis network with its detection and onset thresholds and component gains."""

    kind = "drummernet"  # the output key of mtk eval transcribe
    refits = True  # can refit its hits with a known kit's one-shots (mtk.transcribe.refine)

    def __init__(
        self,
        net: Any,
        *,
        name: str,
        thresholds: dict[str, float] | None = None,
        onset_thresholds: dict[str, float] | None = None,
        gains: np.ndarray | None = None,
        device: str = "cpu",
        chunk_s: float = 8.192,
        overlap_s: float = 0.256,
        batch: int = 2,
        head_batch: int = 8,
        kits: list[str] | None = None,
        kit: Any = None,
    ) -> None:
        self._common(net, name, device, thresholds, onset_thresholds)
        self.gains = np.ones(len(COMPONENTS)) if gains is None else np.asarray(gains, dtype=np.float64)
        grid = self.cfg.multiple
        self.chunk = max(grid, int(round(chunk_s * self.cfg.sample_rate / grid)) * grid)
        self.overlap = int(round(overlap_s * self.cfg.sample_rate / self.cfg.hop)) * self.cfg.hop
        self.batch, self.head_batch = batch, head_batch
        self.kits = kits  # the recorded kits it was trained with, when known
        self.kit = kit  # a refine.KitShots: refit every transcription with these one-shots

    def _common(self, net: Any, name: str, device: str, thresholds: dict | None, onset_thresholds: dict | None) -> None:
        """What every transcriber holds: the network on its device, its name and thresholds."""
        self.net = net.to(device).eval()
        self.cfg = net.config
        self.name = name
        self.device = device
        self.thresholds = {c: DEFAULT_THRESHOLD for c in COMPONENTS} | (thresholds or {})
        self.onset_thresholds = {c: 0.0 for c in COMPONENTS} | (onset_thresholds or {})

    @property
    def rate(self) -> float:
        """Activation steps per second."""
        return self.cfg.sample_rate / self.cfg.hop

    def activations(self, y: np.ndarray) -> np.ndarray:
        """``(samples,)`` mono audio at the model's rate, peak 1 -> ``(K, samples // hop)``.

        The U-Net runs ``batch`` chunks at a time (its memory grows with the samples); the
        recurrent layers, whose cost is mostly per time step, run on up to ``head_batch``
        chunks at once.
        """
        import torch

        from mtk.transcribe import fastgru

        hop, step = self.cfg.hop, self.chunk - 2 * self.overlap
        n_out = len(y) // hop
        starts = list(range(-self.overlap, max(len(y) - self.overlap, 1), step))
        out = np.zeros((self.cfg.n_components, n_out), dtype=np.float32)
        for g in range(0, len(starts), self.head_batch):
            group = starts[g : g + self.head_batch]
            feats = []
            for b in range(0, len(group), self.batch):
                x = np.zeros((len(group[b : b + self.batch]), self.chunk), dtype=np.float32)
                for i, s in enumerate(group[b : b + self.batch]):
                    lo, hi = max(s, 0), min(s + self.chunk, len(y))
                    x[i, lo - s : hi - s] = y[lo:hi]
                with torch.inference_mode():
                    feats.append(self.net.features(torch.from_numpy(x).to(self.device)))
            with torch.inference_mode():
                rnn = fastgru.gru if is_cpu(self.device) else None
                act = self.net.head(torch.cat(feats), rnn=rnn).float().cpu().numpy()  # (chunks, K, chunk / hop)
            for i, s in enumerate(group):
                first = (s + self.overlap) // hop  # output step of this chunk's kept centre
                keep = act[i, :, self.overlap // hop : (self.overlap + step) // hop]
                n = min(keep.shape[1], n_out - first)
                if n > 0:
                    out[:, first : first + n] = keep[:, :n]
        return out

    def outputs(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Activations and (for models with a velocity head) velocities in [0, 1], each ``(K, steps)``."""
        return self.activations(y), None

    def from_audio(self, y: np.ndarray, sr: int) -> Transcription:
        """Transcribe mono float audio ``y`` (samples,) at ``sr`` Hz."""
        from mtk.io.audio import resample

        y = np.asarray(y, dtype=np.float32)
        if y.ndim != 1:
            raise UsageError("expected mono audio of shape (samples,)")
        if sr != self.cfg.sample_rate:
            y = resample(y, sr, self.cfg.sample_rate)
        duration = len(y) / self.cfg.sample_rate
        if duration < MIN_SECONDS:
            raise InputError(f"audio too short ({duration:.3g} s; transcription needs at least {MIN_SECONDS:g} s)")
        peak = float(np.abs(y).max(initial=0.0))
        kit = self.kit.name if self.kit is not None else None
        if peak <= 0:
            return Transcription([], duration, self.name, {c: 0 for c in COMPONENTS}, kit)
        x = y / peak
        act, vel = self.outputs(x)
        thresholds = np.array([self.thresholds[c] for c in COMPONENTS])
        gates = np.array([self.onset_thresholds[c] for c in COMPONENTS])
        onsets = drum_onsets(x, self.cfg.sample_rate)
        peaks = detect(
            act,
            self.rate,
            thresholds,
            detection_groups(),
            onsets=onsets,
            onset_sr=self.cfg.sample_rate,
            onset_thresholds=gates,
        )
        peaks = one_per_stroke(peaks, TOM_COMPONENTS)
        if vel is None:  # DrummerNet: the hit's amplitude, as a share of the loudest
            vels = velocities(np.array([p.mass * self.gains[p.component] * peak for p in peaks]))
        else:  # a velocity head: its value at the hit
            vels = [int(np.clip(round(127 * vel[p.component, int(round(p.time * self.rate))]), 1, 127)) for p in peaks]
        events = [
            DrumEvent(p.time, COMPONENTS[p.component], GM_NOTES[COMPONENTS[p.component]], int(v), p.mass, p.onset)
            for p, v in zip(peaks, vels, strict=True)
        ]
        if self.kit is not None:
            from mtk.transcribe.refine import refine

            events = refine(self, x, events, self.kit, peak=peak)
        counts = {c: sum(e.drum == c for e in events) for c in COMPONENTS}
        return Transcription(events, duration, self.name, counts, kit)

    def from_file(self, path: str) -> Transcription:
        """Transcribe an audio file (or ``-`` for stdin), mixed down to mono."""
        from mtk.io.audio import read_audio

        y, sr = read_audio(path, sr=self.cfg.sample_rate, mono=True, min_duration=MIN_SECONDS)
        return self.from_audio(y, sr)


class CrnnTranscriber(Transcriber):
    """The supervised CRNN (:mod:`mtk.transcribe.crnn`): onset probabilities and velocities.

    Any length: chunks of ``chunk_s`` seconds with ``overlap_s`` of context on each side, a
    batch at a time; only each chunk's centre is kept, so memory is bounded by the batch."""

    kind = "crnn"
    refits = False

    def __init__(
        self,
        net: Any,
        *,
        name: str,
        thresholds: dict[str, float] | None = None,
        onset_thresholds: dict[str, float] | None = None,
        device: str = "cpu",
        chunk_s: float = 16.0,
        overlap_s: float = 1.0,
        batch: int = 4,
        kits: list[str] | None = None,
        kit: Any = None,
    ) -> None:
        # not super().__init__: DrummerNet's chunking and gains do not apply
        self._common(net, name, device, thresholds, onset_thresholds)
        self.gains = None  # velocities come from the velocity head
        hop = self.cfg.hop
        self.chunk = int(round(chunk_s * self.cfg.sample_rate / hop)) * hop
        self.overlap = int(round(overlap_s * self.cfg.sample_rate / hop)) * hop
        self.batch = batch
        self.kits = kits
        if kit is not None:
            raise UsageError(
                f"{name} cannot refit with a known kit: --kit needs DrummerNet (--model {DEFAULT_DRUMMERNET})"
            )
        self.kit = None

    def outputs(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(samples,)`` mono audio at the model's rate, peak 1 -> onset probabilities and
        velocities, each ``(K, 1 + samples // hop)`` (frame ``t`` centred on sample ``t * hop``)."""
        import torch

        hop, step = self.cfg.hop, self.chunk - 2 * self.overlap
        n_out = 1 + len(y) // hop
        starts = list(range(-self.overlap, max(len(y) - self.overlap, 1), step))
        probs = np.zeros((self.cfg.n_components, n_out), np.float32)
        vels = np.zeros((self.cfg.n_components, n_out), np.float32)
        for g in range(0, len(starts), self.batch):
            group = starts[g : g + self.batch]
            x = np.zeros((len(group), self.chunk), np.float32)
            for i, s in enumerate(group):
                lo, hi = max(s, 0), min(s + self.chunk, len(y))
                x[i, lo - s : hi - s] = y[lo:hi]
            with torch.inference_mode():
                logits, vel = self.net(torch.from_numpy(x).to(self.device))
            p, v = torch.sigmoid(logits).float().cpu().numpy(), vel.float().cpu().numpy()
            for i, s in enumerate(group):
                first = (s + self.overlap) // hop
                lo = self.overlap // hop
                n = min(step // hop, n_out - first)
                if n > 0:
                    probs[:, first : first + n] = p[i, :, lo : lo + n]
                    vels[:, first : first + n] = v[i, :, lo : lo + n]
        return probs, vels

    def activations(self, y: np.ndarray) -> np.ndarray:
        return self.outputs(y)[0]

    def score(self, songs: list[Any]) -> dict[str, Any]:
        """Onset F1 on ``songs`` (:class:`mtk.transcribe.eval.Song`) at this model's thresholds, no gate."""
        from mtk.transcribe.eval import own_thresholds, score

        acts = [self.activations(s.audio) for s in songs]
        return score(songs, acts, self.rate, own_thresholds(self)[0])


def shipped_models() -> list[str]:
    """The registry names of the shipped (not debug) transcribers, the default first."""
    from mtk.weights.registry import entries

    shipped = [e for e in entries(TASK) if not e.debug]
    return [e.name for e in sorted(shipped, key=lambda e: not e.default)]


def load(name_or_path: str | None = None, device: str = "cpu", **options: Any) -> Transcriber:
    """A :class:`Transcriber` from a registry name (default :data:`DEFAULT_MODEL`) or a file.

    ``options`` go to :class:`Transcriber` (``thresholds`` and ``onset_thresholds`` override
    the model's per drum).
    """
    import torch

    from mtk.transcribe.model import DrummerNet, DrummerNetConfig
    from mtk.weights.checkpoint import build_module, load_checkpoint
    from mtk.weights.registry import check_task, get_entry
    from mtk.weights.store import looks_like_path, resolve

    name = name_or_path or DEFAULT_MODEL
    overrides = options.pop("thresholds", None) or {}
    onset_overrides = options.pop("onset_thresholds", None) or {}
    if not looks_like_path(name) and get_entry(name).debug:
        entry = check_task(get_entry(name), TASK)
        torch.manual_seed(entry.seed)
        net = DrummerNet(build_module(DrummerNetConfig, entry.config))
        thresholds = {c: float(entry.config.get("threshold", DEFAULT_THRESHOLD)) for c in COMPONENTS}
        return Transcriber(
            net,
            name=entry.name,
            thresholds=thresholds | overrides,
            onset_thresholds=onset_overrides,
            device=device,
            **options,
        )
    resolved = resolve(name, task=TASK)
    ckpt = load_checkpoint(resolved.path)
    if ckpt.get("arch") == CRNN_ARCH:
        from mtk.transcribe.crnn import CrnnConfig, DrumCRNN

        config = {k: tuple(v) if isinstance(v, list) else v for k, v in ckpt["config"].items()}
        crnn = DrumCRNN(build_module(CrnnConfig, config))
        crnn.load_state_dict({k: v.float() for k, v in ckpt["state_dict"].items()})
        meta = ckpt.get("meta", {})
        return CrnnTranscriber(
            crnn,
            name=resolved.name,
            thresholds=dict(meta.get("thresholds", {})) | overrides,
            onset_thresholds=dict(meta.get("onset_thresholds", {})) | onset_overrides,
            kits=meta.get("kits"),
            device=device,
            **options,
        )
    if ckpt.get("arch") != ARCH:
        from mtk.errors import BadModelError

        raise BadModelError(f"{resolved.path}: holds a {ckpt.get('arch')!r} model, not a drum transcriber")
    net = DrummerNet(build_module(DrummerNetConfig, ckpt["config"]))
    net.load_state_dict({k: v.float() for k, v in ckpt["state_dict"].items()})
    meta = ckpt.get("meta", {})
    if "log_gain" not in meta and "log_gain" in ckpt.get("synth", {}):  # a training checkpoint
        meta = {**meta, "log_gain": ckpt["synth"]["log_gain"].tolist()}
    return Transcriber(
        net,
        name=resolved.name,
        thresholds=dict(meta.get("thresholds", {})) | overrides,
        onset_thresholds=dict(meta.get("onset_thresholds", {})) | onset_overrides,
        gains=np.exp(np.asarray(meta["log_gain"])) if "log_gain" in meta else None,
        kits=meta.get("kits"),
        device=device,
        **options,
    )
