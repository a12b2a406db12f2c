import numpy as np
import pytest
import soundfile as sf

from mtk.errors import OutputExistsError, UsageError
from mtk.separate.infer import load, stem_names

STEMS = ["drums", "bass", "lead", "other"]


@pytest.fixture(scope="module")
def debug():
    return load("separate-debug")


def _mix(sr, channels, seconds=1.5):
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * 110 * t) + 0.1 * np.random.default_rng(0).standard_normal(len(t))
    return np.stack([y * (1 - 0.2 * c) for c in range(channels)]).astype(np.float32)


@pytest.mark.parametrize("sr", [22_050, 44_100, 48_000])
@pytest.mark.parametrize("channels", [1, 2])
def test_stems_sum_to_the_input_at_its_rate_and_channels(debug, sr, channels):
    y = _mix(sr, channels)
    stems = debug.from_audio(y[0] if channels == 1 else y, sr)
    assert list(stems.audio) == STEMS and stems.sample_rate == sr
    for audio in stems.audio.values():
        assert audio.shape == ((y.shape[1],) if channels == 1 else y.shape)
    total = sum(stems.audio.values())
    np.testing.assert_allclose(total, y[0] if channels == 1 else y, atol=1e-5)
    assert np.abs(stems.audio["drums"]).max() > 1e-3  # not all in `other`


def test_chunked_equals_unchunked_away_from_edges():
    sr = 44_100
    y = _mix(sr, 2, seconds=6.0)
    whole = load("separate-debug", chunk_seconds=30.0).from_audio(y, sr).audio
    chunked = load("separate-debug", chunk_seconds=2.0, overlap_seconds=0.5).from_audio(y, sr).audio
    for s in STEMS:
        err = np.abs(whole[s] - chunked[s])[:, sr // 2 : -sr // 2]
        assert err.max() < 0.02 * np.abs(whole[s]).max()


def test_stem_names():
    assert stem_names(tuple(STEMS)) == STEMS
    assert stem_names(tuple(STEMS), stem="bass") == ["bass"]
    assert stem_names(tuple(STEMS), two_stems="drums") == ["drums", "no_drums"]
    with pytest.raises(UsageError):
        stem_names(tuple(STEMS), stem="vocals")


def test_to_files_writes_stems_and_their_complement(debug, tmp_path):
    sr = 48_000
    src = tmp_path / "mix.wav"
    y = _mix(sr, 2)
    sf.write(src, y.T, sr, subtype="FLOAT")
    targets = {"drums": str(tmp_path / "d.wav"), "no_drums": str(tmp_path / "nd.wav")}
    info = debug.to_files(src, targets, subtype="float")
    assert info["sample_rate"] == sr and info["channels"] == 2
    d, sr_d = sf.read(targets["drums"], always_2d=True)
    nd, _ = sf.read(targets["no_drums"], always_2d=True)
    assert sr_d == sr and d.shape == y.T.shape
    np.testing.assert_allclose(d + nd, y.T, atol=1e-5)


def test_to_files_leaves_nothing_behind_when_an_output_exists(debug, tmp_path):
    sr = 22_050
    src = tmp_path / "mix.wav"
    sf.write(src, _mix(sr, 1).T, sr)
    (tmp_path / "bass.wav").write_bytes(b"keep me")
    targets = {s: str(tmp_path / f"{s}.wav") for s in STEMS}
    with pytest.raises(OutputExistsError):
        debug.to_files(src, targets)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bass.wav", "mix.wav"]
    assert (tmp_path / "bass.wav").read_bytes() == b"keep me"
