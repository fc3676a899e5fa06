# HCX Conductor: every developer and CI entry point. `make demo` and `make test` work on a fresh
# machine that has Python 3.11+ and Node.js: they build their own virtualenv and tools first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
AZURITE := $(TOOLS)/node_modules/.bin/azurite
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: demo test lint typecheck check venv tools serve sandbox bench clean help infra-check

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

venv: $(VENV)/.installed  ## create the virtualenv with every Python dependency

$(AZURITE):
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed to install Azurite"; exit 1; }
	mkdir -p $(TOOLS)
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error azurite@3

tools: $(AZURITE)  ## install Azurite (the Azure Storage emulator) from npm

demo: venv  ## migrate the cross-region example plan on the sandbox, with a live display (DEMO_ARGS=--help)
	$(PY) -m conductor demo $(DEMO_ARGS)

test: venv tools  ## run the whole test suite (what CI runs)
	AZURITE_BIN=$(abspath $(AZURITE)) $(PY) -m pytest $(PYTEST_ARGS)

lint: venv infra-check  ## ruff, mypy and checkov over infra/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# checkov pins dependencies that clash with the app's, so it gets its own virtualenv.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check 'checkov==3.3.30'
	@touch $@

infra-check: venv $(CHECKOV_VENV)/.installed  ## checkov over the Bicep in infra/: no failed check, every skip explained
	$(CHECKOV_VENV)/bin/checkov -d infra --framework bicep --skip-download --compact --quiet \
		--output cli --output json --output-file-path console,$(CHECKOV_VENV)/report.json
	$(PY) tests/infra/checkov_gate.py $(CHECKOV_VENV)/report.json

check: lint test  ## everything CI runs

serve: venv  ## serve function_app.py on the local runtime (http://127.0.0.1:7071)
	$(PY) -m runtime start

sandbox: venv  ## serve the cross-region sandbox scenario standalone
	$(PY) -m sandbox serve examples/scenarios/cross-region.yaml

bench: venv  ## run the benchmarks and print their figures
	$(PY) -m benchmarks

clean:  ## remove the virtualenv, tools and local state
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache $(CHECKOV_VENV)
