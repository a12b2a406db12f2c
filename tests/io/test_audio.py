from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mtk.errors import InputError, OutputExistsError
from mtk.io.audio import encode_wav, read_audio, resample, write_audio
from tests import badinputs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, bool]]:
    return badinputs.build(tmp_path_factory.mktemp("bad"))


def test_bad_input_corpus_verdicts(corpus: dict[str, tuple[Path, bool]]) -> None:
    for name, (path, valid) in corpus.items():
        if valid:
            y, sr = read_audio(path, min_duration=0.5)
            assert y.ndim == 2 and y.shape[1] > 0 and np.isfinite(y).all(), name
        else:
            with pytest.raises(InputError) as err:
                read_audio(path, min_duration=0.5)
            msg = str(err.value)
            assert "\n" not in msg and msg.startswith(str(path)), (name, msg)
            assert err.value.exit_code == 2


def test_specific_messages(corpus: dict[str, tuple[Path, bool]]) -> None:
    def message(name: str) -> str:
        with pytest.raises(InputError) as err:
            read_audio(corpus[name][0], min_duration=0.5)
        return str(err.value)

    assert "empty file" in message("empty")
    assert "0 samples" in message("zero_length")
    assert "NaN or infinite" in message("nan_samples")
    assert "NaN or infinite" in message("inf_samples")
    assert "too short" in message("one_sample") and "0.5 s" in message("one_sample")
    assert "not an audio file" in message("text_named_wav")
    assert "looks like MIDI" in message("midi_no_notes")


def test_formats_decode_to_the_same_tone(corpus: dict[str, tuple[Path, bool]]) -> None:
    ref, sr = read_audio(corpus["pcm_24"][0], mono=True)
    for name in ("float32", "aiff_big_endian", "flac", "six_channels"):
        y, rate = read_audio(corpus[name][0], mono=True)
        assert rate == sr
        np.testing.assert_allclose(y, ref, atol=1e-4, err_msg=name)
    y6, _ = read_audio(corpus["six_channels"][0])
    assert y6.shape == (6, badinputs.SR)


@pytest.mark.parametrize("name", ["rate_8k", "rate_96k"])
def test_resampling_keeps_pitch(corpus: dict[str, tuple[Path, bool]], name: str) -> None:
    y, sr = read_audio(corpus[name][0], sr=22_050, mono=True)
    assert sr == 22_050 and abs(len(y) - 22_050) <= 2
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    peak_hz = np.argmax(spectrum) * sr / len(y)
    assert abs(peak_hz - 440) < 2


def test_resample_shapes() -> None:
    y = np.zeros((2, 48_000), np.float32)
    assert resample(y, 48_000, 16_000).shape == (2, 16_000)
    assert resample(y[0], 48_000, 16_000).shape == (16_000,)


def test_read_from_bytes_and_stdin_name() -> None:
    data = encode_wav(np.zeros((1, 1000), np.float32) + 0.25, 8000, subtype="float")
    y, sr = read_audio(data)
    assert sr == 8000 and y.shape == (1, 1000) and np.allclose(y, 0.25)
    with pytest.raises(InputError, match="^-: empty file"):
        read_audio(b"")


@pytest.mark.parametrize(
    "subtype,sf_subtype,atol", [("16", "PCM_16", 1 / 2**15), ("24", "PCM_24", 1 / 2**23), ("float", "FLOAT", 0)]
)
def test_write_round_trip(tmp_path: Path, subtype: str, sf_subtype: str, atol: float) -> None:
    y = (0.5 * np.sin(np.linspace(0, 100, 2 * 4410))).reshape(2, -1).astype(np.float32)
    path = tmp_path / "x.wav"
    write_audio(path, y, 44_100, subtype=subtype)
    assert sf.info(path).subtype == sf_subtype
    back, sr = read_audio(path)
    assert sr == 44_100
    np.testing.assert_allclose(back, y, atol=atol + 1e-7)


def test_write_clips_instead_of_wrapping() -> None:
    y = np.array([[1.5, -1.5, 0.5]], np.float32)
    back, _ = read_audio(encode_wav(y, 8000))
    assert back[0, 0] > 0.99 and back[0, 1] < -0.99


def test_write_never_overwrites_without_force(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"precious")
    with pytest.raises(OutputExistsError):
        write_audio(path, np.zeros(10, np.float32), 8000)
    assert path.read_bytes() == b"precious"
    write_audio(path, np.zeros(10, np.float32), 8000, force=True)
    assert path.read_bytes()[:4] == b"RIFF"
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]  # no temporary left behind


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_audio(tmp_path / "x.wav", np.zeros(10, np.float32), 8000, subtype="32")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


def test_write_to_stdout(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    write_audio("-", np.zeros((1, 100), np.float32), 8000)
    out = capfdbinary.readouterr().out
    assert out[:4] == b"RIFF"
    assert sf.info(io.BytesIO(out)).frames == 100


def _encoded(fmt: str, seconds: float, sr: int = 22_050) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["WAV", "AIFF", "OGG", "MP3", "FLAC"])
def test_a_truncated_file_is_a_warning_saying_how_much_was_read(
    fmt: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Half of a 20-s file: its header promises 20 s; about half decodes, with a warning."""
    data = _encoded(fmt, 20.0)
    path = tmp_path / f"half.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    with caplog.at_level("INFO", logger="mtk"):
        y, sr = read_audio(path, mono=True, min_duration=1.0)
    seconds = len(y) / sr
    assert 5.0 < seconds < 12.0, seconds
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and f"truncated {fmt} file: read {seconds:.3g} s" in warnings[0], warnings
    if fmt != "OGG":  # an Ogg stream declares no length; the others say what their header promised
        assert "declares 20 s" in warnings[0]
    whole = tmp_path / f"whole.{fmt.lower()}"
    whole.write_bytes(data)
    caplog.clear()
    with caplog.at_level("INFO", logger="mtk"):
        read_audio(whole)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


@pytest.mark.parametrize("fmt", ["WAV", "AIFF", "MP3"])
def test_a_truncated_file_too_short_to_use_is_an_error(fmt: str, tmp_path: Path) -> None:
    data = _encoded(fmt, 20.0)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[:800])
    with pytest.raises(InputError, match=rf"truncated {fmt} file \(its header declares 20 s; .* s readable\)"):
        read_audio(path)
    with pytest.raises(InputError, match="truncated"):  # long enough to read, not for the command
        read_audio(_encoded(fmt, 20.0)[: len(data) // 2], min_duration=15.0)


def test_window_reads_only_its_stretch_and_moves_to_fit() -> None:
    sr = 8000
    y = np.arange(10 * sr, dtype=np.float32) / (10 * sr)  # a ramp: each sample says where it is
    data = encode_wav(y, sr, subtype="float")
    part, _ = read_audio(data, mono=True, window=(2.0, 3.0))
    np.testing.assert_allclose(part, y[2 * sr : 5 * sr])
    late, _ = read_audio(data, mono=True, window=(8.0, 3.0))  # past the end: the last 3 s
    np.testing.assert_allclose(late, y[7 * sr :])
    whole, _ = read_audio(data, mono=True, window=(30.0, 30.0))  # longer than the file: all of it
    np.testing.assert_allclose(whole, y)
