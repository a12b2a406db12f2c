"""Render speed as a multiple of real time: `mtk render`'s API against the raw engines.

For each available synth, renders examples/ode_to_joy.mid (36 s, four channels) through
`mtk.corpus.render.render_midi` and through the engine alone (the fluidsynth program, or
midirenderer's one call), so mtk's own overhead shows. Prints one JSON object.
Usage: python benchmarks/render.py [--runs N] [--soundfont SF2] [--midi FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from mtk.corpus.render import fluidsynth_command, fluidsynth_executable, render_midi
from mtk.corpus.soundfonts import default_soundfont

ROOT = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--soundfont", type=Path, default=None)
    parser.add_argument("--midi", type=Path, default=ROOT / "examples" / "ode_to_joy.mid")
    args = parser.parse_args()
    midi = args.midi.read_bytes()
    synths = ["builtin"] + (["fluidsynth"] if fluidsynth_executable() else [])
    results = {}
    for synth in synths:
        sf = args.soundfont or default_soundfont(sf3=synth != "builtin")
        seconds = render_midi(midi, soundfont=sf, synth=synth).duration
        api = timed(partial(render_midi, midi, soundfont=sf, synth=synth), args.runs)
        stems = timed(partial(render_midi, midi, soundfont=sf, synth=synth, stems=True), args.runs)
        raw = timed(partial(_raw, synth, midi, sf), args.runs)
        results[synth] = {
            "soundfont": str(sf),
            "audio_s": round(seconds, 2),
            "mtk_x_realtime": round(seconds / api, 1),
            "mtk_stems_x_realtime": round(seconds / stems, 1),
            "engine_alone_x_realtime": round(seconds / raw, 1),
        }
    print(json.dumps({"benchmark": "render", "midi": str(args.midi), "runs": args.runs, "synths": results}))


def _raw(synth: str, midi: bytes, sf: Path) -> None:
    if synth == "builtin":
        import midirenderer

        midirenderer.render_wave_from(sf.read_bytes(), midi)
        return
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "a.mid").write_bytes(midi)
        subprocess.run(fluidsynth_command(sf, Path(tmp, "a.mid"), Path(tmp, "a.wav")), check=True, capture_output=True)


if __name__ == "__main__":
    main()
