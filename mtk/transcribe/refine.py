"""Analysis-by-synthesis with the kit known: the detections refitted through the kit's own one-shots.

DrummerNet's network learns, without labels, to explain drum audio with one-shots; at
inference it has to guess which one-shots those are, and where its guess does not match the
kit (a snare whose rattle reads as a hi-hat, a hi-hat that reads as a snare) it adds small
wrong hits. When the user knows the kit that played (a Hydrogen kit folder, or an installed
kit's name: ``mtk transcribe --kit``), mtk finishes at inference the fit that training does:

1. the shipped model transcribes as usual (thresholds, onset gate);
2. each detection becomes a hit of every instrument the kit has for that drum (both hi-hats
   for either), moved by up to 5 ms to where the instrument's attack correlates best with the
   audio (:func:`align`);
3. the hits' amplitudes, free at each step within +-2 ms, are fitted by Adam to the training
   loss (:class:`~mtk.transcribe.model.MultiBandLogSpectrumLoss`) between the audio and the
   kit's resynthesis, segment by segment (8 s with 1 s of context on either side), so memory
   does not grow with the file (:func:`refit`);
4. a detection is kept where the fit leaves it at least :data:`KEEP` of the mass the network
   gave it; its velocity is the fitted amplitude, its label the hi-hat that took more
   (:func:`select`).

The fit drops hits and relabels hi-hats; it never adds one: a hit the network missed stays
missed. The one-shots are each instrument's layer at velocity 0.8; where a kit plays other
velocity layers, the fit can match them only in level. Measured in the model card: the
known-hits stems of the installed kits, held-out songs, and the cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import InputError
from mtk.transcribe.components import COMPONENTS, GM_NOTES, one_shot

STEP_WINDOW = 2  # a hit's free amplitudes: within +-2 activation steps (ms) of its aligned step
ALIGN_S = 0.005  # a detection moves by up to 5 ms to align its one-shot on the audio
ATTACK_S = 0.016  # the part of a one-shot aligned
ITERATIONS = 150
LR = 0.04
SEGMENT_S = 8.0
CONTEXT_S = 1.0
KEEP = 0.2  # a hit is kept where the fit leaves it this share of its detected mass (chosen on validation songs)


@dataclass(frozen=True)
class KitShots:
    """A kit's plain instruments as one-shots: row ``i`` is ``instruments[i]`` playing ``drums[i]``."""

    name: str
    drums: tuple[str, ...]
    instruments: tuple[str, ...]
    shots: np.ndarray  # (rows, samples) float32, onset at sample 0, peak 1
    sample_rate: int

    def play(self, events: Any, samples: int) -> np.ndarray:
        """``events`` (with ``time``, ``drum`` and ``velocity``, as a transcription's) played
        by the kit: a mono signal of ``samples`` at :attr:`sample_rate`, each hit the drum's
        first one-shot at ``velocity / 127``; drums the kit lacks are silent."""
        y = np.zeros(samples, dtype=np.float32)
        row = {d: i for i, d in reversed(list(enumerate(self.drums)))}
        for e in events:
            start = int(round(e.time * self.sample_rate))
            if e.drum not in row or not 0 <= start < samples:
                continue
            shot = self.shots[row[e.drum], : samples - start]
            y[start : start + shot.size] += (e.velocity / 127) * shot
        return y


def kit_shots(spec: str, sample_rate: int, *, velocity: float = 0.8) -> KitShots:
    """The one-shots of ``spec``: a Hydrogen kit folder (with ``drumkit.xml``) or the name of
    an installed kit (``mtk corpus`` kits: hydrogen-data, hydrogen-drumkits, sonic-pi)."""
    from mtk.corpus.kits import installed_kits, load_hydrogen_kit

    folder = Path(spec).expanduser()
    if (folder / "drumkit.xml").is_file():
        kit = load_hydrogen_kit(folder)
        if kit is None:
            raise InputError(f"{spec}: no readable instrument in drumkit.xml")
    else:
        kits = {k.name: k for k in installed_kits(playable_only=False)}
        if spec not in kits:
            hint = f"installed: {', '.join(sorted(kits))}" if kits else "install hydrogen-data (make corpus-deps)"
            raise InputError(f"{spec}: neither a Hydrogen kit folder nor an installed kit", hint=hint)
        kit = kits[spec]
    drums, names, shots = [], [], []
    for drum in COMPONENTS:
        cls = kit.resolve_class(drum)
        for inst in kit.standard_by_class().get(cls, []) if cls is not None else []:
            shot = one_shot(inst, sample_rate, velocity=velocity)  # as the training bank plays it
            if shot is not None:
                drums.append(drum)
                names.append(inst.name)
                shots.append(shot)
    if not shots:
        raise InputError(f"{spec}: the kit has no kick, snare, hi-hat, tom or cymbal one-shot")
    return KitShots(kit.name, tuple(drums), tuple(names), np.stack(shots), sample_rate)


