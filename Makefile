# mtk: the two set-up commands for a fresh machine are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
MTK := $(VENV)/bin/mtk
DEPS_STAMP := $(VENV)/.deps-$(shell sha256sum pyproject.toml | cut -c1-16)
OUT ?= out

.PHONY: install demo test test-all test-cuda lint docs bench fluidsynth soundfonts corpus-deps test-deps distractor-deps real-stems negatives clean

# Dependencies are installed once per pyproject.toml (the stamp carries its hash);
# mtk itself is re-linked every time so a venv cached outside the clone stays valid.
$(DEPS_STAMP):
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.deps-* && touch $@

install: $(DEPS_STAMP)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .

demo: install
	@mkdir -p $(OUT)
	$(MTK) render examples/ode_to_joy.mid -o $(OUT)/ode_to_joy.wav --force
	$(MTK) render examples/ode_to_joy.mid --stems $(OUT)/ode_to_joy_stems --force > $(OUT)/ode_to_joy_stems.jsonl
	$(MTK) render examples/ode_to_joy_cover.mid -o $(OUT)/ode_to_joy_cover.wav --force
	$(MTK) detect-cover $(OUT)/ode_to_joy.wav $(OUT)/ode_to_joy_cover.wav | tee $(OUT)/detect-cover.jsonl
	$(MTK) transcribe $(OUT)/ode_to_joy_stems/ch10-drums.wav -o $(OUT)/ode_to_joy_drums.mid --force
	$(MTK) separate $(OUT)/ode_to_joy.wav -o $(OUT)/ode_to_joy_separated --force | tee $(OUT)/separate.jsonl
	$(MTK) separate $(OUT)/ode_to_joy.wav --stem drums | $(MTK) transcribe - -o $(OUT)/ode_to_joy_separated_drums.mid --force
	$(MTK) accompany $(OUT)/ode_to_joy.wav --remove-drums -n 2 --seed 1 -o $(OUT)/ode_to_joy_new_drums.wav --mix $(OUT)/ode_to_joy_new_mix.wav --midi $(OUT)/ode_to_joy_new_drums.mid --force | tee $(OUT)/accompany.jsonl
	$(MTK) separate $(OUT)/ode_to_joy.wav --stem other | $(MTK) accompany - --seed 2 | $(MTK) transcribe - -o $(OUT)/ode_to_joy_other_drums.mid --force
	$(MTK) situate now --user demo --age 30 --country FR --gender female --device mobile --network plane --time 2019-08-13T08:05 | tee $(OUT)/situate-now.jsonl
	$(MTK) situate session --user s7-u00001 --situation relax --tracks $(OUT)/ode_to_joy.wav --tracks $(OUT)/ode_to_joy_cover.wav -n 2 -o $(OUT)/situate-session.jsonl --force
	$(MTK) infill examples/ode_to_joy.mid --gap 13-16 --struct-from 1-4 -n 4 --seed 1 -o $(OUT)/ode_to_joy_infill.mid --force | tee $(OUT)/infill.jsonl
	$(MTK) embed index $(OUT)/ode_to_joy.wav $(OUT)/ode_to_joy_cover.wav $(OUT)/ode_to_joy_stems/ -o $(OUT)/embed.idx --force > $(OUT)/embed-index.jsonl
	$(MTK) render $(OUT)/ode_to_joy_infill.mid | $(MTK) embed similar - --index $(OUT)/embed.idx -k 3 | tee $(OUT)/embed-similar.jsonl
	$(MTK) cover profile $(OUT)/ode_to_joy.wav $(OUT)/ode_to_joy_cover.wav $(OUT)/ode_to_joy_new_mix.wav -o $(OUT)/taste.json --force | tee $(OUT)/cover-profile.jsonl
	$(MTK) corpus oneshots $(OUT)/drum_samples --no-recorded --force -q --soundfonts "$$($(PY) -c 'from mtk.corpus.soundfonts import bundled_soundfont; print(bundled_soundfont())')" > $(OUT)/drum_samples.jsonl
	$(MTK) rank-samples index $(OUT)/drum_samples -o $(OUT)/drum_samples.idx --force > $(OUT)/rank-samples-index.jsonl
	$(MTK) rank-samples $(OUT)/ode_to_joy.wav $(OUT)/drum_samples.idx --exclude-drums --class snare -k 5 | tee $(OUT)/rank-samples.jsonl
	$(MTK) separate $(OUT)/ode_to_joy.wav --stem bass | $(MTK) rank-samples - $(OUT)/drum_samples.idx --class kick -k 3 | tee $(OUT)/rank-samples-bass.jsonl
	@echo "demo: rendered examples/ode_to_joy.mid -> $(OUT)/ode_to_joy.wav (stems in $(OUT)/ode_to_joy_stems/);"
	@echo "      mtk detect-cover compared it with its cover -> $(OUT)/detect-cover.jsonl;"
	@echo "      mtk transcribe turned its drum stem back into MIDI -> $(OUT)/ode_to_joy_drums.mid;"
	@echo "      mtk separate split the mix into drums, bass, lead and other -> $(OUT)/ode_to_joy_separated/,"
	@echo "      and its separated drums, piped, were transcribed too -> $(OUT)/ode_to_joy_separated_drums.mid;"
	@echo "      mtk accompany took its drums out and played new ones along (the better of 2 takes) -> $(OUT)/ode_to_joy_new_drums.wav,"
	@echo "      under the rest -> $(OUT)/ode_to_joy_new_mix.wav, as MIDI -> $(OUT)/ode_to_joy_new_drums.mid; and drums for its"
	@echo "      separated chords alone, piped from mtk separate into mtk transcribe -> $(OUT)/ode_to_joy_other_drums.mid"
	@echo "      mtk situate guessed a situation from a device context and ranked both recordings for one"
	@echo "      (simulated) user relaxing -> $(OUT)/situate-now.jsonl, $(OUT)/situate-session.jsonl"
	@echo "      mtk infill rewrote its last phrase (bars 13-16) in the image of bars 1-4 -> $(OUT)/ode_to_joy_infill.mid"
	@echo "      mtk embed indexed the recordings and stems, and found the infilled version's nearest neighbours"
	@echo "      (rendered on the fly, piped in) -> $(OUT)/embed.idx, $(OUT)/embed-similar.jsonl"
	@echo "      mtk cover profile classified the recording, its cover and its new-drums mix into genres and"
	@echo "      aggregated them into a listener's taste profile -> $(OUT)/cover-profile.jsonl, $(OUT)/taste.json"
	@echo "      mtk rank-samples indexed the drum kits of the bundled soundfont as one-shots, and ranked their snares"
	@echo "      for the recording with its drums separated out, and kicks for its separated bass line (piped)"
	@echo "      -> $(OUT)/drum_samples.idx, $(OUT)/rank-samples.jsonl, $(OUT)/rank-samples-bass.jsonl"

