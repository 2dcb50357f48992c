# The two commands of the README: `make run` (the whole system) and `make test` (the suite).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install run down test lint bench loadtest jobs-bench lock

# constraints.txt pins every package to the versions the tests passed with, so a fresh install
# months from now gets the same ones; `make lock` rewrites it from the venv after an upgrade.
$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
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

# The schemathesis group (marker fuzz) gets a session, and so a system, of its own: it spends
# the loopback address's rate limits and failed-login budget that the other tests share.
test: lint
	$(BIN)/pytest -p no:cacheprovider -m "not fuzz"
	$(BIN)/pytest -p no:cacheprovider -m fuzz tests/e2e/test_edge_fuzz.py

bench: install
	$(BIN)/python -m benchmarks.progress

loadtest: install
	$(BIN)/python -m benchmarks.run

lock: install
	{ echo "# The versions \`make install\` was tested with (\`make lock\` writes this file from the venv)."; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^smartcourse'; } > constraints.txt

# Ray Data jobs against one SQL query at 1.5k, 10k, 1M and 10M lesson completions (long).
jobs-bench: install
	nice -n 10 $(BIN)/python -m benchmarks.jobs
