"""Evaluation of cover detection on an mtk corpus with versions, plus distractors.

Every song of the chosen split is a query against all other recordings (songs and
distractors). ``seed`` ranks by the published fingerprint (75-beat patches, power 1.96),
``stage1`` by mtk's (see :mod:`mtk.detect_cover.features`); stages 1+2 re-rank the
stage-1 top ``rerank`` by the calibrated pair score. Reported: MAP, MR1 (mean rank of
the first correct answer), P@1, and ROC-AUC of the pair score over the pairs stage 2 sees
(each query's versions and its stage-1 top ``rerank``).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from mtk.corpus.reader import song_metas
from mtk.detect_cover.align import multilevel_scores
from mtk.detect_cover.features import FeatureConfig, fingerprint, level, pairwise_sq
from mtk.detect_cover.index import Recording, cache_recording, cached_recording, extract, features
from mtk.detect_cover.infer import DEFAULT_RERANK, Calibration
from mtk.detect_cover.project import Projection
from mtk.errors import InputError
from mtk.io.audio import read_audio, resample
from mtk.io.files import sha256_file
from mtk.io.inputs import AUDIO_EXTENSIONS, expand_inputs
from mtk.parallel import parallel_map


@dataclass
class Item:
    rec: Recording
    work: str | None  # None for distractors
    tags: dict[str, str] = field(default_factory=dict)  # song, synth, soundfont, chain: how it was produced


# The kinds of production difference between two versions of a work (:func:`pair_kind`)
PAIR_KINDS = ("same recording", "same engine", "other soundfont", "other engine", "audio effects", "lossy")
SAME = PAIR_KINDS[0]  # a produced copy of the query itself: reported alone, not counted as a version
# What `--production` adds: a copy of every song through a chain of these (mtk.corpus.production)
PRODUCTION_CHAINS = {
    "effects": ("reverb", "eq", "compress", "saturate", "width", "bandlimit"),
    "lossy": ("bandlimit", "lossy"),
}
# What `mtk train detect-cover --production-copies` draws: each kind of mtk.corpus.production
# (tempo drift included) with probability 1/2, at least one
AUGMENT = "augment"


def pair_kind(a: Item, b: Item) -> str:
    """How two versions differ in production: a lossy copy, an effects chain, another engine,
    another soundfont of the same engine, or the same engine and soundfont (versions of a
    corpus work always differ in arrangement, key and tempo too); ``same recording`` when one
    is a produced copy of the other."""
    if a.tags.get("song") and a.tags.get("song") == b.tags.get("song"):
        return SAME
    chains = {a.tags.get("chain", ""), b.tags.get("chain", "")}
    if "lossy" in chains:
        return "lossy"
    if chains & {"effects", AUGMENT}:
        return "audio effects"
    if a.tags.get("synth") != b.tags.get("synth"):
        return "other engine"
    return "other soundfont" if a.tags.get("soundfont") != b.tags.get("soundfont") else "same engine"


def corpus_items(
    corpus: Path,
    *,
    split: str | None = "test",
    jobs: int = 1,
    progress: Callable[[list[str]], Iterator[str]] | None = None,
) -> list[Item]:
    """The mixes of a corpus's songs (of ``split``), labelled by work id and tagged with how
    they were produced (engine, soundfont)."""
    chosen = [(folder / "mix.wav", meta) for folder, meta in song_metas(corpus, need=("split", "work"))]
    chosen = [(p, meta) for p, meta in chosen if split is None or meta["split"] == split]
    recs = parallel_map(extract, [str(p) for p, _ in chosen], jobs, progress)
    return [Item(r, meta["work"]["id"], _tags(p, meta)) for r, (p, meta) in zip(recs, chosen, strict=True)]


def _tags(mix: Path, meta: dict[str, Any]) -> dict[str, str]:
    return {
        "song": mix.parent.name,
        "synth": str(meta.get("synth", "fluidsynth")),  # corpora before --engines: FluidSynth
        "soundfont": str(meta.get("soundfont", {}).get("name", "")),
        "chain": "",
    }


def produced_items(
    items: list[Item],
    chains: list[str],
    *,
    seed: int = 0,
    jobs: int = 1,
    progress: Callable[[list[int]], Iterator[int]] | None = None,
) -> list[Item]:
    """A copy of every corpus item through each named chain of :data:`PRODUCTION_CHAINS`, its
    effects drawn from ``seed``, the song and the chain (deterministic), added as a version."""
    unknown = [c for c in chains if c not in PRODUCTION_CHAINS and c != AUGMENT]
    if unknown:
        raise InputError(f"unknown production chain(s): {', '.join(unknown)} (known: {', '.join(PRODUCTION_CHAINS)})")
    todo = [
        (it.rec.path, it.work, it.tags, chain, seed)
        for it in items
        if it.work is not None and not it.tags.get("chain")
        for chain in chains
    ]
    return parallel_map(_produced, todo, jobs, progress)


def _produced(job: tuple[str, str, dict[str, str], str, int]) -> Item:
    import zlib

    from mtk.corpus.production import FORMAT, KINDS, apply_chain, draw_chain
    from mtk.detect_cover.index import MIN_SECONDS

    path, work, tags, chain, seed = job
    rng = np.random.default_rng([seed, zlib.crc32(tags.get("song", path).encode()), zlib.crc32(chain.encode())])
    if chain == AUGMENT:
        kinds = [k for k in KINDS if rng.random() < 0.5] or [str(rng.choice(KINDS))]
    else:
        kinds = list(PRODUCTION_CHAINS[chain])
    drawn = draw_chain(rng, kinds)
    name, cfg = f"{path}#{chain}", FeatureConfig()
    # cached by the source's content, the chain drawn and the seed (the chains are deterministic)
    source = f"{sha256_file(Path(path))} {json.dumps(drawn.to_dict(), sort_keys=True)} {seed} {FORMAT}"
    key = hashlib.sha256(source.encode()).hexdigest()
    rec = cached_recording(name, key, cfg)
    if rec is None:
        y, sr = read_audio(path, mono=False, min_duration=MIN_SECONDS)
        mono = resample(apply_chain(y, sr, drawn, seed=seed).mean(axis=0), sr, cfg.sample_rate)
        rec = Recording(name, key, len(mono) / cfg.sample_rate, *features(mono, cfg.sample_rate, cfg))
        cache_recording(rec, cfg)
    return Item(rec, work, {**tags, "chain": chain})


def distractor_items(
    folders: list[str],
    *,
    excerpt_s: float = 30.0,
    jobs: int = 1,
    progress: Callable[[list[str]], Iterator[str]] | None = None,
) -> list[Item]:
    """Recordings from ``folders`` cut into ``excerpt_s`` pieces (0: whole files), unlabelled."""
    files = expand_inputs(folders, extensions=AUDIO_EXTENSIONS, stdin_ok=False) if folders else []
    pieces = parallel_map(partial(_excerpts, excerpt_s=excerpt_s), files, jobs, progress)
    return [Item(r, None) for group in pieces for r in group]


def _excerpts(path: str, *, excerpt_s: float, cfg: FeatureConfig = FeatureConfig()) -> list[Recording]:
    if excerpt_s <= 0:
        return [extract(path, cfg=cfg)]
    try:
        y, sr = read_audio(path, sr=cfg.sample_rate, mono=True, min_duration=excerpt_s)
    except InputError:
        return []
    n = int(excerpt_s * sr)
    out = []
    for k in range(len(y) // n):
        out.append(
            Recording(
                f"{path}@{k * excerpt_s:g}s", f"{path}@{k}", excerpt_s, *features(y[k * n : (k + 1) * n], sr, cfg)
            )
        )
    return out


def _query_pairs(
    q: int, *, vectors: np.ndarray, recs: list[Recording], works: list[str | None], rerank: int, threads: int | None
) -> dict[str, Any]:
    dist, order = stage1_ranking(vectors, q)
    relevant = {i for i, w in enumerate(works) if w == works[q] and i != q}
    scored = set(order[:rerank].tolist()) | relevant
    a, scored_list = recs[q], sorted(scored)
    scores = multilevel_scores(
        a.chroma,
        [recs[i].chroma for i in scored_list],
        a.duration,
        [recs[i].duration for i in scored_list],
        threads=threads,
    )
    pairs = {i: s for i, (s, _) in zip(scored_list, scores, strict=True)}
    return {"order": order, "dist": dist, "qmax": pairs, "relevant": relevant}


def stage1_ranking(vectors: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Stage-1 distances of every recording to recording ``q`` (the closest pairing of
    levels of ``vectors`` ``(n, levels, dim)``; ``inf`` to itself) and the others' order."""
    n, _, dim = vectors.shape
    dist = np.sqrt(np.maximum(pairwise_sq(vectors.reshape(-1, dim), vectors[q]).reshape(n, -1).min(axis=1), 0.0))
    dist[q] = np.inf
    return dist, np.argsort(dist, kind="stable")[: n - 1]


