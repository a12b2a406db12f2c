from __future__ import annotations

from pathlib import Path

import miditoolkit
import pytest

from mtk.errors import InputError, OutputExistsError
from mtk.io.midi import midi_to_bytes, parse_midi, read_midi, write_midi
from tests import badinputs
from tests.conftest import make_midi


def test_round_trip_keeps_notes(tmp_path: Path) -> None:
    data = make_midi([(60, 0.0, 0.5, 80), (64, 0.5, 1.0, 90)], program=40)
    midi = parse_midi(data)
    write_midi(tmp_path / "a.mid", midi)
    back = read_midi(tmp_path / "a.mid")
    assert [(n.pitch, n.start, n.end, n.velocity) for n in back.instruments[0].notes] == [
        (60, 0, 480, 80),
        (64, 480, 960, 90),
    ]
    assert back.instruments[0].program == 40
    assert midi_to_bytes(back)[:4] == b"MThd"


def test_refuses_overwrite(tmp_path: Path) -> None:
    (tmp_path / "a.mid").write_bytes(b"keep")
    with pytest.raises(OutputExistsError):
        write_midi(tmp_path / "a.mid", miditoolkit.MidiFile())
    assert (tmp_path / "a.mid").read_bytes() == b"keep"


def test_bad_midi_inputs(tmp_path: Path) -> None:
    corpus = badinputs.build(tmp_path)
    for name, (path, _) in corpus.items():
        if name == "midi_no_notes":
            assert not any(inst.notes for inst in read_midi(path).instruments)
            with pytest.raises(InputError, match="no notes"):
                read_midi(path, require_notes=True)
            continue
        with pytest.raises(InputError) as err:
            read_midi(path, require_notes=True)
        assert "\n" not in str(err.value) and err.value.exit_code == 2, name
    with pytest.raises(InputError, match="corrupt or truncated"):
        read_midi(corpus["midi_truncated"][0])
    with pytest.raises(InputError, match="looks like WAV"):
        read_midi(corpus["pcm_24"][0])
    with pytest.raises(InputError, match="no such file"):
        read_midi(tmp_path / "missing.mid")


def _smpte(data: bytes, fps: int, per_frame: int) -> bytes:
    """``data`` (480 ticks per beat, 120 bpm: 960 ticks a second) retimed in SMPTE frames."""
    import io
    import struct

    import mido

    src = mido.MidiFile(file=io.BytesIO(data))
    rate = {29: 30_000 / 1001}.get(fps, float(fps)) * per_frame  # ticks a second
    out = mido.MidiFile(type=src.type, ticks_per_beat=480)
    for track in src.tracks:
        new, tick, last = mido.MidiTrack(), 0, 0
        for msg in track:
            tick += msg.time
            target = round(tick / 960 * rate)
            new.append(msg.copy(time=target - last))
            last = target
        out.tracks.append(new)
    buf = io.BytesIO()
    out.save(file=buf)
    raw = bytearray(buf.getvalue())
    raw[12:14] = struct.pack(">bB", -fps, per_frame)
    return bytes(raw)


@pytest.mark.parametrize(("fps", "per_frame"), [(24, 4), (25, 40), (29, 80), (30, 100)])
def test_smpte_timed_midi_keeps_its_times_in_seconds(fps: int, per_frame: int) -> None:
    notes = [(60 + i % 7, 0.25 * i, 0.25 * i + 0.2, 90) for i in range(16)]
    midi = parse_midi(_smpte(make_midi(notes), fps, per_frame))
    times = midi.get_tick_to_time_mapping()
    got = [(n.pitch, times[n.start], times[n.end]) for n in midi.instruments[0].notes]
    for (pitch, start, end), (p, s, e) in zip(got, [(p, s, e) for p, s, e, _ in notes], strict=True):
        assert pitch == p and abs(start - s) < 1.5 / (fps * per_frame) + 1e-3 and abs(end - e) < 0.01


def test_midi_that_parsers_would_divide_by_zero_is_an_input_error(tmp_path: Path) -> None:
    corpus = badinputs.midi_kinds(tmp_path)
    with pytest.raises(InputError, match="a tempo of 0 in track 1 at tick 0"):
        read_midi(corpus["tempo_zero"])
    with pytest.raises(InputError, match="time division of 0"):
        read_midi(corpus["division_zero"])
    with pytest.raises(InputError, match="SMPTE division 23"):
        read_midi(corpus["smpte_division_bad_rate"])
