# The two set-up commands of the README, and a few helpers.
#   make run    install, load the demo shop, serve the API on http://127.0.0.1:8000
#   make test   install with the test dependencies, run the whole test suite

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install install-test test lint lock

run: install
	$(BIN)/relevo demo
	$(BIN)/relevo serve --host $(HOST) --port $(PORT)

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=24"
	$(BIN)/pip install -q -c requirements.lock -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -c requirements.lock -e ".[test]"
	touch $@

test: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Re-pin every dependency after changing pyproject.toml.
lock:
	rm -rf /tmp/relevo-lock && $(PYTHON) -m venv /tmp/relevo-lock
	/tmp/relevo-lock/bin/pip install -q --upgrade "pip>=24"
	/tmp/relevo-lock/bin/pip install -q -e ".[test]"
	/tmp/relevo-lock/bin/pip freeze --exclude-editable | grep -v "^relevo" > requirements.lock