def align(x: np.ndarray, rows: np.ndarray, samples: np.ndarray, kit: KitShots) -> np.ndarray:
    """Each hit's sample position: ``samples`` (the detections) moved by up to
    :data:`ALIGN_S` to where the audio correlates best with the attack (first
    :data:`ATTACK_S`) of its row's one-shot (a matched filter; the network's peaks come up to a
    few ms late, and a hit fitted one step off loses its high frequencies to a comb filter)."""
    sr = kit.sample_rate
    reach, attack = int(ALIGN_S * sr), int(ATTACK_S * sr)
    padded = np.pad(x, (reach, reach + attack))
    out = np.empty(len(samples), dtype=np.int64)
    for h, (row, at) in enumerate(zip(rows, samples, strict=True)):
        seg = padded[at : at + 2 * reach + attack]  # x[at - reach : at + reach + attack]
        corr = np.lib.stride_tricks.sliding_window_view(seg, attack)[: 2 * reach + 1] @ kit.shots[row, :attack]
        out[h] = at - reach + int(corr.argmax())
    return out


def fit_amplitudes(
    x: np.ndarray,
    rows: np.ndarray,
    steps: np.ndarray,
    init: np.ndarray,
    kit: KitShots,
    gains: np.ndarray,
    *,
    hop: int,
    iterations: int = ITERATIONS,
    lr: float = LR,
) -> np.ndarray:
    """Fit the amplitudes of hits of kit ``rows`` at activation ``steps`` to the excerpt ``x``.

    ``x``: ``(samples,)`` audio at the model's rate (a multiple of ``hop`` long); ``init``: the
    hits' starting masses, each put at its step (with nearly nothing at the other steps of its
    window: a mass spread over steps would lose the high frequencies, a comb filter, and the fit
    would make up for them with another drum); ``gains``: per row, the model's synthesizer gain
    for its drum. Each hit has a free amplitude at each step within +-:data:`STEP_WINDOW` of
    its own. Returns the fitted masses, each hit's summed over its window.
    """
    import torch

    from mtk.transcribe.model import DrumSynthesizer, MultiBandLogSpectrumLoss

    n_steps = len(x) // hop
    offsets = np.arange(-STEP_WINDOW, STEP_WINDOW + 1)
    where = steps[:, None] + offsets[None, :]
    i, j = np.nonzero((where >= 0) & (where < n_steps))  # i: the hit of each free amplitude
    row_idx, step_idx = torch.from_numpy(rows[i]), torch.from_numpy(where[i, j])
    start = np.where(offsets[j] == 0, init[i], 1e-4)
    weights = torch.nn.Parameter(torch.from_numpy(np.sqrt(start)).float())  # amplitude = weight ** 2
    synth = DrumSynthesizer(torch.from_numpy(kit.shots[None]), hop).requires_grad_(False)
    with torch.no_grad():
        synth.log_gain.copy_(torch.from_numpy(np.log(np.maximum(gains, 1e-6))).float())
    loss_fn = MultiBandLogSpectrumLoss()
    target = loss_fn.target(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None])
    optim = torch.optim.Adam([weights], lr=lr)
    decay = torch.optim.lr_scheduler.LambdaLR(optim, lambda k: 1 - k / iterations)  # amplitudes settle at the end
    bank = torch.zeros(1, dtype=torch.long)
    for _ in range(iterations):
        act = torch.zeros(1, len(kit.drums), n_steps)
        act[0, row_idx, step_idx] = weights**2  # windows of one row never overlap (hits of a drum are 50 ms apart)
        loss = loss_fn.compare(synth(act, bank), target)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        decay.step()
    mass = np.zeros(len(rows))
    np.add.at(mass, i, (weights**2).detach().numpy())
    return mass


