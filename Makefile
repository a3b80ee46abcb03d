# The two commands a newcomer runs: `make demo` and `make test`.
# Both set up everything first: the virtualenv, the packages, a redis-server.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

TEST_TOOLS := redis-server redis-sentinel prometheus promtool
# The demo and the benchmarks need a redis-server only.
RUN_TOOLS := redis-server

.PHONY: test demo bench lint test-tools run-tools clean

test: test-tools $(STAMP) lint
	$(BIN)/pytest

demo: run-tools $(STAMP)
	$(BIN)/python -m demo

bench: run-tools $(STAMP)
	scripts/bench-venv.sh
	$(BIN)/python -m benchmarks.snapshot
	$(BIN)/python -m benchmarks.exporter
	$(BIN)/python -m benchmarks.top
	$(BIN)/python -m benchmarks.http_load
	$(BIN)/python -m benchmarks.celery

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
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

clean:
	rm -rf $(VENV) .venv-bench .mypy_cache .ruff_cache .pytest_cache *.egg-info
