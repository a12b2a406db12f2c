"""`mtk eval accompany`: the tracker comparison on the tiny corpus, with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from mtk.accompany.beats import Beats
from mtk.accompany.data import find_songs
from mtk.accompany.evaluate import evaluate_trackers, librosa_method, table
from mtk.cli.main import app


def test_an_oracle_scores_one_and_librosa_finds_the_pulse(beat_corpus: Path) -> None:
    songs = find_songs(beat_corpus)
    truth = {id(s.path): s for s in songs}
    queue = list(songs)

    def oracle(y: np.ndarray, sr: int) -> Beats:
        s = truth[id(queue.pop(0).path)]
        return Beats(np.asarray(s.beats), np.asarray(s.downbeats), s.tempo, int(s.meter[0]))

    result = evaluate_trackers({"oracle": oracle, "librosa": librosa_method}, songs)
    assert result["songs"] == 5
    assert result["methods"]["oracle"]["beat_f"] == 1.0
    assert result["methods"]["oracle"]["downbeat_f"] == 1.0
    assert result["methods"]["oracle"]["by_meter"]["3/4"]["songs"] == 1
    assert result["methods"]["librosa"]["beat_f"] > 0.8
    assert "| oracle | 1.000 | 1.000 | 1.000 |" in table(result)


def test_eval_cli_scores_a_trained_tracker(beat_corpus: Path, tmp_path: Path) -> None:
    env = {"MTK_CACHE_DIR": str(tmp_path)}
    run = tmp_path / "run"
    args = ["train", "accompany", "--data", str(beat_corpus), "-o", str(run), "--stage", "tracker", "--device", "cpu"]
    trained = CliRunner().invoke(
        app, [*args, "--width", "8", "--layers", "2", "--steps", "1", "--batch", "1", "--seconds", "2"], env=env
    )
    assert trained.exit_code == 0, trained.output
    base = ["eval", "accompany", "--data", str(beat_corpus), "--tracker", str(run / "best.pt"), "--device", "cpu"]
    result = CliRunner().invoke(app, base, env=env)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["songs"] == 1 and set(record["methods"]) == {"mtk tracker", "librosa"}
    markdown = CliRunner().invoke(app, [*base, "--format", "markdown", "--split", "train"], env=env)
    assert markdown.exit_code == 0 and "| librosa |" in markdown.stdout
    missing = CliRunner().invoke(app, [*base, "--split", "nosuch"], env=env)
    assert missing.exit_code == 2
