# Two commands from a fresh clone: `make demo` and `make test` (README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench clean lock airflow

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8
	@# --compile-bytecode: pip's default, not uv's. Without .pyc files every process compiles what
	@# it imports, on every start when PYTHONDONTWRITEBYTECODE is set (as on CI): importing Great
	@# Expectations alone took 10 s instead of 5 (docs/performance.md).
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

# Regenerate the pinned set after changing pyproject.toml's dependencies.
lock:
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

demo: install
	$(BIN)/cei demo

# Airflow as a service (README): scheduler, UI and API on 127.0.0.1:8080
airflow: install
	$(BIN)/cei airflow start

test: install
	$(BIN)/ruff check plugins dags tests
	$(BIN)/pytest

SCALE ?= 100000
bench: install
	$(BIN)/cei bench --scale $(SCALE)

clean:
	rm -rf $(VENV) .cei dbt_project/target dbt_project/logs
