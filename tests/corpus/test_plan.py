"""Corpus planning pieces with known answers: harmony, drum classes, works, splits, versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtk.corpus.build import CorpusOptions, plan_corpus, split_of
from mtk.corpus.harmony import harmonize
from mtk.corpus.kits import Kit, KitInstrument, Layer, classify
from mtk.corpus.styles import drum_class
from mtk.corpus.works import WorkRef, WorkSkipped, list_works, parse_work


def test_harmonize_a_cadence() -> None:
    # C major: a bar each of C-E-G-C, F-A-C-F, G-B-D-G, C-E-G-C (whole bars, quarter notes).
    bars = [(60, 64, 67, 72), (65, 69, 72, 77), (67, 71, 74, 79), (60, 64, 67, 72)]
    notes = [(p, 4.0 * b + i, 1.0) for b, ps in enumerate(bars) for i, p in enumerate(ps)]
    chords = harmonize(notes, tonic_pc=0, mode="major", n_bars=4, bar_ql=4.0)
    assert [(c.start, c.name) for c in chords] == [(0.0, "C"), (4.0, "F"), (8.0, "G"), (12.0, "C")]
    minor = harmonize([(p - 3, s, d) for p, s, d in notes], tonic_pc=9, mode="minor", n_bars=4, bar_ql=4.0)
    assert minor[0].name == "Am" and minor[-1].name == "Am"


@pytest.mark.parametrize(
    "name,cls",
    [
        ("Kick", "kick"),
        ("Pearl Snare Rimshot", "snare"),
        ("Sabian Hat Open", "hihat_open"),
        ("Closed HH", "hihat_closed"),
        ("Hat Pedal", "hihat_closed"),
        ("Floor Tom", "tom_low"),
        ("Tom Hi", "tom_high"),
        ("Tom Mid", "tom_mid"),
        ('Ride (Custom, Zagrebin 22")', "ride"),
        ("Zildjian Splash", "crash"),
        ("Hand Clap", "clap"),
        ("Pearl Side Stick", "other"),
        ("Cowbell", "other"),
        ("c3 - bass drum 1", "kick"),
    ],
)
def test_kit_instruments_classed_by_name(name: str, cls: str) -> None:
    assert classify(name) == cls


def test_gm_drum_classes_and_fallbacks(tmp_path: Path) -> None:
    assert [drum_class(n) for n in (36, 38, 42, 44, 46, 49, 51, 54)] == [
        "kick",
        "snare",
        "hihat_closed",
        "hihat_closed",
        "hihat_open",
        "crash",
        "ride",
        "other",
    ]
    layer = Layer(tmp_path / "x.wav")
    kit = Kit(
        "k",
        "test",
        "CC0",
        [KitInstrument(n, c, [layer]) for n, c in (("K", "kick"), ("S", "snare"), ("H", "hihat_closed"))],
    )
    assert kit.playable and kit.resolve_class("hihat_open") == "hihat_closed"
    assert kit.resolve_class("crash") == "hihat_closed"  # crash -> ride -> closed hat
    assert kit.resolve_class("other") is None


def test_layers_by_velocity(tmp_path: Path) -> None:
    inst = KitInstrument("Snare", "snare", [Layer(tmp_path / "a", 0, 0.5), Layer(tmp_path / "b", 0.5, 1.0)])
    assert inst.layer_for(0.2).path.name == "a" and inst.layer_for(0.9).path.name == "b"


def test_bach_chorale_parses_with_its_harmony() -> None:
    work = parse_work(WorkRef("bach", "bach/bwv269.mxl"))
    assert work.meter == (3, 4) and (work.tonic_pc, work.mode) == (7, "major")  # G major, 3/4
    assert work.harmony is not None and len(work.harmony) > 2 * len(work.notes)
    assert work.work_id.startswith("bach-tune:") and work.phrases and work.phrases[0][2] == "A"
    assert all(0 <= s and d > 0 for _, s, d in work.notes)
    assert work.notes[0][1] % work.bar_ql == pytest.approx(work.bar_ql - 1)  # a one-beat pickup, padded


def test_parsed_works_and_skips_are_kept_and_read_back_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mtk.corpus import works

    monkeypatch.setenv("MTK_CACHE_DIR", str(tmp_path))
    folder = tmp_path / "corpus" / works._cache_key()
    chorale = WorkRef("bach", "bach/bwv269.mxl")  # harmony, a pickup, phrases
    tune = next(r for r in list_works(("oneills",)) if r.number == 2)
    skipped = WorkRef("bach", "bach/bwv1.6.mxl")  # not a four-part chorale
    first = {(r, m): works._parse_work(r, any_meter=m) for r in (chorale, tune) for m in (False, True)}
    with pytest.raises(WorkSkipped) as why:
        works._parse_work(skipped)
    for (ref, any_meter), work in first.items():
        assert parse_work(ref, any_meter=any_meter) == work  # parsed and kept
    with pytest.raises(WorkSkipped, match=str(why.value)):
        parse_work(skipped)
    assert len(list(folder.glob("*.json"))) == 5

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(works, "_parse_work", no_parsing)
    for (ref, any_meter), work in first.items():
        kept = parse_work(ref, any_meter=any_meter)
        assert kept == work and type(kept.notes[0]) is tuple and type(kept.meter) is tuple
    with pytest.raises(WorkSkipped, match=str(why.value)):
        parse_work(skipped)
    works._cached_path(chorale, False).write_text("{not json")  # a damaged file is parsed again
    with pytest.raises(AssertionError, match="parsed again"):
        parse_work(chorale)


def test_same_tune_same_work_id() -> None:
    """BWV 244.15 and 244.17 harmonize one tune (the Passion chorale): one work, one split."""
    refs = {r.path: r for r in list_works(("bach",))}
    a = parse_work(refs["bach/bwv244.15.mxl"])
    b = parse_work(refs["bach/bwv244.17.mxl"])
    assert a.work_id == b.work_id and split_of(a.work_id) == split_of(b.work_id)


def test_versions_share_work_and_differ() -> None:
    plan = plan_corpus(CorpusOptions(count=2, seed=4, versions=3, sources=("oneills",), soundfont_drums=1.0))
    assert len(plan.songs) == 6
    for i in range(0, 6, 3):
        group = plan.songs[i : i + 3]
        assert len({s.work.work_id for s in group}) == 1
        assert len({s.style for s in group}) == 3 and len({s.transpose for s in group}) == 3
    again = plan_corpus(CorpusOptions(count=2, seed=4, versions=3, sources=("oneills",), soundfont_drums=1.0))
    assert [s.song_id for s in again.songs] == [s.song_id for s in plan.songs]


def test_split_is_stable_and_proportioned() -> None:
    ids = [f"work-{i}" for i in range(5000)]
    shares = {s: sum(split_of(i) == s for i in ids) / len(ids) for s in ("train", "valid", "test")}
    assert abs(shares["test"] - 0.1) < 0.02 and abs(shares["valid"] - 0.1) < 0.02
    assert split_of("oneills:0001-0050#3") == split_of("oneills:0001-0050#3")


def test_missing_programs_exit_2_with_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from mtk.cli.main import app

    monkeypatch.setattr("mtk.corpus.build.mma_executable", lambda: None)
    result = CliRunner().invoke(app, ["corpus", "songs", str(tmp_path / "c"), "-n", "1", "--seed", "1"])
    assert result.exit_code == 2
    assert "missing programs: mma (apt-get install mma" in result.stderr
    assert not (tmp_path / "c").exists()


def test_a_failed_song_is_reported_and_the_batch_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from mtk.cli.main import app
    from mtk.errors import MtkError

    def fake_build(song, out_dir, *, versions):  # type: ignore[no-untyped-def]
        if song.song_id.startswith("00001"):
            raise MtkError("fluidsynth failed (test)")
        meta = {
            "id": song.song_id,
            "work": {"id": song.work.work_id},
            "version": song.version,
            "split": song.split,
            "style": song.style,
            "duration": 1.0,
            "drums": {"kit": "k"},
            "soundfont": {"name": "s"},
            "drum_hits": [],
        }
        (out_dir / song.song_id).mkdir(parents=True)
        return {**meta, "path": str(out_dir / song.song_id)}

    monkeypatch.setattr("mtk.corpus.build.check_tools", lambda: None)
    monkeypatch.setattr("mtk.corpus.build.build_song", fake_build)
    out = tmp_path / "c"
    result = CliRunner().invoke(app, ["corpus", "songs", str(out), "-n", "3", "--seed", "2", "--soundfont-drums", "1"])
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 3 and sum("error" in r for r in records) == 1
    assert "fluidsynth failed (test)" in result.stderr
    summary = json.loads((out / "corpus.json").read_text())
    assert summary["failed"] == 1 and summary["built"] == 2
    assert len((out / "index.jsonl").read_text().splitlines()) == 2


def test_versions_of_a_bach_tune_take_turns_among_its_harmonizations() -> None:
    from mtk.corpus.build import _harmonized
    from mtk.corpus.songs import SongPlan

    refs = {r.path: r for r in list_works(("bach",))}
    pair = [refs["bach/bwv244.17.mxl"], refs["bach/bwv244.15.mxl"]]
    first = parse_work(pair[0])
    songs = [SongPlan(f"s{v}", first, v, "train", "folk", "sf2", None, 0, 22_050, 30.0) for v in range(3)]
    out = _harmonized(songs, [*pair, refs["bach/bwv269.mxl"]], jobs=1)
    assert [s.work.ref.path for s in out] == ["bach/bwv244.15.mxl", "bach/bwv244.17.mxl", "bach/bwv244.15.mxl"]
    assert {s.work.work_id for s in out} == {first.work_id}


def test_bands_keep_their_sound_play_their_split_and_cover_each_others_works() -> None:
    from collections import defaultdict

    plan = plan_corpus(
        CorpusOptions(count=12, seed=5, versions=2, sources=("oneills", "aird"), soundfont_drums=1.0, artists=6)
    )
    assert len(plan.songs) == 24 and all(s.band is not None and s.release for s in plan.songs)
    by_band = defaultdict(list)
    for song in plan.songs:
        by_band[song.band.artist_id].append(song)
    assert len(by_band) == 6  # largest remainders: the asked-for number of bands
    for songs in by_band.values():
        band = songs[0].band
        assert {(s.split, s.style, s.soundfont) for s in songs} == {(songs[0].split, band.style, band.soundfont)}
        assert all(s.band == band for s in songs)  # one instrumentation, tempo, mix and label
        releases = defaultdict(int)
        for s in songs:
            releases[s.release] += 1
        assert max(releases.values()) <= 4 and all(r.startswith(band.artist_id) for r in releases)
    bands_of_split = defaultdict(set)
    for song in plan.songs:
        bands_of_split[song.split].add(song.band.artist_id)
    for work_id in {s.work.work_id for s in plan.songs}:
        songs = [s for s in plan.songs if s.work.work_id == work_id]
        if len(bands_of_split[songs[0].split]) > 1:  # covers: the versions by different bands
            assert len({s.band.artist_id for s in songs}) == len(songs)
    again = plan_corpus(
        CorpusOptions(count=12, seed=5, versions=2, sources=("oneills", "aird"), soundfont_drums=1.0, artists=6)
    )
    assert [(s.song_id, s.band, s.release) for s in again.songs] == [(s.song_id, s.band, s.release) for s in plan.songs]
    plain = plan_corpus(CorpusOptions(count=12, seed=5, versions=2, sources=("oneills", "aird"), soundfont_drums=1.0))
    assert all(s.band is None and s.release is None for s in plain.songs)


def _export_index(folder: Path, kits: list[str]) -> None:
    """An `mtk corpus oneshots` index naming playable kits (files need not exist to plan)."""
    import json

    rows = [
        {"file": f"{k}/{cls}/{cls}-v1.wav", "kit": k, "class": cls, "instrument": f"{k} {cls}", "velocity": [0, 1]}
        for k in kits
        for cls in ("kick", "snare", "hihat_closed")
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_exported_kits_join_hold_out_the_test_soundfont_and_suit_their_style(tmp_path: Path) -> None:
    from mtk.corpus.kits import kit_family
    from mtk.corpus.soundfonts import bundled_soundfont
    from mtk.corpus.styles import STYLE_KIT_FAMILIES

    font = bundled_soundfont()
    assert font is not None and font.stem == "TimGM6mb"
    names = ["FontA Standard", "FontA Electronic", "FontA Jazz", "TimGM6mb Electronic", "TimGM6mb Standard"]
    variants = ["FontA Jazz (variant 1)", "TimGM6mb Standard (variant 1)"]  # mtk corpus oneshots --variants
    _export_index(tmp_path / "kits", names + variants)
    opts = dict(
        count=40,
        seed=3,
        sources=("oneills", "aird"),
        styles=("electronic", "swing", "rock"),
        soundfonts=(str(font),),
        test_soundfonts=(str(font),),
        soundfont_drums=0.0,
        kit_dirs=(str(tmp_path / "kits"),),
    )
    plan = plan_corpus(CorpusOptions(**opts, kits=tuple(names), kit_affinity=1.0))
    assert plan.test_kits == ["TimGM6mb Electronic", "TimGM6mb Standard"]
    assert plan.train_kits == ["FontA Electronic", "FontA Jazz", "FontA Standard"]
    # a train kit's variant trains; a held-out kit's variant is in no split
    with_variants = plan_corpus(CorpusOptions(**opts, kits=tuple(names + variants), kit_affinity=1.0))
    assert with_variants.test_kits == ["TimGM6mb Electronic", "TimGM6mb Standard"]
    assert with_variants.train_kits == ["FontA Electronic", "FontA Jazz", "FontA Jazz (variant 1)", "FontA Standard"]
    for song in plan.songs:
        assert song.kit is not None and song.kit.name in (plan.test_kits if song.split == "test" else plan.train_kits)
        if song.split != "test" or song.style != "swing":  # no jazz kit is held out: swing takes any test kit
            assert kit_family(song.kit.name) in STYLE_KIT_FAMILIES[song.style], (song.style, song.kit.name)
    assert all(s.kit.instruments[0].layers[0].path.is_relative_to(tmp_path / "kits") for s in plan.songs)
    loose = plan_corpus(CorpusOptions(**opts, kits=tuple(names)))  # affinity 0: kits regardless of style
    assert any(kit_family(s.kit.name) not in STYLE_KIT_FAMILIES[s.style] for s in loose.songs)


def test_harmonizations_are_indexed_once_and_a_lone_one_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 31: --harmonizations parsed all 408 chorales on every run (137 s, no word) and
    versions of a tune Bach harmonized once silently shared it. The tune index is cached;
    versions cycle through the harmonizations; a lone one is named in a warning."""
    from dataclasses import replace

    from mtk.corpus import build
    from mtk.corpus.songs import SongPlan

    monkeypatch.setenv("MTK_CACHE_DIR", str(tmp_path))
    wanted = {"bach:bwv277", "bach:bwv4.8", "bach:bwv10.7"}
    refs = [r for r in list_works(("bach",)) if r.ref_id in wanted]
    with caplog.at_level("WARNING", logger="mtk"):
        tunes = build.bach_tunes(refs, 1)
    assert sorted(map(sorted, tunes.values())) == [["bach:bwv10.7"], ["bach:bwv277", "bach:bwv4.8"]]
    assert "indexing which of 3 Bach chorales share a tune" in caplog.text

    def no_parsing(*args: object) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(build, "_parse_in_order", no_parsing)
    assert build.bach_tunes(refs, 1) == tunes  # from the cache
    works = {r.ref_id: parse_work(r) for r in refs}
    plan = SongPlan("x", works["bach:bwv4.8"], 0, "train", "pop", "sf2", None, 0, 16000, None)
    lone = replace(plan, work=works["bach:bwv10.7"])
    songs = [replace(plan, version=v) for v in range(3)] + [replace(lone, version=v) for v in range(2)]
    caplog.clear()
    with caplog.at_level("WARNING", logger="mtk"):
        out = build._harmonized(songs, refs, 1)
    assert [s.work.ref.ref_id for s in out] == ["bach:bwv277", "bach:bwv4.8", "bach:bwv277"] + ["bach:bwv10.7"] * 2
    assert "1 tune(s) have one harmonization by Bach, so their versions share it: bach:bwv10.7" in caplog.text
