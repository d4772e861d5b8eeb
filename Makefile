# The developer's commands. Every target bootstraps .venv itself: a plain venv, uv from PyPI,
# then `uv sync --frozen` against uv.lock. Nothing else is installed by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: venv run test test-long lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --inexact --quiet
	touch $@

venv: $(VENV)/.synced

run: venv
	$(BIN)/walletbridge run

test: venv
	$(BIN)/pytest -q -n 2 -m "not long"

test-long: venv
	$(BIN)/pytest -q -m long

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: venv
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
