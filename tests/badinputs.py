"""Awkward and broken inputs, generated on the fly, by the kind of input a command reads.

``build`` writes the audio/MIDI corpus the I/O tests use (name -> (path, valid audio)).
The ``*_kinds`` builders write the bad-input matrix's inputs (name -> path): every one of
them must be refused by every command that reads that kind of input, with one line on
stderr and nothing written (tests/cli/test_matrix.py).
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22_050


def _tone(sr: int, seconds: float = 1.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    y = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([y] * channels, axis=1).astype(np.float32)


def _wav(y: np.ndarray, sr: int, **kw: object) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=kw.pop("format", "WAV"), **kw)
    return buf.getvalue()


def _midi_no_notes() -> bytes:
    import miditoolkit

    midi = miditoolkit.MidiFile()
    midi.instruments = [miditoolkit.Instrument(program=0)]
    buf = io.BytesIO()
    midi.dump(file=buf)
    return buf.getvalue()


def _song_midi() -> bytes:
    from tests.conftest import make_midi

    return make_midi([(60 + i % 12, i * 0.25, i * 0.25 + 0.2, 90) for i in range(64)])


def _midi_truncated() -> bytes:
    data = _song_midi()
    return data[: len(data) // 2]


def _random(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def build(folder: Path) -> dict[str, tuple[Path, bool]]:
    """Write the corpus into ``folder``: name -> (path, is valid audio of >= 0.5 s)."""
    nan = _tone(SR)
    nan[100, 0] = np.nan
    inf = _tone(SR)
    inf[5, 0] = np.inf
    good_wav = _wav(_tone(SR), SR)
    files: dict[str, tuple[bytes, str, bool]] = {
        "empty": (b"", ".wav", False),
        "zero_length": (_wav(np.zeros((0, 1), np.float32), SR), ".wav", False),
        "truncated_header": (good_wav[:30], ".wav", False),
        "random_bytes": (_random(4096), ".wav", False),
        "text_named_wav": (b"this is not audio\n" * 20, ".wav", False),
        "nan_samples": (_wav(nan, SR, subtype="FLOAT"), ".wav", False),
        "inf_samples": (_wav(inf, SR, subtype="FLOAT"), ".wav", False),
        "one_sample": (_wav(np.zeros((1, 1), np.float32), SR), ".wav", False),
        "midi_no_notes": (_midi_no_notes(), ".mid", False),
        "midi_truncated": (_midi_truncated(), ".mid", False),
        "rate_8k": (_wav(_tone(8_000), 8_000), ".wav", True),
        "rate_96k": (_wav(_tone(96_000), 96_000), ".wav", True),
        "pcm_24": (_wav(_tone(SR), SR, subtype="PCM_24"), ".wav", True),
        "float32": (_wav(_tone(SR), SR, subtype="FLOAT"), ".wav", True),
        "six_channels": (_wav(_tone(SR, channels=6), SR), ".wav", True),
        "aiff_big_endian": (_wav(_tone(SR), SR, format="AIFF", endian="BIG"), ".aiff", True),
        "flac": (_wav(_tone(SR), SR, format="FLAC"), ".flac", True),
    }
    out = {}
    for name, (data, ext, valid) in files.items():
        path = folder / f"{name}{ext}"
        path.write_bytes(data)
        out[name] = (path, valid)
    return out


def _write(folder: Path, files: dict[str, tuple[bytes, str]]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (data, ext) in files.items():
        path = folder / f"{name}{ext}"
        path.write_bytes(data)
        out[name] = path
    return out


def _paths_that_are_not_files(folder: Path, ext: str) -> dict[str, Path]:
    """A missing file, a dangling symbolic link and a folder, each named like an input."""
    folder.mkdir(parents=True, exist_ok=True)
    dangling = folder / f"dangling_link{ext}"
    dangling.symlink_to(folder / "nowhere")
    empty_dir = folder / f"folder_named{ext}"
    empty_dir.mkdir()
    return {"missing": folder / f"missing{ext}", "dangling_link": dangling, "folder_named": empty_dir}


def _cut(data: bytes, keep: int) -> bytes:
    return data[:keep]


def audio_kinds(folder: Path) -> dict[str, Path]:
    """Bad audio: >= 20 kinds no mtk command may accept (each shorter than any command's
    minimum, or not decodable, or not finite)."""
    long_tone = _tone(SR, 37.0)
    nan, inf = _tone(SR), _tone(SR)
    nan[100, 0], inf[5, 0] = np.nan, np.inf
    huge = bytearray(_wav(_tone(SR, 0.005), SR))  # RIFF and data sizes of ~4 GB, 110 samples there
    huge[4:8] = struct.pack("<I", 0xFFFFFFF0)
    huge[40:44] = struct.pack("<I", 0xFFFFFFC0)
    no_channels = bytearray(_wav(_tone(SR), SR))
    no_channels[22:24] = struct.pack("<H", 0)
    no_rate = bytearray(_wav(_tone(SR), SR))
    no_rate[24:28] = struct.pack("<I", 0)
    header_only = _wav(_tone(SR, 10.0), SR)[:44]
    files: dict[str, tuple[bytes, str]] = {
        "empty": (b"", ".wav"),
        "zero_length": (_wav(np.zeros((0, 1), np.float32), SR), ".wav"),
        "header_only": (header_only, ".wav"),
        "truncated_header": (header_only[:30], ".wav"),
        "random_bytes": (_random(4096), ".wav"),
        "text_named_wav": (b"this is not audio\n" * 20, ".wav"),
        "midi_named_wav": (_song_midi(), ".wav"),
        "json_named_flac": (b'{"audio": false}\n', ".flac"),
        "nan_samples": (_wav(nan, SR, subtype="FLOAT"), ".wav"),
        "inf_samples": (_wav(inf, SR, subtype="FLOAT"), ".wav"),
        "one_sample": (_wav(np.zeros((1, 1), np.float32), SR), ".wav"),
        "too_short": (_wav(_tone(SR, 0.01), SR), ".wav"),
        "huge_declared_size": (bytes(huge), ".wav"),
        "no_channels": (bytes(no_channels), ".wav"),
        "rate_zero": (bytes(no_rate), ".wav"),
        "truncated_wav": (_cut(_wav(long_tone, SR), 2_000), ".wav"),
        "truncated_aiff": (_cut(_wav(long_tone, SR, format="AIFF"), 2_000), ".aiff"),
        "truncated_ogg": (_cut(_wav(long_tone, SR, format="OGG"), 3_000), ".ogg"),
        "truncated_mp3": (_cut(_wav(long_tone, SR, format="MP3"), 800), ".mp3"),
        "truncated_flac": (_cut(_wav(long_tone, SR, format="FLAC"), 3_000), ".flac"),
    }
    return {**_write(folder, files), **_paths_that_are_not_files(folder, ".wav")}


def midi_kinds(folder: Path) -> dict[str, Path]:
    """Bad MIDI files."""
    song = _song_midi()
    tempo_zero = song.replace(b"\xff\x51\x03\x07\xa1\x20", b"\xff\x51\x03\x00\x00\x00")
    assert tempo_zero != song
    track_len = bytearray(song)
    at = song.index(b"MTrk") + 4
    track_len[at : at + 4] = struct.pack(">I", 0xFFFFFFF0)
    files: dict[str, tuple[bytes, str]] = {
        "empty": (b"", ".mid"),
        "random_bytes": (_random(4096, seed=1), ".mid"),
        "text_named_mid": (b"this is not MIDI\n" * 20, ".mid"),
        "wav_named_mid": (_wav(_tone(SR), SR), ".mid"),
        "header_only": (song[:14], ".mid"),
        "truncated": (_midi_truncated(), ".mid"),
        "no_notes": (_midi_no_notes(), ".mid"),
        "tempo_zero": (tempo_zero, ".mid"),
        "division_zero": (song[:12] + b"\x00\x00" + song[14:], ".mid"),
        "smpte_division_bad_rate": (song[:12] + struct.pack(">bB", -23, 40) + song[14:], ".mid"),
        "huge_track_length": (bytes(track_len), ".mid"),
        "no_tracks": (b"MThd\x00\x00\x00\x06\x00\x01\x00\x00\x01\xe0", ".mid"),
        "json_named_mid": (b'{"notes": []}\n', ".mid"),
        "bad_type": (song[:8] + b"\x00\x07" + song[10:], ".mid"),
        "missing_tracks": (song[:10] + b"\x00\x05" + song[12:], ".mid"),
        "short_header": (b"MThd\x00\x00\x00\x02\x00\x01" + song[14:], ".mid"),
        "magic_then_garbage": (b"MThd" + _random(600, seed=6), ".mid"),
        "far_event": (_far_event(), ".mid"),
        "broken_musicxml": (
            b'<?xml version="1.0"?>\n<score-partwise><part id="P1"><measure number="1"><note>',
            ".musicxml",
        ),
        "html_musicxml": (b'<?xml version="1.0"?>\n<html><body>hi</body></html>', ".musicxml"),
        "broken_mxl": (b"PK\x03\x04" + _random(300, seed=7), ".mxl"),
        "broken_abc": (b"X:1\nT:t\nM:4/4\nK:G\n|: GAB c2 |]]]] ((( z/0 \n", ".abc"),
    }
    return {**_write(folder, files), **_paths_that_are_not_files(folder, ".mid")}


def _far_event() -> bytes:
    """A melody whose last note comes 2**27 ticks (about 39 hours) after the others."""
    import mido

    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    for i in range(16):
        track += [
            mido.Message("note_on", note=60 + i % 5, velocity=90),
            mido.Message("note_off", note=60 + i % 5, time=480),
        ]
    track += [mido.Message("note_on", note=60, velocity=90, time=2**27), mido.Message("note_off", note=60, time=480)]
    midi.tracks.append(track)
    buf = io.BytesIO()
    midi.save(file=buf)
    return buf.getvalue()


def corpus_kinds(folder: Path, audio: dict[str, Path] | None = None) -> dict[str, Path]:
    """Bad song corpora (folders built by `mtk corpus songs`, or not); with ``audio`` (from
    :func:`audio_kinds`), also one corpus per bad audio kind: a song whose ``mix.wav`` and
    ``drums.wav`` are that kind (``song_audio_<kind>``)."""
    folder.mkdir(parents=True, exist_ok=True)
    metas = {
        "broken_meta_json": b"{bad json",
        "meta_not_an_object": b"[1, 2]",
        "meta_missing_keys": b'{"split": "test"}',
        "meta_wrong_types": b'{"split": 1, "style": "rock", "meter": "4/4", "duration": "long", "tempo": 120,'
        b' "work": {}, "drums": {}, "soundfont": {}, "drum_hits": {}}',
        "meta_not_utf8": b'{"split": "\xff\xfe"}',
    }
    out = {}
    for name, data in metas.items():
        (folder / name / "song-a").mkdir(parents=True)
        (folder / name / "song-a" / "meta.json").write_bytes(data)
        out[name] = folder / name
    (folder / "no_songs").mkdir()
    (folder / "no_songs" / "readme.txt").write_text("not a corpus\n")
    out["no_songs"] = folder / "no_songs"
    out["a_file"] = folder / "a_file.wav"
    out["a_file"].write_bytes(_wav(_tone(SR), SR))
    out["missing"] = folder / "missing"
    meta = {"split": "test", "work": {"id": "w1"}, "drums": {"mode": "sampler", "kit": "GMRockKit"}, "drum_hits": []}
    for kind, source in (audio or {}).items():
        for split in ("train", "test"):
            song = folder / f"song_audio_{kind}" / f"song-{split}"
            song.mkdir(parents=True)
            (song / "meta.json").write_text(json.dumps({**meta, "split": split}))
            for name in ("mix.wav", "drums.wav"):
                if source.is_symlink():
                    (song / name).symlink_to(song / "nowhere")
                elif source.is_dir():
                    (song / name).mkdir()
                elif source.exists():
                    (song / name).write_bytes(source.read_bytes())
        out[f"song_audio_{kind}"] = folder / f"song_audio_{kind}"
    return out


def list_kinds(folder: Path) -> dict[str, Path]:
    """Bad ``@list`` files (one input per line)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "no-inputs").mkdir()
    (folder / "no-inputs" / "notes.txt").write_text("nothing to read here\n")
    files: dict[str, tuple[bytes, str]] = {
        "list_binary": (_random(512, seed=8), ".txt"),
        "list_empty": (b"", ".txt"),
        "list_comments_only": (b"# nothing yet\n\n", ".txt"),
        "list_names_missing": (f"{folder / 'gone.wav'}\n".encode(), ".txt"),
        "list_names_empty_folder": (f"{folder / 'no-inputs'}\n".encode(), ".txt"),
    }
    return {**_write(folder, files), "list_missing": folder / "no-such-list.txt"}


