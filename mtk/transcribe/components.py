"""The drum components DrummerNet transcribes, and their one-shot waveforms from recorded kits.

The 11 components follow the seed code's synth bank (kick, snare, closed/open hi-hat, three
toms, crash, ride, plus clap and side stick in place of pedal hi-hat and tambourine) and
are mtk's corpus drum classes, each written as its General MIDI note.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtk.corpus.kits import CLASSES
from mtk.corpus.styles import CLASS_NOTES

COMPONENTS: tuple[str, ...] = CLASSES  # the corpus's drum classes, in the order of the network's outputs
GM_NOTES: dict[str, int] = {c: CLASS_NOTES[c] for c in COMPONENTS}
# What `mtk eval transcribe` scores (the paper's KD, SD, HH): hi-hat is closed or open.
EVAL_CLASSES: dict[str, tuple[str, ...]] = {
    "kick": ("kick",),
    "snare": ("snare",),
    "hihat": ("hihat_closed", "hihat_open"),
}
# Also reported per drum, outside the mean: any tom (a hit of one tom labelled as another counts),
# crash, ride.
EXTRA_CLASSES: dict[str, tuple[str, ...]] = {
    "toms": ("tom_low", "tom_mid", "tom_high"),
    "crash": ("crash",),
    "ride": ("ride",),
}
TOM_COMPONENTS = frozenset(COMPONENTS.index(c) for c in EXTRA_CLASSES["toms"])  # one a stroke (peaks.one_per_stroke)
# The band (Hz) whose onsets confirm a hit of each scored class (the onset gate,
# mtk.transcribe.peaks): a kick's thump, a snare's body, a hi-hat's sizzle.
ONSET_BANDS: dict[str, tuple[float, float]] = {
    "kick": (20.0, 150.0),
    "snare": (150.0, 1000.0),
    "hihat": (5000.0, 8000.0),
}
ONSET_BAND_OF: dict[str, str] = {c: name for name, members in EVAL_CLASSES.items() for c in members}  # drum -> class


def detection_groups() -> list[list[int]]:
    """Component indices detected together (activations summed, one hit labelled by the
    larger): closed and open hi-hat, as `mtk eval transcribe` scores them; the rest alone."""
    grouped = {c for members in EVAL_CLASSES.values() for c in members}
    groups = [[COMPONENTS.index(c) for c in members] for members in EVAL_CLASSES.values()]
    groups += [[k] for k, c in enumerate(COMPONENTS) if c not in grouped]
    return sorted(groups)


def sharing(drum: str) -> tuple[str, ...]:
    """The drums whose thresholds move with ``drum``'s (its detection group); ``hihat``
    names the closed and open hi-hat."""
    for name, members in EVAL_CLASSES.items():
        if drum == name or drum in members:
            return members
    return (drum,)


def drum_onsets(y: np.ndarray, sample_rate: int) -> list[np.ndarray | None]:
    """Per component, the onset strength curve of its band in ``y`` (None: not gated)."""
    from mtk.transcribe.peaks import band_onsets

    names = list(ONSET_BANDS)
    curves = band_onsets(y, sample_rate, [ONSET_BANDS[n] for n in names])
    return [curves[names.index(ONSET_BAND_OF[c])] if c in ONSET_BAND_OF else None for c in COMPONENTS]


# A one-shot's length in the synthesizer: the whole ring of an open hi-hat or a ride (1-3.5 s to
# -40 dB in the installed kits), which the network would otherwise explain with extra hits.
# Free at training time: a 2.048 s excerpt convolved with 2 s still fits one 65,536-point FFT.
SHOT_SECONDS = 2.0


def kit_bank(
    kits: list,
    sample_rate: int,
    *,
    seconds: float = SHOT_SECONDS,
    velocity: float = 0.8,
    played: list[dict[str, str]] | None = None,
) -> np.ndarray:
    """``(len(kits), K, samples)`` float32 one-shots, onset at sample 0, peak 1, faded out.

    Each component is played by the kit's instrument for that class (or its fallback, as the
    corpus plays it) at ``velocity``: ``played[i]`` names the instrument kit ``i`` used per
    class (what a song actually played), else the first of the kit's plain hits. A component
    a kit cannot play stays silent.
    """
    n = int(seconds * sample_rate)
    bank = np.zeros((len(kits), len(COMPONENTS), n), np.float32)
    for i, kit in enumerate(kits):
        classes = kit.standard_by_class()
        named = {inst.name: inst for inst in kit.instruments}
        for j, comp in enumerate(COMPONENTS):
            cls = kit.resolve_class(comp)
            if cls is None:
                continue
            inst = named.get((played[i] if played else {}).get(cls, ""), classes[cls][0])
            shot = one_shot(inst, sample_rate, seconds=seconds, velocity=velocity)
            if shot is not None:
                bank[i, j] = shot
    return bank


def one_shot(inst, sample_rate: int, *, seconds: float = SHOT_SECONDS, velocity: float = 0.8) -> np.ndarray | None:
    """``inst``'s layer for ``velocity`` as the synthesizer plays it: mono, ``seconds`` long
    (zero-padded or cut), peak 1, its last fifth faded out; None where the sample is silent."""
    from mtk.corpus.kits import load_one_shot

    n = int(seconds * sample_rate)
    shot = load_one_shot(inst.layer_for(velocity).path, sample_rate).mean(axis=0)[:n]
    peak = float(np.abs(shot).max(initial=0.0))
    if peak <= 0:
        return None
    fade = np.ones(n, np.float32)
    fade[-(n // 5) :] = np.linspace(1, 0, n // 5, dtype=np.float32)
    out = np.zeros(n, np.float32)
    out[: len(shot)] = shot / peak * fade[: len(shot)]
    return out


def played_instruments(kit, hits: list[dict]) -> dict[str, str]:
    """Class -> name of the kit instrument a song played it with, from the ``sample`` paths
    of the hits in its ``meta.json``."""
    owner = {str(Path(layer.path)): inst.name for inst in kit.instruments for layer in inst.layers}
    out: dict[str, str] = {}
    for hit in hits:
        name = owner.get(str(Path(hit.get("sample", ""))))
        if name is not None:
            out.setdefault(hit["class"], name)
    return out
