"""A 3-song corpus built for real (TimGM6mb, GMRockKit, MMA, FluidSynth): ground truth holds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mtk.corpus.build import split_of
from mtk.corpus.kits import HYDROGEN_DIRS, load_one_shot
from mtk.corpus.styles import STEM_CLASSES, stem_class
from tests.conftest import invoke_mtk

TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
NEEDS = [
    shutil.which("fluidsynth"),
    shutil.which("mma"),
    TIMGM.is_file(),
    any((d / "GMRockKit").is_dir() for d in HYDROGEN_DIRS),
]
pytestmark = pytest.mark.skipif(
    not all(NEEDS), reason="needs `make corpus-deps` (fluidsynth, mma, hydrogen-data, TimGM6mb)"
)
SR = 22_050
ARGS = [
    "-n",
    "3",
    "--seed",
    "9",
    "-r",
    str(SR),
    "--max-seconds",
    "10",
    "--kits",
    "GMRockKit",
    "--test-kits",
    "GMRockKit",
    "--soundfonts",
    str(TIMGM),
    "--soundfont-drums",
    "0",
    "-j",
    "2",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "songs"
    proc = invoke_mtk("corpus", "songs", str(out), *ARGS)
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(proc.stdout.decode().splitlines()) == 3
    return out


def _songs(corpus: Path) -> list[tuple[Path, dict]]:
    return [(p.parent, json.loads(p.read_text())) for p in sorted(corpus.glob("*/meta.json"))]


def _read(path: Path) -> np.ndarray:
    return sf.read(path, always_2d=True, dtype="float64")[0]


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x)) + 1e-20))


def test_files_and_sums(corpus: Path) -> None:
    songs = _songs(corpus)
    assert len(songs) == 3
    for folder, meta in songs:
        mix = _read(folder / "mix.wav")
        stems = {p: _read(folder / "stems" / f"{p}.wav") for p in ("melody", "chords", "bass", "drums")}
        assert all(s.shape == mix.shape for s in stems.values())
        assert _db(sum(stems.values()) - mix) - _db(mix) < -60
        assert _db(_read(folder / "drumless.wav") + _read(folder / "drums.wav") - mix) - _db(mix) < -60
        assert np.array_equal(_read(folder / "drums.wav"), stems["drums"])
        classes = {p.stem: _read(p) for p in sorted((folder / "stems" / "drums").glob("*.wav"))}
        assert {"kick", "snare", "hihat"} <= set(classes) <= set(STEM_CLASSES)
        assert _db(sum(classes.values()) - stems["drums"]) - _db(stems["drums"]) < -60
        played = {stem_class(h["class"]) for h in meta["drum_hits"]}
        if meta["drums"]["mode"] == "sampler":
            assert played == set(classes), folder.name  # a stem for every class that plays, and no other
        else:  # soundfont drums: what the classes rendered alone do not sum to is in `other`
            assert played <= set(classes) <= played | {"other"}, folder.name
        for part, audio in stems.items():
            assert _db(audio) > -50, (folder.name, part)  # every part is audible
        assert (folder / "song.mid").read_bytes()[:4] == b"MThd" and (folder / "drums.mid").read_bytes()[:4] == b"MThd"
        assert mix.shape[0] / SR == pytest.approx(meta["duration"], abs=0.01)


def test_beats_agree_with_tempo(corpus: Path) -> None:
    import miditoolkit

    for folder, meta in _songs(corpus):
        beats = np.array(meta["beats"])
        compound = meta["meter"].endswith("/8")
        quarter_bpm = meta["tempo"] * (1.5 if compound else 1)
        assert np.allclose(np.diff(beats), 60 / meta["tempo"], atol=1e-5)
        per_bar = int(meta["meter"].split("/")[0]) // (3 if compound else 1)
        assert meta["downbeats"] == beats[::per_bar].tolist()
        midi = miditoolkit.MidiFile(str(folder / "song.mid"))
        assert midi.tempo_changes[0].tempo == pytest.approx(quarter_bpm, rel=1e-4)
        assert [i.name.split(":")[0] for i in midi.instruments][:1] == ["melody"]


def _placed(hits: list[dict], length: int, shift_s: float = 0.0) -> object:
    """A sparse matrix whose column i is hit i's one-shot placed at its time (+ shift)."""
    from scipy.sparse import csc_matrix

    rows, cols, vals = [], [], []
    for i, h in enumerate(hits):
        shot = load_one_shot(Path(h["sample"]), SR).mean(axis=0)
        start = int(round((h["time"] + shift_s) * SR))
        n = min(len(shot), length - start)
        rows.append(np.arange(start, start + n))
        cols.append(np.full(n, i))
        vals.append(shot[:n])
    return csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(length, len(hits)))