test: install
	$(PY) -m pytest -q

test-all: install
	$(PY) -m pytest -q -m 'not cuda'

# On a machine with a GPU: each model's inference and one training step on cuda agree with the CPU.
test-cuda: install
	$(PY) -m pytest -q -m cuda

lint: install
	$(VENV)/bin/ruff check mtk tests benchmarks examples

# Regenerate man/ and completions/ from the CLI (a test fails when they are stale).
docs: install
	$(PY) -m mtk.cli.docgen

bench: install
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/render.py
	$(PY) benchmarks/read_audio.py
	$(PY) benchmarks/embed.py --backbones b0,lite0
	$(PY) benchmarks/embed_search.py
	$(PY) benchmarks/separate.py

# Optional system packages: FluidSynth (better, faster rendering) and larger soundfonts.
fluidsynth:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fluidsynth fluid-soundfont-gm >/dev/null; \
	else echo "run as root: apt-get install fluidsynth fluid-soundfont-gm"; fi

soundfonts:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fluid-soundfont-gm musescore-general-soundfont-lossless timgm6mb-soundfont >/dev/null; \
	else echo "run as root: apt-get install fluid-soundfont-gm musescore-general-soundfont-lossless timgm6mb-soundfont"; fi

# What `mtk corpus` needs: FluidSynth (and TiMidity++, a second engine), MMA grooves, recorded drum kits, soundfonts.
CORPUS_DEPS := fluidsynth mma hydrogen-data hydrogen-drumkits sonic-pi-samples timgm6mb-soundfont fluid-soundfont-gm timidity
corpus-deps:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CORPUS_DEPS) >/dev/null; \
	else echo "run as root: apt-get install $(CORPUS_DEPS)"; fi

# Real recorded music (game soundtracks) used as distractors by `mtk eval detect-cover`.
DISTRACTOR_DEPS := wesnoth-1.16-music warzone2100-music singularity-music
distractor-deps:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DISTRACTOR_DEPS) >/dev/null; \
	else echo "run as root: apt-get install $(DISTRACTOR_DEPS)"; fi

# Real recorded stems (a guitar and the band without it) for `mtk eval separate`.
REAL_STEM_DEPS := fretsonfire-songs-sectoid fretsonfire-songs-muldjord
real-stems:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(REAL_STEM_DEPS) >/dev/null; \
	else echo "run as root: apt-get install $(REAL_STEM_DEPS)"; fi

# Other real game music, never used as distractors: the unrelated recordings that
# `mtk train detect-cover --negatives` teaches the stage-1 projection to push away.
NEGATIVE_DEPS := ufoai-music nexuiz-music
NEGATIVES ?= data/negatives
negatives:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(NEGATIVE_DEPS) >/dev/null; \
	else echo "run as root: apt-get install $(NEGATIVE_DEPS)"; fi
	mkdir -p $(NEGATIVES)
	python3 -m zipfile -e /usr/share/games/ufoai/base/0music.pk3 $(NEGATIVES)/ufoai
	python3 -m zipfile -e /usr/share/games/nexuiz/data/music.pk3 $(NEGATIVES)/nexuiz

# The system packages the test suite uses when present (tests that need them skip otherwise).
TEST_DEPS := fluidsynth mma hydrogen-data timgm6mb-soundfont
test-deps:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_DEPS) >/dev/null; \
	else echo "run as root: apt-get install $(TEST_DEPS)"; fi

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
