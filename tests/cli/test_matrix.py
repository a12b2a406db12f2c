"""The bad-input matrix: every kind of bad input x every command that reads that kind.

Each case runs the real CLI in-process (typer's CliRunner) in a folder of its own and
asserts the conventions (shared CLI.md): the exit code (2 for a refused input; 1 for a
batch, which also prints one ``{"input", "error"}`` record), exactly one line on stderr
naming the command, no traceback, and no file written, changed or left behind (temporary
files included: ``tempfile`` points into the folder). A new command joins the matrix with
one entry in the table of its input kind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from mtk.cli.main import app
from mtk.weights.registry import get_entry
from mtk.weights.store import locate
from tests import badinputs

runner = CliRunner()


@dataclass(frozen=True)
class Case:
    """A command reading one kind of input: ``argv(bad, ctx)`` runs it on the bad input."""

    argv: Callable[[str, dict[str, Path]], list[str]]
    code: int = 2  # 1: a batch (one error record on stdout)
    valid: tuple[str, ...] = ()  # kinds that are no bad input for this command (its own model, a new file)
    usage: tuple[str, ...] = ()  # kinds refused before any work (exit 2) by a batch command


def _chords(seconds: float, sr: int = 22_050) -> np.ndarray:
    """Audio every command accepts: four bars of triads on a pulse (detect-cover needs 5 s)."""
    t = np.arange(int(seconds * sr)) / sr
    roots = (220.0, 174.6, 261.6, 196.0)
    y = np.zeros_like(t)
    for i, root in enumerate(roots):
        on = (t >= i * seconds / 4) & (t < (i + 1) * seconds / 4)
        for ratio in (1.0, 1.26, 1.5):
            y += on * np.sin(2 * np.pi * root * ratio * t)
    pulse = 0.5 + 0.5 * (np.sin(2 * np.pi * 2 * t) > 0)
    return (0.2 * y * pulse).astype(np.float32)


DEFAULTS = {"transcribe": "transcribe-crnn-v4", "dusp": "situate-dusp-v1"}
DEBUG = {
    "transcribe": "transcribe-debug",
    "cover": "detect-cover-debug",
    "infill": "infill-debug",
    "embed": "embed-debug",
    "separate": "separate-debug",
    "rank": "rank-samples-debug",
    "accompany": "accompany-debug",
}
SITUATE_DEBUG = ["--ausp", "situate-ausp-debug", "--dusp", "situate-dusp-debug"]
SITUATE_AUSP_DEBUG = ["--ausp", "situate-ausp-debug"]


def _streams(bad: str, ctx: dict[str, Path]) -> str:
    """A one-row stream file whose track is ``bad`` (written beside the case's inputs)."""
    path = ctx["work"] / "one-stream.jsonl"
    row = {"timestamp": "2019-08-14T07:32:00", "device": "mobile", "network": "wifi", "user": "u1", "track": bad}
    path.write_text(json.dumps(row) + "\n")
    return str(path)


AUDIO: dict[str, Case] = {
    "transcribe": Case(lambda b, c: ["transcribe", b, "-o", str(c["out"] / "x.mid"), "--model", DEBUG["transcribe"]]),
    "detect-cover pair": Case(lambda b, c: ["detect-cover", b, str(c["good"]), "--model", DEBUG["cover"]]),
    "detect-cover index": Case(lambda b, c: ["detect-cover", "index", b, "-o", str(c["out"] / "lib.idx")], code=1),
    "detect-cover query": Case(
        lambda b, c: ["detect-cover", "query", b, "--index", str(c["index"]), "--model", DEBUG["cover"]], code=1
    ),
    "detect-cover classify": Case(
        lambda b, c: ["detect-cover", "classify", b, "--clique", str(c["clique"]), "--model", DEBUG["cover"]], code=1
    ),
    "detect-cover cliques": Case(lambda b, c: ["detect-cover", "cliques", b, "--model", DEBUG["cover"]], code=1),
    "situate session": Case(
        lambda b, c: ["situate", "session", "--user", "u1", "--situation", "work", "--tracks", b, *SITUATE_DEBUG[:2]],
        code=1,
    ),
    "situate predict (track)": Case(lambda b, c: ["situate", _streams(b, c), *SITUATE_DEBUG]),
    "embed": Case(lambda b, c: ["embed", b, "-o", str(c["out"] / "v.npy"), "--model", DEBUG["embed"]]),
    "embed index": Case(
        lambda b, c: ["embed", "index", b, "-o", str(c["out"] / "e.idx"), "--model", DEBUG["embed"]], code=1
    ),
    "embed similar": Case(lambda b, c: ["embed", "similar", b, "--index", str(c["embed_index"])]),
    "cover profile": Case(
        lambda b, c: ["cover", "profile", b, "-o", str(c["out"] / "taste.json"), "--model", "cover-genre-debug"]
    ),
    "separate": Case(lambda b, c: ["separate", b, "-o", str(c["out"] / "stems"), "--model", DEBUG["separate"]]),
    "separate --stem": Case(lambda b, c: ["separate", b, "--stem", "drums", "--model", DEBUG["separate"]]),
    "accompany": Case(lambda b, c: ["accompany", b, "-o", str(c["out"] / "x.wav"), "--model", DEBUG["accompany"]]),
    "accompany --mix --midi": Case(
        lambda b, c: (
            ["accompany", b, "-o", str(c["out"] / "x.wav"), "--mix", str(c["out"] / "m.wav")]
            + ["--midi", str(c["out"] / "x.mid"), "--model", DEBUG["accompany"]]
        )
    ),
    "rank-samples (context)": Case(lambda b, c: ["rank-samples", b, str(c["good"]), "--model", DEBUG["rank"]]),
    "rank-samples (sample)": Case(lambda b, c: ["rank-samples", str(c["good"]), b, "--model", DEBUG["rank"]]),
    "rank-samples index": Case(
        lambda b, c: ["rank-samples", "index", b, "-o", str(c["out"] / "s.idx"), "--model", DEBUG["rank"]], code=1
    ),
}
MIDI: dict[str, Case] = {
    "render": Case(lambda b, c: ["render", b, "-o", str(c["out"] / "x.wav"), "--synth", "builtin"]),
    "render --stems": Case(lambda b, c: ["render", b, "--stems", str(c["out"] / "stems"), "--synth", "builtin"]),
    "infill": Case(  # a note 39 hours on is a very long melody, not a broken one
        lambda b, c: (
            ["infill", b, "--gap", "3-4", "--struct-from", "1-2", "-o", str(c["out"] / "x.mid"), "--seed", "1"]
            + ["--model", DEBUG["infill"]]
        ),
        valid=("far_event",),
    ),
}
STREAMS: dict[str, Case] = {
    "situate predict": Case(lambda b, c: ["situate", b, *SITUATE_DEBUG]),
    "train situate --streams": Case(
        lambda b, c: (
            ["train", "situate", "--streams", b, "--history", str(c["history"]), "-o", str(c["out"] / "run")]
            + ["--steps", "1"]
        )
    ),
    "eval situate --streams": Case(
        lambda b, c: ["eval", "situate", "--streams", b, "--history", str(c["history"]), "--branch", "dusp"]
    ),
    "eval situate-fold-in --streams": Case(
        lambda b, c: ["eval", "situate-fold-in", "--streams", b, "--history", str(c["history"]), *SITUATE_AUSP_DEBUG]
    ),
    "situate predict --branch dusp": Case(  # duSP reads no audio
        lambda b, c: ["situate", "predict", b, "--branch", "dusp", *SITUATE_DEBUG],
        valid=("missing_track", "track_not_audio"),
    ),
}
HISTORY: dict[str, Case] = {
    "eval situate-fold-in --history": Case(
        lambda b, c: ["eval", "situate-fold-in", "--streams", str(c["labelled"]), "--history", b, *SITUATE_AUSP_DEBUG]
    ),
    "situate predict --history": Case(
        lambda b, c: ["situate", _streams(str(c["good"]), c), "--history", b, *SITUATE_DEBUG]
    ),
    "train situate --history": Case(
        lambda b, c: (
            ["train", "situate", "--streams", str(c["labelled"]), "--history", b, "-o", str(c["out"] / "run")]
            + ["--steps", "1"]
        )
    ),
    "situate session --history": Case(
        lambda b, c: (
            ["situate", "session", "--user", "u1", "--situation", "work", "--tracks", str(c["good"])]
            + ["--history", b, *SITUATE_DEBUG[:2]]
        )
    ),
}
INDEX: dict[str, Case] = {
    "detect-cover query --index": Case(lambda b, c: ["detect-cover", "query", str(c["good"]), "--index", b]),
    "detect-cover cliques --index": Case(lambda b, c: ["detect-cover", "cliques", "--index", b]),
    "detect-cover index --skip-existing": Case(  # no index yet: a new one is made
        lambda b, c: ["detect-cover", "index", str(c["good"]), "-o", b, "--skip-existing"],
        valid=("missing", "dangling_link"),
    ),
    "embed similar --index": Case(lambda b, c: ["embed", "similar", str(c["good"]), "--index", b]),
    "embed index --skip-existing": Case(
        lambda b, c: ["embed", "index", str(c["good"]), "-o", b, "--skip-existing", "--model", DEBUG["embed"]],
        valid=("missing", "dangling_link"),
    ),
    "rank-samples (index)": Case(lambda b, c: ["rank-samples", str(c["good"]), b, "--model", DEBUG["rank"]]),
    "rank-samples index --skip-existing": Case(
        lambda b, c: ["rank-samples", "index", str(c["good"]), "-o", b, "--skip-existing", "--model", DEBUG["rank"]],
        valid=("missing", "dangling_link"),
    ),
}
CATALOGUE: dict[str, Case] = {
    "train embed --metadata": Case(
        lambda b, c: ["train", "embed", "--metadata", b, "-o", str(c["out"] / "run"), "--steps", "1"]
    ),
    "eval embed --metadata": Case(lambda b, c: ["eval", "embed", "--metadata", b, "--model", DEBUG["embed"]]),
}
MODEL: dict[str, Case] = {
    "transcribe --model": Case(
        lambda m, c: ["transcribe", str(c["good"]), "-o", str(c["out"] / "x.mid"), "--model", m],
        valid=("transcribe_weights", "other_task_name"),
    ),
    "detect-cover --model": Case(lambda m, c: ["detect-cover", str(c["good"]), str(c["good"]), "--model", m]),
    "infill --model": Case(
        lambda m, c: (
            ["infill", str(c["midi"]), "--gap", "3-4", "--struct-from", "1-2", "-o", str(c["out"] / "x.mid")]
            + ["--model", m]
        )
    ),
    "situate --ausp": Case(lambda m, c: ["situate", _streams(str(c["good"]), c), "--branch", "ausp", "--ausp", m]),
    "situate --dusp": Case(
        lambda m, c: ["situate", "now", "--device", "mobile", "--network", "wifi", "--dusp", m],
        valid=("dusp_weights",),
    ),
    "embed --model": Case(lambda m, c: ["embed", str(c["good"]), "--model", m]),
    "separate --model": Case(lambda m, c: ["separate", str(c["good"]), "-o", str(c["out"] / "stems"), "--model", m]),
    "accompany --model": Case(lambda m, c: ["accompany", str(c["good"]), "-o", str(c["out"] / "x.wav"), "--model", m]),
    "rank-samples --model": Case(lambda m, c: ["rank-samples", str(c["good"]), str(c["good"]), "--model", m]),
    "models path": Case(  # a file path is printed as it is
        lambda m, c: ["models", "path", m],
        valid=("transcribe_weights", "dusp_weights", "empty_file", "garbage_file"),
    ),
}

CORPUS: dict[str, Case] = {
    "corpus stats": Case(lambda d, c: ["corpus", "stats", d]),
    "corpus streams --audio": Case(
        lambda d, c: ["corpus", "streams", str(c["out"] / "streams"), "--audio", d, "--users", "5", "--seed", "1"]
    ),
    "eval transcribe": Case(lambda d, c: ["eval", "transcribe", "--data", d, "--model", DEBUG["transcribe"]]),
    "eval detect-cover": Case(lambda d, c: ["eval", "detect-cover", "--data", d, "--model", DEBUG["cover"]]),
    "train transcribe": Case(
        lambda d, c: ["train", "transcribe", "--data", d, "-o", str(c["out"] / "run"), "--steps", "1"]
    ),
    "corpus catalogue": Case(
        lambda d, c: ["corpus", "catalogue", d, "-o", str(c["out"] / "catalogue.csv")], code=1, usage=("a_file",)
    ),
    "train detect-cover": Case(lambda d, c: ["train", "detect-cover", "--data", d, "-o", str(c["out"] / "c.json")]),
    "eval embed": Case(lambda d, c: ["eval", "embed", "--data", d, "--model", DEBUG["embed"], "--baselines", ""]),
    "eval separate": Case(
        lambda d, c: ["eval", "separate", "--data", d, "--model", DEBUG["separate"], "--no-real", "--no-transcribe"]
    ),
    "train separate": Case(
        lambda d, c: ["train", "separate", "--data", d, "-o", str(c["out"] / "run"), "--steps", "1"]
    ),
    "train accompany": Case(
        lambda d, c: ["train", "accompany", "--data", d, "-o", str(c["out"] / "run"), "--steps", "1"]
    ),
    "eval accompany": Case(
        lambda d, c: ["eval", "accompany", "--data", d, "--tracker", str(c["out"] / "no-tracker.pt")]
    ),
}

LISTS: dict[str, Case] = {  # @list.txt: every command that takes INPUT arguments
    "render @list": Case(lambda b, c: ["render", f"@{b}", "-o", str(c["out"] / "wav"), "--synth", "builtin"]),
    "transcribe @list": Case(
        lambda b, c: ["transcribe", f"@{b}", "-o", str(c["out"] / "mid"), "--model", "transcribe-debug"]
    ),
    "detect-cover index @list": Case(lambda b, c: ["detect-cover", "index", f"@{b}", "-o", str(c["out"] / "lib.idx")]),
    "detect-cover query @list": Case(lambda b, c: ["detect-cover", "query", f"@{b}", "--index", str(c["index"])]),
    "detect-cover cliques @list": Case(lambda b, c: ["detect-cover", "cliques", f"@{b}"]),
    "embed @list": Case(lambda b, c: ["embed", f"@{b}", "--model", DEBUG["embed"]]),
    "separate @list": Case(
        lambda b, c: ["separate", f"@{b}", "-o", str(c["out"] / "stems"), "--model", DEBUG["separate"]]
    ),
    "embed index @list": Case(
        lambda b, c: ["embed", "index", f"@{b}", "-o", str(c["out"] / "e.idx"), "--model", DEBUG["embed"]]
    ),
    "rank-samples index @list": Case(
        lambda b, c: ["rank-samples", "index", f"@{b}", "-o", str(c["out"] / "s.idx"), "--model", DEBUG["rank"]]
    ),
    "situate session --tracks @list": Case(
        lambda b, c: (
            ["situate", "session", "--user", "u1", "--situation", "work", "--tracks", f"@{b}"] + SITUATE_DEBUG[:2]
        )
    ),
}
OPTIONS: dict[str, Case] = {  # commands that read no file: bad option values
    "situate now": Case(
        lambda o, c: (
            ["situate", "now", "--device", "mobile", "--network", "wifi", "--dusp", "situate-dusp-debug"]
            + json.loads(o)
        )
    ),
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good inputs the commands need beside the bad one, and every kind of bad input."""
    from tests.conftest import make_midi

    root = tmp_path_factory.mktemp("matrix")
    good = root / "good.wav"
    sf.write(good, _chords(6.0), 22_050)
    clique = root / "clique"
    clique.mkdir()
    for i, seconds in enumerate((6.0, 7.0)):
        sf.write(clique / f"v{i}.wav", _chords(seconds), 22_050)
    midi = root / "tune.mid"
    midi.write_bytes(make_midi([(60 + (i * 5) % 12, i * 0.5, i * 0.5 + 0.45, 90) for i in range(32)]))
    row = {"timestamp": "2019-08-14T07:32:00", "device": "mobile", "network": "wifi", "user": "u1"}
    labelled = root / "labelled.jsonl"
    labelled.write_text(json.dumps({**row, "track": str(good), "situation": "work"}) + "\n")
    history = root / "history.csv"
    history.write_text(f"user,track,plays\nu1,{good},3\n")
    cache = root / "cache"
    env = {"MTK_CACHE_DIR": str(cache)}
    index = root / "lib.idx"
    result = runner.invoke(app, ["detect-cover", "index", str(good), str(clique), "-o", str(index)], env=env)
    assert result.exit_code == 0, result.stderr
    embed_index = root / "embed.idx"
    result = runner.invoke(app, ["embed", "index", str(clique), "-o", str(embed_index), "--model", "embed-debug"])
    assert result.exit_code == 0, result.stderr
    weights = {task: locate(get_entry(name).files[0]) for task, name in DEFAULTS.items()}
    return {
        "root": root,
        "good": good,
        "clique": clique,
        "midi": midi,
        "labelled": labelled,
        "history": history,
        "index": index,
        "embed_index": embed_index,
        "cache": cache,
        **{f"{task}_weights": path for task, path in weights.items()},
    }


AUDIO_KINDS = [
    *("empty zero_length header_only truncated_header random_bytes text_named_wav midi_named_wav".split()),
    *("json_named_flac nan_samples inf_samples one_sample too_short huge_declared_size no_channels".split()),
    *("rate_zero truncated_wav truncated_aiff truncated_ogg truncated_mp3 truncated_flac".split()),
    *("missing dangling_link folder_named".split()),
]
MIDI_KINDS = [
    *("empty random_bytes text_named_mid wav_named_mid header_only truncated no_notes tempo_zero".split()),
    *("division_zero smpte_division_bad_rate huge_track_length no_tracks missing dangling_link folder_named".split()),
    *("json_named_mid bad_type missing_tracks short_header magic_then_garbage far_event broken_musicxml".split()),
    *("html_musicxml broken_mxl broken_abc".split()),
]
STREAM_KINDS = [
    *("empty blank_lines random_bytes header_only wav_named_csv json_array_of_strings json_line_not_object".split()),
    *("broken_json missing_column bad_device bad_network bad_timestamp numeric_timestamp null_timestamp".split()),
    *("nan_age age_out_of_range bad_country bad_gender missing_track track_not_audio".split()),
    *("missing dangling_link folder_named".split()),
]
HISTORY_KINDS = [
    *("empty random_bytes missing_column negative_plays nan_plays text_plays json_array_of_numbers".split()),
    *("missing dangling_link folder_named".split()),
]
INDEX_KINDS = (
    "empty random_bytes truncated header_only other_npz wav_named_idx missing dangling_link folder_named".split()
)
CORPUS_KINDS = [
    *("broken_meta_json meta_not_an_object meta_missing_keys meta_wrong_types meta_not_utf8 no_songs".split()),
    *("a_file missing".split()),
    *(f"song_audio_{kind}" for kind in AUDIO_KINDS),
]
OPTION_KINDS = list(badinputs.NOW_OPTIONS)
CATALOGUE_KINDS = [
    *("empty random_bytes header_only missing_column empty_path empty_track duplicate_path".split()),
    *("unterminated_quote not_utf8 wav_named_csv missing dangling_link folder_named".split()),
]
LIST_KINDS = "list_binary list_empty list_comments_only list_names_missing list_names_empty_folder list_missing".split()
MODEL_KINDS = (
    "unknown_name other_task_name missing_file transcribe_weights dusp_weights empty_file garbage_file".split()
)

MATRIX = [
    (command, kind, name)
    for kind, table, names in (
        ("audio", AUDIO, AUDIO_KINDS),
        ("midi", MIDI, MIDI_KINDS),
        ("streams", STREAMS, STREAM_KINDS),
        ("history", HISTORY, HISTORY_KINDS),
        ("index", INDEX, INDEX_KINDS),
        ("model", MODEL, MODEL_KINDS),
        ("corpus", CORPUS, CORPUS_KINDS),
        ("options", OPTIONS, OPTION_KINDS),
        ("list", LISTS, LIST_KINDS),
        ("catalogue", CATALOGUE, CATALOGUE_KINDS),
    )
    for command, case in table.items()
    for name in names
    if name not in case.valid
]
TABLES = {
    "audio": AUDIO,
    "midi": MIDI,
    "streams": STREAMS,
    "history": HISTORY,
    "index": INDEX,
    "model": MODEL,
    "corpus": CORPUS,
    "options": OPTIONS,
    "list": LISTS,
    "catalogue": CATALOGUE,
}


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file and link under ``folder``: relative path -> sha256 (or the link's target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[rel] = "folder"
    return out


@pytest.fixture
def workspace(shared: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A case's own folder: its inputs, an output folder, and the temporary folder."""
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    (work / "tmp").mkdir()
    (work / "out" / "precious.txt").write_text("an existing file no command may touch\n")
    monkeypatch.setattr(tempfile, "tempdir", str(work / "tmp"))
    return {**shared, "work": work, "out": work / "out"}


PATH_KINDS = ("missing", "dangling_link", "folder_named", *LIST_KINDS)  # INPUT arguments that are no file: usage errors


@pytest.fixture(scope="module")
def made(shared: dict[str, Path]) -> dict[str, dict[str, str]]:
    """Every bad input, written once: kind -> name -> path (a model kind: the --model value)."""
    bad = shared["root"] / "bad"
    audio = badinputs.audio_kinds(bad / "audio")
    return {
        "audio": {k: str(v) for k, v in audio.items()},
        "midi": {k: str(v) for k, v in badinputs.midi_kinds(bad / "midi").items()},
        "streams": {k: str(v) for k, v in badinputs.stream_kinds(bad / "streams", track=str(shared["good"])).items()},
        "history": {k: str(v) for k, v in badinputs.history_kinds(bad / "history").items()},
        "index": {k: str(v) for k, v in badinputs.index_kinds(bad / "index", shared["index"]).items()},
        "corpus": {k: str(v) for k, v in badinputs.corpus_kinds(bad / "corpus", audio=audio).items()},
        "options": {k: json.dumps(v) for k, v in badinputs.NOW_OPTIONS.items()},
        "list": {k: str(v) for k, v in badinputs.list_kinds(bad / "list").items()},
        "catalogue": {k: str(v) for k, v in badinputs.catalogue_kinds(bad / "catalogue", shared["good"]).items()},
        "model": badinputs.model_kinds(
            bad / "model", transcribe=shared["transcribe_weights"], dusp=shared["dusp_weights"]
        ),
    }


def _bad_input(kind: str, name: str, made: dict[str, dict[str, str]], ctx: dict[str, Path]) -> str:
    """The bad input, copied into the case's folder (so the snapshot sees any change to it)."""
    source = made[kind][name]
    if kind == "options" or (kind == "model" and not Path(source).is_file()):
        return source  # options (JSON), a name, or a missing file
    target = ctx["work"] / "bad" / Path(source).name
    target.parent.mkdir(exist_ok=True)
    if Path(source).is_dir() and name != "folder_named":  # a corpus
        shutil.copytree(source, target, symlinks=True)
    elif name == "dangling_link":
        target.symlink_to(ctx["work"] / "nowhere")
    elif name == "folder_named":
        target.mkdir()
    elif Path(source).exists():  # a missing input stays missing
        shutil.copyfile(source, target)
    return str(target)


@pytest.mark.parametrize(("command", "kind", "name"), MATRIX, ids=[f"{c}:{k}:{n}" for c, k, n in MATRIX])
def test_bad_input_is_refused_cleanly(
    command: str, kind: str, name: str, made: dict[str, dict[str, str]], workspace: dict[str, Path]
) -> None:
    case = TABLES[kind][command]
    code = 2 if name in PATH_KINDS or name in case.usage else case.code
    bad = _bad_input(kind, name, made, workspace)
    argv = case.argv(bad, workspace)
    before = _snapshot(workspace["work"])
    result = runner.invoke(app, argv, env={"MTK_CACHE_DIR": str(workspace["cache"]), "NO_COLOR": "1"})
    lines = result.stderr.strip().splitlines()
    prefix = "mtk " + command.split(" ")[0]
    assert result.exit_code == code, (argv, result.stderr)
    assert "Traceback" not in result.stderr and len(lines) == 1, (argv, result.stderr)
    # "mtk situate: error: ..." from mtk, "mtk situate now: error: ..." from the option parser
    assert lines[0].startswith(prefix) and ": error: " in lines[0] and "internal error" not in lines[0], lines[0]
    if code == 1:  # a batch: the failed input as a record
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r.get("input") for r in records if "error" in r] == [bad], result.stdout
    else:
        assert result.stdout == "", result.stdout
    assert _snapshot(workspace["work"]) == before, argv


def test_matrix_size() -> None:
    """The issue's floor: >= 20 input kinds for every command that reads audio, MIDI or streams."""
    for kinds in (AUDIO_KINDS, MIDI_KINDS, STREAM_KINDS, CORPUS_KINDS, OPTION_KINDS):
        assert len(kinds) >= 20 and len(set(kinds)) == len(kinds)
    assert len({k for _, k, _ in MATRIX}) == len(TABLES)
    tmp = Path(tempfile.mkdtemp())
    try:
        assert set(badinputs.audio_kinds(tmp / "a")) == set(AUDIO_KINDS)
        assert set(badinputs.midi_kinds(tmp / "m")) == set(MIDI_KINDS)
        assert set(badinputs.stream_kinds(tmp / "s", track="x.wav")) == set(STREAM_KINDS)
        assert set(badinputs.history_kinds(tmp / "h")) == set(HISTORY_KINDS)
        audio = badinputs.audio_kinds(tmp / "a2")
        assert set(badinputs.corpus_kinds(tmp / "c", audio=audio)) == set(CORPUS_KINDS)
    finally:
        shutil.rmtree(tmp)
