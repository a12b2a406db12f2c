"""The paper's evaluation splits (Ibrahim et al., section 6.1).

- **cold-user**: test streams are those of users never seen in training, on tracks that were;
- **cold-track**: test streams are on tracks never seen in training, by users who were;
- **warm**: test streams are (user, track) pairs never seen in training, both seen apart.

Each split is drawn from a seed; the protocol repeats it over several seeds and reports the
mean (std) of each metric. Streams a split cannot use (a cold user's stream on a track only
cold users played, say) are dropped from both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtk.situate.schema import Streams

SPLITS: tuple[str, ...] = ("cold-user", "cold-track", "warm")


@dataclass(frozen=True)
class Split:
    kind: str
    seed: int
    train: np.ndarray  # stream indices
    test: np.ndarray


def _codes(values: list[str]) -> tuple[np.ndarray, int]:
    uniques, codes = np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True)
    return codes, len(uniques)


def make_split(streams: Streams, kind: str, seed: int, test_share: float = 0.2) -> Split:
    """Indices of the training and test streams of one ``kind`` of split."""
    if kind not in SPLITS:
        raise ValueError(f"unknown split {kind!r} (expected {', '.join(SPLITS)})")
    rng = np.random.default_rng(seed)
    users, n_users = _codes(streams.user)
    tracks, n_tracks = _codes(streams.track)
    if kind == "cold-user":
        held = rng.random(n_users) < test_share
        is_test = held[users]
    elif kind == "cold-track":
        held = rng.random(n_tracks) < test_share
        is_test = held[tracks]
    else:
        pairs, n_pairs = _codes([f"{u}\t{t}" for u, t in zip(streams.user, streams.track, strict=True)])
        held = rng.random(n_pairs) < test_share
        is_test = held[pairs]
    train = np.flatnonzero(~is_test)
    seen_users = np.zeros(n_users, bool)
    seen_tracks = np.zeros(n_tracks, bool)
    seen_users[users[train]] = True
    seen_tracks[tracks[train]] = True
    test = np.flatnonzero(is_test)
    if kind == "cold-user":
        test = test[seen_tracks[tracks[test]]]
    elif kind == "cold-track":
        test = test[seen_users[users[test]]]
    else:
        test = test[seen_users[users[test]] & seen_tracks[tracks[test]]]
    return Split(kind, seed, train, test)
