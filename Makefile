# The two commands a newcomer runs: `make demo` and `make test`.
# Both set up everything first: the virtualenv, the packages, a redis-server.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench lint tools clean

test: $(STAMP) tools lint
	$(BIN)/pytest

demo: $(STAMP) tools
	$(BIN)/python -m demo

bench: $(STAMP) tools
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

tools:
	@scripts/ensure-tools.sh redis-server redis-sentinel prometheus promtool

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
		|| { echo "qwatch needs Python 3.10 or newer as $(PYTHON)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

clean:
	rm -rf $(VENV) .venv-bench .mypy_cache .ruff_cache .pytest_cache *.egg-info
