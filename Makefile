# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck imports unit bench clean system-packages

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

# Debian packages the tests run for real, installed in one apt-get when missing:
# systemd (tests/deploy: `systemd-analyze verify` and `security` on the unit),
# dovecot-imapd (tests/imap, tests/caldav: a real IMAP server), chromium and a
# font (tests/digest: the digests rendered headless). CI fails without them.
system-packages:
	@missing=""; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	{ command -v dovecot >/dev/null || test -x /usr/sbin/dovecot; } || missing="$$missing dovecot-imapd"; \
	test -x /usr/bin/chromium || missing="$$missing chromium fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# One worker per core, up to four (pytest-xdist); a test module stays on one worker, so its
# module-scoped fixtures (the quality tests' scored organisations) are built once.
unit: $(TEST_STAMP) system-packages
	$(BIN)/pytest -n auto --maxprocesses 4 --dist loadscope

test: lint typecheck imports unit

bench: $(STAMP)
	$(BIN)/python bench/analyze.py

clean:
	rm -rf $(VENV) demo-data .mypy_cache .ruff_cache .pytest_cache
