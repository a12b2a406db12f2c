"""`mtk train accompany` on the tiny corpus: each stage trains, validates, checkpoints and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mtk.cli.main import app
from mtk.weights.checkpoint import load_checkpoint


def train(corpus: Path, run: Path, *args: str, cache: Path) -> list[dict]:
    result = CliRunner().invoke(
        app,
        ["train", "accompany", "--data", str(corpus), "-o", str(run), "--device", "cpu", "--seed", "0", *args],
        env={"MTK_CACHE_DIR": str(cache)},
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    ("stage", "extra", "score"),
    [
        ("tracker", ["--width", "8", "--layers", "3", "--batch", "2", "--seconds", "3"], "valid_f"),
        ("vq-drums", ["--width", "16", "--codes", "8", "--batch", "2", "--seconds", "2"], "valid_mae"),
        ("vq-drumless", ["--width", "16", "--codes", "8", "--batch", "2", "--seconds", "2"], "valid_mae"),
        ("vocoder", ["--width", "16", "--batch", "2", "--seconds", "0.5"], "valid_stft"),
    ],
)
def test_stage_trains_checkpoints_and_resumes(
    beat_corpus: Path, tmp_path: Path, stage: str, extra: list[str], score: str
) -> None:
    run = tmp_path / stage
    records = train(
        beat_corpus, run, "--stage", stage, "--steps", "2", "--checkpoint-every", "2", *extra, cache=tmp_path
    )
    assert any(score in r for r in records)
    assert (run / "best.pt").is_file() and (run / "last.pt").is_file()
    assert load_checkpoint(run / "last.pt")["step"] == 2
    train(beat_corpus, run, "--stage", stage, "--steps", "3", "--checkpoint-every", "3", *extra, cache=tmp_path)
    assert load_checkpoint(run / "last.pt")["step"] == 3


def test_other_settings_in_a_run_are_refused(beat_corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["--stage", "tracker", "--width", "8", "--layers", "2", "--steps", "1", "--batch", "1", "--seconds", "2"]
    train(beat_corpus, run, *args, cache=tmp_path)
    result = CliRunner().invoke(
        app,
        ["train", "accompany", "--data", str(beat_corpus), "-o", str(run), *args[:-6], "--layers", "3"],
        env={"MTK_CACHE_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert "other settings" in result.output


def test_unknown_stage_is_a_usage_error(beat_corpus: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "accompany", "--data", str(beat_corpus), "-o", str(tmp_path / "r"), "--stage", "nosuch"]
    )
    assert result.exit_code == 2
    assert "unknown --stage" in result.output


@pytest.fixture(scope="module")
def parts(beat_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny tracker and two tiny VQ-VAEs, trained one step each."""
    root = tmp_path_factory.mktemp("parts")
    small = {"tracker": ["--width", "8", "--layers", "2"], "vq-drums": ["--width", "16", "--codes", "8"]}
    small["vq-drumless"] = ["--width", "16", "--codes", "6"]
    for stage, extra in small.items():
        train(
            beat_corpus,
            root / stage,
            "--stage",
            stage,
            "--steps",
            "1",
            "--batch",
            "1",
            "--seconds",
            "2",
            *extra,
            cache=root,
        )
    return {stage: root / stage / "best.pt" for stage in small}


@pytest.mark.parametrize(("beat", "encoder"), [("low", "--encoder"), ("high", "--no-encoder"), ("none", "--encoder")])
def test_lm_stage_reads_the_parts(
    beat_corpus: Path, parts: dict[str, Path], tmp_path: Path, beat: str, encoder: str
) -> None:
    run = tmp_path / "lm"
    given = ["--tracker", str(parts["tracker"]), "--vq-drums", str(parts["vq-drums"])]
    given += ["--vq-drumless", str(parts["vq-drumless"])]
    small = ["--width", "16", "--depth", "1", "--context", "16", "--batch", "2", "--steps", "2"]
    records = train(
        beat_corpus, run, "--stage", "lm", *given, "--beat", beat, encoder, *small, "--checkpoint-every", "2",
        cache=tmp_path,
    )  # fmt: skip
    assert any("valid_nll" in r for r in records)
    ckpt = load_checkpoint(run / "best.pt")
    assert ckpt["config"]["codes"] == 8 and ckpt["config"]["prime_codes"] == 6
    assert ckpt["config"]["beat"] == (None if beat == "none" else beat)
    assert ckpt["config"]["encoder"] == (encoder == "--encoder")
    assert ckpt["config"]["beat_features"] == 8


def test_lm_stage_needs_its_parts(beat_corpus: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["train", "accompany", "--data", str(beat_corpus), "-o", str(tmp_path / "r"), "--stage", "lm"],
        env={"MTK_CACHE_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert "needs --tracker" in result.output


def test_a_checkpoint_without_its_best_score_resumes_from_the_logged_best(tmp_path: Path) -> None:
    """Runs checkpointed before checkpoints stored ``best`` take it from their log."""
    from mtk.trainloop import Run, _logged_best

    lines = ['{"step": 25, "loss": 3.0}', '{"step": 500, "valid_stft": 1.5}', '{"step": 1000, "valid_stft": 1.2}']
    (tmp_path / "log.jsonl").write_text("\n".join(lines) + "\n")
    assert _logged_best(Run(tmp_path, "a", {}, "valid_stft", lower=True), float("inf")) == 1.2
    assert _logged_best(Run(tmp_path, "a", {}, "valid_stft", lower=False), -1.0) == 1.5
    assert _logged_best(Run(tmp_path / "none", "a", {}, "valid_stft", lower=True), 9.0) == 9.0
