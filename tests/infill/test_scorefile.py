"""Reading scores for mtk infill and splicing an infill into them, everything else untouched."""

from __future__ import annotations

import io
from pathlib import Path

import mido
import pytest

from mtk.errors import InputError
from mtk.infill.scorefile import read_score
from mtk.infill.tokens import Note

TPB = 480
BAR = 4 * TPB


def _track(
    name: str, channel: int, notes: list[tuple[int, int, int]], extra: list[mido.Message] = ()
) -> mido.MidiTrack:
    """A track of (pitch, start, end) notes in ticks, with ``extra`` messages at time 0."""
    events = [(0, 0, m) for m in extra]
    for pitch, start, end in notes:
        events.append((start, 2, mido.Message("note_on", channel=channel, note=pitch, velocity=70)))
        events.append((end, 1, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    prev = 0
    for time, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=time - prev))
        prev = time
    return track


def song(meters: tuple[str, ...] = ("4/4",)) -> bytes:
    """Conductor (meter, tempo, key), a melody (quarters C5 up), a bass (whole notes, with a
    control change and a pitch bend) and drums, 8 bars."""
    conductor = mido.MidiTrack()
    for i, m in enumerate(meters):
        n, d = m.split("/")
        conductor.append(mido.MetaMessage("time_signature", numerator=int(n), denominator=int(d), time=i * BAR))
    conductor += [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96)), mido.MetaMessage("key_signature", key="D")]
    melody = [(72 + i % 5, i * TPB, (i + 1) * TPB) for i in range(32)]
    bass = [(36 + i % 3, i * BAR, (i + 1) * BAR) for i in range(8)]
    extra = [mido.Message("control_change", channel=1, control=7, value=100), mido.Message("pitchwheel", channel=1)]
    drums = [(36, i * TPB, i * TPB + 60) for i in range(32)]
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    midi.tracks += [
        conductor,
        _track("bass", 1, bass, extra),
        _track("lead", 0, melody, [mido.Message("program_change", channel=0, program=73)]),
        _track("drums", 9, drums),
    ]
    buf = io.BytesIO()
    midi.save(file=buf)
    return buf.getvalue()


def notes_of(track: mido.MidiTrack) -> list[tuple[int, int]]:
    now, out = 0, []
    for m in track:
        now += m.time
        if m.type == "note_on" and m.velocity > 0:
            out.append((now, m.note))
    return out


def test_the_melody_is_the_highest_monophonic_line_and_tracks_count_from_one() -> None:
    score = read_score(song(), name="song.mid")
    assert (score.meter, round(score.tempo), score.first_number, score.n_bars) == ((4, 4), 96, 1, 8)
    line = score.line()
    assert (line.number, line.name, len(line.notes)) == (3, "lead", 32)
    assert score.line("2").name == "bass" and score.line("bass").number == 2
    with pytest.raises(InputError, match="no melodic track '4'"):
        score.line("4")  # the drums are not a melody
    melody = score.melody(line)
    assert melody.n_bars == 8 and [n.start for n in melody.notes[:3]] == [0, 12, 24]


def test_splicing_replaces_the_gap_and_keeps_every_other_message() -> None:
    data = song()
    score = read_score(data, name="song.mid")
    line = score.line()
    infill = [Note(60, 0, 24), Note(62, 24, 24), Note(64, 48, 96)]  # the last note would cross the gap's end
    out = mido.MidiFile(file=io.BytesIO(score.with_notes(line, 2, 4, infill)))
    before = mido.MidiFile(file=io.BytesIO(data))
    assert out.ticks_per_beat == before.ticks_per_beat and out.type == before.type
    for i in (0, 1, 3):  # conductor, bass (control change, pitch bend), drums: message for message
        assert list(out.tracks[i]) == list(before.tracks[i])
    old, new = notes_of(before.tracks[2]), notes_of(out.tracks[2])
    assert [x for x in new if not 2 * BAR <= x[0] < 4 * BAR] == [x for x in old if not 2 * BAR <= x[0] < 4 * BAR]
    assert [x for x in new if 2 * BAR <= x[0] < 4 * BAR] == [(2 * BAR, 60), (2 * BAR + 960, 62), (3 * BAR, 64)]
    non_notes = [m for m in out.tracks[2] if not m.type.startswith("note")]
    assert non_notes == [m for m in before.tracks[2] if not m.type.startswith("note")]
    again = read_score(score.with_notes(line, 2, 4, infill), name="x").line()
    assert max(n.end for n in again.notes if 2 * BAR <= n.start < 4 * BAR) == 4 * BAR  # cut at the gap's end


