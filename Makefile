# The two commands of the README: `make demo` and `make test`. Each creates .venv if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
DEMO_DIR ?= demo
CUSTOMERS ?= 20000

.PHONY: demo test lint fmt bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(RUNTIME)

demo: $(RUNTIME)
	$(BIN)/tagwise demo $(DEMO_DIR) --customers $(CUSTOMERS) --force

lint: $(DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: $(DEV) lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

fmt: $(DEV)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: $(DEV)
	$(BIN)/python bench/bench_ingest.py

# docs/cli.md and docs/settings.md are generated from the code; tests/test_docs.py fails when
# the checked-in files differ from what this writes.
docs: $(RUNTIME)
	$(BIN)/python -m tagwise.cli.reference docs

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
