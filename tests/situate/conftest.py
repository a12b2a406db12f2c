"""A tiny song corpus (metadata only: the simulator reads style, tempo and drum hits) and its streams."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

STYLES = ("rock", "ballad", "electronic", "bossa", "folk", "funk")


def write_meta_corpus(folder: Path, n: int = 48, seed: int = 0, audio: bool = True) -> Path:
    """``n`` songs with known style, tempo and drum density, and a short ``mix.wav`` each."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    for i in range(n):
        song = f"{i:05d}-song"
        style = STYLES[i % len(STYLES)]
        tempo = float(rng.integers(60, 150))
        hits = [{"time": t / 4, "class": "kick", "velocity": 100} for t in range(int(rng.integers(20, 240)))]
        (folder / song).mkdir()
        meta = {"style": style, "tempo": tempo, "drum_hits": hits, "duration": 30.0}
        (folder / song / "meta.json").write_text(json.dumps(meta))
        if audio:  # 2.5 s of a tone whose pitch follows the tempo: enough for the mel front end and mtk embed
            t = np.arange(int(2.5 * 22050)) / 22050
            sf.write(folder / song / "mix.wav", (0.3 * np.sin(2 * np.pi * 2 * tempo * t)).astype(np.float32), 22050)
        index.append({"id": song, "style": style})
    (folder / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in index))
    return folder


@pytest.fixture(scope="session")
def meta_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_meta_corpus(tmp_path_factory.mktemp("songs") / "corpus")


@pytest.fixture(scope="session")
def simulated(meta_corpus: Path):
    """(users, streams, history) for 150 users and 6,000 streams, seed 5."""
    from mtk.situate.simulate import load_tracks, simulate

    return simulate(load_tracks([meta_corpus]), n_users=150, n_streams=6000, seed=5)


@pytest.fixture(scope="session")
def stream_files(meta_corpus: Path, simulated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """streams.jsonl (first 400 streams) and history.jsonl of :func:`simulated`."""
    folder = tmp_path_factory.mktemp("streams")
    _, streams, history = simulated
    (folder / "streams.jsonl").write_text("".join(json.dumps(s) + "\n" for s in streams[:400]))
    (folder / "history.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))
    return folder


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTK_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "mtk-cache"))
