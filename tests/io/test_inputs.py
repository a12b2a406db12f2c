from __future__ import annotations

import io
from pathlib import Path

import pytest

from mtk.errors import InputError, UsageError
from mtk.io.inputs import expand_inputs, output_name


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in ["b.mid", "a.MID", "sub/c.mid", "sub/notes.txt", ".hidden.mid", ".git/d.mid", "sub/.e.mid"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"MThd")
    return tmp_path


def test_folder_walk_sorted_filtered_no_dotfiles(tree: Path) -> None:
    got = expand_inputs([str(tree)], extensions=[".mid"])
    assert [Path(p).relative_to(tree).as_posix() for p in got] == ["a.MID", "b.mid", "sub/c.mid"]


def test_files_dash_and_list(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = tree / "list.txt"
    listing.write_text(f"# inputs\n{tree / 'b.mid'}\n\n{tree / 'sub'}\n")
    got = expand_inputs([str(tree / "sub/notes.txt"), "-", f"@{listing}"], extensions=[".mid"])
    assert got == [str(tree / "sub/notes.txt"), "-", str(tree / "b.mid"), str(tree / "sub/c.mid")]


def test_errors(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([str(tree / "nope.mid")], extensions=[".mid"])
    with pytest.raises(InputError, match="holds no"):
        expand_inputs([str(tree / "sub")], extensions=[".wav"])
    with pytest.raises(UsageError, match="only once"):
        expand_inputs(["-", "-"], extensions=[".mid"])


class _Stdin(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__("")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_no_input_reads_pipe_or_refuses_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Stdin(tty=False))
    assert expand_inputs([], extensions=[".mid"]) == ["-"]
    monkeypatch.setattr("sys.stdin", _Stdin(tty=True))
    with pytest.raises(UsageError, match="no input"):
        expand_inputs([], extensions=[".mid"])


def test_output_name() -> None:
    assert output_name("dir/song.mid", "{stem}.wav", index=0) == "song.wav"
    assert output_name("-", "{stem}-{index:03d}.wav", index=7) == "stdin-007.wav"
    with pytest.raises(UsageError, match="bad --name"):
        output_name("a.mid", "{nope}.wav", index=0)
