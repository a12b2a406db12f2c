"""Training and evaluation on a small synthetic corpus: steps, checkpoints, resuming, the eval."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from mtk.cli.main import app
from mtk.rank_samples.data import Pool, draw_pair, find_songs, load_pair
from mtk.rank_samples.frontend import SAMPLES
from mtk.rank_samples.train import TrainOptions, train

SR = 44_100
KITS = {"train": ["A", "B", "C"], "test": ["T"]}
runner = CliRunner()


def _shot(freq: float, rng: np.random.Generator, seconds: float = 0.3) -> np.ndarray:
    n = int(seconds * SR)
    tone = np.sin(2 * np.pi * freq * np.arange(n) / SR) + 0.3 * rng.standard_normal(n)
    return (0.5 * tone * np.exp(-np.arange(n) / (0.05 * SR))).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Four kits (kick and snare one-shots, each kit its own pitch) and 14 songs of 5 s."""
    root = tmp_path_factory.mktemp("rank")
    rng = np.random.default_rng(0)
    shots, records = root / "oneshots", []
    for k, kit in enumerate(KITS["train"] + KITS["test"]):
        for cls, base in (("kick", 60.0), ("snare", 200.0)):
            path = shots / kit.lower() / cls / f"{cls}-v1.wav"
            path.parent.mkdir(parents=True)
            sf.write(path, _shot(base * (1 + 0.3 * k), rng), SR)
            records.append(
                {
                    "file": str(path.relative_to(shots)),
                    "kit": kit,
                    "class": cls,
                    "instrument": cls,
                    "velocity": [0.0, 1.0],
                }
            )
    (shots / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    songs = root / "songs"
    splits = ["train"] * 8 + ["valid"] * 3 + ["test"] * 3
    for n, split in enumerate(splits):
        kit = KITS["test"][0] if split == "test" else KITS["train"][n % 3]
        folder = songs / f"{n:03d}"
        (folder / "stems" / "drums").mkdir(parents=True)
        t = np.arange(5 * SR) / SR
        for part, freq in (("melody", 440.0), ("chords", 330.0), ("bass", 110.0)):
            sf.write(folder / "stems" / f"{part}.wav", (0.1 * np.sin(2 * np.pi * freq * (1 + n / 50) * t)), SR)
        hits = []
        for cls in ("kick", "snare"):
            y, _ = sf.read(shots / kit.lower() / cls / f"{cls}-v1.wav")
            track = np.zeros(len(t))
            for beat in range(0 if cls == "kick" else 1, 10, 2):
                track[beat * SR // 2 : beat * SR // 2 + len(y)] += y
                hits.append(
                    {
                        "time": beat / 2,
                        "class": cls,
                        "velocity": 100,
                        "sample": str(shots / kit.lower() / cls / f"{cls}-v1.wav"),
                    }
                )
            sf.write(folder / "stems" / "drums" / f"{cls}.wav", track, SR)
        sf.write(folder / "mix.wav", np.zeros(len(t)), SR)
        meta = {"split": split, "style": "rock", "drums": {"mode": "sampler", "kit": kit}, "drum_hits": hits}
        (folder / "meta.json").write_text(json.dumps(meta))
    (songs / "corpus.json").write_text(json.dumps({"kits": KITS}))
    return songs, shots


def test_pairs_mix_the_other_stems(corpus: tuple[Path, Path]) -> None:
    songs, shots = corpus
    found = find_songs(songs, Pool.load(shots))
    assert len(found) == 8 and {s.kit for s in found} == set(KITS["train"])
    rng = np.random.default_rng(0)
    for _ in range(20):
        pair = draw_pair(found[0], rng)
        assert f"drums:{pair.cls}" not in pair.stems and len(pair.stems) >= 2
        assert pair.shot in dict(found[0].played[pair.cls])
    context, shot = load_pair(draw_pair(found[0], rng, sparse=False), rng)
    assert context.shape == (SAMPLES,) and shot.ndim == 1 and np.isfinite(context).all()


def test_train_checkpoints_resumes_and_evaluates(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    songs, shots = corpus
    run = tmp_path / "run"
    opts = TrainOptions(init="random", steps=2, batch_pairs=3, checkpoint_every=2, width=0.25, depth=0.34, augment=0.0)
    last = train(songs, shots, run, opts)
    assert last["step"] == 2 and 0.0 < last["valid_rank"] <= 1.0
    assert (run / "best.pt").exists() and (run / "last.pt").exists()
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "valid_rank" in r] == [0, 2]
    resumed = train(songs, shots, run, TrainOptions(**{**opts.__dict__, "steps": 3}))
    assert resumed["step"] == 3
    result = runner.invoke(
        app,
        ["eval", "rank-samples", "--data", str(songs), "--oneshots", str(shots), "--model", str(run / "best.pt")]
        + ["--baselines", "random,timbre", "--per", "1"],
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["pool"] == 2 and report["kits"] == ["T"] and report["queries"] == 3 * 2 * 2
    for method in report["methods"].values():
        for kind in ("full", "sparse"):
            assert 0.0 < method[kind]["all"]["mean"] <= 1.0 and method[kind]["all"]["queries"] == 6
