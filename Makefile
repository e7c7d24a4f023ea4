.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

help: ## List targets
	@awk 'BEGIN{FS=":.*##"} /^[a-z-]+:.*##/ {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its dev tools

up: $(STAMP) ## Run the whole stack (sandbox unless PIAPI_API_KEY is set)
	bin/up

migrate: $(STAMP) ## Bring DATABASE_URL's schema to the newest revision
	$(BIN)/alembic upgrade head

TEST_WORKERS ?= 2
test: $(STAMP) ## Every test but the long chaos run: unit, integration, worker, e2e (TEST_WORKERS=2)
	$(BIN)/pytest -m "not chaos" -n $(TEST_WORKERS) $(T)

test-unit: $(STAMP) ## Unit tests only (no servers needed)
	$(BIN)/pytest tests/unit $(T)

chaos: $(STAMP) ## The chaos run (minutes): BROKER=redis|amqp CHAOS_JOBS=2000 CHAOS_SECONDS=180; report in artifacts/
	CHAOS_BROKER=$(or $(BROKER),redis) $(BIN)/pytest -m chaos tests/chaos -s -p no:cacheprovider

bench: $(STAMP) ## Benchmark against same-run baselines (<15 min; BENCH_QUICK=1 ~3 min); artifacts/bench/
	$(BIN)/python -m bench

lint: $(STAMP) ## ruff (check and format), mypy --strict, import-linter's layers
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports

fmt: $(STAMP) ## Apply formatting and safe fixes
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean: ## Remove local state (var/: SQLite file, file broker, beat schedule)
	rm -rf var

.PHONY: help install up migrate test test-unit chaos bench lint fmt clean
