# The two set-up commands of the README, and a few helpers.
#   make run    install, load the demo shop, serve the API on http://127.0.0.1:8000
#   make test   install with the test dependencies (and Chromium for the browser tests), run the
#               whole test suite

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install install-test browser test lint lock

run: install
	$(BIN)/relevo demo
	$(BIN)/relevo serve --host $(HOST) --port $(PORT)

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test browser

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=24"
	$(BIN)/pip install -q -c requirements.lock -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -c requirements.lock -e ".[test]"
	touch $@

# The browser tests drive Debian's Chromium through its chromedriver; no browser is ever
# downloaded any other way. Installed only when missing, with apt where there is apt.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		exit 0; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium and chromium-driver for the browser tests"; \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver fonts-liberation >/dev/null; \
	else \
		echo "The browser tests (tests/api/test_docs_pages.py) need Chromium at /usr/bin/chromium and" \
			"its WebDriver at /usr/bin/chromedriver, and this machine has no apt-get: install them" \
			"with its package manager (Debian's are chromium and chromium-driver). Until then those" \
			"tests are skipped." >&2; \
	fi

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
