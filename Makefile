# Everything goes through a local virtual environment that the targets create or refresh.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PACKAGES := mesh_actors transport chains

.PHONY: setup demo demo-runtime test check lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; install the venv module (Debian: apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/python -m examples.demo

demo-runtime: setup
	$(BIN)/python -m examples.runtime_demo

test: setup lint typecheck pytest

lint: setup
	$(BIN)/ruff check $(PACKAGES) tests examples benchmarks
	$(BIN)/ruff format --check --quiet $(PACKAGES) tests examples benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: setup
	$(BIN)/mypy $(PACKAGES) examples benchmarks

pytest: setup
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
