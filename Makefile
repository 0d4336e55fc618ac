# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev tools lint worker bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# Install, migrate, load the catalog, bring it up to date from LiteLLM's registry (the installed package's file,
# offline), create the demo user and serve on 127.0.0.1:8000.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_catalog
	$(BIN)/python manage.py sync_model_registry --verbosity 0
	$(BIN)/python manage.py demo_user
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The real programs the tests drive: caddy, Podman 5's quadlet generator, the LiteLLM proxy and Debian's chromium.
# (apt-get needs root; without it the tests that need them skip locally, and fail in CI.)
tools:
	scripts/install-tools || echo "warning: scripts/install-tools failed; tests needing caddy/quadlet will skip"
	scripts/install-litellm-proxy || echo "warning: scripts/install-litellm-proxy failed; the LiteLLM proxy test will skip"
	scripts/install-openwebui || echo "warning: scripts/install-openwebui failed; the Open WebUI test will skip"
	scripts/install-mcp-gateway || echo "warning: scripts/install-mcp-gateway failed; the MCP gateway test will skip"
	scripts/install-browser || echo "warning: scripts/install-browser failed; browser journeys will skip"

# Install test dependencies and run the whole suite.
test: install-dev tools
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

worker: install
	$(BIN)/celery -A leger worker --loglevel=INFO

# Every bench/*.py prints figures; bench/load.py drives wrk (scripts/install-bench; it skips without it).
bench: install-dev
	scripts/install-bench || echo "warning: scripts/install-bench failed; bench/load.py will skip"
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done
