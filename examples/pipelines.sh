#!/usr/bin/env bash
# Runnable mtk pipelines on the shipped example. Run from the repository root after
# `make demo` (or with mtk on PATH): bash examples/pipelines.sh
set -euo pipefail
out=${OUT:-out/pipelines}
mkdir -p "$out"

# 1. MIDI to WAV through stdin and stdout.
cat examples/ode_to_joy.mid | mtk render - > "$out/ode_to_joy.wav"

# 2. The same on the pure-wheel synth at 22.05 kHz, 24-bit.
mtk render examples/ode_to_joy.mid --synth builtin -r 22050 --bits 24 -o "$out/ode_to_joy_builtin.wav" --force

# 3. One WAV per MIDI channel plus the mix; the JSON manifest names every file.
mtk render examples/ode_to_joy.mid --stems "$out/stems" --force > "$out/stems.jsonl"

# 4. A folder in batch: one JSON line per output, resumable with --skip-existing.
mtk render examples/ -o "$out/batch" -j 2 --skip-existing | tee "$out/batch.jsonl"

# 5. Is the cover (3 semitones up, 20 % faster, other instruments) a version of the original?
mtk render examples/ode_to_joy_cover.mid -o "$out/ode_to_joy_cover.wav" --force
mtk detect-cover "$out/ode_to_joy.wav" "$out/ode_to_joy_cover.wav" | tee "$out/detect-cover.jsonl"

# 6. Rewrite the melody's last phrase in the image of its first, four samples ranked, and hear
#    the best one straight away (the MIDI goes down the pipe, the JSON record to stderr).
mtk infill examples/ode_to_joy.mid --gap 13-16 --struct-from 1-4 -n 4 --seed 7 --keep-all "$out/infills" --force \
  | mtk render - > "$out/ode_to_joy_infill.wav"

echo "pipelines: outputs in $out/" >&2
