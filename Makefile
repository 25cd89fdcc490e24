# twinops: the only commands a newcomer needs.
#   make demo   install, then materialize the whole asset graph on the built-in business
#   make test   install, then run the test suite
#   make ui     Dagster UI and MLflow UI on 127.0.0.1
#   make bench  benchmarks into bench/results.json
#   make lint   ruff and sqlfluff
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Runtime state: one folder, overridable. Made absolute so dbt (run from transforms/) agrees.
TWINOPS_HOME ?= $(CURDIR)/.twinops
override TWINOPS_HOME := $(abspath $(TWINOPS_HOME))
export TWINOPS_HOME
# The committed dagster.yaml at the repository root is the instance config; it keeps all
# instance storage under the state folder through these two variables.
export DAGSTER_HOME := $(CURDIR)
export TWINOPS_DAGSTER_STORAGE := $(TWINOPS_HOME)/dagster/storage
export TWINOPS_DAGSTER_COMPUTE_LOGS := $(TWINOPS_HOME)/dagster/compute_logs
export DBT_LOG_PATH := $(TWINOPS_HOME)/logs/dbt

# Offline: no telemetry or version checks (see docs/offline.md for what each one stops).
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DBT_VERSION_CHECK := False
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export RAY_USAGE_STATS_ENABLED := 0
# Local Ray without token auth (it would otherwise write ~/.ray/auth_token); loopback only.
export RAY_AUTH_MODE ?= disabled
# Ray must not wrap its workers in `uv run`: the environment is already synced.
export RAY_ENABLE_UV_RUN_RUNTIME_ENV := 0
export PYTHONUNBUFFERED := 1
# A single-run backfill over many days records one "planned" event per asset instead of one
# per asset and day (730 x 9 sqlite writes before the run starts). The cost: a failed run
# does not mark each of its days as failed.
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS := true

# uv trusts the platform's certificate store, as pip does: registries behind a corporate or
# proxy CA then work without extra settings.
export UV_SYSTEM_CERTS ?= true

VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
# uv from PATH, else a private copy fetched from the package registry into .uv/.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.uv/bin/uv)
DAGSTER_PORT ?= 3000
MLFLOW_PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: help install demo test test-all bench ui lint format clean

help:
	@sed -n '2,7p' Makefile | sed 's/^# *//'

$(CURDIR)/.uv/bin/uv:
	@echo "uv not found: installing it into .uv/ from the package registry"
	python3 -m venv $(CURDIR)/.uv
	$(CURDIR)/.uv/bin/pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python 3.11
	@touch $@

transforms/target/manifest.json: $(VENV)/.synced $(shell find transforms/models transforms/macros transforms/tests -type f 2>/dev/null) transforms/dbt_project.yml
	cd transforms && dbt parse --profiles-dir . --quiet

install: $(VENV)/.synced transforms/target/manifest.json

demo: install
	python -m orchestration.demo

test: install
	pytest -m "not slow" $(PYTEST_ARGS)

test-all: install
	pytest $(PYTEST_ARGS)

bench: install
	@rm -f bench/results.json  # every figure from this run, none left over from an older one
	@for module in $$(ls bench/*.py | xargs -n1 basename | sed 's/\.py$$//' | grep -v -E '^(__init__|results|report)$$'); do \
		echo "== bench.$$module"; python -m bench.$$module || exit 1; \
	done
	python -m bench.report
	@echo "figures: bench/results.json; summary: docs/benchmarks.md"

ui: install
	@bash scripts/ui.sh $(DAGSTER_PORT) $(MLFLOW_PORT)

lint: install
	ruff check .
	ruff format --check .
	cd transforms && sqlfluff lint models

format: install
	ruff check --fix .
	ruff format .

clean:
	rm -rf $(TWINOPS_HOME) transforms/target transforms/logs