# Bad option values of `mtk situate now` (it reads no file): name -> the options.
NOW_OPTIONS: dict[str, list[str]] = {
    "time_garbage": ["--time", "garbage"],
    "time_empty": ["--time", " "],
    "time_month_13": ["--time", "2019-13-01T10:00"],
    "time_number": ["--time", "12345"],
    "time_hour_25": ["--time", "2019-08-14T25:00"],
    "device_unknown": ["--device", "phone"],
    "device_empty": ["--device", ""],
    "network_unknown": ["--network", "5g"],
    "network_empty": ["--network", ""],
    "age_nan": ["--age", "nan"],
    "age_inf": ["--age", "inf"],
    "age_negative": ["--age", "-1"],
    "age_too_old": ["--age", "500"],
    "age_text": ["--age", "old"],
    "country_name": ["--country", "France"],
    "country_digits": ["--country", "F1"],
    "country_three_letters": ["--country", "FRA"],
    "gender_unknown": ["--gender", "x"],
    "top_zero": ["-k", "0"],
    "top_text": ["-k", "three"],
    "unknown_option": ["--colour", "blue"],
}


STREAM_HEADER = "timestamp,device,network,user,age,country,gender,track\n"


def stream_kinds(folder: Path, track: str) -> dict[str, Path]:
    """Bad stream files (``track``: a readable audio path for the rows that need one)."""
    row = {"timestamp": "2019-08-14T07:32:00", "device": "mobile", "network": "wifi", "user": "u1", "track": track}

    def jsonl(**changes: object) -> bytes:
        return (json.dumps({**row, **changes}) + "\n").encode()

    files: dict[str, tuple[bytes, str]] = {
        "empty": (b"", ".csv"),
        "blank_lines": (b"\n\n  \n", ".jsonl"),
        "random_bytes": (_random(2048, seed=2), ".csv"),
        "header_only": (STREAM_HEADER.encode(), ".csv"),
        "wav_named_csv": (_wav(_tone(SR), SR), ".csv"),
        "json_array_of_strings": (b'["a", "b"]\n', ".jsonl"),
        "json_line_not_object": (jsonl() + b"[1, 2]\n", ".jsonl"),
        "broken_json": (b'{"timestamp": "2019-08-14T07:32:00", \n', ".jsonl"),
        "missing_column": (b"timestamp,device,user,track\n2019-08-14T07:32:00,mobile,u1," + track.encode(), ".csv"),
        "bad_device": (jsonl(device="phone"), ".jsonl"),
        "bad_network": (jsonl(network="5g"), ".jsonl"),
        "bad_timestamp": (jsonl(timestamp="yesterday"), ".jsonl"),
        "numeric_timestamp": (jsonl(timestamp=12345), ".jsonl"),
        "null_timestamp": (jsonl(timestamp=None), ".jsonl"),
        "nan_age": (jsonl(age=float("nan")), ".jsonl"),
        "age_out_of_range": (jsonl(age=500), ".jsonl"),
        "bad_country": (jsonl(country="France"), ".jsonl"),
        "bad_gender": (jsonl(gender=7), ".jsonl"),
        "missing_track": (jsonl(track=str(folder / "no-such.wav")), ".jsonl"),
        "track_not_audio": (jsonl(track=str(folder / "random_bytes.csv")), ".jsonl"),
    }
    return {**_write(folder, files), **_paths_that_are_not_files(folder, ".csv")}


