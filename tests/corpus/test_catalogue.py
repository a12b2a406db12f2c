"""The embed catalogue: rows from tagged music folders and from band corpora, splits, CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from mtk.cli.main import app
from mtk.corpus.catalogue import COLUMNS, folder_rows, held_out_split
from mtk.embed.associations import parse_catalogue

runner = CliRunner()


def _tagged(path: Path, **tags: str) -> None:
    with sf.SoundFile(path, "w", samplerate=8000, channels=1, format="FLAC") as fh:
        for key, value in tags.items():
            setattr(fh, key, value)
        fh.write(np.zeros(800, np.float32))


def _music(tmp_path: Path) -> Path:
    folder = tmp_path / "ost"
    (folder / "act2").mkdir(parents=True)
    _tagged(folder / "a.flac", artist="Ann Composer", album="The Game OST")
    _tagged(folder / "act2" / "b.flac", artist="Bob | Band", album="The Game OST")
    _tagged(folder / "c.flac", artist="<Unknown>")
    (folder / "notes.txt").write_text("not audio")
    (folder / "broken.flac").write_bytes(b"fLaC and then nothing")
    return folder


def test_tags_become_release_artist_and_the_folder_label(tmp_path: Path) -> None:
    rows = list(folder_rows(_music(tmp_path), label="game", extensions=(".flac",)))
    assert [(r.track, r.release, r.artist, r.label) for r in rows] == [
        ("game:a.flac", "The Game OST", "Ann Composer", "game"),
        ("game:act2/b.flac", "The Game OST", "Bob / Band", "game"),  # '|' would split the field
        ("game:c.flac", "", "", "game"),  # unknown: empty, still a track
    ]
    assert rows[0].split == held_out_split("ann composer") and {r.split for r in rows} <= {"train", "valid", "test"}


def test_splits_hold_out_whole_artists_in_proportion() -> None:
    splits = [held_out_split(f"artist {i}") for i in range(2000)]
    assert held_out_split("Ann") == held_out_split(" ann ")
    shares = {s: splits.count(s) / len(splits) for s in ("test", "valid", "train")}
    assert abs(shares["test"] - 0.15) < 0.03 and abs(shares["valid"] - 0.15) < 0.03


def test_the_cli_writes_a_catalogue_train_embed_reads(tmp_path: Path) -> None:
    music = _music(tmp_path)
    out = tmp_path / "cat.csv"
    result = runner.invoke(app, ["corpus", "catalogue", f"{music}=game", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["label"] == "game" and record["files"] == 3 and record["artists"] == 2 and record["releases"] == 1
    assert record["without_artist"] == 1
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 4
    entries = parse_catalogue(out.read_text(), source=str(out))
    assert entries[1].artists == {"Bob / Band"} and entries[0].labels == {"game"}
    result = runner.invoke(app, ["corpus", "catalogue", f"{music}=game", "-o", str(out)])
    assert result.exit_code == 2 and "--force" in result.stderr  # never overwritten without it
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.txt").write_text("")
    result = runner.invoke(app, ["corpus", "catalogue", str(empty), "-o", str(tmp_path / "none.csv")])
    assert result.exit_code == 1 and not (tmp_path / "none.csv").exists()  # a source failed, nothing to write
    assert "error" in json.loads(result.stdout) and "holds no" in result.stderr


def test_relative_sources_are_written_relative_to_the_catalogue(tmp_path: Path, monkeypatch) -> None:
    """Readers take a catalogue's relative paths from its folder, so the writer puts them so:
    `mtk corpus catalogue data/music -o data/cat.csv` run from the parent finds its files."""
    from mtk.embed.associations import read_catalogue

    _music(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["corpus", "catalogue", "data/ost=game", "-o", "data/cat.csv"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "data" / "cat.csv").read_text())))
    assert all(r["path"].startswith("ost/") for r in rows)
    entries = read_catalogue(tmp_path / "data" / "cat.csv")
    assert len(entries) == 3 and all(Path(e.path).is_file() for e in entries)
