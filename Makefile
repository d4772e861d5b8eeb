# The developer's commands. Every target bootstraps .venv itself: a plain venv, uv from PyPI,
# then `uv sync --frozen` against uv.lock. Nothing else is installed by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: venv system-packages run test test-long lint format bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --inexact --quiet
	touch $@

venv: $(VENV)/.synced

# Debian's Chromium (browser tests, screenshots) and CJK fonts, installed if missing.
system-packages:
	scripts/system-packages

run: venv
	$(BIN)/walletbridge run

test: venv system-packages
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

# Regenerates docs/screenshots/ from the running demo (Debian's Chromium; see .ci/run).
screenshots: venv system-packages
	$(BIN)/python -m tests.e2e.browser.screenshots docs/screenshots

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache

WEB_TRANSLATIONS := src/walletbridge/entrypoints/web/translations
.PHONY: translations
# Re-extract the web app's msgids (babel.cfg) into messages.pot and update the English catalog.
translations: venv
	$(BIN)/pybabel extract -F babel.cfg -k Msg -k t -k flash:2 --project=walletbridge \
		--copyright-holder="walletbridge contributors" -o $(WEB_TRANSLATIONS)/messages.pot \
		src/walletbridge/entrypoints/web
	$(BIN)/pybabel update --init-missing --no-fuzzy-matching --ignore-obsolete -D messages \
		-l en -i $(WEB_TRANSLATIONS)/messages.pot -d $(WEB_TRANSLATIONS)
