"""The stream simulator: determinism, planted dependencies, and the CLI's files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from mtk.situate.schema import SITUATIONS, parse_streams, tag_set
from mtk.situate.simulate import load_tracks, simulate
from tests.conftest import invoke_mtk


def test_same_seed_same_streams(meta_corpus: Path, simulated) -> None:
    _, streams, history = simulated
    _, again, history_again = simulate(load_tracks([meta_corpus]), n_users=150, n_streams=6000, seed=5)
    assert again == streams and history_again == history
    _, other, _ = simulate(load_tracks([meta_corpus]), n_users=150, n_streams=6000, seed=6)
    assert other != streams


def test_streams_follow_the_schema(simulated) -> None:
    _, streams, _ = simulated
    parsed = parse_streams(streams, situations=tag_set(12))
    assert len(parsed) == 6000
    assert set(parsed.situation) == set(SITUATIONS)


def test_planted_patterns(simulated) -> None:
    """Offline 'plane' streams are mostly on trains, no LAN in the car beyond noise, sleep at night."""
    _, streams, _ = simulated
    plane = Counter(s["situation"] for s in streams if s["network"] == "plane")
    assert plane.most_common(1)[0][0] == "train"
    car = [s for s in streams if s["situation"] == "car"]
    assert sum(s["network"] == "LAN" for s in car) / len(car) < 0.05
    sleep_hours = [int(s["timestamp"][11:13]) for s in streams if s["situation"] == "sleep"]
    assert sum(h >= 21 or h <= 3 for h in sleep_hours) / len(sleep_hours) > 0.8


def test_cli_writes_and_refuses_to_overwrite(meta_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "streams"
    args = ["corpus", "streams", str(out), "--audio", str(meta_corpus), "--users", "20", "--streams", "300"]
    proc = invoke_mtk(*args, "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["simulated"] is True and summary["streams"] == 300 and summary["tracks"] == 48
    assert len((out / "streams.jsonl").read_text().splitlines()) == 300
    # Ids carry the seed: they never collide with another simulation's or the shipped model's (issue 31).
    assert {json.loads(line)["user"] for line in (out / "history.jsonl").read_text().splitlines()} <= {
        f"s1-u{u:05d}" for u in range(20)
    }
    before = (out / "streams.jsonl").read_bytes()
    proc = invoke_mtk(*args, "--seed", "2")
    assert proc.returncode == 2
    assert proc.stderr.decode().strip().endswith("exists (use --force to overwrite)")
    assert (out / "streams.jsonl").read_bytes() == before


def test_cli_rejects_a_folder_that_is_not_a_corpus(tmp_path: Path) -> None:
    proc = invoke_mtk("corpus", "streams", str(tmp_path / "o"), "--audio", str(tmp_path), "--seed", "1")
    assert proc.returncode == 2
    assert b"not an mtk song corpus" in proc.stderr and b"Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()
