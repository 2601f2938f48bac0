# gh_assets: `make demo` runs the offline demo, `make test` the test suite. Both create .venv when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test test-fast dev bench lock clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gh-assets demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

dev: $(STAMP)
	$(BIN)/gh-assets dev

lock: $(STAMP)
	{ echo "# Pinned versions of every package the project installs (make installs with -c requirements.lock)."; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e'; } > requirements.lock

clean:
	rm -rf data .dagster_home .pytest_cache

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[bench]'
	$(BIN)/python -m benchmarks.run