def scored_pairs(
    items: list[Item],
    *,
    rerank: int,
    projection: Projection | None = None,
    jobs: int = 1,
    progress: Callable[[list[int]], Iterator[int]] | None = None,
) -> tuple[list[int], list[dict[str, Any]]]:
    """For every song whose work has another version: its stage-1 ranking (of the projected
    fingerprints when a projection is given) and the Qmax of its top ``rerank`` candidates
    and of all its versions."""
    works = [it.work for it in items]
    counts = Counter(w for w in works if w is not None)
    queries = [i for i, w in enumerate(works) if w is not None and counts[w] > 1]
    if not queries:
        raise InputError("no work has two versions: build the corpus with --versions 2 or more")
    vectors = np.stack([it.rec.vectors for it in items])
    fn = partial(
        _query_pairs,
        vectors=vectors if projection is None else projection(vectors),
        recs=[it.rec for it in items],
        works=works,
        rerank=rerank,
        threads=1 if jobs > 1 else None,  # one process a core, or one process and every core
    )
    return queries, parallel_map(fn, queries, jobs, progress)


def evaluate(
    items: list[Item],
    calibration: Calibration,
    *,
    projection: Projection | None = None,
    rerank: int = DEFAULT_RERANK,
    jobs: int = 1,
    progress: Callable[[list[int]], Iterator[int]] | None = None,
) -> dict[str, Any]:
    """Stage 1 and stages 1+2 metrics over every query whose work has another version.

    With a projection, stage 1 searches the projected fingerprints and ``stage1_2dftm``
    reports the unprojected ones for comparison.
    """
    from sklearn.metrics import roc_auc_score

    queries, results = scored_pairs(items, rerank=rerank, projection=projection, jobs=jobs, progress=progress)
    works = [it.work for it in items]
    published = FeatureConfig.seed()
    seed_vectors = np.stack([fingerprint(level(it.rec.chroma, 1, published), published) for it in items])
    raw = np.stack([it.rec.vectors for it in items]) if projection is not None else None
    seed, stage1, stage2, handmade = _Ranks(), _Ranks(), _Ranks(), _Ranks()
    labels, seed_scores, s1_scores, s2_scores = [], [], [], []
    for q, res in zip(queries, results, strict=True):
        order, dist, qmaxes, relevant = res["order"], res["dist"], res["qmax"], res["relevant"]
        kinds = {i: pair_kind(items[q], items[i]) for i in relevant}
        seed_dist = np.linalg.norm(seed_vectors - seed_vectors[q], axis=1)
        seed_dist[q] = np.inf
        seed.add(np.argsort(seed_dist, kind="stable")[: len(items) - 1], relevant, kinds)
        stage1.add(order, relevant, kinds)
        if raw is not None:
            handmade.add(stage1_ranking(raw, q)[1], relevant, kinds)
        prob = {i: calibration.probability(q, float(dist[i])) for i, q in qmaxes.items()}
        head = sorted(order[:rerank].tolist(), key=lambda i: -prob[i])
        stage2.add(np.array(head + order[rerank:].tolist()), relevant, kinds)
        for i in qmaxes:
            if kinds.get(i) == SAME:
                continue  # a copy of the query itself is no version
            labels.append(i in relevant)
            seed_scores.append(-float(seed_dist[i]))
            s1_scores.append(-float(dist[i]))
            s2_scores.append(prob[i])
    fingerprint_method = (
        f"2dftm of {FeatureConfig().patch}-column patches, power {FeatureConfig().power:g}, at levels "
        f"{FeatureConfig().levels} columns per beat, kNN by the closest pairing of levels"
    )
    out = {
        "queries": len(queries),
        "works": len({works[q] for q in queries}),
        "recordings": len(items),
        "distractors": sum(1 for w in works if w is None),
        "rerank": rerank,
        "seed": {
            **seed.summary(),
            "roc_auc": round(float(roc_auc_score(labels, seed_scores)), 4),
            "method": "stage 1 as published: 2dftm of 75-beat patches, power 1.96 (Bertin-Mahieux & Ellis 2012)",
        },
        "stage1": {
            **stage1.summary(),
            "roc_auc": round(float(roc_auc_score(labels, s1_scores)), 4),
            "method": fingerprint_method if projection is None else f"{fingerprint_method}, learned projection",
        },
        "stage1+2": {
            **stage2.summary(),
            "roc_auc": round(float(roc_auc_score(labels, s2_scores)), 4),
            "at_threshold": operating_point(np.array(labels), np.array(s2_scores), calibration.threshold),
            "method": f"stage-1 top {rerank} re-ranked by calibrated multi-level Qmax score ({calibration.name})",
        },
    }
    if projection is not None:
        out["stage1_2dftm"] = {**handmade.summary(), "method": fingerprint_method}
    return out


