# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck imports unit bench clean chromium deploy-tools dovecot

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/bridgework demo --out demo-data

lint: $(TEST_STAMP)
	$(BIN)/ruff check agent connectors rules tests bench

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

imports: $(TEST_STAMP)
	$(BIN)/lint-imports

# tests/deploy runs `systemd-analyze verify` and `security` on the unit (Debian's systemd)
deploy-tools:
	@command -v systemd-analyze >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd)

# tests/imap and tests/caldav run a real Dovecot (Debian's dovecot-imapd); CI fails without it
dovecot:
	@command -v dovecot >/dev/null || test -x /usr/sbin/dovecot || \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends dovecot-imapd)

# tests/digest renders the digests in Debian's headless Chromium; CI fails without it
chromium:
	@test -x /usr/bin/chromium || \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core)

unit: $(TEST_STAMP) deploy-tools dovecot chromium
	$(BIN)/pytest

test: lint typecheck imports unit

bench: $(STAMP)
	$(BIN)/python bench/analyze.py

clean:
	rm -rf $(VENV) demo-data .mypy_cache .ruff_cache .pytest_cache
