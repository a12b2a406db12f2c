"""The drum components DrummerNet transcribes, and their one-shot waveforms from recorded kits.

The 11 components follow the seed code's synth bank (kick, snare, closed/open hi-hat, three
toms, crash, ride, plus clap and side stick in place of pedal hi-hat and tambourine) and
are mtk's corpus drum classes, each written as its General MIDI note.
"""

from __future__ import annotations

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
SHOT_SECONDS = 0.5


def kit_bank(kits: list, sample_rate: int, *, seconds: float = SHOT_SECONDS, velocity: float = 0.8) -> np.ndarray:
    """``(len(kits), K, samples)`` float32 one-shots, onset at sample 0, peak 1, faded out.

    Each component is played by the kit's instrument for that class (or its fallback, as the
    corpus plays it) at ``velocity``; a component a kit cannot play stays silent.
    """
    from mtk.corpus.kits import load_one_shot

    n = int(seconds * sample_rate)
    fade = np.ones(n, np.float32)
    tail = n // 5
    fade[-tail:] = np.linspace(1, 0, tail, dtype=np.float32)
    bank = np.zeros((len(kits), len(COMPONENTS), n), np.float32)
    for i, kit in enumerate(kits):
        classes = kit.by_class()
        for j, comp in enumerate(COMPONENTS):
            played = kit.resolve_class(comp)
            if played is None:
                continue
            layer = classes[played][0].layer_for(velocity)
            shot = load_one_shot(layer.path, sample_rate).mean(axis=0)[:n]
            peak = float(np.abs(shot).max(initial=0.0))
            if peak > 0:
                bank[i, j, : len(shot)] = shot / peak * fade[: len(shot)]
    return bank
