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

# 7. Drums for the recording with its own drums taken out: four takes kept, the best written with
#    the mix and its MIDI; then the first take's groove played on a recorded kit instead
#    (GMRockKit, from make corpus-deps).
mtk accompany "$out/ode_to_joy.wav" --remove-drums -n 4 --keep-all "$out/takes" --seed 3 --force \
  -o "$out/new_drums.wav" --mix "$out/new_mix.wav" --midi "$out/new_drums.mid" | tee "$out/accompany.jsonl"
if [ -d /usr/share/hydrogen/data/drumkits/GMRockKit ]; then
  mtk accompany "$out/ode_to_joy.wav" --remove-drums --seed 3 --kit GMRockKit --force -o "$out/new_drums_kit.wav"
fi

echo "pipelines: outputs in $out/" >&2
