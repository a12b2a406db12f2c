"""Rendering known MIDI gives known audio: pitch, onset, stems that sum to the mix."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mtk.corpus.render import fluidsynth_executable, render_midi, split_channels
from mtk.corpus.soundfonts import check_soundfont, default_soundfont, installed_soundfonts
from mtk.errors import InputError, UsageError
from tests.conftest import make_midi

SYNTHS = [
    "builtin",
    pytest.param(
        "fluidsynth", marks=pytest.mark.skipif(fluidsynth_executable() is None, reason="fluidsynth not installed")
    ),
    pytest.param(
        "timidity", marks=pytest.mark.skipif(shutil.which("timidity") is None, reason="timidity not installed")
    ),
]


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x)) + 1e-20))


@pytest.mark.parametrize("synth", SYNTHS)
def test_a4_has_pitch_440_and_starts_on_time(synth: str, bundled_sf2: Path) -> None:
    midi = make_midi([(69, 0.5, 1.5, 100)], program=73)  # flute
    r = render_midi(midi, soundfont=bundled_sf2, synth=synth, sample_rate=16_000)
    assert r.audio.shape[0] == 2 and r.sample_rate == 16_000 and r.synth == synth
    y = r.audio.mean(axis=0)
    env = np.abs(y)
    onset = np.argmax(env > 0.05 * env.max()) / 16_000
    assert abs(onset - 0.5) < 0.03, onset
    assert env[: int(0.45 * 16_000)].max() < 1e-3  # silence before the note
    body = y[int(0.7 * 16_000) : int(1.3 * 16_000)]
    spectrum = np.abs(np.fft.rfft(body * np.hanning(len(body)), n=16 * len(body)))
    freqs = np.fft.rfftfreq(16 * len(body), 1 / 16_000)
    band = (freqs > 200) & (freqs < 2000)
    f0 = freqs[band][np.argmax(spectrum[band])]
    assert abs(f0 - 440) / 440 < 0.01, f0


@pytest.mark.parametrize("synth", SYNTHS)
def test_stems_sum_to_mix(synth: str, band_midi: bytes, bundled_sf2: Path) -> None:
    r = render_midi(band_midi, soundfont=bundled_sf2, synth=synth, sample_rate=22_050, stems=True)
    assert list(r.stems) == ["ch01-acoustic-grand-piano", "ch02-electric-bass-finger", "ch10-drums"]
    total = sum(r.stems.values())
    assert all(s.shape == r.audio.shape for s in r.stems.values())
    assert _db(total - r.audio) - _db(r.audio) < -40  # residual at least 40 dB below the mix
    for stem in r.stems.values():
        assert _db(stem) > -60  # every stem has sound


def test_split_channels_keeps_only_that_channel(band_midi: bytes) -> None:
    import io

    import mido

    stems = dict(split_channels(band_midi))
    drums = mido.MidiFile(file=io.BytesIO(stems["ch10-drums"]))
    channels = {m.channel for t in drums.tracks for m in t if hasattr(m, "channel")}
    assert channels == {9}
    assert sum(1 for t in drums.tracks for m in t if m.type == "set_tempo") >= 1


@pytest.mark.parametrize("synth", SYNTHS)
def test_gain_and_rate(synth: str, a4_midi: bytes, bundled_sf2: Path) -> None:
    quiet = render_midi(a4_midi, soundfont=bundled_sf2, synth=synth, sample_rate=22_050, gain=0.25)
    loud = render_midi(a4_midi, soundfont=bundled_sf2, synth=synth, sample_rate=22_050, gain=0.5)
    assert abs((_db(loud.audio) - _db(quiet.audio)) - 6.02) < 0.5
    assert abs(quiet.duration - loud.duration) < 0.05 and quiet.duration >= 1.5


def test_loud_render_is_scaled_not_clipped(band_midi: bytes, bundled_sf2: Path) -> None:
    r = render_midi(band_midi, soundfont=bundled_sf2, synth="builtin", gain=10, stems=True)
    assert r.headroom_db < 0
    assert np.abs(r.audio).max() == pytest.approx(0.989, abs=1e-4)
    assert _db(sum(r.stems.values()) - r.audio) - _db(r.audio) < -40


@pytest.mark.skipif(fluidsynth_executable() is None, reason="fluidsynth not installed")
def test_builtin_level_matches_fluidsynth(bundled_sf2: Path) -> None:
    midi = (Path(__file__).resolve().parents[2] / "examples" / "ode_to_joy.mid").read_bytes()
    a = render_midi(midi, soundfont=bundled_sf2, synth="builtin", sample_rate=22_050)
    b = render_midi(midi, soundfont=bundled_sf2, synth="fluidsynth", sample_rate=22_050)
    assert abs(_db(a.audio) - _db(b.audio)) < 3.0


@pytest.mark.skipif(fluidsynth_executable() is None or shutil.which("timidity") is None, reason="needs both engines")
def test_timidity_is_another_engine_at_fluidsynths_level(bundled_sf2: Path) -> None:
    midi = (Path(__file__).resolve().parents[2] / "examples" / "ode_to_joy.mid").read_bytes()
    a = render_midi(midi, soundfont=bundled_sf2, synth="timidity", sample_rate=22_050)
    b = render_midi(midi, soundfont=bundled_sf2, synth="fluidsynth", sample_rate=22_050)
    assert a.synth == "timidity" and abs(_db(a.audio) - _db(b.audio)) < 3.0
    n = min(a.audio.shape[-1], b.audio.shape[-1])
    assert not np.allclose(a.audio[:, :n], b.audio[:, :n], atol=1e-3)  # the same notes, other sound


def test_bad_inputs(tmp_path: Path, a4_midi: bytes, bundled_sf2: Path) -> None:
    with pytest.raises(InputError, match="no notes"):
        render_midi(make_midi([]), soundfont=bundled_sf2, synth="builtin")
    with pytest.raises(InputError, match="not a MIDI file"):
        render_midi(b"RIFF0000WAVE", soundfont=bundled_sf2, synth="builtin")
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"hello")
    with pytest.raises(UsageError, match="not a SoundFont"):
        render_midi(a4_midi, soundfont=fake, synth="builtin")
    with pytest.raises(UsageError, match="not found"):
        render_midi(a4_midi, soundfont=tmp_path / "missing.sf2", synth="builtin")
    with pytest.raises(UsageError, match="out of range"):
        render_midi(a4_midi, soundfont=bundled_sf2, synth="builtin", gain=0)


def test_soundfont_discovery(bundled_sf2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fonts = installed_soundfonts()
    assert fonts and fonts[-1] == bundled_sf2 or bundled_sf2.resolve() in {f.resolve() for f in fonts}
    assert check_soundfont(default_soundfont()) == default_soundfont()
    monkeypatch.setenv("MTK_SOUNDFONT", str(bundled_sf2))
    assert default_soundfont() == bundled_sf2


def _sf2(path: Path, presets: list[tuple[int, int, str]], *, samples: int = 64, pad: bool = True) -> Path:
    """A SoundFont skeleton: RIFF sfbk with INFO, a sample chunk of ``samples`` zero bytes and
    the preset headers (enough for discovery, which reads only ``pdta/phdr``); ``pad=False``
    leaves an odd chunk unpadded, as some SF3 writers do."""
    import struct

    def chunk(cid: bytes, body: bytes) -> bytes:
        return cid + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1 if pad else 0)

    rows = [(name.encode(), prog, bank) for bank, prog, name in presets] + [(b"EOP", 0, 0)]
    phdr = b"".join(struct.pack("<20sHHHIII", n, p, b, 0, 0, 0, 0) for n, p, b in rows)
    info = chunk(b"LIST", b"INFO" + chunk(b"ifil", struct.pack("<HH", 2, 1)))
    sdta = chunk(b"LIST", b"sdta" + chunk(b"smpl", b"\0" * samples))
    pdta = chunk(b"LIST", b"pdta" + chunk(b"phdr", phdr))
    path.write_bytes(chunk(b"RIFF", b"sfbk" + info + sdta + pdta))
    return path


def test_a_drum_only_soundfont_is_never_taken_for_general_midi(
    bundled_sf2: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 31: a font holding one drum kit on bank 0 (as drum-sampler packages install)
    was drawn as a song's soundfont and FluidSynth played melody and bass on drums. Discovery
    (render's default, the corpus's fonts) keeps fonts with the programs needed and says why
    it skipped the others; a named font lacking programs is refused by the corpus."""
    from mtk.corpus import soundfonts
    from mtk.corpus.build import _soundfonts
    from mtk.corpus.oneshots import drum_kit_presets
    from mtk.corpus.soundfonts import missing_presets, preset_headers

    folder = tmp_path / "sf2"
    folder.mkdir()
    drums = _sf2(folder / "aaa-drumkit.sf2", [(0, 0, "Kit")])  # unknown names rank before TimGM6mb
    (folder / "TimGM6mb.sf2").symlink_to(bundled_sf2)
    monkeypatch.setattr(soundfonts, "SYSTEM_DIRS", (folder,))
    monkeypatch.delenv("MTK_SOUNDFONT", raising=False)
    assert preset_headers(drums) == {(0, 0): "Kit"} and drum_kit_presets(drums) == {}
    assert len(preset_headers(bundled_sf2)) == 136 and missing_presets(bundled_sf2) == ""
    assert (
        missing_presets(drums)
        == "lacks 127 General MIDI program(s) on bank 0 (1, 2, 3, 4, 5, 6, 7, 8, ...) and a drum kit on bank 128"
    )
    assert missing_presets(drums, [0], drums=False) == ""
    assert [p.name for p in soundfonts.installed_soundfonts()] == ["aaa-drumkit.sf2", "TimGM6mb.sf2"]
    with caplog.at_level("WARNING", logger="mtk"):
        assert default_soundfont().resolve() == bundled_sf2.resolve()
        assert [Path(f).name for f in _soundfonts(())] == ["TimGM6mb.sf2"]
    assert any("skipped soundfont" in r.getMessage() and "aaa-drumkit" in r.getMessage() for r in caplog.records)
    with pytest.raises(UsageError, match="not a General MIDI soundfont"):
        _soundfonts([str(drums)])
    (folder / "TimGM6mb.sf2").unlink()
    monkeypatch.setattr(soundfonts, "bundled_soundfont", lambda: None)
    with pytest.raises(UsageError, match="none with every program needed"):
        default_soundfont()


def test_preset_headers_past_an_odd_chunk_padded_or_not(tmp_path: Path) -> None:
    """Debian's FluidR3Mono_GM.sf3 writes its odd-sized sample list without RIFF's pad byte;
    its presets were not found and the font was skipped as 'not a SoundFont 2'."""
    from mtk.corpus.soundfonts import preset_headers

    for pad in (True, False):
        font = _sf2(tmp_path / f"odd-{pad}.sf3", [(0, 0, "Piano"), (128, 0, "Standard")], samples=63, pad=pad)
        assert preset_headers(font) == {(0, 0): "Piano", (128, 0): "Standard"}, pad
