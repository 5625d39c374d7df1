# FluxRouter. `make run` serves on 127.0.0.1:8080 (SQLite, no other service needed);
# `make test` sets up what the suite needs, then runs the lint gates and the whole suite against
# real PostgreSQL and Redis.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
# the gateway alone (`make run`, `migrate`, `worker`); with the dev tools (`test`, `lint`, `bench`)
RUNTIME := $(VENV)/.runtime-stamp
STAMP   := $(VENV)/.installed-stamp

# The benches load the gateway with Debian's wrk (installed with apt-get when missing, as `system`).
BENCH_TOOLS := @tests/peers/system.sh wrk

.PHONY: install runtime system peers run test test-all lint audit-deps bench bench-memory bench-profile bench-litellm-venv worker migrate clean

install: $(STAMP)

runtime: $(RUNTIME)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,semantic]'
	@touch $(STAMP) $(RUNTIME)

# The runtime install is part of the dev one: after `make install` this installs nothing.
$(RUNTIME): pyproject.toml
	@if [ $(STAMP) -nt pyproject.toml ]; then touch $(RUNTIME); else \
	  test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check uv; \
	  echo "$(BIN)/uv pip install --quiet --python $(BIN)/python -e ."; \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python -e . && touch $(RUNTIME); fi

# What the suite needs outside pip and npm: xmlsec1, Node.js with npm, PostgreSQL and Redis
# running on loopback (installed with apt-get, or started, when this runs as root or with sudo
# without a password; otherwise the exact command to run is printed).
system:
	@tests/peers/system.sh

# The real peers the SSO tests sign in against: the npm `oidc-provider` (its exact versions in
# tests/peers/oidc/package-lock.json), and pysaml2 with Debian's xmlsec1.
PEERS := tests/peers/oidc/node_modules/.installed-stamp

peers: system $(PEERS)

$(PEERS): tests/peers/oidc/package.json tests/peers/oidc/package-lock.json | system
	cd tests/peers/oidc && npm ci --no-audit --no-fund --loglevel=error
	@touch $(PEERS)

run: runtime
	$(BIN)/fluxrouter serve

migrate: runtime
	$(BIN)/fluxrouter migrate

worker: runtime
	$(BIN)/fluxrouter worker

lint: install audit-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Every pin against what the package registry serves: fails on a known-vulnerable pin, reports
# pins behind their line's newest patch (STRICT=1: fails on them too); runs pip-audit where its
# advisory database answers within 3 s (ONLINE=1: where it must, and fails when it does not).
audit-deps: install
	ONLINE=$(ONLINE) STRICT=$(STRICT) $(BIN)/python -m tests.deps.audit

# `make test` (CI) leaves out the long end-to-end suites marked slow; `make test-all` runs them too.
test: install peers lint
	$(BIN)/pytest -q -m "not slow" --durations=20

test-all: install peers lint
	$(BIN)/pytest -q --durations=20

# The comparison (upstream, bare pass-through, LiteLLM when its venv exists, the gateway embedded
# and in production with 1 and 2 workers), then the limits, accounting, WebSocket, Responses
# (`/v1/responses` against the bare pass-through), cache (an exact hit against it, and the
# stores' memory under a million distinct answers; the semantic cache on its paraphrase
# set), routing (three deployments and policies) and audit benches, the admin API's latency
# while people are deactivated on the embedded shape, and the cold start of `serve`, `worker` and the CLI; then the
# request log at scale on PostgreSQL: 10,000,000 generated records (about 36 minutes on 2 cores:
# 9 to fill and index, 17 to fold the last 31 days), fewer with `make bench ROWS=1000000`.
bench: install
	$(BENCH_TOOLS)
	$(BIN)/python -m tests.bench.run
	$(BIN)/python -m tests.bench.accounting
	$(BIN)/python -m tests.bench.limits
	$(BIN)/python -m tests.bench.websocket
	$(BIN)/python -m tests.bench.responses
	$(BIN)/python -m tests.bench.cache
	$(BIN)/python -m tests.bench.cache_memory
	$(BIN)/python -m tests.bench.semantic_cache
	$(BIN)/python -m tests.bench.routing
	$(BIN)/python -m tests.bench.audit_pages
	$(BIN)/python -m tests.bench.deactivation
	$(BIN)/python -m tests.bench.cold_start
	$(BIN)/python -m tests.bench.request_log_scale $(if $(ROWS),--rows $(ROWS))

# 1,000,000 requests with the gateway's RSS sampled (about 12 minutes on 2 cores); shorter:
# `make bench-memory REQUESTS=200000` (the trend is extrapolated to a million).
bench-memory: install
	$(BENCH_TOOLS)
	$(BIN)/python -m tests.bench.memory $(if $(REQUESTS),--requests $(REQUESTS))

# CPU per request of one gateway (production shape, every limit on) and a py-spy profile.
bench-profile: install
	$(BENCH_TOOLS)
	$(BIN)/python -m tests.bench.profile --py-spy

# LiteLLM's proxy in a venv of its own (about 600 MB) for `make bench` to compare against.
# Pinned below 1.107.0, a release that was compromised.
LITELLM_VENV := .bench-venvs/litellm

bench-litellm-venv: install
	@test -x $(LITELLM_VENV)/bin/python || $(PYTHON) -m venv $(LITELLM_VENV)
	$(BIN)/uv pip install --quiet --python $(LITELLM_VENV)/bin/python 'litellm[proxy]>=1.106,<1.107'

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis tests/peers/oidc/node_modules
