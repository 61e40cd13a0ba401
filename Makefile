# twofold — two commands set everything up on a fresh machine:
#   make run    install into .venv, migrate, seed the demo organisation, serve on 127.0.0.1
#   make test   install what the tests need (Chromium included) and run the whole suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
TWOFOLD_DATA_DIR ?= $(CURDIR)/data
export TWOFOLD_DATA_DIR

.PHONY: run test lint format chromium clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	TWOFOLD_DEV_OUTBOX=1 $(BIN)/twofold demo --host $(HOST) --port $(PORT)

chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: $(VENV)/.installed-test chromium lint
	./scripts/test.sh

clean:
	rm -rf $(VENV) .test-data artifacts

# Benchmarks (issue 9): twofold beside privacyIDEA 3.14 on this machine, 127.0.0.1 only.
# Installs what they need (Debian's wrk; privacyIDEA into .bench/); needs PostgreSQL at
# 127.0.0.1:5432 (user postgres) and Redis at 127.0.0.1:6379. Not part of `make test`.
.PHONY: bench bench-full bench-profile wrk
wrk:
	@command -v wrk >/dev/null || (apt-get update && apt-get install -y --no-install-recommends wrk)

bench: $(VENV)/.installed wrk
	$(BIN)/python -m bench.harness

bench-full: $(VENV)/.installed wrk
	$(BIN)/python -m bench.harness --full

# py-spy on every twofold worker under code-only load (PASSWORD=1: password + code;
# SIGNIN=1: browser sign-ins); py-spy goes into .bench/tools.
bench-profile: $(VENV)/.installed wrk
	$(BIN)/python -m bench.profile $(if $(PASSWORD),--password) $(if $(SIGNIN),--signin) 20
