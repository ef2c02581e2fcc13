# paybench: every target makes its own virtualenv first (only Python 3.11+ and a C compiler needed).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run quick test lint bench clean help

help:
	@echo "make run     capacity search of legacy, engine and sanic (about 10 min), report under runs/"
	@echo "make quick   the same, coarser, in about 2 min"
	@echo "make test    the test suite (uses PAYBENCH_TEST_* servers, local ones, or embedded ones)"
	@echo "make lint    ruff and mypy --strict"
	@echo "make bench   micro-benchmarks of the shared payment core"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/paybench run

quick: $(STAMP)
	$(BIN)/paybench run --quick

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-only --benchmark-autosave -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