@dataclass(frozen=True)
class Refit:
    """One of the model's detections after the fit."""

    event: Any  # the model's DrumEvent
    drum: str  # the fitted label: the event's drum, or the other hi-hat where that one took more
    mass: float  # fitted hit mass: the drum's instruments (both hi-hats) summed over the window
    amplitude: float  # the mass times the drum's synthesizer gain (on the peak-1 input)


def refit(
    transcriber: Any, x: np.ndarray, events: list[Any], kit: KitShots, *, iterations: int = ITERATIONS, lr: float = LR
) -> list[Refit]:
    """Fit the amplitudes of ``transcriber``'s ``events`` on ``x`` (mono, the model's rate, peak
    1) with ``kit``'s one-shots, segment by segment; one :class:`Refit` per event, in order.
    Each event is a hit of every kit instrument of its drum (both hi-hats for either), each
    aligned on its own one-shot (:func:`align`)."""
    from mtk.transcribe.components import detection_groups

    if kit.sample_rate != transcriber.cfg.sample_rate:
        raise ValueError(f"kit one-shots at {kit.sample_rate} Hz, model at {transcriber.cfg.sample_rate} Hz")
    hop = transcriber.cfg.hop
    row_drum = np.array([COMPONENTS.index(d) for d in kit.drums])
    gains = np.asarray(transcriber.gains, dtype=np.float64)
    group_of = {k: g for g in detection_groups() for k in g}
    owner, rows = [], []  # per hit: its event, its kit row
    for n, e in enumerate(events):
        for r in np.nonzero(np.isin(row_drum, group_of[COMPONENTS.index(e.drum)]))[0]:
            owner.append(n)
            rows.append(r)
    owner_a, rows_a = np.array(owner, dtype=np.int64), np.array(rows, dtype=np.int64)
    at = np.array([int(round(events[n].time * kit.sample_rate)) for n in owner], dtype=np.int64)
    steps = np.clip(np.round(align(x, rows_a, at, kit) / hop).astype(np.int64), 0, max(len(x) // hop - 1, 0))
    init = np.array([max(events[n].strength, 1e-3) for n in owner])
    masses = np.zeros(len(owner))
    total, seg, ctx = len(x) // hop, int(SEGMENT_S * transcriber.rate), int(CONTEXT_S * transcriber.rate)
    for s0 in range(0, total, seg):
        inside = (steps >= s0) & (steps < s0 + seg)
        if not inside.any():
            continue
        lo, hi = max(0, s0 - ctx), min(total, s0 + seg + ctx)
        near = (steps >= lo) & (steps < hi)
        fitted = fit_amplitudes(
            x[lo * hop : hi * hop], rows_a[near], steps[near] - lo, init[near], kit, gains[row_drum],
            hop=hop, iterations=iterations, lr=lr,
        )  # fmt: skip
        masses[inside] = fitted[inside[near]]
    out = []
    for n, e in enumerate(events):
        mine = owner_a == n
        if not mine.any():  # the kit has no instrument for this drum: nothing to fit it with
            out.append(Refit(e, e.drum, 0.0, 0.0))
            continue
        drums, per_hit = row_drum[rows_a[mine]], masses[mine]
        top = int(max(set(drums.tolist()), key=lambda k: per_hit[drums == k].sum()))
        mass = float(per_hit.sum())
        out.append(Refit(e, COMPONENTS[top], mass, mass * float(gains[top])))
    return out


def select(refits: list[Refit], *, keep: float = KEEP, peak: float = 1.0) -> list[Any]:
    """The hits the fit kept: a fitted mass of at least ``keep`` times the mass the network
    detected, as events with the fitted mass as strength and velocities from the fitted
    amplitudes (``peak``: the file's, which the input was scaled by)."""
    from mtk.transcribe.infer import DrumEvent
    from mtk.transcribe.peaks import velocities

    kept = [r for r in refits if r.mass > 0 and r.mass >= keep * r.event.strength]
    vels = velocities(np.array([r.amplitude for r in kept]) * peak)
    return [
        DrumEvent(r.event.time, r.drum, GM_NOTES[r.drum], int(v), r.mass, r.event.onset)
        for r, v in zip(kept, vels, strict=True)
    ]


def refine(transcriber: Any, x: np.ndarray, events: list[Any], kit: KitShots, *, peak: float = 1.0) -> list[Any]:
    """``events`` of ``transcriber`` on ``x`` refitted with ``kit`` and selected at the shipped
    :data:`KEEP`: :func:`refit` then :func:`select`."""
    return select(refit(transcriber, x, events, kit), keep=KEEP, peak=peak)