def operating_point(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """What ``is_cover`` (a score at or above ``threshold``) does on these pairs: precision,
    recall (the ROC's true-positive rate), false-positive rate and F1 (scikit-learn's, as
    :func:`mtk.detect_cover.train.fit_calibration` chooses the threshold by)."""
    from sklearn.metrics import f1_score, precision_score, recall_score

    said = scores >= threshold
    return {
        "threshold": threshold,
        "precision": round(float(precision_score(labels, said, zero_division=0)), 4),
        "recall": round(float(recall_score(labels, said, zero_division=0)), 4),
        "false_positive_rate": round(float((said & ~labels).sum() / max(int((~labels).sum()), 1)), 4),
        "f1": round(float(f1_score(labels, said, zero_division=0)), 4),
    }


def average_precision(order: np.ndarray, relevant: set[int]) -> tuple[float, int]:
    """AP of a ranking and the rank of its first relevant item (len + 1 when none)."""
    ranks = np.flatnonzero(np.isin(order, list(relevant))) + 1
    ap = float(np.mean(np.arange(1, len(ranks) + 1) / ranks)) if len(ranks) else 0.0
    return ap, int(ranks[0]) if len(ranks) else len(order) + 1


class _Ranks:
    def __init__(self) -> None:
        self.ap: list[float] = []
        self.first: list[int] = []
        self.by_kind: dict[str, list[float]] = {}

    def add(self, order: np.ndarray, relevant: set[int], kinds: dict[int, str] | None = None) -> None:
        """One query's ranking; with ``kinds`` (each relevant item's :func:`pair_kind`), also
        its AP per kind: that kind's versions relevant, the query's other versions left out.
        Produced copies of the query itself (``same recording``) are left out of the rest."""
        kinds = kinds or {}
        same = {i for i in relevant if kinds.get(i) == SAME}
        if relevant - same:  # a work whose only other recordings are copies of this one has no version here
            ap, first = average_precision(order[~np.isin(order, list(same))], relevant - same)
            self.ap.append(ap)
            self.first.append(first)
        for kind in sorted(set(kinds.values())):
            these = {i for i in relevant if kinds[i] == kind}
            kept = order[~np.isin(order, list(relevant - these))]
            self.by_kind.setdefault(kind, []).append(average_precision(kept, these)[0])

    def summary(self) -> dict[str, Any]:
        first = np.array(self.first)
        out: dict[str, Any] = {
            "map": round(float(np.mean(self.ap)), 4),
            "mr1": round(float(first.mean()), 2),
            "p_at_1": round(float(np.mean(first == 1)), 4),
        }
        if self.by_kind:
            out["map_by_kind"] = {
                k: {"map": round(float(np.mean(v)), 4), "queries": len(v)}
                for k, v in sorted(self.by_kind.items(), key=lambda kv: PAIR_KINDS.index(kv[0]))
            }
        return out
