# Everything goes through a local virtual environment that the targets create or refresh.
#
# Two stamps, so that each target installs only what it needs: `make demo` the package and
# its runtime dependencies, `make test` (and lint, typecheck, bench) the dev extras as well.
# Either stamp is redone when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --quiet --disable-pip-version-check
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev
PACKAGES := mesh_actors transport chains

.PHONY: setup setup-runtime demo demo-runtime test test-slow check lint typecheck pytest bench clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; install the venv module (Debian: apt-get install python3-venv)"; exit 1; }

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

# the dev extras include the runtime dependencies: a dev install is also a runtime install
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	@touch $@ $(RUNTIME_STAMP)

setup-runtime: $(RUNTIME_STAMP)

setup: $(DEV_STAMP)

demo: setup-runtime
	$(BIN)/python -m examples.demo

demo-runtime: setup-runtime
	$(BIN)/python -m examples.runtime_demo

test: setup lint typecheck pytest

# the long soak and example runs (pytest -m slow), which `make test` leaves out; CI runs both
test-slow: setup
	$(BIN)/pytest -q -m slow

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
