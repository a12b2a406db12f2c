"""`mtk accompany` end to end with the debug model: rates, lengths, takes, seeds, pipes, the
mix, MIDI and a kit, batches."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from mtk.transcribe.refine import KitShots
from tests.accompany.conftest import pulse_chords
from tests.conftest import invoke_mtk, run_mtk

DEBUG = ["--model", "accompany-debug"]
SR = 44_100


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of stereo chords on every beat at 120 BPM, 44.1 kHz (the model runs at 22.05 kHz)."""
    y = pulse_chords(8.0, 120.0, 4, SR)
    path = tmp_path_factory.mktemp("song") / "song.wav"
    sf.write(path, np.stack([y, 0.8 * y], axis=1), SR)
    return path


def _record(stdout: bytes) -> dict:
    (line,) = stdout.decode().splitlines()
    return json.loads(line)


def test_takes_mix_and_seeds(song: Path, tmp_path: Path) -> None:
    out, mix, takes = tmp_path / "drums.wav", tmp_path / "mix.wav", tmp_path / "takes"
    args = ["accompany", str(song), "-o", str(out), "--mix", str(mix), "-n", "2", "--keep-all", str(takes)]
    proc = invoke_mtk(*args, "--seed", "5", *DEBUG)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode()
    record = _record(proc.stdout)
    assert [t["seed"] for t in record["takes"]] == [5, 6]
    assert record["tempo"] == pytest.approx(120.0, rel=0.04)  # (the random tracker still hears the pulse)
    x, sr = sf.read(song, dtype="float32")
    drums, dsr = sf.read(out, dtype="float32")
    # The drums: mono, at the input's rate and length; the best take, as --keep-all wrote it.
    assert dsr == SR and drums.ndim == 1 and drums.size == x.shape[0]
    assert (takes / f"song-take{record['take']}.wav").read_bytes() == out.read_bytes()
    assert len(list(takes.iterdir())) == 2
    best = max(record["takes"], key=lambda t: -1 if t["beat_f"] is None else t["beat_f"])
    assert record["take"] == best["take"]
    # The mix: the input's channels with the drums in each, one gain for all (below -1 dBFS).
    m, msr = sf.read(mix, dtype="float32")
    assert msr == SR and m.shape == x.shape
    both = x + drums[:, None]
    gain = float((m * both).sum() / (both * both).sum())
    assert gain <= 1.0 + 1e-3 and np.abs(m - gain * both).max() < 2e-4
    # The same seed, the same take, from stdin to stdout.
    again = run_mtk("accompany", "-", "--seed", "6", *DEBUG, input=song.read_bytes())
    assert again.returncode == 0 and again.stderr == b""
    assert again.stdout == (takes / "song-take1.wav").read_bytes()


def test_kit_plays_the_hits_of_the_midi(song: Path, tmp_path: Path, rock_kit) -> None:  # type: ignore[no-untyped-def]
    import miditoolkit

    from mtk.transcribe.components import GM_NOTES
    from mtk.transcribe.refine import kit_shots

    out, midi = tmp_path / "kit.wav", tmp_path / "kit.mid"
    proc = invoke_mtk("accompany", str(song), "-o", str(out), "--midi", str(midi), "--kit", "GMRockKit", *DEBUG)
    assert proc.returncode == 0, proc.stderr.decode()
    record = _record(proc.stdout)
    notes = miditoolkit.MidiFile(str(midi)).instruments[0].notes
    assert record["kit"] == "GMRockKit" and record["hits"] == len(notes) > 0
    # The MIDI's hits replayed on the kit sound as the kit track (10-ms envelopes; MIDI ticks round times).
    drum_of = {n: d for d, n in reversed(GM_NOTES.items())}
    seconds = 60.0 / record["tempo"] / 480
    events = [SimpleNamespace(time=n.start * seconds, drum=drum_of[n.pitch], velocity=n.velocity) for n in notes]
    got, _ = sf.read(out, dtype="float32")
    want = kit_shots("GMRockKit", SR).play(events, got.size)

    def envelope(y: np.ndarray) -> np.ndarray:
        hop = SR // 100
        return np.sqrt((y[: y.size // hop * hop].reshape(-1, hop) ** 2).mean(axis=1))

    assert np.corrcoef(envelope(got), envelope(want))[0, 1] > 0.98


def test_kit_shots_play_each_hit_at_its_sample_and_velocity() -> None:
    shots = np.stack([np.linspace(1, 0, 100), -np.linspace(1, 0, 100)]).astype(np.float32)
    kit = KitShots("k", ("kick", "snare"), ("K", "S"), shots, 1000)
    hits = [SimpleNamespace(time=0.01, drum="kick", velocity=127), SimpleNamespace(time=0.5, drum="snare", velocity=64)]
    hits.append(SimpleNamespace(time=0.2, drum="crash", velocity=127))  # not in the kit: silent
    hits.append(SimpleNamespace(time=0.95, drum="kick", velocity=127))  # cut at the end
    y = kit.play(hits, 1000)
    assert y.size == 1000 and np.count_nonzero(y[:10]) == 0
    assert y[10] == 1.0 and y[500] == pytest.approx(-64 / 127)
    assert np.count_nonzero(y[110:500]) == 0 and y[950] == 1.0


def test_batch_writes_drums_mixes_and_midi_into_folders(song: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.wav").write_bytes(song.read_bytes())
    (folder / "c.wav").write_bytes(b"not audio")
    out = tmp_path / "out"
    proc = invoke_mtk("accompany", str(folder), "-o", str(out), "--mix", str(tmp_path / "mix"), "--seed", "1", *DEBUG)
    assert proc.returncode == 1  # c.wav failed; a and b were written
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert sorted(r["input"].rsplit("/", 1)[1] for r in records) == ["a.wav", "b.wav", "c.wav"]
    assert sorted(p.name for p in out.iterdir()) == ["a.wav", "b.wav"]
    assert sorted(p.name for p in (tmp_path / "mix").iterdir()) == ["a.wav", "b.wav"]
    assert (out / "a.wav").read_bytes() == (out / "b.wav").read_bytes()  # one seed, the same input


def test_remove_drums_accompanies_the_mix_without_its_drums(tmp_path: Path) -> None:
    """--remove-drums: mtk separate's shipped model takes the input's drums out; the mix is
    that drumless rest with the new drums, and the drums follow the rest, not the old drums."""
    from mtk.separate.infer import load as load_separator
    from tests.separate.conftest import drum_loop

    y = pulse_chords(6.0, 120.0, 4, SR) + drum_loop(6.0, SR, bpm=120.0)
    song = tmp_path / "full.wav"
    sf.write(song, np.stack([y, y], axis=1), SR)
    out, mix = tmp_path / "drums.wav", tmp_path / "mix.wav"
    proc = invoke_mtk(
        "accompany", str(song), "--remove-drums", "-o", str(out), "--mix", str(mix), "--seed", "2", *DEBUG
    )
    assert proc.returncode == 0, proc.stderr.decode()
    x, _ = sf.read(song, dtype="float32")
    rest = load_separator().output_of(x.T, SR, "no_drums").T
    drums, _ = sf.read(out, dtype="float32")
    m, _ = sf.read(mix, dtype="float32")
    both = rest + drums[:, None]
    gain = float((m * both).sum() / (both * both).sum())
    assert np.abs(m - gain * both).max() < 2e-4
    assert np.abs(rest - x).max() > 0.05  # the separator did take something out
