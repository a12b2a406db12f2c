"""`mtk situate`, `mtk train situate` and `mtk eval situate` end to end, with debug models or a tiny run."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import invoke_mtk

DEBUG = ["--ausp", "situate-ausp-debug", "--dusp", "situate-dusp-debug"]


def _env(cache: Path | None = None) -> dict[str, str]:
    """The test cache (set by conftest's autouse fixture, or given) and one thread."""
    return {"MTK_CACHE_DIR": str(cache or os.environ["MTK_CACHE_DIR"]), "OMP_NUM_THREADS": "1"}


def _lines(out: bytes) -> list[dict]:
    return [json.loads(line) for line in out.decode().splitlines()]


def test_streams_to_json_lines(stream_files: Path, meta_corpus: Path) -> None:
    head = b"".join((stream_files / "streams.jsonl").read_bytes().splitlines(keepends=True)[:5])
    proc = invoke_mtk("situate", "-", "--audio", str(meta_corpus), "-k", "2", *DEBUG, input=head, env=_env())
    assert proc.returncode == 0, proc.stderr
    records = _lines(proc.stdout)
    assert [r["row"] for r in records] == [1, 2, 3, 4, 5]
    for r in records:
        assert {"dusp", "ausp", "joint"} <= set(r) and len(r["joint"]) == 2
    assert b"knows no history" in proc.stderr  # the debug auSP knows no users and got no --history


def test_history_embeds_users(stream_files: Path, meta_corpus: Path) -> None:
    proc = invoke_mtk(
        "situate", str(stream_files / "streams.jsonl"), "--audio", str(meta_corpus), "--branch", "ausp",
        "--history", str(stream_files / "history.jsonl"), "--ausp", "situate-ausp-debug", "-q", env=_env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"" and len(_lines(proc.stdout)) == 400


def test_bad_row_names_row_and_column_and_writes_nothing(tmp_path: Path) -> None:
    rows = [
        {"timestamp": "2019-08-01T10:00", "device": "mobile", "network": "wifi", "user": "a"},
        {"timestamp": "2019-08-01T10:00", "device": "fridge", "network": "wifi", "user": "a"},
    ]
    src = tmp_path / "s.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    proc = invoke_mtk("situate", str(src), "--branch", "dusp", "--dusp", "situate-dusp-debug", "-o", str(out))
    assert proc.returncode == 2
    assert (
        proc.stderr.decode()
        .strip()
        .endswith("row 2: column 'device': unknown device 'fridge' (expected mobile, desktop, tablet)")
    )
    assert not out.exists()


def test_missing_column_in_csv(tmp_path: Path) -> None:
    src = tmp_path / "s.csv"
    src.write_text("timestamp,device,user\n2019-08-01T10:00,mobile,a\n")
    proc = invoke_mtk("situate", str(src), "--branch", "dusp", "--dusp", "situate-dusp-debug")
    assert proc.returncode == 2 and b"row 1: missing column 'network'" in proc.stderr


def test_now(tmp_path: Path) -> None:
    args = ["situate", "now", "--device", "mobile", "--network", "plane", "--time", "2019-08-13T08:05"]
    proc = invoke_mtk(*args, "--user", "u1", "--age", "30", "--country", "FR", "--dusp", "situate-dusp-debug")
    assert proc.returncode == 0, proc.stderr
    (record,) = _lines(proc.stdout)
    assert record["user"] == "u1" and record["situations"][0]["situation"] == "train"
    proc = invoke_mtk("situate", "now", "--device", "mobile", "--network", "5g", "--dusp", "situate-dusp-debug")
    assert proc.returncode == 2 and proc.stderr.decode().count("\n") == 1 and b"--network" in proc.stderr


def test_session(meta_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "session.jsonl"
    args = ["situate", "session", "--user", "u00001", "--situation", "gym", "--tracks", str(meta_corpus), "-n", "5"]
    proc = invoke_mtk(*args, "--ausp", "situate-ausp-debug", "-o", str(out), "-q", env=_env())
    assert proc.returncode == 0, proc.stderr
    ranked = _lines(out.read_bytes())
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4, 5] and all(r["track"].endswith("mix.wav") for r in ranked)
    proc = invoke_mtk(*args, "--ausp", "situate-ausp-debug", "-o", str(out), env=_env())
    assert proc.returncode == 2 and b"exists" in proc.stderr


@pytest.fixture(scope="module")
def tiny_run(stream_files: Path, meta_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run")
    proc = invoke_mtk(
        "train", "situate", "--streams", str(stream_files / "streams.jsonl"), "--history",
        str(stream_files / "history.jsonl"), "--audio", str(meta_corpus), "-C", "4", "-o", str(run),
        "--steps", "2", "--tracks", "4", "--streams-per-track", "2", "--seed", "0", "--device", "cpu",
        env=_env(tmp_path_factory.getbasetemp() / "mtk-cache"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = _lines(proc.stdout)
    assert lines[-1]["situations"] == ["work", "gym", "party", "sleep"]
    assert {"ausp_auc", "dusp_accuracy", "joint_overlap"} <= set(lines[-1]["test"])
    return run


def test_train_writes_loadable_models(tiny_run: Path, stream_files: Path, meta_corpus: Path) -> None:
    assert {p.name for p in tiny_run.iterdir()} >= {"ausp.pt", "dusp.ubj", "last.pt", "log.jsonl", "scores.json"}
    assert (tiny_run / "ausp.pt").stat().st_size < 18_000_000  # int8 FC layer, float16 rest
    proc = invoke_mtk(
        "situate", str(stream_files / "streams.jsonl"), "--audio", str(meta_corpus), "-q",
        "--ausp", str(tiny_run / "ausp.pt"), "--dusp", str(tiny_run / "dusp.ubj"), env=_env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    records = _lines(proc.stdout)
    assert {s["situation"] for r in records for s in r["joint"]} <= {"work", "gym", "party", "sleep"}


def _invoke(*args: str) -> Any:
    """The CLI in this process (no interpreter start-up): exit code, stdout and stderr as text."""
    from typer.testing import CliRunner

    from mtk.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_a_history_of_any_audio_folds_in(tiny_run: Path, meta_corpus: Path, tmp_path: Path) -> None:
    """Issue 31: a --history of tracks the model was not trained on had no effect, with only a
    "no history" warning. A trained model now hears such tracks (its content map predicts
    their factor rows from what its own audio branch hears, by default); one without a map,
    or tracks without audio, are named in warnings."""
    import shutil

    assert json.loads((tiny_run / "scores.json").read_text())["content"]["embed_model"] == "ausp"
    mine = tmp_path / "mine"
    mine.mkdir()
    for i in range(3):
        shutil.copy(meta_corpus / f"{i:05d}-song" / "mix.wav", mine / f"{i}.wav")
    (tmp_path / "plays.csv").write_text(
        "user,track,plays\n" + "".join(f"newbie,mine/{i}.wav,{i + 1}\n" for i in range(3))
    )
    (tmp_path / "nothing.csv").write_text("user,track,plays\nnewbie,mine/gone.wav,3\n")
    (tmp_path / "streams.csv").write_text(f"user,track\nnewbie,{meta_corpus / '00007-song' / 'mix.wav'}\n")
    args = ["situate", str(tmp_path / "streams.csv"), "--branch", "ausp", "--ausp", str(tiny_run / "ausp.pt")]
    alone = _invoke(*args)
    assert alone.exit_code == 0 and "knows no history of 1 user(s) (newbie)" in alone.stderr
    heard = _invoke(*args, "--history", str(tmp_path / "plays.csv"))
    assert heard.exit_code == 0 and heard.stderr == "", heard.stderr
    from mtk.situate.infer import load_ausp  # the same through the API: newbie is embedded from what is heard

    branch = load_ausp(str(tiny_run / "ausp.pt"))
    rows, failed = branch.hear({f"mine/{i}.wav": str(mine / f"{i}.wav") for i in range(3)})
    assert not failed and branch.content_map.cv_r2 <= 1.0 and all(r.shape == (128,) for r in rows.values())
    # what it hears is its audio branch's embedding of the file, through the map (predicted alone
    # rather than in a batch of three: float32 sums in another order, over large ridge weights)
    (heard_vector,) = branch.audio_of({"x": str(mine / "0.wav")})[0].values()
    assert np.allclose(rows["mine/0.wav"], branch.content_map.predict(heard_vector[None])[0], rtol=1e-3, atol=1e-3)
    history = {f"mine/{i}.wav": float(i + 1) for i in range(3)}
    vector = branch.user_vector("newbie", history, rows)
    assert vector is not None and vector.any() and branch.user_vector("newbie", history) is None
    gone = _invoke(*args, "--history", str(tmp_path / "nothing.csv"))
    assert gone.exit_code == 0 and "1 tracks of --history have no audio (mine/gone.wav)" in gone.stderr
    assert "the --history of 1 user(s) (newbie) has no track auSP knows or could hear" in gone.stderr
    args[args.index("--ausp") + 1] = "situate-ausp-v1"
    shipped = _invoke(*args, "--history", str(tmp_path / "plays.csv"))
    assert shipped.exit_code == 0 and "it cannot hear others (no content map" in shipped.stderr


def test_a_content_map_for_an_existing_model_and_what_folding_in_is_worth(
    tiny_run: Path, stream_files: Path, meta_corpus: Path, tmp_path: Path
) -> None:
    """`mtk train situate-content` gives a model a content map from corpora holding its tracks
    (how situate-ausp-v2 got one); `mtk eval situate-fold-in` scores exact, heard and no history."""
    out = tmp_path / "with-map.pt"
    args = ["--ausp", str(tiny_run / "ausp.pt"), "--audio", str(meta_corpus), "--content-embed", "embed-debug"]
    proc = _invoke("train", "situate-content", *args, "-o", str(out))
    assert proc.exit_code == 0, proc.stderr
    (record,) = _lines(proc.stdout.encode())
    assert record["tracks"] == 48 and record["embed_model"] == "embed-debug" and record["cv_r2"] <= 1.0
    from mtk.situate.infer import load_ausp

    before, after = load_ausp(str(tiny_run / "ausp.pt")), load_ausp(str(out))
    assert after.content_map.embed_model == "embed-debug" and before.content_map is not None
    assert before.content_map.embed_model == "ausp"
    assert np.array_equal(before.user_vectors, after.user_vectors) and after.embedder.tracks == before.embedder.tracks
    assert _invoke("train", "situate-content", *args, "-o", str(out)).exit_code == 2  # exists
    streams = ["--streams", str(stream_files / "streams.jsonl"), "--history", str(stream_files / "history.jsonl")]
    proc = _invoke("eval", "situate-fold-in", *streams, "--audio", str(meta_corpus), "--ausp", str(out), "--folds", "2")
    assert proc.exit_code == 0, proc.stderr
    (result,) = _lines(proc.stdout.encode())
    assert 10 <= result["tracks"] <= 48 and 0 < result["streams"] <= 400 and result["embed_model"] == "embed-debug"
    for condition in ("exact", "heard", "no_history"):
        assert 0 <= result[condition]["auc"] <= 1 and 0 <= result[condition]["accuracy"] <= 1


def test_training_state_is_lean_and_not_a_model(tiny_run: Path, stream_files: Path, meta_corpus: Path) -> None:
    """Issue 31: last.pt is 194 MB: the 16.2 M float32 weights and Adam's two moments, nothing
    duplicated; given as --ausp it was an internal error (KeyError: 'track_factors')."""
    assert (tiny_run / "last.pt").stat().st_size < 3 * 4 * 16_199_558 * 1.005
    args = ["situate", str(stream_files / "streams.jsonl"), "--audio", str(meta_corpus)]
    proc = invoke_mtk(*args, "--ausp", str(tiny_run / "last.pt"), "--branch", "ausp", env=_env())
    assert proc.returncode == 2 and proc.stdout == b""
    assert (
        proc.stderr.decode().count("\n") <= 2
        and "a training checkpoint (last.pt), not an auSP model" in proc.stderr.decode()
    )


def test_train_refuses_streams_without_every_situation(stream_files: Path, meta_corpus: Path, tmp_path: Path) -> None:
    """Issue 31: streams lacking a situation of the tag set ended in `internal error: ValueError`."""
    rows = [json.loads(line) for line in (stream_files / "streams.jsonl").read_text().splitlines()]
    kept = [r for r in rows if r["situation"] != "sleep"]
    assert len(kept) < len(rows)
    (tmp_path / "streams.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    proc = invoke_mtk(
        "train", "situate", "--streams", str(tmp_path / "streams.jsonl"), "--history",
        str(stream_files / "history.jsonl"), "--audio", str(meta_corpus), "-C", "4", "-o", str(tmp_path / "run"),
        "--steps", "1", env=_env(),
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == b"", proc.stderr
    assert "no streams of 1 of the 4 situations (sleep)" in proc.stderr.decode()
    assert not (tmp_path / "run" / "ausp.pt").exists()


def test_eval_dusp_protocol(stream_files: Path, meta_corpus: Path, tmp_path: Path) -> None:
    args = (
        "eval", "situate", "--streams", str(stream_files / "streams.jsonl"), "--history",
        str(stream_files / "history.jsonl"), "--branch", "dusp", "-C", "4", "--repeats", "2",
    )  # fmt: skip
    proc = invoke_mtk(*args)
    assert proc.returncode == 0, proc.stderr
    (result,) = _lines(proc.stdout)
    cell = result["summary"]["4"]["warm"]["dusp_accuracy"]
    assert cell["n"] == 2 and 0 <= cell["mean"] <= 1 and len(result["runs"]) == 6
    # --runs keeps each split; a rerun reads them back to the same report
    runs = tmp_path / "runs"
    kept = [invoke_mtk(*args, "--runs", str(runs)) for _ in range(2)]
    assert [p.stdout for p in kept] == [proc.stdout] * 2 and len(list(runs.glob("c4-*/record.json"))) == 6
    clash = invoke_mtk(*args, "--runs", str(runs), "--branch", "both", "--audio", str(meta_corpus))
    assert clash.returncode == 2 and b"other ausp settings" in clash.stderr and not clash.stdout
    proc = invoke_mtk(
        "eval", "situate", "--streams", str(stream_files / "streams.jsonl"), "--history",
        str(stream_files / "history.jsonl"), "--branch", "dusp", "-C", "4", "--repeats", "1", "--format", "markdown",
    )  # fmt: skip
    assert proc.stdout.startswith(b"Protocol: 1 random split(s) per cell.\n")
    assert re.search(rb"\n\| 4 \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \|\n", proc.stdout)  # one split: no std
    assert b"Table 3: duSP accuracy (%)" in proc.stdout and b"| 4 (paper) | 47.46 | 66.81 | 66.96 |" in proc.stdout


def test_eval_protocol_with_ausp(stream_files: Path, meta_corpus: Path) -> None:
    proc = invoke_mtk(
        "eval", "situate", "--streams", str(stream_files / "streams.jsonl"), "--history",
        str(stream_files / "history.jsonl"), "--audio", str(meta_corpus), "-C", "4", "--splits", "cold-track",
        "--repeats", "1", "--steps", "1", "--tracks", "2", "--streams-per-track", "2", "--device", "cpu", "-v",
        env=_env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (result,) = _lines(proc.stdout)
    cell = result["summary"]["4"]["cold-track"]
    assert set(cell) == {"ausp_auc", "ausp_accuracy", "dusp_accuracy", "dusp_accuracy_at_3", "joint_overlap"}
    assert cell["joint_overlap"]["mean"] <= min(cell["ausp_accuracy"]["mean"], cell["dusp_accuracy"]["mean"])
    assert b"{'cell': 'c4-cold-track-0', 'step': 1, 'loss':" in proc.stderr  # -v: auSP's training log