def _onsets_at(audio: np.ndarray, hits: list[dict]) -> int:
    """How many hits have an onset (a rise of transient energy) within 10 ms in mono ``audio``."""
    hop = SR // 1000
    x = np.diff(audio, prepend=0.0)
    env = np.square(x[: len(x) // hop * hop]).reshape(-1, hop).mean(axis=1)
    found = 0
    for h in hits:
        f = int(h["time"] * SR / hop)
        before = env[max(0, f - 15) : max(1, f - 3)].mean() + 1e-12
        found += env[max(0, f - 2) : f + 10].max(initial=0.0) > 1.5 * before
    return found


def test_every_drum_hit_lines_up(corpus: Path) -> None:
    """Recorded kits: drums.wav is explained by the listed one-shots at exactly the listed
    times (free gains; residual at quantization level), and not when they are shifted 5 ms.
    Soundfont kits: an onset (a rise of transient energy) within 10 ms of at least 95 % of hits."""
    import miditoolkit
    from scipy.sparse.linalg import lsqr

    sampled = 0
    for folder, meta in _songs(corpus):
        drums = _read(folder / "drums.wav").mean(axis=1)
        hits = meta["drum_hits"]
        drum_midi = miditoolkit.MidiFile(str(folder / "drums.mid"))
        assert hits and len(hits) == sum(len(i.notes) for i in drum_midi.instruments)
        if meta["drums"]["mode"] == "sampler":
            for shift, bound in ((0.0, lambda r: r < -50), (0.005, lambda r: r > -20)):
                placed = _placed(hits, len(drums), shift)
                gains = lsqr(placed, drums, atol=1e-12, btol=1e-12, iter_lim=5000)[0]
                residual = _db(drums - placed @ gains) - _db(drums)
                assert bound(residual), (folder.name, shift, residual)
            for cls_path in sorted((folder / "stems" / "drums").glob("*.wav")):  # each class stem: its hits alone
                stem = _read(cls_path).mean(axis=1)
                mine = [h for h in hits if stem_class(h["class"]) == cls_path.stem]
                placed = _placed(mine, len(stem))
                gains = lsqr(placed, stem, atol=1e-12, btol=1e-12, iter_lim=5000)[0]
                assert _db(stem - placed @ gains) - _db(stem) < -50, cls_path
            sampled += 1
        else:
            found = _onsets_at(drums, hits)
            assert found >= 0.95 * len(hits), (folder.name, found, len(hits))
    assert sampled > 0


def test_splits_and_held_out_sounds(corpus: Path) -> None:
    songs = _songs(corpus)
    summary = json.loads((corpus / "corpus.json").read_text())
    assert summary["kits"]["test"] == ["GMRockKit"] and summary["songs"] == 3 and summary["seed"] == 9
    by_work: dict[str, set[str]] = {}
    for _, meta in songs:
        assert meta["split"] == split_of(meta["work"]["id"])
        by_work.setdefault(meta["work"]["id"], set()).add(meta["split"])
        if meta["split"] == "test":
            assert meta["drums"]["kit"] in summary["kits"]["test"]
        else:
            assert meta["drums"]["kit"] not in summary["kits"]["test"]
    assert all(len(s) == 1 for s in by_work.values())
    assert {m["split"] for _, m in songs} >= {"train", "test"}
    index = [json.loads(line) for line in (corpus / "index.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in index) == sorted(f.name for f, _ in songs)


def test_same_seed_same_bytes(corpus: Path, tmp_path: Path) -> None:
    again = tmp_path / "songs"
    proc = invoke_mtk("corpus", "songs", str(again), *ARGS[:-2], "-j", "1")
    assert proc.returncode == 0, proc.stderr.decode()
    for folder, _ in _songs(corpus):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                twin = again / path.relative_to(corpus)
                assert twin.read_bytes() == path.read_bytes(), path.relative_to(corpus)
    assert (again / "index.jsonl").read_bytes() == (corpus / "index.jsonl").read_bytes()


def test_skip_existing_force_and_stats(corpus: Path) -> None:
    before = (corpus / "index.jsonl").read_bytes()
    proc = invoke_mtk("corpus", "songs", str(corpus), *ARGS)
    assert proc.returncode == 2 and b"--skip-existing" in proc.stderr and b"Traceback" not in proc.stderr
    assert (corpus / "index.jsonl").read_bytes() == before
    proc = invoke_mtk("corpus", "songs", str(corpus), *ARGS, "--skip-existing")
    assert proc.returncode == 0 and all(json.loads(x)["skipped"] for x in proc.stdout.decode().splitlines())
    proc = invoke_mtk("corpus", "stats", str(corpus))
    stats = json.loads(proc.stdout)
    assert stats["songs"] == 3 and stats["hits"]["kick"] > 0 and sum(stats["splits"].values()) == 3


def test_oneshots_export(tmp_path: Path) -> None:
    out = tmp_path / "oneshots"
    proc = invoke_mtk("corpus", "oneshots", str(out), "--kits", "GMRockKit", "-r", str(SR))
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert proc.returncode == 0 and len(records) > 50
    assert {r["class"] for r in records} >= {"kick", "snare", "hihat_closed", "hihat_open", "crash", "ride"}
    assert (out / "index.jsonl").read_text().count("\n") == len(records)
    for r in records[:20]:
        y = _read(out / r["file"])
        assert r["file"].split("/")[1] == r["class"] and r["kit"] == "GMRockKit" and r["licence"] == "GPL"
        assert np.abs(y).max() == pytest.approx(0.891, abs=2e-3)  # -1 dBFS peak
        assert np.abs(y[:10]).max() > 0.0005  # trimmed: sound from the first samples
    proc = invoke_mtk("corpus", "oneshots", str(out), "--kits", "GMRockKit")
    assert proc.returncode == 2 and b"--force" in proc.stderr


def test_band_songs_credit_their_artist_release_and_label(tmp_path: Path) -> None:
    out = tmp_path / "bands"
    args = [a for a in ARGS if a not in ("-j", "2")]
    proc = invoke_mtk("corpus", "songs", str(out), *args, "--versions", "2", "--artists", "2", "--labels", "1")
    assert proc.returncode == 0, proc.stderr.decode()
    songs = _songs(out)
    assert len(songs) == 6
    for _, meta in songs:
        assert meta["artist"]["id"].startswith("artist-") and meta["label"] == {"id": "label-00"}
        assert meta["release"]["id"].startswith(meta["artist"]["id"] + "-r")
    by_artist: dict[str, set] = {}
    for _, meta in songs:
        by_artist.setdefault(meta["artist"]["id"], set()).add(
            (
                meta["style"],
                meta["soundfont"]["name"],
                meta["drums"]["kit"],
                json.dumps(meta["programs"], sort_keys=True),
            )
        )
    assert all(len(sounds) == 1 for sounds in by_artist.values())  # a band sounds like itself


def test_soundfont_drums_split_by_class(tmp_path: Path) -> None:
    """A soundfont-drummed song: each class's notes rendered alone, the rest in ``other``; the
    class stems sum to the drum stem and each sounds at its own hits."""
    out = tmp_path / "sf"
    args = [a for a in ARGS if a not in ("-j", "2")]
    args[args.index("--soundfont-drums") + 1] = "1"
    args[args.index("-n") + 1], args[args.index("--max-seconds") + 1] = "1", "6"
    proc = invoke_mtk("corpus", "songs", str(out), *args)
    assert proc.returncode == 0, proc.stderr.decode()
    ((folder, meta),) = _songs(out)
    assert meta["drums"]["mode"] == "soundfont"
    drums = _read(folder / "drums.wav")
    classes = {p.stem: _read(p) for p in sorted((folder / "stems" / "drums").glob("*.wav"))}
    played = {stem_class(h["class"]) for h in meta["drum_hits"]}
    assert played - {"other"} <= set(classes) <= set(STEM_CLASSES) and {"kick", "hihat"} <= set(classes)
    assert _db(sum(classes.values()) - drums) - _db(drums) < -60
    for cls, audio in classes.items():
        mine = [h for h in meta["drum_hits"] if stem_class(h["class"]) == cls]
        if cls != "other":
            assert _onsets_at(audio.mean(axis=1), mine) >= 0.9 * len(mine), cls


def test_soundfont_kits_export_note_by_note(tmp_path: Path) -> None:
    from mtk.corpus.oneshots import drum_kit_presets, load_export_kits
    from mtk.corpus.styles import GM_DRUM_CLASSES

    assert drum_kit_presets(TIMGM) == {
        0: "Standard",
        8: "Room",
        16: "Power",
        24: "Electronic",
        25: "TR 808",
        32: "Jazz",
        40: "Brush",
        48: "Orchestra",
    }
    out = tmp_path / "sf"
    proc = invoke_mtk("corpus", "oneshots", str(out), "--no-recorded", "--soundfonts", str(TIMGM), "-r", str(SR))
    assert proc.returncode == 0, proc.stderr.decode()
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert {r["kit"] for r in records} == {f"TimGM6mb {n}" for n in drum_kit_presets(TIMGM).values()}
    standard = [r for r in records if r["kit"] == "TimGM6mb Standard"]
    assert len(standard) == 3 * len(GM_DRUM_CLASSES)  # every kit note at three velocities
    for r in standard:
        note = int(r["source"].split(":note")[1].split(":")[0])
        assert r["class"] == GM_DRUM_CLASSES[note] and r["licence"].startswith("GPL-2")
    files = {r["file"] for r in records}
    assert len(files) < len(records) and all((out / f).is_file() for f in files)  # shared sounds written once
    assert len(list(out.rglob("*.wav"))) == len(files)
    kick = sorted((r for r in standard if r["instrument"] == "Bass Drum 1"), key=lambda r: r["layer"])
    peaks = [float(np.abs(_read(out / r["file"])).max()) * r["gain"] for r in kick]
    assert peaks[0] < peaks[1] < peaks[2]  # the gain restores each velocity's level
    kits = {k.name: k for k in load_export_kits(out)}
    assert kits["TimGM6mb Standard"].playable and len(kits) == 8
    layers = kits["TimGM6mb Standard"].by_class()["kick"][0].layers
    assert [round(lay.vmax, 3) for lay in layers] == [0.472, 0.787, 1.0]
    songs = tmp_path / "songs"
    args = [a for a in ARGS if a not in ("-j", "2")]
    args[args.index("-n") + 1], args[args.index("--max-seconds") + 1] = "1", "6"
    args[args.index("--kits") + 1] = args[args.index("--test-kits") + 1] = "TimGM6mb Electronic"
    proc = invoke_mtk("corpus", "songs", str(songs), *args, "--kits-dir", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    ((folder, meta),) = _songs(songs)
    assert meta["drums"] == {"mode": "sampler", "kit": "TimGM6mb Electronic", "licence": "GPL-2 (timgm6mb-soundfont)"}
    assert all(Path(h["sample"]).is_relative_to(out) for h in meta["drum_hits"])  # the exported files play
    assert {p.stem for p in (folder / "stems" / "drums").glob("*.wav")} == {
        stem_class(h["class"]) for h in meta["drum_hits"]
    }


def test_a_song_whose_drums_do_not_sound_says_so(tmp_path: Path) -> None:
    """Issue 31: a folk song whose only drum notes are tambourines (no sampled kit plays them)
    claimed a kit and a drums level while drums.wav was silent and song.mid held the notes.
    Now every song's files agree: song.mid's drum notes are the listed hits, and a song with
    none has no drum track, no kit, no drums level and silent drums."""
    out = tmp_path / "folk"
    args = ["-n", "3", "--seed", "1", "--styles", "folk", "--kits", "GMRockKit,TR808EmulationKit"]
    args += ["--test-kits", "TR808EmulationKit", "--soundfonts", str(TIMGM), "--soundfont-drums", "0"]
    proc = invoke_mtk("corpus", "songs", str(out), *args, "-r", "16000", "--max-seconds", "8", "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    records = {r["id"]: r for r in map(json.loads, proc.stdout.decode().splitlines())}
    import miditoolkit

    silent = 0
    for folder, meta in _songs(out):
        song = miditoolkit.MidiFile(str(folder / "song.mid"))
        drum_notes = sum(len(inst.notes) for inst in song.instruments if inst.is_drum)
        assert drum_notes == len(meta["drum_hits"]) == records[meta["id"]]["hits"]
        if not meta["drum_hits"]:
            silent += 1
            assert meta["drums"] == {"mode": "none", "kit": None, "licence": None}
            assert meta["levels_dbfs"]["drums"] is None and records[meta["id"]]["kit"] is None
            assert not _read(folder / "drums.wav").any()
        else:
            assert meta["drums"]["mode"] == "sampler" and meta["levels_dbfs"]["drums"] is not None
    assert silent == 1  # 00000-capt-mackintosh-v0: tambourines only


def test_drum_parts_are_labelled_and_their_hits_line_up(tmp_path: Path) -> None:
    """`--drum-parts`: each song says where its part came from, its drum_hits, drums.mid and
    audio agree (the recorded kit's one-shots at exactly the listed times), a default corpus
    is labelled groove, and an unknown source is one line and exit 2."""
    from scipy.sparse.linalg import lsqr

    out = tmp_path / "parts"
    args = [a for a in ARGS if a not in ("-j", "2")]
    args[args.index("-n") + 1], args[args.index("--max-seconds") + 1] = "4", "8"
    proc = invoke_mtk("corpus", "songs", str(out), *args, "--drum-parts", "generated,hydrogen,fills,pflib")
    assert proc.returncode == 0, proc.stderr.decode()
    sources = set()
    for folder, meta in _songs(out):
        part = meta["drum_part"]
        sources.add(part.get("instead_of", part["source"]))  # a 3/4 song asked for hydrogen gets generated
        assert part["source"] in ("generated", "hydrogen", "fills", "pflib")
        assert "phrases" in part if part["source"] == "generated" else True
        drums = _read(folder / "drums.wav").mean(axis=1)
        if meta["drums"]["mode"] == "sampler":
            placed = _placed(meta["drum_hits"], len(drums))
            gains = lsqr(placed, drums, atol=1e-12, btol=1e-12, iter_lim=5000)[0]
            assert _db(drums - placed @ gains) - _db(drums) < -50, folder.name
        else:  # the soundfont's kit (the train split here: GMRockKit is held out for test)
            assert _onsets_at(drums, meta["drum_hits"]) >= 0.9 * len(meta["drum_hits"]), folder.name
    assert len(sources) >= 2
    bad = invoke_mtk("corpus", "songs", str(tmp_path / "bad"), *args, "--drum-parts", "groove,fils")
    assert bad.returncode == 2 and len(bad.stderr.decode().strip().splitlines()) == 1
    assert "fils" in bad.stderr.decode() and not (tmp_path / "bad").exists()


def test_default_corpus_is_labelled_groove(corpus: Path) -> None:
    assert all(meta["drum_part"]["source"] == "groove" for _, meta in _songs(corpus))
    assert all(meta["synth"] == "fluidsynth" for _, meta in _songs(corpus))  # auto: FluidSynth, recorded


@pytest.mark.skipif(shutil.which("timidity") is None, reason="timidity not installed")
def test_engines_are_drawn_per_version_and_one_is_held_out_for_test() -> None:
    from mtk.corpus.build import CorpusOptions, plan_corpus

    base = dict(count=6, versions=3, seed=9, soundfonts=(str(TIMGM),), kits=("GMRockKit",), soundfont_drums=0.0)
    engines = ("fluidsynth", "builtin", "timidity")
    train = plan_corpus(CorpusOptions(**base, splits=("train", "valid"), engines=engines))  # type: ignore[arg-type]
    test = plan_corpus(CorpusOptions(**base, splits=("test",), engines=engines))  # type: ignore[arg-type]
    assert (train.train_engines, train.test_engines) == (["fluidsynth", "builtin"], ["timidity"])
    assert {s.synth for s in train.songs} == {"fluidsynth", "builtin"}  # the held-out engine never trains
    assert {s.synth for s in test.songs} == set(engines)  # test versions draw from every engine
    plain = plan_corpus(CorpusOptions(**base, splits=("train", "valid")))  # type: ignore[arg-type]
    assert {s.synth for s in plain.songs} == {"auto"}
    # the engine draw leaves every other choice as it was
    assert [(s.song_id, s.soundfont, s.transpose, s.style) for s in plain.songs] == [
        (s.song_id, s.soundfont, s.transpose, s.style) for s in train.songs
    ]


def test_an_unknown_engine_is_one_line(tmp_path: Path) -> None:
    bad = invoke_mtk("corpus", "songs", str(tmp_path / "bad"), *ARGS, "--engines", "fluidsynth,csound")
    assert bad.returncode == 2 and len(bad.stderr.decode().strip().splitlines()) == 1
    assert "csound" in bad.stderr.decode() and not (tmp_path / "bad").exists()
