# The two commands of the README: `make run` (the whole system) and `make test` (the suite).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install run down test lint bench loadtest

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/smartcourse up

down: install
	$(BIN)/smartcourse down

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -p no:cacheprovider

bench: install
	$(BIN)/python -m benchmarks.progress

loadtest: install
	$(BIN)/python -m benchmarks.run
