import importlib.util

import numpy as np
import pytest

from mtk.separate.eval import bss_sdr, hpss_drums, oracle_irm
from tests.separate.conftest import drum_loop, sine_bass

SR = 22_050


def _museval_metrics():
    spec = importlib.util.find_spec("museval")
    if spec is None:
        pytest.skip("museval not installed")
    path = next(iter(spec.submodule_search_locations)) + "/metrics.py"
    module_spec = importlib.util.spec_from_file_location("museval_metrics", path)  # its package needs ffmpeg
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_sdr_equals_museval_bss_eval_v4():
    rng = np.random.default_rng(0)
    sr = 4000
    ref = rng.standard_normal((3, 2, 3 * sr + 500))
    est = ref + 0.3 * rng.standard_normal(ref.shape) * np.array([1.0, 2.0, 0.5])[:, None, None]
    est[1] += 0.2 * ref[0]
    ref[2, :, :sr] = 0.0  # a silent window is skipped for every source
    est[2, :, :sr] = 0.0
    metrics = _museval_metrics()
    sdr, *_ = metrics.bss_eval(
        np.transpose(ref, (0, 2, 1)), np.transpose(est, (0, 2, 1)), window=sr, hop=sr, compute_permutation=False
    )
    expected = [np.median(row[np.isfinite(row)]) for row in sdr]
    np.testing.assert_allclose(bss_sdr(ref, est, sr), expected, atol=1e-9)


def test_sdr_known_values():
    ref = np.ones((1, 1, 2 * SR))
    assert bss_sdr(ref, 0.9 * ref, SR)[0] == pytest.approx(20.0)  # error 0.1 of the signal
    assert bss_sdr(ref, ref, SR)[0] == np.inf
    assert bss_sdr(np.zeros((1, 1, SR)), np.ones((1, 1, SR)), SR) == [None]


@pytest.fixture(scope="module")
def drums_and_bass():
    d, b = drum_loop(4.0, SR), sine_bass(4.0, SR)
    return np.stack([d[None], b[None]])  # (2 stems, 1 channel, T)


def test_oracle_mask_separates_a_drum_loop_from_a_sine_bass(drums_and_bass):
    est = oracle_irm(drums_and_bass)
    assert est.shape == drums_and_bass.shape
    ideal = bss_sdr(drums_and_bass, est, SR)
    floor = bss_sdr(drums_and_bass, np.repeat(drums_and_bass.sum(0)[None], 2, 0), SR)
    assert min(ideal) > 6.0 and all(i > f + 6 for i, f in zip(ideal, floor, strict=True)), (ideal, floor)


def test_hpss_finds_the_drums_better_than_the_mixture(drums_and_bass):
    mix = drums_and_bass.sum(0)
    perc = hpss_drums(mix)
    assert perc.shape == mix.shape
    sdr = bss_sdr(drums_and_bass[:1], perc[None], SR)[0]
    floor = bss_sdr(drums_and_bass[:1], mix[None], SR)[0]
    assert sdr > floor + 3
