"""auSP's front end and module, the joint, and the Situator API with the debug models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mtk.situate.audio import FLOOR_DB, FRAMES, N_MELS, SAMPLE_RATE, MelCache, excerpt, log_mel
from mtk.situate.infer import joint, load
from mtk.situate.model import AuSP, AuSPConfig
from mtk.weights.checkpoint import dequantize_rows, quantize_rows


def test_excerpt_is_30_to_60_seconds_or_the_last_30() -> None:
    sr = 100
    long = np.arange(90 * sr, dtype=np.float32)
    assert excerpt(long, sr)[0] == 30 * sr and len(excerpt(long, sr)) == 30 * sr
    mid = np.arange(40 * sr, dtype=np.float32)
    assert excerpt(mid, sr)[0] == 10 * sr and len(excerpt(mid, sr)) == 30 * sr
    short = np.arange(10 * sr, dtype=np.float32)
    assert len(excerpt(short, sr)) == 10 * sr


def test_log_mel_shape_padding_and_pitch() -> None:
    t = np.arange(10 * SAMPLE_RATE) / SAMPLE_RATE
    low, high = (np.sin(2 * np.pi * f * t).astype(np.float32) for f in (220.0, 3520.0))
    a, b = log_mel(low), log_mel(high)
    assert a.shape == (N_MELS, FRAMES) and a.dtype == np.float32
    assert np.all(a[:, 220:] == FLOOR_DB)  # 10 s fill 216 frames; the rest is zero-padding
    assert a[:, :200].mean(1).argmax() < b[:, :200].mean(1).argmax()  # the higher tone, a higher band


def test_mel_cache_computes_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mtk.situate.audio as audio

    path = tmp_path / "a.wav"
    sf.write(path, np.sin(np.arange(SAMPLE_RATE) / 5).astype(np.float32), SAMPLE_RATE)
    cache = MelCache(tmp_path / "cache")
    first = cache.get(path)
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 1

    def fail(_: object) -> None:
        raise AssertionError("computed twice")

    monkeypatch.setattr(audio, "read_log_mel", fail)
    np.testing.assert_allclose(MelCache(tmp_path / "cache").get(path), first, atol=0.05)  # float16 on disk


def test_ausp_shapes_and_size() -> None:
    model = AuSP(AuSPConfig(n_classes=8)).eval()
    with torch.inference_mode():
        e = model.audio_embedding(torch.randn(2, N_MELS, FRAMES))
        logits = model.classify(e, torch.randn(2, 128))
    assert e.shape == (2, 256) and logits.shape == (2, 8)
    assert model.audio_fc.in_features == 256 * 6 * 40
    # bn 2 + convs 387,840 + FC 15,728,896 + user 33,024 + head 49,280 + out 1,032
    assert sum(p.numel() for p in model.parameters()) == 16_200_074


def test_int8_rows_round_trip() -> None:
    w = torch.randn(16, 300)
    packed = quantize_rows(w)
    assert packed["q"].dtype == torch.int8
    err = (dequantize_rows(packed) - w).abs()
    assert torch.all(err <= packed["scale"] / 2 + 1e-7)


def test_joint_is_the_normalized_product() -> None:
    a = np.array([[0.5, 0.25, 0.25]])
    d = np.array([[0.2, 0.6, 0.2]])
    np.testing.assert_allclose(joint(a, d), [[0.1, 0.15, 0.05]] / np.float64(0.3))


def test_now_reads_the_planted_context() -> None:
    """The debug duSP is fitted on simulated streams: offline at 8 a.m. on a weekday is a train."""
    situator = load(dusp="situate-dusp-debug", use="dusp")
    record = situator.now({"device": "mobile", "network": "plane", "timestamp": "2019-08-13T08:05:00"}, k=3)
    assert record["situations"][0]["situation"] == "train"
    assert [s["p"] for s in record["situations"]] == sorted((s["p"] for s in record["situations"]), reverse=True)


def test_session_ranks_by_probability() -> None:
    situator = load(ausp="situate-ausp-debug", use="ausp")
    mels = np.random.default_rng(0).normal(-40, 10, (5, N_MELS, FRAMES)).astype(np.float32)
    audio = situator.audio.audio_embeddings(mels)
    np.testing.assert_allclose(situator.audio.audio_embeddings(mels[2:3])[0], audio[2], atol=1e-5)
    ranked, known = situator.session("someone", "gym", list("abcde"), audio, n=3)
    assert not known and [r["rank"] for r in ranked] == [1, 2, 3]
    assert [r["p"] for r in ranked] == sorted((r["p"] for r in ranked), reverse=True)
    full, _ = situator.session("someone", "gym", list("abcde"), audio, n=10)
    assert len(full) == 5 and [r["track"] for r in full[:3]] == [r["track"] for r in ranked]
