"""Fuzzing the readers with hypothesis: mutated MIDI files and streams raise mtk's own
``MtkError`` (one line, exit 2) or succeed; any other exception is an internal error."""

from __future__ import annotations

import io
import json

import hypothesis.strategies as st
import mido
from hypothesis import HealthCheck, given, settings

from mtk.errors import MtkError
from tests.conftest import make_midi


def _seeds() -> list[bytes]:
    melody = make_midi([(60 + (i * 5) % 12, 0.25 * i, 0.25 * i + 0.2, 90) for i in range(32)])
    band = make_midi(
        [(60, 0.0, 1.0, 90), (64, 1.0, 2.0, 90)],
        extra=[(33, [(36, 0.0, 0.9, 100)]), (-1, [(36, 0.0, 0.1, 110), (38, 0.5, 0.6, 100)])],
    )
    single = mido.MidiFile(type=0)
    track = mido.MidiTrack()
    track += [
        mido.MetaMessage("time_signature", numerator=3, denominator=4),
        mido.MetaMessage("key_signature", key="D"),
        mido.MetaMessage("marker", text="A"),
        mido.Message("program_change", program=73),
    ]
    for i in range(24):
        track += [mido.Message("note_on", note=62 + i % 7, velocity=80, time=0 if i == 0 else 120)]
        track += [mido.Message("note_off", note=62 + i % 7, velocity=0, time=240)]
    single.tracks.append(track)
    buf = io.BytesIO()
    single.save(file=buf)
    return [melody, band, buf.getvalue()]


SEEDS = _seeds()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@st.composite
def mutated_midi(draw: st.DrawFn) -> bytes:
    """A seed file with a few bytes overwritten, inserted or deleted, or cut short."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        if how == "set":
            data[at] = draw(st.integers(0, 255))
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif how == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif at > 4:
            del data[at:]
        if len(data) < 2:
            break
    return bytes(data)


@st.composite
def retimed_midi(draw: st.DrawFn) -> bytes:
    """A seed file that still parses, its values changed: delta times (huge ones too), notes,
    velocities, tempi, meters, the time division (SMPTE too) and messages dropped or repeated."""
    midi = mido.MidiFile(file=io.BytesIO(draw(st.sampled_from(SEEDS))))
    for track in midi.tracks:
        for i, msg in enumerate(track):
            if not draw(st.integers(0, 9)) == 0:
                continue
            change = draw(st.sampled_from(["time", "value", "drop", "repeat"]))
            if change == "time":
                track[i] = msg.copy(time=draw(st.sampled_from([0, 1, 10**6, 2**27]) | st.integers(0, 2**28 - 1)))
            elif change == "value" and msg.type in ("note_on", "note_off"):
                track[i] = msg.copy(note=draw(st.integers(0, 127)), velocity=draw(st.integers(0, 127)))
            elif change == "value" and msg.type == "set_tempo":
                track[i] = msg.copy(tempo=draw(st.integers(0, 2**24 - 1)))
            elif change == "value" and msg.type == "time_signature":
                track[i] = msg.copy(numerator=draw(st.integers(0, 255)), denominator=2 ** draw(st.integers(0, 7)))
            elif change == "repeat":
                track.insert(i, msg.copy())
            elif change == "drop":
                track[i] = mido.MetaMessage("text", text="x", time=msg.time)
    if draw(st.integers(0, 4)) == 0:
        midi.ticks_per_beat = draw(st.integers(1, 2**15 - 1))
    buf = io.BytesIO()
    midi.save(file=buf)
    data = bytearray(buf.getvalue())
    if draw(st.integers(0, 6)) == 0:  # an SMPTE division, valid or not
        data[12] = 256 - draw(st.sampled_from([24, 25, 29, 30, 23, 1]))
        data[13] = draw(st.integers(0, 255))
    return bytes(data)


MIDI = mutated_midi() | retimed_midi()


def _quietly(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return fn(*args, **kwargs)
    except MtkError as exc:
        assert "\n" not in str(exc)
        return None


@FUZZ
@given(MIDI)
def test_mutated_midi_never_breaks_the_midi_readers(data: bytes) -> None:
    from mtk.io.midi import checked_smf, midi_seconds, parse_midi

    midi = _quietly(parse_midi, data, name="fuzz.mid", require_notes=True)
    if midi is not None:
        midi.get_tick_to_time_mapping() if midi.max_tick < 10**6 else None
        assert midi_seconds(checked_smf(data, name="fuzz.mid")) >= 0


@FUZZ
@given(MIDI)
def test_mutated_midi_never_breaks_infill_up_to_the_model(data: bytes) -> None:
    from mtk.infill.infer import auto_gap, plan
    from mtk.infill.scorefile import read_score

    score = _quietly(read_score, data, name="fuzz.mid", suffix=".mid")
    if score is None:
        return
    line = _quietly(score.line, None)
    melody = _quietly(score.melody, line) if line is not None else None
    if melody is None or melody.n_bars > 500:
        return
    gap = _quietly(auto_gap, melody)
    if gap is not None:
        _quietly(plan, melody, gap, "auto")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(MIDI)
def test_mutated_midi_never_breaks_the_builtin_render(data: bytes) -> None:
    from mtk.corpus.render import render_midi
    from mtk.corpus.soundfonts import bundled_soundfont
    from mtk.io.midi import checked_smf, midi_seconds

    try:
        if midi_seconds(checked_smf(data, name="fuzz.mid")) > 30:
            return  # refused or rendered alike; long renders only cost time here
    except MtkError:
        pass
    _quietly(render_midi, data, soundfont=bundled_soundfont(), synth="builtin", sample_rate=8_000, stems=True)


COLUMNS = ["timestamp", "device", "network", "user", "age", "country", "gender", "track", "situation", "plays"]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["2019-08-14T07:32:00", "mobile", "wifi", "LAN", "plane", "FR", "female", "gym", "", " "]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
ROWS = st.lists(st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=5), VALUES, max_size=10), max_size=4)


@FUZZ
@given(ROWS, st.sampled_from(["csv", "jsonl", "json"]))
def test_random_streams_never_break_the_stream_and_history_readers(rows: list[dict], fmt: str) -> None:
    from mtk.situate.schema import SITUATIONS, parse_streams, read_rows
    from mtk.situate.users import read_history

    if fmt == "jsonl":
        text = "".join(json.dumps(r) + "\n" for r in rows)
    elif fmt == "json":
        text = json.dumps(rows)
    else:
        header = sorted({k for r in rows for k in r if "," not in k and "\n" not in k and '"' not in k})
        text = ",".join(header) + "\n" + "".join(",".join(str(r.get(k, "")) for k in header) + "\n" for r in rows)
    table = _quietly(read_rows, text, source="fuzz")
    if table is not None:
        _quietly(parse_streams, table, source="fuzz", situations=SITUATIONS[:4])
        _quietly(parse_streams, table, source="fuzz", need=("user", "timestamp"))
        _quietly(read_history, table, source="fuzz")


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes_never_break_the_table_reader(data: bytes) -> None:
    from mtk.situate.schema import read_rows

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return
    _quietly(read_rows, text, source="fuzz")
