# Two entry points: `make conformance` (the main job) and `make test` (the tests). Both set up .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml live/requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,oracles]"
	$(BIN)/pip install -q -e tests/plugin_example
	$(BIN)/pip install -q --require-hashes --no-deps -r live/requirements.txt
	touch $(STAMP)

.PHONY: setup conformance test lint type unit live
setup: $(STAMP)

conformance: $(STAMP)
	$(BIN)/accord conformance

lint: $(STAMP)
	$(BIN)/ruff check contracts adapters conformance tests
	$(BIN)/ruff format --check contracts adapters conformance tests
	$(BIN)/accord cassettes lint cassettes

type: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	rm -f .coverage .coverage.*
	$(BIN)/python -m coverage run -m pytest -q -p no:cacheprovider
	$(BIN)/python -m coverage combine -q
	$(BIN)/python -m coverage report

test: lint type unit

# Record the llama.cpp targets from a real local server, replay the suite on the recording, fail on drift.
live: $(STAMP)
	$(BIN)/accord live --check