def test_bad_scores_are_one_clear_error() -> None:
    with pytest.raises(InputError, match="17/8 is not supported"):
        read_score(song(("4/4", "17/8")), name="x.mid")
    with pytest.raises(InputError, match=r"meter 3/32 is not supported \(numerators 1 to 16 over 2, 4, 8 or 16\)"):
        read_score(song(("3/32",)), name="x.mid")
    with pytest.raises(InputError, match="not a MIDI, MusicXML or ABC"):
        read_score(b"hello", name="x.txt")
    with pytest.raises(InputError, match=r"x.wav: not a MIDI, MusicXML or ABC file \(looks like WAV\)"):
        read_score(b"RIFF\x24\x00\x00\x00WAVEfmt ", name="x.wav")
    with pytest.raises(InputError, match=r"not a MIDI file \(no MThd header\)"):
        read_score(b"hello", name="x.mid", suffix=".mid")
    with pytest.raises(InputError, match="corrupt or truncated"):
        read_score(song()[:40], name="x.mid")


ABC = """X:1
T:Pickup
M:3/4
L:1/4
K:G
D|G2A|B2c|d2B|G3|A2B|c2A|B2G|D3|]
"""


def test_a_meter_change_moves_bar_lines_and_the_splice() -> None:
    score = read_score(song(("4/4", "3/4")), name="x.mid")  # 3/4 from the second bar line (tick 1920)
    assert score.meter == (4, 4) and score.changes == ((1, (3, 4)),)
    assert [score.bar_start(b) for b in range(4)] == [0, BAR, BAR + 3 * TPB, BAR + 6 * TPB]
    assert score.n_bars == 1 + 28 // 3 + 1  # 32 quarter notes: 4 in 4/4, 28 in 3/4 (9 bars and a third)
    melody = score.melody(score.line())
    assert melody.changes == ((1, (3, 4)),) and melody.bar_start(2) == 48 + 36
    out = read_score(score.with_notes(score.line(), 2, 3, [Note(60, 0, 36)]), name="y")
    assert [(n.start, n.pitch) for n in out.line().notes if BAR + 3 * TPB <= n.start < BAR + 6 * TPB] == [
        (BAR + 3 * TPB, 60)
    ]
    assert read_score(song(("5/4",)), name="x.mid").meter == (5, 4)


def test_musicxml_meter_changes_after_a_pickup(tmp_path: Path) -> None:
    from music21 import meter, note, stream

    part = stream.Part()
    bars = [("2/4", [0.5]), (None, [1, 1]), (None, [2]), ("3/4", [1, 1, 1]), (None, [3]), ("3/8", [0.5] * 3)]
    for number, (sig, lengths) in enumerate(bars):
        m = stream.Measure(number=number)
        if sig:
            m.timeSignature = meter.TimeSignature(sig)
        if number == 0:
            m.paddingLeft = 1.5  # a pickup of one eighth
        for k, ql in enumerate(lengths):
            m.append(note.Note(60 + number + k, quarterLength=ql))
        part.append(m)
    path = tmp_path / "changing.musicxml"
    stream.Score([part]).write("musicxml", fp=str(path))
    score = read_score(path.read_bytes(), name=str(path), suffix=".musicxml")
    assert score.first_number == 0 and score.meter == (2, 4)
    assert score.changes == ((3, (3, 4)), (5, (3, 8)))  # the padded pickup is bar 0
    melody = score.melody(score.line())
    assert melody.n_bars == 6 and melody.meters() == [(2, 4)] * 3 + [(3, 4)] * 2 + [(3, 8)]
    assert [melody.bar_of(n.start) for n in melody.notes] == [0, 1, 1, 2, 3, 3, 3, 4, 5, 5, 5]
    assert [n.start - melody.bar_start(5) for n in melody.bar_notes(5, 6)] == [0, 6, 12]


