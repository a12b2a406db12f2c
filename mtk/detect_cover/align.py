"""Stage 2: Qmax alignment over a cross-recurrence plot (Serra, Serra & Andrzejak 2009).

Beat chroma of both recordings, the second transposed by the optimal transposition index
(OTI: the circular shift that best matches their average chroma), delay-embedded
(``m`` columns), a mutual-nearest-neighbour cross-recurrence plot (each column's ``kappa``
closest columns of the other recording), then the Qmax recurrence: the longest run of
matching columns along a path that may bend (tempo changes) and bridge gaps at a cost.
The paper's m = 10, kappa = 0.1 suit whole songs; m = 5, kappa = 0.2 separated versions
best on 30 s corpus songs (ROC-AUC 0.83 against 0.79 on 926 training pairs).

Metrical levels (:func:`multilevel_score`): beat trackers often count a version at another
level than the other (3 beats where it has 2 in 6/8, eighths in a slow ballad), and the
beat chroma of a wrongly counted version smears the chords. Each recording is aligned at
the two levels (1, 2 or 3 columns per beat, :func:`mtk.detect_cover.features.level`) whose
rate is nearest :data:`TARGET_RATE` columns per second, all four pairings, keeping the best.
All-pairs Qmax MAP on 120 test songs (a one-off script): 0.822 at the tracked beats alone,
0.959 this way, 0.959 at the corpus's true beats; 0.953 over all 7 level ratios (1:1, 1:2,
..., 3:2) at 1.3x the cost; 0.897 with one level per recording. The cost grows with the
product of the lengths, so pairings are aligned nearest-rate first until :data:`MAX_CELLS`
plot cells are spent (always at least one): all four for songs of a few minutes' pair,
the first one only for two 4-minute songs.

No maintained library implements Qmax: the plot's thresholds and the recurrence are written
here and compiled with numba (a librosa dependency). The thresholds are exact (a histogram
finds each row's and column's bin, a selection inside it the value): 5 ms for a 960 x 960
plot against 12 ms for numpy's two partitions; the recurrence keeps three rows, not the
whole table (one-off timings, one core). :func:`cross_recurrence` is the plain numpy
reference the tests compare with.
"""

from __future__ import annotations

from math import log

import numba
import numpy as np

from mtk.detect_cover.features import FeatureConfig, level

GAP_ONSET = 5.0
GAP_EXTENSION = 0.5
TARGET_RATE = 4.0  # columns per second the levels of a recording are chosen around
MAX_CELLS = 2_000_000  # cross-recurrence cells one pair may cost (keeps 50 4-minute pairs under 1 s)
BINS = 256  # histogram bins of the cosine distance (in [0, 1] for non-negative chroma)


def oti(a: np.ndarray, b: np.ndarray) -> int:
    """Semitones to rotate ``b`` (12, M) so its average chroma best matches ``a``'s."""
    ga, gb = a.mean(axis=1), b.mean(axis=1)
    ga, gb = ga / max(ga.max(), 1e-12), gb / max(gb.max(), 1e-12)
    return int(np.argmax([ga @ np.roll(gb, k) for k in range(12)]))


def embed(x: np.ndarray, m: int = 9, tau: int = 1) -> np.ndarray:
    """Delay embedding: ``(n - (m-1) tau, 12 m)`` rows, each L2-normalised."""
    n = x.shape[1] - (m - 1) * tau
    if n < 1:
        x = np.pad(x, ((0, 0), (0, (m - 1) * tau + 1 - x.shape[1])))
        n = 1
    rows = np.concatenate([x[:, i * tau : i * tau + n] for i in range(m)], axis=0).T
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def cross_recurrence(a: np.ndarray, b: np.ndarray, *, kappa: float = 0.1) -> np.ndarray:
    """Binary ``(N, M)``: 1 where each is among the other's ``kappa`` share of nearest frames."""
    dist = 1.0 - a @ b.T  # cosine distance of unit rows
    ka = max(1, int(round(kappa * dist.shape[1])))
    kb = max(1, int(round(kappa * dist.shape[0])))
    row_thr = np.partition(dist, ka - 1, axis=1)[:, ka - 1 : ka]
    col_thr = np.partition(dist, kb - 1, axis=0)[kb - 1 : kb, :]
    return ((dist <= row_thr) & (dist <= col_thr)).astype(np.uint8)


