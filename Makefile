# Kobling — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run run-tryton test test-fast lint bench chaos clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/kobling run --host $(HOST) --port $(PORT)

# `make run` with the sandbox shop connected to a real local Tryton (var/tryton, created on
# first use in about 30 s, served while Kobling runs). Its own data dir: var/ keeps the
# e-conomic sandbox of `make run`.
run-tryton: install tryton-env
	$(BIN)/kobling run --data-dir var/run-tryton --tryton var/tryton --host $(HOST) --port $(PORT)

# The whole suite: SQLite always, PostgreSQL started on a free loopback port for the
# store and engine tests, stopped afterwards; a real Tryton (its own virtualenv, one database
# activated per run and copied per test) for the tests marked `tryton`.
test: install lint tryton-env chromium
	scripts/with-postgres.sh $(BIN)/python -m pytest -q -n 2 --maxschedchunk 1

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# Figures for docs/benchmarks.md (bench/run.py): SQLite, and PostgreSQL on a throw-away server.
bench: install
	scripts/with-postgres.sh $(BIN)/python -m bench.run $(BENCH_ARGS)

# The chaos run at size (docs/chaos.md): 2,000 orders on a throw-away PostgreSQL with three
# workers killed at random and the database restarted once. `make test` runs a small one.
CHAOS_ORDERS ?= 2000
CHAOS_WORKERS ?= 3
chaos: install
	KOBLING_REQUIRE_POSTGRES=1 scripts/with-postgres.sh sh -c '$(BIN)/kobling chaos \
	  --orders $(CHAOS_ORDERS) --workers $(CHAOS_WORKERS) --json \
	  --database "$$KOBLING_TEST_DATABASE_URL" --restart-database "$$KOBLING_TEST_PG_RESTART"'

clean:
	rm -rf $(VENV) $(TRYTON_VENV) var test-artifacts .pytest_cache .mypy_cache .ruff_cache

# --- Tryton (GPL): its own virtualenv and server, never imported by Kobling ----------------
# `make tryton-env` builds .venv-tryton from requirements-tryton.txt (again only when that
# file changes); `make tryton-test` runs the tests that start a real Tryton server.
TRYTON_VENV := .venv-tryton
TRYTON_STAMP := $(TRYTON_VENV)/.installed

.PHONY: tryton-env tryton-test

tryton-env: $(TRYTON_STAMP)

$(TRYTON_STAMP): requirements-tryton.txt
	$(PYTHON) -m venv $(TRYTON_VENV)
	$(TRYTON_VENV)/bin/pip install --quiet -r requirements-tryton.txt
	touch $(TRYTON_STAMP)

tryton-test: install tryton-env
	$(BIN)/python -m pytest -q -m tryton tests/connectors/tryton

# --- a real browser for the dashboard tests: Debian's chromium, driven by Playwright ---------
.PHONY: chromium browser-test

chromium:
	scripts/ensure-chromium.sh

browser-test: install chromium
	$(BIN)/python -m pytest -q -m browser tests/browser
