"""The shipped SampleMatch model and classifier: golden outputs, and known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtk.weights.registry import entries

pytest.importorskip("torch")
DATA = Path(__file__).parent / "data"
CONTEXT = Path(__file__).parents[1] / "embed" / "data" / "ode_to_joy_8s.flac"
SHIPPED = [e.name for e in entries("rank-samples") if not e.debug]
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no rank-samples model shipped")
SR = 44_100


def synthetic_shots() -> dict[str, np.ndarray]:
    """Drum-like one-shots made here: kicks (pitch-dropping sines), snares (noise and a tone),
    hats (short bright noise), a crash (long bright noise)."""
    rng = np.random.default_rng(26)
    t = np.arange(int(1.0 * SR)) / SR
    shots = {}
    for i, (f0, decay) in enumerate(((50, 9), (62, 14), (45, 5))):
        shots[f"kick{i}"] = np.sin(2 * np.pi * (f0 + 90 * np.exp(-t * 35)) * t) * np.exp(-t * decay)
    for i, (tone, decay) in enumerate(((180, 22), (230, 30))):
        shots[f"snare{i}"] = (0.6 * rng.standard_normal(len(t)) + np.sin(2 * np.pi * tone * t)) * np.exp(-t * decay)
    for i, decay in enumerate((70, 110)):
        shots[f"hat{i}"] = np.diff(rng.standard_normal(len(t) + 1), n=1) * np.exp(-t * decay)
    shots["crash0"] = np.diff(rng.standard_normal(len(t) + 1)) * np.exp(-t * 2.5)
    return {k: (0.5 * v / np.abs(v).max()).astype(np.float32) for k, v in shots.items()}


@pytest.mark.parametrize("name", SHIPPED)
def test_golden_outputs(name: str) -> None:
    """The context vector's leading dims, every synthetic shot's score and class, pinned when the
    weights shipped."""
    from mtk.rank_samples.infer import load, shot_wave

    golden = np.load(DATA / f"golden-{name}.npz")
    ranker = load(name)
    context = ranker.context_from_file(CONTEXT)
    np.testing.assert_allclose(context[:16], golden["context"], rtol=1e-3, atol=1e-4)
    shots = synthetic_shots()
    vectors = ranker.encode_samples(np.stack([shot_wave(y) for y in shots.values()]))
    np.testing.assert_allclose(vectors @ context, golden["scores"], atol=1e-4)
    classes = [ranker.classify(y, f"{k}.wav")[0] for k, y in shots.items()]
    assert classes == [str(c) for c in golden["classes"]]


def test_the_default_model_classes_synthetic_drums_by_ear() -> None:
    """A known answer for the classifier: sine kicks are kicks, noise on a tone snares and
    bright noise bursts hi-hats, whatever the (unhelpful) file names say."""
    from mtk.rank_samples.infer import load

    ranker = load()
    assert ranker.name == "rank-samples-samplematch-v1" and ranker.classifier is not None
    shots = synthetic_shots()
    found = {k: ranker.classify(y, f"untitled-{n}.wav") for n, (k, y) in enumerate(shots.items())}
    assert all(found[k][0] == "kick" for k in ("kick0", "kick1", "kick2")), found
    assert all(found[k][0] == "snare" for k in ("snare0", "snare1")), found
    assert all(found[k][0] == "hihat" for k in ("hat0", "hat1")), found


@pytest.mark.xfail(
    strict=True,
    reason="rank-samples-samplematch-v1 ranks a siren first and a flute-like tone above one of the snares "
    "(its card: trained on 29 kits, it has not learned that a non-drum sound fits no groove)",
)
def test_the_missing_drum_ranks_above_sounds_that_are_no_drums() -> None:
    """A known answer for the ranking, in the paper's terms (a context holds every stem but the
    one the sample is for): a groove of synthetic kick and hat one-shots over a bass line, its
    snare left out, ranks snare one-shots above sounds that are no drums at all (a flute-like
    tone, an organ chord, a bell, a siren)."""
    from mtk.rank_samples.index import SampleIndex, SampleInfo
    from mtk.rank_samples.infer import load, shot_wave

    shots = synthetic_shots()
    t = np.arange(SR) / SR
    unrelated = {
        "flute": np.sin(2 * np.pi * (660 + 6 * np.sin(2 * np.pi * 5 * t)) * t),
        "organ": sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) / 3,
        "bell": np.sin(2 * np.pi * 880 * t + 2 * np.sin(2 * np.pi * 1230 * t)) * np.exp(-t * 3),
        "siren": np.sin(2 * np.pi * (600 + 300 * np.sin(2 * np.pi * 3 * t)) * t),
    }
    song = np.zeros(8 * SR, np.float32)
    tb = np.arange(len(song)) / SR
    song += 0.2 * np.sin(2 * np.pi * 55 * (1 + (tb % 2 > 1) * 0.5) * tb).astype(np.float32)  # a bass line
    for eighth in range(32):
        at = eighth * SR // 4
        for name, every in (("kick0", 4), ("hat0", 1)):
            if eighth % every == 0:
                hit = shots[name][: len(song) - at]
                song[at : at + len(hit)] += hit
    ranker = load()
    pool = {k: shots[k] for k in ("snare0", "snare1")}
    pool.update({k: (0.5 * v / np.abs(v).max()).astype(np.float32) for k, v in unrelated.items()})
    index = SampleIndex(ranker.name)
    vectors = ranker.encode_samples(np.stack([shot_wave(y) for y in pool.values()]))
    for name, vector in zip(pool, vectors, strict=True):
        index.add(SampleInfo(name, "", 1.0, "other", 1.0, "audio", vector))
    ranked = [index.items[i].path for i, _ in index.rank(ranker.encode_context(song))]
    assert set(ranked[:2]) == {"snare0", "snare1"}, ranked
