"""`mtk train cover` and `mtk eval cover` end to end on a tiny corpus of two genres."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mtk.weights.checkpoint import load_checkpoint
from tests.conftest import invoke_mtk

SR = 16_000


@pytest.fixture(scope="module")
def genre_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rock is a low drone with noise bursts, folk a high pure tone: 4 train, 2 valid, 2 test songs each."""
    root = tmp_path_factory.mktemp("genres")
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    for i in range(16):
        style = ("rock", "folk")[i % 2]
        split = "train" if i < 8 else "valid" if i < 12 else "test"
        pitch = rng.uniform(0.95, 1.05)
        if style == "rock":
            y = 0.3 * np.sin(2 * np.pi * 82 * pitch * t) + 0.2 * (rng.standard_normal(t.size) * (t % 0.5 < 0.05))
        else:
            y = 0.3 * np.sin(2 * np.pi * 880 * pitch * t)
        folder = root / f"{i:05d}-song"
        folder.mkdir()
        sf.write(folder / "mix.wav", y, SR)
        (folder / "meta.json").write_text(json.dumps({"split": split, "style": style, "tempo": 120, "meter": "4/4"}))
    return root


def test_train_then_eval_with_the_random_forest(genre_corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train", "cover", "--data", str(genre_corpus), "-o", str(run), "--embed", "embed-debug"]
    proc = invoke_mtk(*args, "--epochs", "40", "--hidden", "8", "--seed", "1")
    assert proc.returncode == 0, proc.stderr.decode()
    record = json.loads(proc.stdout)
    assert record["train"] == 8 and record["valid"] == 4 and record["seed"] == 1
    ckpt = load_checkpoint(run / "genre.pt")
    assert ckpt["config"]["embed"] == "embed-debug" and ckpt["config"]["inputs"] == 320
    proc = invoke_mtk("eval", "cover", "--data", str(genre_corpus), "--train-data", str(genre_corpus),
                      "--model", str(run / "genre.pt"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)
    assert result["songs"] == 4 and set(result["genres"]) == {str(run / "genre.pt"), "random forest (seed's features)"}
    forest = result["genres"]["random forest (seed's features)"]
    assert forest["accuracy"] == 1.0 and forest["train"] == 8  # a drone and a whistle: the features tell them apart
    assert forest["confusion"] == {"rock": dict.fromkeys(forest["confusion"]["rock"], 0) | {"rock": 2},
                                   "folk": dict.fromkeys(forest["confusion"]["rock"], 0) | {"folk": 2}}  # fmt: skip
    table = invoke_mtk("eval", "cover", "--data", str(genre_corpus), "--model", "cover-genre-debug", "--format",
                       "markdown")  # fmt: skip
    assert table.returncode == 0 and "| cover-genre-debug | 4 |" in table.stdout.decode()
    refused = invoke_mtk("train", "cover", "--data", str(genre_corpus), "-o", str(run), "--stage", "ddsp")
    assert refused.returncode == 2 and b"unknown --stage" in refused.stderr
