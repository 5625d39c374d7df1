# FluxRouter. `make run` serves on 127.0.0.1:8080 (SQLite, no other service needed);
# `make test` runs the lint gates and the whole suite against real PostgreSQL and Redis.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint bench worker migrate clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

run: install
	$(BIN)/fluxrouter serve

migrate: install
	$(BIN)/fluxrouter migrate

worker: install
	$(BIN)/fluxrouter worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python -m tests.bench.run
	$(BIN)/python -m tests.bench.accounting

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
