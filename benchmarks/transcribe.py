"""transcribe speed and memory, each against a baseline in the same run. Prints one JSON object.

- ``mtk transcribe``'s API (decode, resample, network, onset gate, peak picking) as a multiple of
  real time on one CPU core, on a 60 s drum stem, the best of 3 runs (baseline: the NMF
  fixed-template transcriber, timed the same way), and the share of that time spent on the
  onset gate's onset strength;
- ``mtk transcribe --kit GMRockKit`` (the detections refitted with a known kit,
  :mod:`mtk.transcribe.refine`) on the same stem, as a multiple of real time (one run: it is
  slow), against the model alone; skipped when hydrogen-data is not installed;
- peak memory (VmHWM) of transcribing a 10-minute file in a fresh process (baseline: the same
  process only decoding it);
- the bidirectional time GRU over 8 chunks of 8,192 steps with the numba scan that inference
  uses (``mtk.transcribe.fastgru``), against torch's own GRU module on the same input;
- one training step on one core (a batch of 8 excerpts of 2.048 s: network, synthesis, loss,
  backward, Adam) with the numba GRUs that CPU training uses, against torch's GRUs;
- the supervised CRNN (``--crnn``; default: the shipped one, when there is one) timed the same
  way in the same run (real time, 10-minute peak memory), with one training step of 16 excerpts
  of 4 s on one core (``crnn``).
Usage: python benchmarks/transcribe.py [--model NAME|PATH] [--crnn NAME|PATH] [--audio FILE]
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mtk.io.audio import read_audio, write_audio

GOALS = {"x_realtime": 50, "ten_minute_rss_mb": 1024}
REPEATS = 3  # speed: the best of this many runs, for both systems
RSS = """
import sys, torch
torch.set_num_threads(1)
from mtk.io.audio import read_audio
if sys.argv[2] == "decode":
    read_audio(sys.argv[1], mono=True)
else:
    from mtk.transcribe.infer import DEFAULT_DRUMMERNET, load, shipped_models
    load(sys.argv[3]).from_file(sys.argv[1])
