"""`mtk eval accompany`: the tracker comparison on the tiny corpus, with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
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
    assert record["tracker"]["songs"] == 1 and set(record["tracker"]["methods"]) == {"mtk tracker", "librosa"}
    markdown = CliRunner().invoke(app, [*base, "--format", "markdown", "--split", "train"], env=env)
    assert markdown.exit_code == 0 and "| librosa |" in markdown.stdout
    missing = CliRunner().invoke(app, [*base, "--split", "nosuch"], env=env)
    assert missing.exit_code == 2


def test_eval_cli_scores_generated_drums_and_the_sound_path(beat_corpus: Path, tmp_path: Path) -> None:
    from mtk.corpus.kits import installed_kits
    from tests.accompany.test_train import train

    kits = installed_kits()
    if not kits:
        pytest.skip("no recorded kit installed (make test-deps)")
    small = {"tracker": ["--width", "8", "--layers", "2"], "vq-drums": ["--width", "16", "--codes", "8"]}
    small |= {"vq-drumless": ["--width", "16", "--codes", "6"], "vocoder": ["--width", "16"]}
    for stage, extra in small.items():
        train(beat_corpus, tmp_path / stage, "--stage", stage, "--steps", "1", "--batch", "1", "--seconds", "1", *extra,
              cache=tmp_path)  # fmt: skip
    given = ["--tracker", str(tmp_path / "tracker/best.pt"), "--vq-drums", str(tmp_path / "vq-drums/best.pt")]
    given += ["--vq-drumless", str(tmp_path / "vq-drumless/best.pt")]
    lm_args = ["--width", "16", "--depth", "1", "--context", "16", "--batch", "1", "--steps", "1"]
    train(beat_corpus, tmp_path / "exp1", "--stage", "lm", *given, *lm_args, cache=tmp_path)
    args = ["eval", "accompany", "--data", str(beat_corpus), "--lm", str(tmp_path / "exp1/best.pt"), "--device", "cpu"]
    args += ["--vocoder", str(tmp_path / "vocoder/best.pt"), "--kit", kits[0].name, "--seconds", "8"]
    args += ["--sound-songs", "1", "--style-songs", "3", "--split", "train", "--takes", "2"]
    result = CliRunner().invoke(app, args, env={"MTK_CACHE_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    systems = record["generation"]["systems"]
    assert set(systems) == {"real drums", "another song's drums", "drum machine", "exp1", "exp1, best of 2"}
    assert systems["real drums"]["beat_f"] > 0.5  # the synthetic loop plays the song's own beat
    assert systems["real drums"]["style_distance"] == pytest.approx(0.0, abs=1e-6)
    assert set(record["sound_path"]["methods"]) == {
        "Griffin-Lim", "vocoder", "VQ-VAE + Griffin-Lim", "VQ-VAE + vocoder"
    }  # fmt: skip
    # The sound path alone, through a VQ-VAE named directly.
    args = ["eval", "accompany", "--data", str(beat_corpus), "--vq-drums", str(tmp_path / "vq-drums/best.pt")]
    args += ["--sound-songs", "1", "--split", "train", "--device", "cpu"]
    result = CliRunner().invoke(app, args, env={"MTK_CACHE_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["sound_path"]["methods"]) == {"Griffin-Lim", "VQ-VAE + Griffin-Lim"}
    nothing = CliRunner().invoke(app, ["eval", "accompany", "--data", str(beat_corpus)])
    assert nothing.exit_code == 2 and "nothing to evaluate" in nothing.output
