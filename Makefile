# Quick start:  make run   (set up .venv and run the default experiment)
#               make test  (set up .venv and run lint + the test suite)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test docs-check lint format bench clean

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): the first time installs about 100 packages (a minute or two)."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m sim $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# Every shell and Python block of README.md and docs/ as written (docs/docs-check.md).
docs-check: $(STAMP)
	$(BIN)/python -m pytest -m docs -n 2 --durations=0 tests/docs $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py --agents 1000000 --rounds 20

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
