# The two commands a newcomer needs: `make run` and `make test`. Each builds .venv first.
PYTHON_VERSION := $(shell cat .python-version)
PYTHON ?= python$(PYTHON_VERSION)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Lambda package is built from its own venv: requirements.txt only, nothing for tests or tools.
LAMBDA_VENV := .venv-lambda
LAMBDA_STAMP := $(LAMBDA_VENV)/.installed
# Zappa looks for site-packages under $$VIRTUAL_ENV, so it runs as if the lean venv were activated.
IN_LAMBDA_VENV := env VIRTUAL_ENV=$(CURDIR)/$(LAMBDA_VENV) PATH=$(CURDIR)/$(LAMBDA_VENV)/bin:$$PATH
STAGE ?= staging
PACKAGE := dist/tasks-api-$(STAGE).zip

.DEFAULT_GOAL := help
.PHONY: help run test test-fast check audit bench clean package rehearse

help:
	@echo "make run    start the local AWS, the API, the worker and the relay on 127.0.0.1 (Ctrl-C stops all)"
	@echo "make test   lint, type-check and run every test, then the deploy rehearsal (what CI runs)"
	@echo "make test-fast  unit, integration and API tests only: the edit-run loop"
	@echo "make bench  measure DynamoDB requests and latency per operation, and the event pipeline"
	@echo "make package  build the Lambda zip for STAGE (default staging) into dist/, as zappa deploy would"
	@echo "make rehearse  deploy, update and check stage staging against the local AWS (part of make test)"
	@echo "make audit  look the pinned dependencies up in the vulnerability database (needs pypi.org)"
	@echo "make clean  remove .venv, caches and the local stack's saved data"

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python $(PYTHON_VERSION) is needed ($(PYTHON) not found): install it, e.g. 'pyenv install $(PYTHON_VERSION)'."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

# Lambda's /var/task is read-only and Zappa zips files without their times, so the usual .pyc
# (checked against the source's time) would be ignored and everything compiled at each cold
# start. Unchecked-hash .pyc are used as they are: the cold start's init takes half the time.
$(LAMBDA_STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python $(PYTHON_VERSION) is needed ($(PYTHON) not found): install it, e.g. 'pyenv install $(PYTHON_VERSION)'."; exit 1; }
	rm -rf $(LAMBDA_VENV)
	$(PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install --quiet -r requirements.txt
	$(LAMBDA_VENV)/bin/python -m compileall -q -f -j0 --invalidation-mode unchecked-hash $(LAMBDA_VENV)/lib >/dev/null
	@touch $@

# The zip holds the project, collected static files and the lean venv, trimmed by the exclude
# lists in zappa_settings.json. Its compiled wheels must be Lambda's (manylinux x86_64): build
# it on Linux x86_64 (the rehearsal, which never runs it on Lambda, may skip that check).
package: $(LAMBDA_STAMP)
	@[ "$(LAMBDA_PLATFORM_CHECK)" = off ] || [ "$$(uname -sm)" = "Linux x86_64" ] || { echo "make package builds Lambda's x86_64 wheels only on Linux x86_64 (this is $$(uname -sm)): build it in CI or a Linux container."; exit 1; }
	ENVIRONMENT=development $(LAMBDA_VENV)/bin/python manage.py collectstatic --noinput --clear --verbosity 0
	@mkdir -p dist
	$(IN_LAMBDA_VENV) zappa package $(STAGE) --output $(PACKAGE)

# Deploys stage staging to moto with Zappa itself, then checks what it created (ops/rehearsal/).
rehearse: $(STAMP)
	$(MAKE) --no-print-directory package STAGE=staging LAMBDA_PLATFORM_CHECK=off
	$(BIN)/python -m ops.rehearsal

run: $(STAMP)
	$(BIN)/python manage.py runlocal

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/bandit --quiet --recursive config tasks_app events_app ops --severity-level high

# Not part of `make test`: pip-audit needs PyPI's vulnerability data, which CI machines here cannot
# reach. --strict fails when a package could not be checked, so a silent pass means a real one.
audit: $(STAMP)
	$(BIN)/pip-audit --strict --requirement requirements.txt

test: check
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory rehearse

# No lint, no real processes, no fuzzing, no rehearsal: tests/unit, tests/integration, tests/api.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/integration tests/api

bench: $(STAMP)
	$(BIN)/python -m ops.bench

clean:
	rm -rf $(VENV) $(LAMBDA_VENV) dist .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .local staticfiles
