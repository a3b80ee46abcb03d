# The two commands a newcomer runs: `make demo` and `make test`.
# Both set up everything first: the virtualenvs, the packages, a redis-server.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The newest RQ goes into .venv (what `pip install rq` gives); the oldest qwatch claims
# into .venv-rq2, where the RQ parts of the suite run a second time.
NEWEST_RQ := 3.0.0
OLDEST_RQ := 2.12.0
VENV_RQ2 := .venv-rq2
STAMP_RQ2 := $(VENV_RQ2)/.installed
RQ_TESTS := tests/rq tests/cli tests/properties/test_read_only.py \
	tests/exporter/test_exact_mode.py tests/exporter/test_metrics.py

# arq pins redis-py below 6, so arq's workers and the tests that drive them live in
# .venv-arq, with the newest arq and the redis-py it installs; the oldest arq qwatch
# claims (the first to allow redis-py 5, which qwatch needs) goes into .venv-arq-oldest.
NEWEST_ARQ := 0.28.0
OLDEST_ARQ := 0.26.1
VENV_ARQ := .venv-arq
STAMP_ARQ := $(VENV_ARQ)/.installed
VENV_ARQ_OLDEST := .venv-arq-oldest
STAMP_ARQ_OLDEST := $(VENV_ARQ_OLDEST)/.installed
ARQ_TESTS := tests/arq

TEST_TOOLS := redis-server redis-sentinel prometheus promtool chromium chromedriver
# The demo and the benchmarks need a redis-server only.
RUN_TOOLS := redis-server

.PHONY: test demo bench lint screenshot test-tools run-tools clean

test: test-tools $(STAMP) $(STAMP_RQ2) $(STAMP_ARQ) $(STAMP_ARQ_OLDEST) lint
	$(BIN)/pytest
	@echo "The RQ parts of the suite again, on RQ $(OLDEST_RQ):"
	$(VENV_RQ2)/bin/pytest $(RQ_TESTS)
	@echo "arq's part of the suite, on arq $(NEWEST_ARQ):"
	$(VENV_ARQ)/bin/pytest $(ARQ_TESTS)
	@echo "arq's part again, on arq $(OLDEST_ARQ):"
	$(VENV_ARQ_OLDEST)/bin/pytest $(ARQ_TESTS)

demo: run-tools $(STAMP) $(STAMP_ARQ)
	$(BIN)/python -m demo

bench: run-tools $(STAMP) $(STAMP_ARQ)
	scripts/bench-venv.sh
	$(BIN)/python -m benchmarks.snapshot
	$(BIN)/python -m benchmarks.exporter
	$(BIN)/python -m benchmarks.collection
	$(BIN)/python -m benchmarks.top
	$(BIN)/python -m benchmarks.history
	$(BIN)/python -m benchmarks.http_load
	$(BIN)/python -m benchmarks.celery
	$(BIN)/python -m benchmarks.web
	$(BIN)/python -m benchmarks.search
	$(BIN)/python -m benchmarks.dramatiq
	$(VENV_ARQ)/bin/python -m benchmarks.arq

# docs/top.svg and docs/web.png, drawn by qwatch top and the dashboard on a real workload.
screenshot: run-tools test-tools $(STAMP)
	PYTHONPATH=. $(BIN)/python scripts/screenshot.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Each says which Debian packages it installs, and why, before it installs them.
test-tools:
	@scripts/ensure-tools.sh $(TEST_TOOLS)

run-tools:
	@scripts/ensure-tools.sh $(RUN_TOOLS)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
		|| { echo "qwatch needs Python 3.10 or newer as $(PYTHON)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' 'rq==$(NEWEST_RQ)'
	@touch $@

$(STAMP_RQ2): pyproject.toml
	@test -x $(VENV_RQ2)/bin/python || $(PYTHON) -m venv $(VENV_RQ2)
	$(VENV_RQ2)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_RQ2)/bin/python -m pip install --quiet -e '.[test]' 'rq==$(OLDEST_RQ)'
	@touch $@

$(STAMP_ARQ): pyproject.toml
	@test -x $(VENV_ARQ)/bin/python || $(PYTHON) -m venv $(VENV_ARQ)
	$(VENV_ARQ)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_ARQ)/bin/python -m pip install --quiet -e '.[test]' 'rq==$(NEWEST_RQ)' 'arq==$(NEWEST_ARQ)'
	@touch $@

$(STAMP_ARQ_OLDEST): pyproject.toml
	@test -x $(VENV_ARQ_OLDEST)/bin/python || $(PYTHON) -m venv $(VENV_ARQ_OLDEST)
	$(VENV_ARQ_OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_ARQ_OLDEST)/bin/python -m pip install --quiet -e '.[test]' 'rq==$(NEWEST_RQ)' \
		'arq==$(OLDEST_ARQ)'
	@touch $@

clean:
	rm -rf $(VENV) $(VENV_RQ2) $(VENV_ARQ) $(VENV_ARQ_OLDEST) .venv-bench .mypy_cache .ruff_cache .pytest_cache *.egg-info
