"""The learned stage-1 projection: training on planted versions, files, search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtk.detect_cover.features import distance, fingerprints
from mtk.detect_cover.index import CoverIndex, Recording
from mtk.detect_cover.infer import CoverDetector, load_model
from mtk.detect_cover.project import Projection, save_model
from mtk.detect_cover.project import load_model as load_projection
from mtk.detect_cover.train import ProjectionOptions, train_projection
from tests.conftest import invoke_mtk
from tests.detect_cover.test_features import _chroma, _grid


def _recording(name: str, beats: np.ndarray) -> Recording:
    grid = np.round(_grid(beats) * 255).astype(np.uint8)
    return Recording(name, name, 60.0, fingerprints(grid), grid)


def _versions(rng: np.random.Generator, works: int) -> list[list[Recording]]:
    """Each work: a chord sequence, then versions transposed and with beats repeated or dropped."""
    groups = []
    for w in range(works):
        base = _chroma(rng, 90)
        group = []
        for v in range(3):
            x = np.roll(base, int(rng.integers(12)), axis=0)
            keep = np.sort(rng.choice(90, size=int(rng.integers(70, 90)), replace=False))
            x = np.clip(x[:, keep] + 0.15 * rng.random((12, len(keep))), 0, None)
            group.append(_recording(f"w{w}v{v}", (x / x.max(axis=0, keepdims=True)).astype(np.float32)))
        groups.append(group)
    return groups


@pytest.fixture(scope="module")
def trained() -> tuple[Projection, list[list[Recording]]]:
    rng = np.random.default_rng(0)
    groups = _versions(rng, 40)
    noise = [_recording(f"n{i}", _chroma(rng, 90)) for i in range(20)]
    projection = train_projection(groups[:30], noise, ProjectionOptions(steps=150, works=16, negatives=16))
    return projection, groups[30:]  # 10 held-out works


def _held_out_rank_one(groups: list[list[Recording]], stage1) -> float:  # type: ignore[no-untyped-def]
    recs = [r for g in groups for r in g]
    work = [i // 3 for i in range(len(recs))]
    hits = []
    for q, rec in enumerate(recs):
        d = [np.inf if i == q else distance(stage1(rec.vectors), stage1(r.vectors)) for i, r in enumerate(recs)]
        hits.append(work[int(np.argmin(d))] == work[q])
    return float(np.mean(hits))


def test_projection_learns_versions_it_has_not_seen(trained: tuple[Projection, list[list[Recording]]]) -> None:
    projection, held_out = trained
    out = projection(held_out[0][0].vectors)
    assert out.shape == (3, 128) and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    learned = _held_out_rank_one(held_out, projection)
    assert learned >= 0.9  # nearest neighbour of a held-out version is one of its work's versions


def test_model_file_round_trip_and_search(trained: tuple[Projection, list[list[Recording]]], tmp_path: Path) -> None:
    projection, held_out = trained
    meta = {"w_qmax": 10.0, "w_distance": -5.0, "bias": -2.0, "threshold": 0.5}
    save_model(tmp_path / "m.npz", projection, meta, force=False)
    loaded, back = load_projection(tmp_path / "m.npz")
    assert back["w_qmax"] == 10.0
    x = held_out[0][0].vectors
    np.testing.assert_array_equal(loaded(x), projection(x))
    calibration, proj = load_model(str(tmp_path / "m.npz"))
    assert calibration.w_distance == -5.0 and proj is not None
    index = CoverIndex()
    for g in held_out:
        for r in g:
            index.add(r)
    found, dists = index.knn(x, 4, projection=proj)
    brute = sorted(range(len(index)), key=lambda i: distance(proj(x), proj(index.recording(i).vectors)))[:4]
    assert found.tolist() == brute
    det = CoverDetector(calibration, proj)
    assert det.compare(held_out[0][0], held_out[0][1]).method == "2dftm+projection+qmax"
    with pytest.raises(ValueError, match="not a detect-cover projection"):
        load_projection(tmp_path / "missing.npz")


def test_train_command_refuses_bad_outputs_before_training(tmp_path: Path) -> None:
    proc = invoke_mtk("train", "detect-cover", "--data", str(tmp_path), "--projection-steps", "5", "-o", "m.json")
    assert proc.returncode == 2 and b".npz" in proc.stderr and b"Traceback" not in proc.stderr
    (tmp_path / "m.npz").write_bytes(b"keep")
    proc = invoke_mtk("train", "detect-cover", "--data", str(tmp_path), "-o", str(tmp_path / "m.npz"))
    assert proc.returncode != 0 and b"exists" in proc.stderr
    assert (tmp_path / "m.npz").read_bytes() == b"keep"


def test_calibration_data_needs_cover_pairs_and_other_pairs() -> None:
    """Issue 31: `mtk train detect-cover --calibrate-on` a corpus with one class of pairs ended
    in `internal error: ValueError`; the data is checked first, with what is missing named."""
    from types import SimpleNamespace

    from mtk.detect_cover.train import check_calibration_items, fit_calibration
    from mtk.errors import InputError

    singles = [SimpleNamespace(work=w) for w in ("a", "b", "c")]
    with pytest.raises(InputError, match="no work has two versions .3 recordings of 3 works."):
        check_calibration_items(singles, "corpus")
    with pytest.raises(InputError, match="one work only"):
        check_calibration_items([SimpleNamespace(work="a")] * 2, "corpus")
    check_calibration_items([*singles, SimpleNamespace(work="a")], "corpus")
    with pytest.raises(InputError, match="no cover pairs among the 3 candidate pairs"):
        fit_calibration(np.ones((3, 2)), np.zeros(3, bool), name="x")