def history_kinds(folder: Path) -> dict[str, Path]:
    """Bad listening-history files."""
    files: dict[str, tuple[bytes, str]] = {
        "empty": (b"", ".csv"),
        "random_bytes": (_random(1024, seed=3), ".csv"),
        "missing_column": (b"user,plays\nu1,3\n", ".csv"),
        "negative_plays": (b"user,track,plays\nu1,a.wav,-2\n", ".csv"),
        "nan_plays": (b'{"user": "u1", "track": "a.wav", "plays": NaN}\n', ".jsonl"),
        "text_plays": (b"user,track,plays\nu1,a.wav,many\n", ".csv"),
        "json_array_of_numbers": (b"[1, 2, 3]", ".json"),
    }
    return {**_write(folder, files), **_paths_that_are_not_files(folder, ".csv")}


def index_kinds(folder: Path, good_index: Path) -> dict[str, Path]:
    """Bad cover indexes (``good_index``: a real one, for the truncated and altered kinds)."""
    good = good_index.read_bytes()
    other = io.BytesIO()
    np.savez(other, x=np.zeros(3))
    files: dict[str, tuple[bytes, str]] = {
        "empty": (b"", ".idx"),
        "random_bytes": (_random(4096, seed=4), ".idx"),
        "truncated": (good[: len(good) // 2], ".idx"),
        "header_only": (good[:64], ".idx"),
        "other_npz": (other.getvalue(), ".idx"),
        "wav_named_idx": (_wav(_tone(SR), SR), ".idx"),
    }
    return {**_write(folder, files), **_paths_that_are_not_files(folder, ".idx")}


def model_kinds(folder: Path, *, transcribe: Path, dusp: Path) -> dict[str, str]:
    """Bad ``--model`` values: names and files (``transcribe``, ``dusp``: real weight files,
    each a model of another task for every command but its own)."""
    files = _write(folder, {"empty_file": (b"", ".pt"), "garbage_file": (_random(2048, seed=5), ".pt")})
    return {
        "unknown_name": "no-such-model-v9",
        "other_task_name": "transcribe-debug",
        "missing_file": str(folder / "missing.pt"),
        "transcribe_weights": str(transcribe),
        "dusp_weights": str(dusp),
        **{name: str(path) for name, path in files.items()},
    }


def catalogue_kinds(folder: Path, good_audio: Path) -> dict[str, Path]:
    """Bad metadata catalogues (``mtk train embed --metadata``); ``good_audio``: a real file the
    rows may name."""
    head = b"path,track,release,artist,label\n"
    row = f"{good_audio},t1,r1,a1,l1\n".encode()
    files: dict[str, tuple[bytes, str]] = {
        "empty": (b"", ".csv"),
        "random_bytes": (_random(1024, seed=9), ".csv"),
        "header_only": (head, ".csv"),
        "missing_column": (b"path,track,release,artist\n" + row, ".csv"),
        "empty_path": (head + b",t1,r1,a1,l1\n", ".csv"),
        "empty_track": (head + f"{good_audio},,r1,a1,l1\n".encode(), ".csv"),
        "duplicate_path": (head + row + row, ".csv"),
        "unterminated_quote": (head + b'"x.wav,t1,r1,a1,l1\n', ".csv"),
        "not_utf8": (head + "caf\u00e9.wav,t1,r1,a1,l1\n".encode("latin-1"), ".csv"),
        "wav_named_csv": (_wav(_tone(SR), SR), ".csv"),
    }
    return {**_write(folder, files), **_paths_that_are_not_files(folder, ".csv")}
