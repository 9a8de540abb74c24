# Two entry points: `make demo` (set up, master the bundled example) and `make test` (set up, run
# the tests). Everything is installed into .venv by the project's own files.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check

.PHONY: demo test setup setup-test system-deps corpus train-master train-stems bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: pyproject.toml setup.py mixai/dsp/_sos.c mixai/dsp/_polyphase.c mixai/io/_flacwalk.c | $(VENV)/bin/python
	$(PIP) install -e .
	touch $@

$(VENV)/.test: pyproject.toml setup.py mixai/dsp/_sos.c mixai/dsp/_polyphase.c mixai/io/_flacwalk.c | $(VENV)/bin/python
	$(PIP) install -e ".[test]"
	touch $@ $(VENV)/.runtime

setup: $(VENV)/.runtime
setup-test: $(VENV)/.test system-deps

system-deps:
	bash scripts/install-system-deps.sh

demo: setup
	$(PY) examples/make_demo.py make examples/example.wav
	$(VENV)/bin/mixai master examples/example.wav -o examples/example.master.wav --preset spotify \
		--save-settings examples/example.settings.json --overwrite
	$(VENV)/bin/mixai analyze examples/example.master.wav > examples/example.master.analysis.json
	$(PY) examples/make_demo.py compare examples/example.wav examples/example.master.wav
	@echo "mastered: examples/example.master.wav (settings: examples/example.settings.json)"

# The recorded-music corpus (not needed by demo or test): install the packages, re-measure the
# catalogue (mixai/training/corpus/recorded.json) and cut the excerpt corpus into data/recorded.
corpus: setup-test
	bash scripts/install-corpus.sh
	$(PY) -m mixai.training.corpus catalogue
	$(PY) -m mixai.training.corpus excerpts --out data/recorded

# The shipped mastering model, from the corpus to models/mixai-master.onnx (CPU, about an hour on 2 cores).
train-master: corpus
	$(PY) -m mixai.training.master.recipe --seed 0 --jobs 2

# The shipped stem and role models (models/mixai-stems.onnx, models/mixai-roles.onnx) from the real
# band stems of fretsonfire-songs-muldjord and renders with three soundfonts, MuseScore General held
# out, and the leave-one-song-out networks benchmarks/eval_mix.py --song-models reads (CPU: about an hour
# on 2 cores to build the data into data/stems, 2 minutes to train; see models/STEMS.md).
train-stems: setup-test
	bash scripts/install-corpus.sh
	$(PY) -m mixai.training.stems.recipe --seed 0 --jobs 2 --song-models data/stems/song-models

test: setup-test
	$(PY) -m pytest -q

bench: setup-test
	$(PY) benchmarks/bench_master.py
	$(PY) benchmarks/bench_bridge.py

clean:
	rm -rf $(VENV) build *.egg-info
