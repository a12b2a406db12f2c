"""The rule-based drum machine ``mtk eval accompany`` compares the generator with.

On the beats tracked from the drumless input: a kick on beats 1 and 3 of the bar (beat 1
alone in a bar of 2 or 3), a snare on beats 2 and 4 (2 in a bar of 2, 2 and 3 in a bar of
3), closed hi-hats on every half beat; one-shots from a recorded kit.
"""

from __future__ import annotations

import numpy as np

from mtk.accompany.beats import Beats
from mtk.corpus.kits import Kit, load_one_shot

PATTERNS = {2: ({0}, {1}), 3: ({0}, {1, 2}), 4: ({0, 2}, {1, 3})}  # beats of the bar: kick, snare


def hits(beats: Beats) -> list[tuple[float, str]]:
    """``(time, class)`` of the drum machine's hits on ``beats``."""
    if beats.beats.size == 0:
        return []
    m = beats.beats_per_bar
    first = int(np.searchsorted(beats.beats, beats.downbeats[0] - 1e-6)) if beats.downbeats.size else 0
    kick, snare = PATTERNS.get(m, PATTERNS[4])
    out = []
    times = beats.beats
    for i, t in enumerate(times):
        pos = (i - first) % m
        if pos in kick:
            out.append((float(t), "kick"))
        if pos in snare:
            out.append((float(t), "snare"))
        out.append((float(t), "hihat_closed"))
        if i + 1 < len(times):
            out.append((float((t + times[i + 1]) / 2), "hihat_closed"))
    return sorted(out)


def play(beats: Beats, kit: Kit, seconds: float, sr: int) -> np.ndarray:
    """The drum machine's mono track of ``seconds`` at ``sr``."""
    y = np.zeros(int(seconds * sr) + 1, dtype=np.float32)
    shots = {
        cls: load_one_shot(insts[0].layer_for(0.7).path, sr).mean(0) for cls, insts in kit.standard_by_class().items()
    }
    gains = {"kick": 1.0, "snare": 0.8, "hihat_closed": 0.35}
    for t, cls in hits(beats):
        shot = shots[kit.resolve_class(cls) or cls]
        start = int(round(t * sr))
        if start >= y.size:
            continue
        seg = shot[: y.size - start]
        y[start : start + seg.size] += gains[cls] * seg
    return y