def test_abc_with_a_pickup_counts_the_pickup_as_bar_0() -> None:
    score = read_score(ABC.encode(), name="-")  # from stdin: recognised by content
    assert score.meter == (3, 4) and score.first_number == 0
    melody = score.melody(score.line())
    assert melody.n_bars == 9  # the pickup bar, padded, and 8 full bars
    assert melody.notes[0].start == 24 and melody.notes[0].pitch == 62  # D on the pickup bar's third beat
    assert melody.notes[1].start == 36 and score.bar_index(1) == 1  # G2 on bar 1's downbeat
    assert score.line().describe()["name"]


MARKED_ABC = """X:1
T:Marks
M:4/4
L:1/4
K:C
CDEF|GABc|cBAG||EEEE|GGGG|:AAAA|GGGG:|
"""


def test_double_bars_and_repeat_signs_become_markers_and_section_marks() -> None:
    """Bars as played: the repeat of bars 5-6 is unrolled (9 bars), each pass marked."""
    score = read_score(MARKED_ABC.encode(), name="-")
    assert score.first_number == 1 and score.marks == (3, 5, 7) and score.repeats == "expanded"
    markers = [(m.text, m.time) for m in score.midi.tracks[0] if m.type == "marker"]
    assert markers == [("||", 3 * 4 * 480), ("||", 2 * 4 * 480), ("||", 2 * 4 * 480)]  # delta times
    melody = score.melody(score.line())
    assert melody.n_bars == 9 and melody.marks == (3, 5, 7)
    assert [n.pitch for n in melody.bar_notes(7, 9)] == [n.pitch for n in melody.bar_notes(5, 7)]


VOLTA_ABC = """X:1
T:Sections
M:4/4
L:1/4
K:C
|:CDEF|GABc|cBAG|FEDC:|
|:EEGG|AAGG|FFEE|D2C2|
EEGG|AAGG|FFEE|[1 D2C2:|[2 D2c2|]
"""


def test_repeats_and_endings_are_unrolled_so_the_analysis_finds_the_repeats() -> None:
    """Issue 31: `|: ... :|` was kept as written, so "no section repeats an earlier one". Now
    repeats and first and second endings are played out, and the labels follow the rules: an
    exact repeat keeps the letter, a second ending that changes one note gets a prime."""
    from mtk.infill.infer import auto_gap
    from mtk.infill.structure import analyze

    score = read_score(VOLTA_ABC.encode(), name="-")
    melody = score.melody(score.line())
    assert score.repeats == "expanded" and melody.n_bars == 24 and score.marks == (4, 8, 16)
    labels = [(s.first_bar, s.end_bar, s.label) for s in analyze(melody)]
    assert labels == [(0, 4, "A"), (4, 8, "A"), (8, 12, "B"), (12, 16, "B"), (16, 20, "B"), (20, 24, "B'")]
    assert auto_gap(melody) == (4, 8)
    assert [n.pitch for n in melody.bar_notes(23, 24)] == [62, 72]  # the second ending: D2c2


def test_midi_markers_mark_sections_at_the_nearest_bar_line() -> None:
    midi = mido.MidiFile(file=io.BytesIO(song()))
    midi.tracks[0].insert(-1, mido.MetaMessage("marker", text="B", time=5 * BAR - 30))  # before end_of_track
    buf = io.BytesIO()
    midi.save(file=buf)
    score = read_score(buf.getvalue(), name="x.mid")
    assert score.marks == (5,) and score.melody(score.line()).marks == (5,)
    assert read_score(song(), name="y.mid").marks == ()


def test_musicxml_rehearsal_marks_become_section_marks(tmp_path: Path) -> None:
    from music21 import expressions, meter, note, stream

    part = stream.Part()
    for i in range(6):
        m = stream.Measure(number=i + 1)
        if i == 0:
            m.append(meter.TimeSignature("3/4"))
        if i == 2:
            m.insert(0, expressions.RehearsalMark("B"))
        m.repeatAppend(note.Note(60 + i, quarterLength=1.0), 3)
        part.append(m)
    path = tmp_path / "marks.musicxml"
    stream.Score([part]).write("musicxml", fp=str(path))
    score = read_score(path.read_bytes(), name=str(path), suffix=".musicxml")
    assert score.marks == (2,)
    assert [m.text for m in score.midi.tracks[0] if m.type == "marker"] == ["B"]
