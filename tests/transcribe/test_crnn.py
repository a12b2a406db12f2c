"""The supervised CRNN: features, targets, chunked inference, training and loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import invoke_mtk
from tests.transcribe.test_train import SR, _song

torch = pytest.importorskip("torch")
TINY = {"channels": (4, 8), "hidden": 8, "layers": 1}


def _tiny(**kw):  # type: ignore[no-untyped-def]
    from mtk.transcribe.crnn import CrnnConfig, DrumCRNN

    torch.manual_seed(0)
    return DrumCRNN(CrnnConfig(**{**TINY, **kw}))


def test_features_are_centred_frames_of_log_mel_and_flux() -> None:
    net = _tiny()
    y = torch.zeros(2, 22050)
    y[:, 11025] = 1.0  # a click half-way
    feats = net.frontend(y)
    assert feats.shape == (2, 2, 96, 1 + 22050 // 220)
    flux = feats[0, 1].sum(dim=0)
    # frame t is centred on sample 220 t: the first whole-window frame to hold the click, where
    # the log-mel rises most, is ceil((11025 - 512) / 220) = 48 (the labels teach the network
    # the hit's own frame, 50)
    assert int(flux.argmax()) == 48
    logits, vel = net(y)
    assert (
        logits.shape == vel.shape == (2, 11, 101) and float(vel.detach().min()) >= 0 and float(vel.detach().max()) <= 1
    )


def test_targets_mark_the_hit_frame_and_its_neighbours() -> None:
    from mtk.transcribe.train_crnn import targets

    hits = np.array([[1.003, 0, 100 / 127], [1.5, 2, 0.5], [9.0, 1, 1.0]])  # the last is outside
    on, vel = targets(hits, 0.5, 200, 100.0, 11)
    assert on[0, 50] == 1.0 and on[0, 49] == on[0, 51] == 0.5 and on[0].sum() == 2.0
    assert on[2, 100] == 1.0 and vel[2, 100] == 0.5 and vel[0, 50] == pytest.approx(100 / 127)
    assert on[1].sum() == 0 and (vel > 0).sum() == 2


def test_layered_excerpts_sum_two_songs_and_keep_the_hits_of_both() -> None:
    from mtk.transcribe.train_crnn import HitSong, batches

    sr, n = 1000, 4000

    def song(name: str, comp: int, at: float) -> HitSong:
        y = np.zeros(n, np.float16)
        y[int(at * sr) :: sr] = 1.0  # one click a second
        hits = np.array([[t, comp, 1.0] for t in np.arange(at, 4.0, 1.0)])
        return HitSong(name, y, None, hits)

    songs = [song("a", 0, 0.25), song("b", 1, 0.75)]  # kicks on the quarters, snares three quarters in
    kw = {"batch": 4, "seconds": 4.0, "sample_rate": sr, "hop": 10, "k": 11, "bleed": 0.0, "seed": 3}
    x, on, _ = next(batches(songs, **kw, layer=1.0))
    for b in range(4):  # both songs in every excerpt: clicks of both, kick and snare targets
        assert (on[b, 0] == 1).sum() == (on[b, 1] == 1).sum() == 4
        clicks = np.abs(x[b, [250, 750]]) / np.abs(x[b]).max()
        assert clicks.min() > 0.3, clicks
    x, on, _ = next(batches(songs, **kw))  # no layering: one song an excerpt
    for b in range(4):
        kicks, snares = (on[b, 0] == 1).sum(), (on[b, 1] == 1).sum()
        assert {int(kicks), int(snares)} == {0, 4}
        clicks = np.abs(x[b, [250, 750]]) / np.abs(x[b]).max()
        assert clicks[0 if kicks else 1] > 0.9 and clicks[1 if kicks else 0] < 0.1, clicks


def test_chunked_inference_keeps_every_frame_and_silence_has_no_hit(tmp_path: Path) -> None:
    from mtk.transcribe.infer import CrnnTranscriber, load
    from mtk.weights.checkpoint import save_checkpoint

    net = _tiny()
    path = save_checkpoint(
        tmp_path / "m.pt", arch="drum-crnn", config=net.config.to_dict(), state_dict=net.state_dict(),
        meta={"thresholds": {"kick": 0.3}},
    )  # fmt: skip
    tr = load(str(path), chunk_s=2.0, overlap_s=0.5)
    assert isinstance(tr, CrnnTranscriber) and tr.thresholds["kick"] == 0.3 and tr.rate == 22050 / 220
    y = np.random.default_rng(0).standard_normal(SR * 5 + 123).astype(np.float32) * 0.1
    probs, vels = tr.outputs(y)
    assert probs.shape == vels.shape == (11, 1 + len(y) // 220) and (probs > 0).all()
    whole = CrnnTranscriber(net, name="x", chunk_s=8.0, overlap_s=0.5).outputs(y)[0]  # one chunk
    # the centres of the 2-s chunks see 0.5 s of context: close to the one-chunk pass
    assert np.abs(probs - whole).max() < 0.05
    assert tr.from_audio(np.zeros(SR, np.float32), SR).events == []


def test_kit_refit_needs_drummernet(tmp_path: Path, kit_stem) -> None:  # type: ignore[no-untyped-def]
    from mtk.weights.checkpoint import save_checkpoint

    net = _tiny()
    path = save_checkpoint(
        tmp_path / "m.pt", arch="drum-crnn", config=net.config.to_dict(), state_dict=net.state_dict()
    )
    import soundfile as sf

    sf.write(tmp_path / "d.wav", kit_stem[0], 16000)
    proc = invoke_mtk(
        "transcribe", str(tmp_path / "d.wav"), "--model", str(path), "--kit", "GMRockKit", "-o", str(tmp_path / "o.mid")
    )
    assert proc.returncode == 2 and "--kit needs DrummerNet" in proc.stderr.decode()
    assert not (tmp_path / "o.mid").exists()


def test_train_command_writes_a_tuned_model(rock_kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mtk.transcribe.infer import load

    for name, split in (("a", "train"), ("b", "train"), ("v", "valid")):
        _song(tmp_path / "c" / name, rock_kit, {"kick": "Kick", "snare": "Snare"}, split=split)
    run = tmp_path / "run"
    args = ["train", "transcribe-crnn", "--data", str(tmp_path / "c"), "--valid", str(tmp_path / "c"), "-o", str(run)]
    proc = invoke_mtk(*args, "--steps", "2", "--batch-size", "2", "--seconds", "1", "--checkpoint-every", "1")
    assert proc.returncode == 0, proc.stderr.decode()
    lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert lines[-1]["output"] == str(run / "model.pt") and "kick" in lines[-1]["tuned_on"]
    assert sum("valid_f1" in r for r in lines) == 2
    tr = load(str(run / "model.pt"))
    assert set(tr.thresholds) >= {"kick", "snare", "tom_low", "crash", "ride"}
    # resumed: the run is at its last step and trains no more
    again = invoke_mtk(*args, "--steps", "2", "--batch-size", "2", "--seconds", "1", "--checkpoint-every", "1")
    assert again.returncode == 0 and not any("loss" in json.loads(x) for x in again.stdout.decode().splitlines())


def test_kit_refit_picks_drummernet_when_no_model_is_named(tmp_path: Path, kit_stem) -> None:  # type: ignore[no-untyped-def]
    import soundfile as sf

    sf.write(tmp_path / "d.wav", kit_stem[0][:16000], 16000)
    proc = invoke_mtk("transcribe", str(tmp_path / "d.wav"), "--kit", "GMRockKit", "-o", str(tmp_path / "o.json"), "-v")
    assert proc.returncode == 0, proc.stderr.decode()
    record = json.loads(proc.stderr.decode().strip().splitlines()[-1].removeprefix("mtk transcribe: "))
    assert record["model"] == "transcribe-drummernet-v2" and record["kit"] == "GMRockKit"
