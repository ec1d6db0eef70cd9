# The two commands a newcomer needs: `make run` and `make test`. Each builds .venv first.
PYTHON_VERSION := $(shell cat .python-version)
PYTHON ?= python$(PYTHON_VERSION)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help run test check audit bench clean

help:
	@echo "make run    start the local AWS, the API, the worker and the relay on 127.0.0.1 (Ctrl-C stops all)"
	@echo "make test   lint, type-check and run every test"
	@echo "make bench  measure DynamoDB requests and latency per operation, and the event pipeline"
	@echo "make audit  look the pinned dependencies up in the vulnerability database (needs pypi.org)"
	@echo "make clean  remove .venv, caches and the local stack's saved data"

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python $(PYTHON_VERSION) is needed ($(PYTHON) not found): install it, e.g. 'pyenv install $(PYTHON_VERSION)'."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: $(STAMP)
	$(BIN)/python manage.py runlocal

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/bandit --quiet --recursive config tasks_app events_app --severity-level high

# Not part of `make test`: pip-audit needs PyPI's vulnerability data, which CI machines here cannot
# reach. --strict fails when a package could not be checked, so a silent pass means a real one.
audit: $(STAMP)
	$(BIN)/pip-audit --strict --requirement requirements.txt

test: check
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .local staticfiles