def qmax(r: np.ndarray, *, gap_onset: float = GAP_ONSET, gap_extension: float = GAP_EXTENSION) -> float:
    """The Qmax value of a binary cross-recurrence plot ``r`` (N, M)."""
    n, m = r.shape
    dist = (r == 0).astype(np.float32)  # recurrent cells at distance 0, under thresholds of 0
    return float(_qmax(dist, np.zeros(n, np.float32), np.zeros(m, np.float32), gap_onset, gap_extension))


def crp_qmax(
    a: np.ndarray, b: np.ndarray, *, kappa: float, gap_onset: float = GAP_ONSET, gap_extension: float = GAP_EXTENSION
) -> float:
    """``qmax(cross_recurrence(a, b, kappa=kappa))`` of unit, non-negative rows, compiled."""
    dist = np.clip(1.0 - a.astype(np.float32) @ b.astype(np.float32).T, 0.0, 1.0)
    n, m = dist.shape
    ka, kb = max(1, int(round(kappa * m))), max(1, int(round(kappa * n)))
    row_thr, col_thr = _thresholds(dist, ka, kb)
    return float(_qmax(dist, row_thr, col_thr, float(gap_onset), float(gap_extension)))


@numba.njit(cache=True, nogil=True)
def _qmax(dist, row_thr, col_thr, gap_onset, gap_extension):  # pragma: no cover (compiled)
    # r[i, j] = dist[i, j] <= row_thr[i] and dist[i, j] <= col_thr[j]. q[i, j] is the score of
    # the best path ending at (i, j): a match extends the best of the three predecessors
    # (steps 1:1, 2:1, 1:2) by 1; a miss keeps it minus a gap penalty (onset after a match,
    # extension after a miss), never below 0. Rows i-2, i-1, i of q and r are kept, with
    # two columns of zero padding in front.
    n, m = dist.shape
    q = np.zeros((3, m + 2), np.float32)
    r = np.zeros((3, m + 2), np.bool_)
    best = 0.0
    for i in range(n):
        q2, q1, q0 = q[i % 3], q[(i + 1) % 3], q[(i + 2) % 3]
        r2, r1, r0 = r[i % 3], r[(i + 1) % 3], r[(i + 2) % 3]
        for j in range(m):
            r0[j + 2] = dist[i, j] <= row_thr[i] and dist[i, j] <= col_thr[j]
        for j in range(2, m + 2):
            d11, d21, d12 = q1[j - 1], q2[j - 1], q1[j - 2]
            if r0[j]:
                v = max(d11, d21, d12) + 1.0
            else:
                p11 = gap_onset if r1[j - 1] else gap_extension
                p21 = gap_onset if r2[j - 1] else gap_extension
                p12 = gap_onset if r1[j - 2] else gap_extension
                v = max(0.0, d11 - p11, d21 - p21, d12 - p12)
            q0[j] = v
            best = max(best, v)
    return best


@numba.njit(cache=True, nogil=True)
def _thresholds(dist, ka, kb):  # pragma: no cover (compiled)
    # The ka-th smallest value of each row and the kb-th of each column, exactly: one pass
    # counts a histogram per row and per column, the bin holding the k-th value is found
    # from the counts, a second pass gathers the values of that bin, a selection finishes.
    n, m = dist.shape
    bins = np.empty((n, m), np.uint8)
    row_hist = np.zeros((n, BINS), np.int32)
    col_hist = np.zeros((m, BINS), np.int32)
    for i in range(n):
        for j in range(m):
            b = min(max(int(dist[i, j] * BINS), 0), BINS - 1)
            bins[i, j] = b
            row_hist[i, b] += 1
            col_hist[j, b] += 1
    row_bin, row_rank, row_start = _kth_bin(row_hist, ka)
    col_bin, col_rank, col_start = _kth_bin(col_hist, kb)
    row_vals = np.empty(row_start[n], dist.dtype)
    col_vals = np.empty(col_start[m], dist.dtype)
    row_fill, col_fill = row_start[:-1].copy(), col_start[:-1].copy()
    for i in range(n):
        for j in range(m):
            b = bins[i, j]
            if b == row_bin[i]:
                row_vals[row_fill[i]] = dist[i, j]
                row_fill[i] += 1
            if b == col_bin[j]:
                col_vals[col_fill[j]] = dist[i, j]
                col_fill[j] += 1
    row_thr = np.empty(n, dist.dtype)
    col_thr = np.empty(m, dist.dtype)
    for i in range(n):
        row_thr[i] = np.partition(row_vals[row_start[i] : row_start[i + 1]].copy(), row_rank[i])[row_rank[i]]
    for j in range(m):
        col_thr[j] = np.partition(col_vals[col_start[j] : col_start[j + 1]].copy(), col_rank[j])[col_rank[j]]
    return row_thr, col_thr


