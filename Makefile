# CareSpace: `make run` serves the portal on http://localhost:3000, `make test` runs every test.
# Both set everything up themselves and are safe to run again.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PORT ?= 3000
export PORT
STAMPS := $(VENV)/.stamps

# Reflex builds the frontend with bun, installed from the npm registry (README, "The two commands").
export NPM_CONFIG_REGISTRY ?= https://registry.npmjs.org
export REFLEX_CHECK_LATEST_VERSION := false
export REFLEX_BUN_PATH := $(CURDIR)/tools/bin/bun
export PATH := $(CURDIR)/tools/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test setup test-setup migrate build chromium clean screenshots help

help:
	@echo "make run    - set up, migrate and serve CareSpace on http://localhost:$(PORT)"
	@echo "make test   - set up and run the whole test suite (SQLite; CARESPACE_TEST_DATABASE_URL for PostgreSQL)"

$(STAMPS)/deps: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/test-deps: requirements-test.txt $(STAMPS)/deps
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	@mkdir -p $(STAMPS) && touch $@

tools/bin/bun: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p tools/bin
	@# npm may skip bun's postinstall; the platform package always carries the real binary.
	@for b in tools/node_modules/bun/bin/bun.exe tools/node_modules/@oven/bun-*/bin/bun; do \
	  if [ -x "$$b" ] && "$$b" --version >/dev/null 2>&1; then ln -sf "$(CURDIR)/$$b" tools/bin/bun; break; fi; \
	done
	@tools/bin/bun --version >/dev/null || { echo "bun did not install; see Troubleshooting in README.md"; exit 1; }
	@touch $@

setup: $(STAMPS)/deps tools/bin/bun

migrate: setup
	$(BIN)/python -m carespace_app migrate

run: setup migrate
	$(BIN)/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT)

# Debian's Chromium where we can install it: its headless shell, which the tests prefer
# (tests/e2e/harness.py), or the full browser if that is what the machine has;
# Playwright's own download elsewhere (macOS).
chromium: $(STAMPS)/test-deps
	@if [ -x /usr/bin/chromium-headless-shell ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null; \
	elif [ -x /usr/bin/chromium ]; then :; \
	else $(BIN)/python -m playwright install chromium; fi

test-setup: setup $(STAMPS)/test-deps chromium

# Two runs: pytest-playwright holds an event loop for the whole process, which the
# asyncio tests of the services must not share. The first run is the unit suite and
# the in-process part of the security suite; the second drives the running server
# (tests/e2e and the live part of the security suite, tests/security/live).
# Each run spreads its test files over worker processes (pytest-xdist; each live
# worker has its own server, database and SMTP server; the live run groups files by
# tests/conftest.py, which keeps the two files of the dedicated HTTPS server together):
# TEST_WORKERS for the in-process run, LIVE_WORKERS for the live one; 0 runs in one
# process. (The live run is CPU-bound, Chromium most: 3 workers on 2 cores were no faster.)
LIVE_TESTS := tests/e2e tests/security/live
TEST_WORKERS ?= 2
LIVE_WORKERS ?= 2
test: test-setup
	$(BIN)/python -m pytest tests $(addprefix --ignore=,$(LIVE_TESTS)) -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)
	$(BIN)/python -m pytest $(LIVE_TESTS) -n $(LIVE_WORKERS) --dist loadgroup $(PYTEST_ARGS)

screenshots: test-setup
	CARESPACE_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/e2e/test_screenshots.py -q

clean:
	rm -rf .web .states tools/node_modules tools/bin $(VENV)
