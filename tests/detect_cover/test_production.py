"""Versions that differ in production: kinds of difference, MAP by kind, produced copies."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.detect_cover.eval import AUGMENT, Item, _Ranks, pair_kind, produced_items, stage1_ranking
from mtk.detect_cover.index import Recording
from mtk.errors import InputError
from tests.detect_cover.test_features import recordings  # noqa: F401  (module fixture)


def _item(work: str, **tags: str) -> Item:
    rec = Recording("x.wav", "", 10.0, np.zeros((1, 4)), np.zeros((12, 4), np.uint8))
    return Item(rec, work, {"synth": "fluidsynth", "soundfont": "A.sf2", "chain": "", **tags})


def test_pair_kinds() -> None:
    plain = _item("w")
    assert pair_kind(plain, _item("w")) == "same engine"
    assert pair_kind(plain, _item("w", soundfont="B.sf2")) == "other soundfont"
    assert pair_kind(plain, _item("w", synth="timidity")) == "other engine"
    assert pair_kind(_item("w", synth="timidity", chain="effects"), plain) == "audio effects"
    assert pair_kind(_item("w", chain="effects"), _item("w", chain="lossy")) == "lossy"
    assert pair_kind(_item("w", song="s1"), _item("w", song="s1", chain="lossy")) == "same recording"


def test_map_by_kind_leaves_the_other_kinds_versions_out() -> None:
    ranks = _Ranks()
    # ranking: version a (same engine), an unrelated x, version b (other engine)
    ranks.add(np.array([1, 9, 2]), {1, 2}, {1: "same engine", 2: "other engine"})
    out = ranks.summary()
    assert out["map"] == pytest.approx(round((1 + 2 / 3) / 2, 4))
    assert out["map_by_kind"] == {
        "same engine": {"map": 1.0, "queries": 1},
        "other engine": {"map": 0.5, "queries": 1},  # b is second once a is left out
    }
    # a produced copy of the query itself (ranked first) is no version: the rest is scored without it
    copies = _Ranks()
    copies.add(np.array([3, 1, 9, 2]), {1, 2, 3}, {1: "same engine", 2: "other engine", 3: "same recording"})
    assert copies.summary()["map"] == out["map"] and copies.summary()["map_by_kind"]["same recording"]["map"] == 1.0


def test_a_rendering_through_reverb_eq_and_ogg_is_nearest_to_itself(recordings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from mtk.corpus.production import Chain, apply_chain
    from mtk.detect_cover.features import FeatureConfig
    from mtk.detect_cover.index import features
    from mtk.io.audio import read_audio, resample

    cfg = FeatureConfig()
    y, sr = read_audio(recordings["original"].path, mono=False)
    chain = Chain(reverb_rt60=1.2, reverb_mix=0.35, eq=(("low", 150.0, 6.0), ("high", 5000.0, -6.0)), codec="ogg",
                  quality=0.9)  # fmt: skip
    produced = resample(apply_chain(y, sr, chain, seed=1).mean(axis=0), sr, cfg.sample_rate)
    vectors, _ = features(produced, cfg.sample_rate, cfg)
    names = ["original", "cover", "other"]
    stack = np.stack([recordings[n].vectors for n in names] + [vectors])
    _, order = stage1_ranking(stack, len(names))
    assert names[order[0]] == "original"  # before the transposed, faster cover and the unrelated tune


def test_produced_copies_are_versions_made_alike_under_a_seed(recordings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    items = [
        Item(recordings[n], n, {"song": n, "synth": "builtin", "soundfont": "TimGM6mb.sf2", "chain": ""})
        for n in ("original", "other")
    ]
    made = produced_items(items, ["effects", "lossy"], seed=3)
    assert [(it.work, it.tags["chain"]) for it in made] == [
        ("original", "effects"),
        ("original", "lossy"),
        ("other", "effects"),
        ("other", "lossy"),
    ]
    again = produced_items(items[:1], ["lossy"], seed=3)
    np.testing.assert_array_equal(again[0].rec.vectors, made[1].rec.vectors)
    assert pair_kind(items[0], made[0]) == "same recording" and pair_kind(items[1], made[0]) == "audio effects"
    with pytest.raises(InputError, match="unknown production chain"):
        produced_items(items, ["vinyl"])


def _labelled(recordings) -> list[Item]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Ode to Joy and its cover (work a), the unrelated tune (work b)."""
    return [
        Item(recordings[n], w, {"song": n, "synth": "builtin", "soundfont": "T.sf2", "chain": ""})
        for n, w in (("original", "a"), ("cover", "a"), ("other", "b"))
    ]


def test_training_copies_draw_their_chain_per_seed_and_are_cached(recordings, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.setenv("MTK_CACHE_DIR", str(tmp_path))  # the first copy is computed here, not read from elsewhere
    items = [Item(recordings["original"], "a", {"song": "original", "synth": "builtin", "soundfont": "T.sf2"})]
    first = produced_items(items, [AUGMENT], seed=7)[0]
    assert first.tags["chain"] == AUGMENT and pair_kind(first, items[0]) == "same recording"
    assert pair_kind(first, Item(recordings["cover"], "a", {"song": "cover"})) == "audio effects"
    other = produced_items(items, [AUGMENT], seed=8)[0]
    import mtk.corpus.production

    monkeypatch.setattr(mtk.corpus.production, "apply_chain", None)  # a second call must come from the cache
    again = produced_items(items, [AUGMENT], seed=7)[0]
    np.testing.assert_array_equal(again.rec.chroma, first.rec.chroma)
    assert other.rec.sha256 != first.rec.sha256 and not np.array_equal(other.rec.chroma, first.rec.chroma)


def test_calibration_pairs_leave_a_song_and_its_own_copy_out(recordings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from mtk.detect_cover.train import pair_table

    items = _labelled(recordings)
    copy = produced_items(items[:1], ["lossy"], seed=1)
    table, labels = pair_table(items + copy, candidates=3)
    # original: cover (+), other (-); cover: original (+), copy (+), other (-); copy: cover (+), other (-)
    assert table.shape == (7, 2) and int(labels.sum()) == 4


def test_the_calibrated_threshold_scores_the_eval_pairs_as_it_scored_its_own(recordings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The eval's is_cover operating point over the pairs calibration learned from is the
    calibration's own F1 at its threshold (the same pairs, scores and rule)."""
    from mtk.detect_cover.eval import evaluate
    from mtk.detect_cover.train import fit_calibration, pair_table

    items = _labelled(recordings)
    items += produced_items(items, ["effects", "lossy"], seed=2)
    calibration, scores = fit_calibration(*pair_table(items, candidates=len(items)), name="t")
    point = evaluate(items, calibration, rerank=len(items))["stage1+2"]["at_threshold"]
    assert point["threshold"] == scores["threshold"] and point["f1"] == pytest.approx(scores["f1"], abs=1e-4)
    assert 0 < point["recall"] <= 1 and 0 <= point["false_positive_rate"] < 1