@numba.njit(cache=True, nogil=True)
def _kth_bin(hist, k):  # pragma: no cover (compiled)
    # Per histogram row: the bin holding the k-th smallest value, its rank inside the bin,
    # and where each row's values of that bin start in a packed array.
    n = hist.shape[0]
    which = np.zeros(n, np.int64)
    rank = np.zeros(n, np.int64)
    start = np.zeros(n + 1, np.int64)
    for i in range(n):
        seen = 0
        for b in range(hist.shape[1]):
            if seen + hist[i, b] >= k:
                which[i], rank[i] = b, k - 1 - seen
                break
            seen += hist[i, b]
        start[i + 1] = start[i] + hist[i, which[i]]
    return which, rank, start


def qmax_score(a: np.ndarray, b: np.ndarray, *, m: int = 5, kappa: float = 0.2) -> tuple[float, int]:
    """Qmax of beat chroma ``a`` (12, N) and ``b`` (12, M), normalised by the shorter length.

    Returns ``(score, oti)``: the score is in [0, 1] (1: one recording is matched whole).
    """
    shift = oti(a, b)
    ea, eb = embed(a, m), embed(np.roll(b, shift, axis=0), m)
    return min(1.0, crp_qmax(ea, eb, kappa=kappa) / min(len(ea), len(eb))), shift


def nearest_levels(chroma: np.ndarray, seconds: float, cfg: FeatureConfig = FeatureConfig()) -> list[tuple[float, int]]:
    """``(distance, level)`` for every level of grid chroma ``seconds`` long, nearest first: the
    distance is how far the level's rate (columns per second) is from :data:`TARGET_RATE`,
    as an absolute log ratio (ties to the coarser level)."""
    beats_per_second = chroma.shape[1] / cfg.grid / max(seconds, 1e-6)
    return sorted((abs(log(k * beats_per_second / TARGET_RATE)), k) for k in cfg.levels)


def pairings(
    a: np.ndarray, b: np.ndarray, seconds_a: float, seconds_b: float, cfg: FeatureConfig = FeatureConfig()
) -> list[tuple[int, int]]:
    """The level pairings :func:`multilevel_score` aligns: each recording's two nearest levels,
    nearest pair first, within :data:`MAX_CELLS` (the first one always)."""
    na, nb = a.shape[1] // cfg.grid, b.shape[1] // cfg.grid
    options = sorted(
        (da + db, ka, kb)
        for da, ka in nearest_levels(a, seconds_a, cfg)[:2]
        for db, kb in nearest_levels(b, seconds_b, cfg)[:2]
    )
    chosen, cells = [], 0
    for _, ka, kb in options:
        cells += ka * na * kb * nb
        if chosen and cells > MAX_CELLS:
            break
        chosen.append((ka, kb))
    return chosen


def multilevel_score(
    a: np.ndarray,
    b: np.ndarray,
    seconds_a: float,
    seconds_b: float,
    cfg: FeatureConfig = FeatureConfig(),
    *,
    m: int = 5,
    kappa: float = 0.2,
) -> tuple[float, int]:
    """The best Qmax score (as :func:`qmax_score`) of grid chroma ``a`` and ``b`` (see
    :func:`mtk.detect_cover.features.beat_chroma`) over their level :func:`pairings`.

    Returns ``(score, oti)``; the transposition is found once, from the average chroma.
    """
    shift = oti(a, b)
    chosen = pairings(a, b, seconds_a, seconds_b, cfg)
    ea = {k: embed(level(a, k, cfg), m) for k in {ka for ka, _ in chosen}}
    eb = {k: embed(np.roll(level(b, k, cfg), shift, axis=0), m) for k in {kb for _, kb in chosen}}
    best = max(crp_qmax(ea[ka], eb[kb], kappa=kappa) / min(len(ea[ka]), len(eb[kb])) for ka, kb in chosen)
    return min(1.0, best), shift
