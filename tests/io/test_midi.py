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
