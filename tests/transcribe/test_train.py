"""Training DrummerNet: per-song synthesizer banks, checkpoints that resume, fine-tuning from a model,
checkpoint selection; and `mtk eval transcribe`'s scoring of both systems on corpus songs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mtk.errors import InputError

SR = 16000


def _song(folder: Path, kit, instruments: dict[str, str], split: str = "train") -> None:  # type: ignore[no-untyped-def]
    """A two-second corpus song: kick and snare hits of the named instruments, as `mtk corpus songs` writes it."""
    from mtk.corpus.kits import load_one_shot

    named = {i.name: i for i in kit.instruments}
    y = np.zeros(2 * SR, np.float32)
    hits = []
    for k, t in enumerate(np.arange(0.1, 1.9, 0.25)):
        cls = "kick" if k % 2 == 0 else "snare"
        layer = named[instruments[cls]].layer_for(0.8)
        shot = load_one_shot(layer.path, SR).mean(axis=0)
        i = int(t * SR)
        n = min(len(shot), len(y) - i)
        y[i : i + n] += 0.5 * shot[:n]
        hits.append({"time": float(t), "class": cls, "velocity": 100, "note": 36, "sample": str(layer.path)})
    folder.mkdir(parents=True)
    sf.write(folder / "drums.wav", y, SR)
    meta = {"split": split, "drums": {"mode": "sampler", "kit": kit.name, "licence": "GPL"}, "drum_hits": hits}
    (folder / "meta.json").write_text(json.dumps(meta))


def test_plain_hits_chosen_for_songs_and_banks(rock_kit) -> None:  # type: ignore[no-untyped-def]
    from mtk.corpus.kits import Kit, KitInstrument, classify

    assert classify("Tambourine Pedal (Pearl PTM-10GH)") == "other"
    plain = rock_kit.standard_by_class()
    assert [i.name for i in rock_kit.by_class()["hihat_closed"]] == ["Hat Closed", "Hat Pedal"]
    assert [i.name for i in plain["hihat_closed"]] == ["Hat Closed"]
    only_pedal = Kit("k", "src", "CC0", [KitInstrument("Hat Pedal", "hihat_closed", [])])
    assert [i.name for i in only_pedal.standard_by_class()["hihat_closed"]] == ["Hat Pedal"]


def test_songs_share_banks_by_played_instruments(rock_kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mtk.transcribe.components import COMPONENTS, kit_bank
    from mtk.transcribe.train import load_stems

    _song(tmp_path / "c" / "a", rock_kit, {"kick": "Kick", "snare": "Snare"})
    _song(tmp_path / "c" / "b", rock_kit, {"kick": "Kick", "snare": "Snare Rimshot"})
    _song(tmp_path / "c" / "c", rock_kit, {"kick": "Kick", "snare": "Snare Rimshot"})
    _song(tmp_path / "c" / "v", rock_kit, {"kick": "Kick", "snare": "Snare"}, split="valid")
    data = load_stems([tmp_path / "c"], split="train", sample_rate=SR)
    assert data.songs == ["a", "b", "c"]
    assert data.banks == [
        ("GMRockKit", {"kick": "Kick", "snare": "Snare"}),
        ("GMRockKit", {"kick": "Kick", "snare": "Snare Rimshot"}),
    ]
    assert data.bank_of == [0, 1, 1]
    bank = kit_bank([rock_kit] * 2, SR, played=[p for _, p in data.banks])
    s, k = COMPONENTS.index("snare"), COMPONENTS.index("kick")
    assert np.allclose(bank[0, k], bank[1, k])
    assert not np.allclose(bank[0, s], bank[1, s])  # the rimshot, as song b played it
    assert np.allclose(bank[0, s], kit_bank([rock_kit], SR)[0, s])  # default: the first plain snare


def test_random_hit_excerpts_play_each_drum_on_its_own() -> None:
    from mtk.transcribe.components import COMPONENTS
    from mtk.transcribe.train import random_hit_batch

    # Bank 0 can play only a kick, bank 1 a kick and a snare; the one-shots are impulses of
    # opposite signs, so an excerpt shows which drum hit where.
    bank = np.zeros((2, len(COMPONENTS), 4000), np.float32)
    bank[:, COMPONENTS.index("kick"), 0] = 1.0
    bank[1, COMPONENTS.index("snare"), 0] = -1.0
    x, k = random_hit_batch(bank, np.random.default_rng(0), batch=200, length=16000, sample_rate=SR)
    assert x.shape == (200, 16000) and x.dtype == np.float32 and set(k) == {0, 1}
    peaks = np.abs(x).max(axis=1)
    assert peaks.min() >= 0.3 and peaks.max() <= 1.0
    eps = 1e-4  # the FFT convolution's rounding
    assert (x[k == 0] > -eps).all()  # a bank's silent drums stay silent
    kick, snare = (x[k == 1] > eps).any(axis=1), (x[k == 1] < -eps).any(axis=1)
    # Every combination occurs: the drums are not tied to each other by a pattern.
    assert (kick & snare).any() and (kick & ~snare).any() and (~kick & snare).any()
    hits = np.count_nonzero(np.abs(x) > eps, axis=1)  # up to 4 hits/s over the excerpt and the ring before it
    assert 1 <= hits.min() and hits.max() <= 40 and len(set(hits)) > 5
    again, k2 = random_hit_batch(bank, np.random.default_rng(0), batch=200, length=16000, sample_rate=SR)
    assert np.array_equal(x, again) and np.array_equal(k, k2)


def test_resume_and_fine_tune(rock_kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch

    from mtk.transcribe.train import TrainOptions, train
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    _song(tmp_path / "c" / "a", rock_kit, {"kick": "Kick", "snare": "Snare"})
    opts = dict(batch=2, seconds=1.024, checkpoint_every=2, log_every=1, anneal_steps=10, random_hits=0.5)
    logs: list[dict] = []
    train([tmp_path / "c"], tmp_path / "run", TrainOptions(steps=2, **opts), on_log=logs.append)
    train([tmp_path / "c"], tmp_path / "run", TrainOptions(steps=3, **opts | {"random_hits": 1.0}), on_log=logs.append)
    assert [r["step"] for r in logs] == [1, 2, 3]
    assert [r["temperature"] for r in logs] == [5.0, 4.6, 4.2]  # annealing goes on where it stopped
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["step"] == 3 and "init" not in last["meta"] and last["meta"]["loss_windows"] == "frame"
    with pytest.raises(InputError, match="trained with --loss-windows frame, resumed with seed"):
        train([tmp_path / "c"], tmp_path / "run", TrainOptions(steps=4, loss_windows="seed", **opts))
    with pytest.raises(InputError, match="unknown loss windows 'short'"):
        train([tmp_path / "c"], tmp_path / "run", TrainOptions(steps=4, loss_windows="short", **opts))
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 3

    # A model file as `finalize` writes it, then a new run fine-tuned from it.
    model = tmp_path / "model.pt"
    meta = {**last["meta"], "kits": ["GMRockKit", "OtherKit"], "log_gain": (last["synth"]["log_gain"] + 0.5).tolist()}
    save_checkpoint(model, arch="drummernet", config=last["config"], state_dict=last["state_dict"], meta=meta)
    logs.clear()
    tuned = TrainOptions(steps=1, init=str(model), lr=0.0, loss_windows="seed", **opts)
    train([tmp_path / "c"], tmp_path / "tuned", tuned, on_log=logs.append)
    assert [r["temperature"] for r in logs] == [1.0]
    out = load_checkpoint(tmp_path / "tuned" / "last.pt")
    assert out["step"] == 1 and out["meta"]["init"] == str(model) and out["meta"]["loss_windows"] == "seed"
    for name, value in last["state_dict"].items():  # lr 0: the weights are the model's
        assert torch.equal(out["state_dict"][name], value), name
    assert torch.allclose(out["synth"]["log_gain"], last["synth"]["log_gain"] + 0.5)

    # A run's checkpoint serves as well (its gains are in the synthesizer's state).
    logs.clear()
    train(
        [tmp_path / "c"],
        tmp_path / "from-run",
        TrainOptions(steps=1, init=str(tmp_path / "tuned" / "last.pt"), lr=0.0, **opts),
    )
    again = load_checkpoint(tmp_path / "from-run" / "last.pt")
    assert torch.allclose(again["synth"]["log_gain"], out["synth"]["log_gain"])


def test_cpu_device_object_trains_with_the_compiled_gru(rock_kit, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import torch

    from mtk.transcribe import fastgru
    from mtk.transcribe.train import TrainOptions, train

    calls = []
    compiled = fastgru.gru_train
    monkeypatch.setattr(fastgru, "gru_train", lambda *a, **k: calls.append(1) or compiled(*a, **k))
    _song(tmp_path / "c" / "a", rock_kit, {"kick": "Kick", "snare": "Snare"})
    opts = TrainOptions(steps=1, batch=1, seconds=1.024, device=torch.device("cpu"))  # as the CLI passes it
    train([tmp_path / "c"], tmp_path / "run", opts)
    assert calls


def test_zero_steps_from_a_model_retunes_its_thresholds(rock_kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch

    from mtk.transcribe.components import COMPONENTS
    from mtk.transcribe.model import DrummerNet, DrummerNetConfig
    from mtk.transcribe.train import TrainOptions, finalize, train
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    _song(tmp_path / "c" / "a", rock_kit, {"kick": "Kick", "snare": "Snare"})
    _song(tmp_path / "v" / "a", rock_kit, {"kick": "Kick", "snare": "Snare"}, split="valid")
    torch.manual_seed(0)
    net = DrummerNet(DrummerNetConfig(channels=4))
    model = tmp_path / "model.pt"
    meta = {"kits": ["OtherKit"], "log_gain": [0.25] * len(COMPONENTS), "thresholds": {"kick": 9.0}}
    save_checkpoint(model, arch="drummernet", config=net.config.to_dict(), state_dict=net.state_dict(), meta=meta)
    train([tmp_path / "c"], tmp_path / "run", TrainOptions(steps=0, init=str(model)))
    path, scores = finalize(tmp_path / "run", [tmp_path / "v"])
    out = load_checkpoint(path)
    for name, value in net.state_dict().items():  # the model's own weights and gains
        assert torch.equal(out["state_dict"][name], value), name
    assert out["meta"]["log_gain"] == [0.25] * len(COMPONENTS)
    assert out["meta"]["kits"] == ["GMRockKit", "OtherKit"]  # what the data and the model had heard
    assert set(out["meta"]["thresholds"]) == set(out["meta"]["onset_thresholds"]) == set(COMPONENTS)
    assert out["meta"]["thresholds"]["kick"] != 9.0 and scores["songs"] == 1  # tuned again, on the valid song
    assert scores == out["meta"]["tuned_on"] | {"corpora": [str(tmp_path / "v")]}


def test_kept_checkpoints_and_selection_on_valid(rock_kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch

    from mtk.transcribe.train import TrainOptions, finalize, train
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    _song(tmp_path / "c" / "a", rock_kit, {"kick": "Kick", "snare": "Snare"})
    _song(tmp_path / "v" / "a", rock_kit, {"kick": "Kick", "snare": "Snare"}, split="valid")
    opts = TrainOptions(steps=2, batch=1, seconds=1.024, lr=0.0, keep_every=1, init="transcribe-drummernet-v2")
    train([tmp_path / "c"], tmp_path / "run", opts)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.glob("step-*.pt")) == ["step-000001.pt", "step-000002.pt"]
    # Spoil step 1 (a network that finds nothing): selection must take step 2, the shipped weights.
    bad = load_checkpoint(run / "step-000001.pt")
    zeroed = {k: torch.zeros_like(v) for k, v in bad["state_dict"].items()}
    save_checkpoint(run / "step-000001.pt", **{**{k: v for k, v in bad.items() if k != "format"}, "state_dict": zeroed})
    _, scores = finalize(run, [tmp_path / "v"], select=True)
    picked = scores["selected"]
    assert picked["step"] == 2 and set(picked["valid_mean_f1_by_step"]) == {"1", "2"}
    assert picked["valid_mean_f1_by_step"]["1"] < picked["valid_mean_f1_by_step"]["2"] == scores["mean_f1"]
    model = load_checkpoint(run / "model.pt")
    good = load_checkpoint(run / "step-000002.pt")
    assert all(torch.equal(model["state_dict"][k], v) for k, v in good["state_dict"].items())


def test_evaluate_scores_both_systems_gated_and_not(rock_kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mtk.transcribe.baseline import NmfTranscriber
    from mtk.transcribe.components import kit_bank
    from mtk.transcribe.eval import evaluate, load_songs
    from mtk.transcribe.infer import load

    _song(tmp_path / "c" / "t", rock_kit, {"kick": "Kick", "snare": "Snare"}, split="test")
    _song(tmp_path / "c" / "v", rock_kit, {"kick": "Kick", "snare": "Snare"}, split="valid")
    test = load_songs(tmp_path / "c", split="test", sample_rate=SR)
    valid = load_songs(tmp_path / "c", split="valid", sample_rate=SR)
    baseline = NmfTranscriber(kit_bank([rock_kit], SR), SR)
    out = evaluate(load("transcribe-debug"), baseline, test, tune=valid)
    assert out["songs"] == 1 and out["onsets"] == {"kick": 4, "snare": 4, "hihat": 0, "toms": 0, "crash": 0, "ride": 0}
    assert out["drummernet"]["model"] == "transcribe-debug" and out["parts"] == {"groove": 1}
    assert {"toms", "crash", "ride"} <= set(out["drummernet"]) and "velocity_spearman" in out["drummernet"]
    for system in ("drummernet", "baseline"):
        assert set(out[system]["onset_thresholds"]) == {"kick", "snare", "hihat"}
        assert "mean_f1" in out[system]["without_onset_gate"]
    # The NMF templates are this kit's own one-shots: its kicks and snares come back exactly.
    for scores in (out["baseline"], out["baseline"]["without_onset_gate"]):
        assert scores["kick"]["f1"] == scores["snare"]["f1"] == 1.0


def test_songs_of_exported_kits_are_scored_and_unknown_kits_skipped(rock_kit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mtk.transcribe.eval import known_kit, load_songs
    from mtk.transcribe.infer import load

    _song(tmp_path / "c" / "a", rock_kit, {"kick": "Kick", "snare": "Snare"}, split="valid")
    for name, keep_samples in (("b", True), ("c", False)):  # as `--kits-dir` writes it; a kit of nowhere
        _song(tmp_path / "c" / name, rock_kit, {"kick": "Kick", "snare": "Snare"}, split="valid")
        meta = json.loads((tmp_path / "c" / name / "meta.json").read_text())
        meta["drums"]["kit"] = "SomeFont Standard (variant 1)"
        if not keep_samples:
            meta["drum_hits"] = [{k: v for k, v in h.items() if k != "sample"} for h in meta["drum_hits"]]
        (tmp_path / "c" / name / "meta.json").write_text(json.dumps(meta))
    songs = load_songs(tmp_path / "c", split="valid", sample_rate=SR)
    assert [(s.name, s.kit, s.recorded) for s in songs] == [
        ("a", rock_kit.name, True),
        ("b", "SomeFont Standard (variant 1)", False),
    ]
    assert [len(songs[1].onsets[c]) for c in ("kick", "snare", "hihat")] == [4, 4, 0]
    with pytest.raises(InputError, match="no songs drummed by an installed recorded kit"):
        known_kit(load("transcribe-debug"), songs[1:])