print(next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


def _drum_stem(seconds: float, sr: int = 44_100) -> np.ndarray:
    """A stereo drum-like stem: decaying noise bursts on an eighth-note grid at 120 BPM."""
    rng = np.random.default_rng(0)
    y = np.zeros(int(seconds * sr), np.float32)
    burst = (rng.standard_normal(sr // 4) * np.exp(-np.arange(sr // 4) / (sr * 0.03))).astype(np.float32)
    for start in range(0, len(y) - len(burst), sr // 4):
        y[start : start + len(burst)] += burst * rng.uniform(0.3, 1.0)
    return np.stack([y, y]) / np.abs(y).max()


def _rss(path: str, mode: str, model: str) -> int:
    out = subprocess.run([sys.executable, "-c", RSS, path, mode, model], capture_output=True, check=True, text=True)
    return int(out.stdout.strip())


def _gru_seconds(module: object) -> tuple[float, float]:
    """Best of 3 for the numba GRU scan and for torch's GRU on a (8, 8192, inputs) batch."""
    import torch

    from mtk.transcribe.fastgru import gru

    x = torch.randn(8, 8192, module.input_size)  # type: ignore[attr-defined]
    times = []
    for run in (lambda: gru(module, x), lambda: module(x)):  # type: ignore[operator]
        with torch.inference_mode():
            run()  # warm-up (and numba's compile or cache load)
            times.append(_best_of(run))
    return times[0], times[1]


def _train_step_seconds(transcriber: Any) -> tuple[float, float]:
    """Best of 3 training steps of the model's network with ``fastgru.gru_train`` and with
    torch's GRUs (random excerpts and one-shots: the cost does not depend on them)."""
    import torch

    from mtk.transcribe.fastgru import gru_train
    from mtk.transcribe.model import DrumSynthesizer, MultiBandLogSpectrumLoss

    cfg = transcriber.net.config
    net = copy.deepcopy(transcriber.net).train()
    torch.manual_seed(0)
    synth = DrumSynthesizer(torch.randn(1, cfg.n_components, 2 * cfg.sample_rate) * 0.1, cfg.hop)
    loss_fn = MultiBandLogSpectrumLoss(cfg.sample_rate)
    optim = torch.optim.Adam([*net.parameters(), *synth.parameters()], lr=1e-6)
    x, bank = torch.randn(8, 2 * cfg.multiple * 16) * 0.1, torch.zeros(8, dtype=torch.long)

    def step(rnn: Any) -> None:
        loss = loss_fn(synth(net(x, 1.0, rnn), bank), x)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()

    times = []
    for rnn in (gru_train, None):
        step(rnn)  # warm-up
        times.append(_best_of(lambda rnn=rnn: step(rnn)))
    return times[0], times[1]


def _kit_seconds(transcriber: Any, path: str, kit: str = "GMRockKit") -> float | None:
    """One run of ``transcriber`` with ``kit``'s one-shots refitting its hits (None: no such kit)."""
    from mtk.errors import InputError
    from mtk.transcribe.refine import kit_shots

    try:
        shots = kit_shots(kit, transcriber.cfg.sample_rate)
    except InputError:
        return None
    refitting = copy.copy(transcriber)
    refitting.kit = shots
    tic = time.perf_counter()
    refitting.from_file(path)
    return time.perf_counter() - tic


def _crnn(name: str, path: str, long: str, duration: float) -> dict[str, Any]:
    """The CRNN's real-time factor, 10-minute peak memory and one training step on one core."""
    import torch
    import torch.nn.functional as F

    from mtk.transcribe.infer import load

    crnn = load(name)
    crnn.from_file(path)  # warm-up
    seconds = _best_of(lambda: crnn.from_file(path))
    net = copy.deepcopy(crnn.net).train()
    optim = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(16, 4 * crnn.cfg.sample_rate) * 0.1

    def step() -> None:
        logits, vel = net(x)
        loss = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits)) + vel.mean()
        optim.zero_grad()
        loss.backward()
        optim.step()

    step()
    return {
        "model": crnn.name,
        "x_realtime_one_core": round(duration / seconds, 1),
        "ten_minute_rss_mb": _rss(long, "transcribe", name),
        "train_step_seconds": round(_best_of(step), 3),
    }


def _best_of(fn: Any, runs: int = REPEATS) -> float:
    """The fastest of ``runs`` timings of ``fn()`` (the machine's speed varies from run to run)."""
    best = float("inf")
    for _ in range(runs):
        tic = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - tic)
    return best


def main() -> None:
    import torch

    from mtk.transcribe.components import drum_onsets
    from mtk.transcribe.eval import baseline_for
    from mtk.transcribe.infer import DEFAULT_DRUMMERNET, load, shipped_models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="DrummerNet model to time (default: the shipped one)")
    parser.add_argument("--crnn", default=None, help="CRNN model to time (default: the shipped one, if any)")
    parser.add_argument("--audio", default=None, help="a drum stem to time (default: a synthetic 60 s one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    transcriber = load(args.model or DEFAULT_DRUMMERNET)
    crnn_name = args.crnn or next((m for m in shipped_models() if load(m).kind == "crnn"), None)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.audio or str(Path(tmp) / "stem.wav")
        if not args.audio:
            write_audio(path, _drum_stem(60.0), 44_100)
        audio, rate = read_audio(path, mono=True)
        duration = len(audio) / rate
        result = transcriber.from_file(path)  # warm-up
        model_s = _best_of(lambda: transcriber.from_file(path))
        baseline = baseline_for(transcriber)
        y, _ = read_audio(path, sr=transcriber.cfg.sample_rate, mono=True)
        base_s = _best_of(lambda: baseline.activations(y))
        x = y / max(float(np.abs(y).max()), 1e-12)
        onset_s = _best_of(lambda: drum_onsets(x, transcriber.cfg.sample_rate))
        kit_s = _kit_seconds(transcriber, path)

        long = str(Path(tmp) / "ten.wav")
        write_audio(long, _drum_stem(600.0), 44_100)
        model_name = args.model or transcriber.name
        rss, rss_decode = _rss(long, "transcribe", model_name), _rss(long, "decode", model_name)
        crnn = _crnn(crnn_name, path, long, duration) if crnn_name else None
    gru_s, torch_gru_s = _gru_seconds(transcriber.net.time_rnn)
    step_s, torch_step_s = _train_step_seconds(transcriber)
    print(
        json.dumps(
            {
                "model": transcriber.name,
                "audio_seconds": round(duration, 1),
                "events": len(result.events),
                "x_realtime_one_core": round(duration / model_s, 1),
                "baseline_nmf_x_realtime_one_core": round(duration / base_s, 1),
                "onset_gate_share": round(onset_s / model_s, 3),
                "known_kit_x_realtime_one_core": None if kit_s is None else round(duration / kit_s, 2),
                "ten_minute_rss_mb": rss,
                "baseline_decode_only_rss_mb": rss_decode,
                "time_gru_seconds": round(gru_s, 3),
                "baseline_torch_time_gru_seconds": round(torch_gru_s, 3),
                "train_step_seconds": round(step_s, 3),
                "baseline_torch_gru_train_step_seconds": round(torch_step_s, 3),
                "crnn": crnn,
                "goals": GOALS,
            }
        )
    )


if __name__ == "__main__":
    main()
