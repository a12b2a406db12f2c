"""Batches for Ray Data: the batch function alone, and examples/ray_embed.py on a local Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mtk.embed.batch import EmbedBatches
from tests.conftest import ROOT, run_mtk


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("music")
    t = np.arange(3 * 16_000) / 16_000
    for i, f0 in enumerate((220.0, 277.2, 330.0, 440.0)):
        sf.write(folder / f"{i}.wav", 0.3 * np.sin(2 * np.pi * f0 * t), 16_000)
    sf.write(folder / "silent.wav", np.zeros_like(t), 16_000)
    return folder


def test_a_batch_gains_vectors_and_keeps_going_past_a_bad_file(music: Path) -> None:
    from mtk.embed.infer import load

    paths = np.array([str(music / "0.wav"), str(music / "silent.wav"), str(music / "1.wav")], dtype=object)
    out = EmbedBatches("embed-debug")({"path": paths, "id": np.arange(3)})
    assert out["vector"].shape == (3, 320) and out["id"].tolist() == [0, 1, 2]
    assert out["error"][0] == out["error"][2] == "" and "silent" in out["error"][1]
    assert not out["vector"][1].any() and out["model"][0] == "embed-debug"
    np.testing.assert_allclose(out["vector"][2], load("embed-debug").from_file(paths[2]).vectors, atol=1e-6)


@pytest.mark.slow  # about a minute: Ray starts a local cluster
def test_ray_example_on_two_local_workers_equals_the_cli(music: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray.data")
    good = [str(music / f"{i}.wav") for i in range(4)]
    out = tmp_path / "ray.jsonl"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "ray_embed.py"), *good, "-o", str(out)]
        + ["--workers", "2", "--batch-size", "2", "--model", "embed-debug"],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    ray_rows = [json.loads(x) for x in out.read_text().splitlines()]
    cli = run_mtk("embed", *good, "--model", "embed-debug")
    cli_rows = [json.loads(x) for x in cli.stdout.decode().splitlines()]
    assert [r["input"] for r in ray_rows] == [r["input"] for r in cli_rows] == good
    for a, b in zip(ray_rows, cli_rows, strict=True):
        assert a["model"] == b["model"] and a["dims"] == b["dims"]
        np.testing.assert_allclose(a["vector"], b["vector"], atol=1e-5)
