"""Taste profiles: aggregation with known answers, the plays table, the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mtk.cover.profile import read_plays, taste_profile
from mtk.errors import InputError
from tests.conftest import invoke_mtk, run_mtk

GENRES = ("rock", "swing", "folk")


def test_shares_favourites_and_deciders() -> None:
    paths = ["a.wav", "b.wav", "c.wav"]
    probs = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.0, 0.2, 0.8]])
    p = taste_profile(paths, probs, GENRES, favourites=2, deciders=2)
    assert p["genres"] == pytest.approx({"rock": 1.4 / 3, "swing": 0.2, "folk": 1.0 / 3}, abs=1e-4)
    assert p["favourites"] == ["rock", "folk"] and p["weighted_by"] == "tracks"
    assert [d["path"] for d in p["decided_by"]["rock"]] == ["a.wav", "b.wav"]
    assert [d["path"] for d in p["decided_by"]["folk"]] == ["c.wav", "a.wav"]
    # weighted by plays: c played 8 times, a twice, b missing from the table (0)
    plays = {str(Path(x).resolve()): n for x, n in (("a.wav", 2.0), ("c.wav", 8.0))}
    q = taste_profile(paths, probs, GENRES, plays=plays, favourites=1)
    assert q["favourites"] == ["folk"] and q["plays"] == 10.0
    assert q["genres"]["folk"] == pytest.approx((2 * 0.1 + 8 * 0.8) / 10, abs=1e-4)
    with pytest.raises(InputError, match="no plays"):
        taste_profile(paths, probs, GENRES, plays={})


def test_plays_table_is_checked_row_by_row(tmp_path: Path) -> None:
    good = tmp_path / "plays.csv"
    good.write_text("path,plays\nmusic/a.wav,3\n\nmusic/b.wav,0.5\n")
    assert list(read_plays(good).values()) == [3.0, 0.5]
    for text, message in (
        ("file,count\n", "row 1: expected the header path,plays"),
        ("path,plays\na.wav,3\nb.wav,lots\n", "row 3, column plays: expected a number >= 0, got 'lots'"),
        ("path,plays\na.wav,-1\n", "row 2, column plays"),
        ("path,plays\na.wav\n", "row 2: expected 2 columns"),
    ):
        good.write_text(text)
        with pytest.raises(InputError, match=message):
            read_plays(good)


@pytest.fixture
def music(tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    t = np.arange(3 * 16_000) / 16_000
    sf.write(folder / "a.wav", 0.3 * np.sin(2 * np.pi * 220 * t), 16_000)
    sf.write(folder / "b.wav", 0.1 * np.random.default_rng(0).standard_normal(t.size), 16_000)
    return folder


DEBUG = ["--model", "cover-genre-debug"]


def test_profile_lines_per_track_and_the_profile_file(music: Path, tmp_path: Path) -> None:
    out = tmp_path / "taste.json"
    proc = invoke_mtk("cover", "profile", str(music), "-o", str(out), *DEBUG)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [Path(r["input"]).name for r in lines] == ["a.wav", "b.wav"]
    assert all(r["model"] == "cover-genre-debug" and sum(r["probabilities"].values()) == pytest.approx(1, abs=1e-3)
               for r in lines)  # fmt: skip
    profile = json.loads(out.read_text())
    assert profile["tracks"] == 2 and len(profile["favourites"]) == 3 and profile["failed"] == 0
    mean = {g: np.mean([r["probabilities"][g] for r in lines]) for g in profile["genres"]}
    assert profile["genres"] == pytest.approx(mean, abs=2e-4)
    again = invoke_mtk("cover", "profile", str(music), "-o", str(out), *DEBUG)
    assert again.returncode == 2 and b"--force" in again.stderr
    to_stdout = invoke_mtk("cover", "profile", str(music), "-o", "-", *DEBUG)
    assert json.loads(to_stdout.stdout) == profile


def test_a_bad_file_is_reported_and_left_out(music: Path, tmp_path: Path) -> None:
    sf.write(music / "silent.wav", np.zeros(48_000), 16_000)
    out = tmp_path / "taste.json"
    proc = invoke_mtk("cover", "profile", str(music), "-o", str(out), *DEBUG)
    assert proc.returncode == 1 and b"silent" in proc.stderr
    assert json.loads(out.read_text())["tracks"] == 2 and json.loads(out.read_text())["failed"] == 1
    nothing = run_mtk("cover", "profile", str(music / "silent.wav"), "-o", str(tmp_path / "x.json"), *DEBUG)
    assert nothing.returncode == 2 and b"Traceback" not in nothing.stderr and not (tmp_path / "x.json").exists()
    no_output = invoke_mtk("cover", "profile", str(music), *DEBUG)
    assert no_output.returncode == 2 and b"-o FILE" in no_output.stderr


def test_two_workers_give_the_same_lines_and_profile(music: Path, tmp_path: Path) -> None:
    serial = invoke_mtk("cover", "profile", str(music), "-o", str(tmp_path / "1.json"), *DEBUG)
    parallel = run_mtk("cover", "profile", str(music), "-o", str(tmp_path / "2.json"), "-j", "2", *DEBUG)
    assert parallel.returncode == 0, parallel.stderr.decode()
    assert parallel.stdout == serial.stdout and (tmp_path / "2.json").read_text() == (tmp_path / "1.json").read_text()
