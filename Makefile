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
	@echo "make bench  measure what users feel against issue 12's targets: each operation through the Lambda handler vs bare PynamoDB, AWS requests per call, cold starts, the event pipeline, autosave stalls, relay lag and idle requests, the local stack under load (BENCH_ONLY=api,pipeline,package,autosave,stack,local)"
	@echo "make package  build the Lambda zip for STAGE (default staging) into dist/, as zappa deploy would"
	@echo "make rehearse  deploy, update and check stage staging against the local AWS (part of make test)"
	@echo "make audit  look the pinned dependencies up in the vulnerability database (needs pypi.org)"
	@echo "make clean  remove .venv, caches and the local stack's saved data"

# pip's own output is hundreds of lines. PIP_PROGRESS keeps one line per 25 packages and one per
# step; if pip fails it shows pip's last 60 lines, and it exits with pip's status, which it reads
# from a last line `pip-exit-status N`.
PIP_PROGRESS = awk '\
	/^pip-exit-status / { status = $$2; next }; \
	{ last[++lines % 60] = $$0 }; \
	/^(Collecting|Processing) / && ++n % 25 == 1 { name = $$2; if (sub(/.*\//, "", name)) sub(/-.*/, "", name); sub(/[<>=!~[;].*/, "", name); \
		printf "  collecting packages: %d so far (%s)\n", n, name; fflush() }; \
	/^Installing collected packages/ { printf "  installing the %d packages, the last step...\n", n; fflush() }; \
	END { if (status) for (i = (lines > 60 ? lines - 59 : 1); i <= lines; i++) print last[i % 60]; exit status }'

# Measured from scratch on a 2-core machine: 86 to 95 s for the 155 packages of requirements-dev.txt,
# 40 s for the 63 of requirements.txt; longer on a slow network.
$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python $(PYTHON_VERSION) is needed ($(PYTHON) not found): install it, e.g. 'pyenv install $(PYTHON_VERSION)'."; exit 1; }
	@echo "Installing the project's packages into $(VENV) (requirements-dev.txt: about 155 with their dependencies)."
	@echo "This takes a minute and a half the first time, more on a slow network; later runs reuse $(VENV)."
	@start=$$(date +%s); \
	$(PYTHON) -m venv $(VENV) && \
	$(BIN)/python -m pip install --quiet --upgrade pip && \
	{ $(BIN)/python -m pip install --progress-bar off -r requirements-dev.txt 2>&1; echo "pip-exit-status $$?"; } | $(PIP_PROGRESS) && \
	echo "$(VENV) is ready ($$(( $$(date +%s) - start )) s)."
	@touch $@

# Lambda's /var/task is read-only and Zappa zips files without their times, so the usual .pyc
# (checked against the source's time) would be ignored and everything compiled at each cold
# start. Unchecked-hash .pyc are used as they are: the cold start's init takes half the time.
$(LAMBDA_STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python $(PYTHON_VERSION) is needed ($(PYTHON) not found): install it, e.g. 'pyenv install $(PYTHON_VERSION)'."; exit 1; }
	@echo "Installing the Lambda package's packages into $(LAMBDA_VENV) (requirements.txt only: about 63 with"
	@echo "their dependencies). This takes under a minute, more on a slow network; later builds reuse it."
	@rm -rf $(LAMBDA_VENV)
	@start=$$(date +%s); \
	$(PYTHON) -m venv $(LAMBDA_VENV) && \
	{ $(LAMBDA_VENV)/bin/python -m pip install --progress-bar off -r requirements.txt 2>&1; echo "pip-exit-status $$?"; } | $(PIP_PROGRESS) && \
	echo "  compiling them as Lambda will load them..." && \
	$(LAMBDA_VENV)/bin/python -m compileall -q -f -j0 --invalidation-mode unchecked-hash $(LAMBDA_VENV)/lib >/dev/null && \
	echo "$(LAMBDA_VENV) is ready ($$(( $$(date +%s) - start )) s)."
	@touch $@

# The zip holds the project, collected static files and the lean venv, trimmed by the exclude
# lists in zappa_settings.json. Its compiled wheels must be Lambda's (manylinux x86_64): build
# it on Linux x86_64 (the rehearsal, which never runs it on Lambda, may skip that check).
package: $(LAMBDA_STAMP)
	@[ "$(LAMBDA_PLATFORM_CHECK)" = off ] || [ "$$(uname -sm)" = "Linux x86_64" ] || { echo "make package builds Lambda's x86_64 wheels only on Linux x86_64 (this is $$(uname -sm)): build it in CI or a Linux container."; exit 1; }
	ENVIRONMENT=development $(LAMBDA_VENV)/bin/python manage.py collectstatic --noinput --clear --verbosity 0
	@# The project's own modules too, or Lambda compiles them at every cold start (about 100 of them).
	@# Checked-hash .pyc are used only while they match their source's hash, file times aside: right
	@# on Lambda, and never stale in this tree when a file changes afterwards (Python rewrites them).
	$(LAMBDA_VENV)/bin/python -m compileall -q -f -j0 --invalidation-mode checked-hash config tasks_app events_app notifications_app >/dev/null
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
	$(BIN)/bandit --quiet --recursive config tasks_app events_app notifications_app ops --severity-level high

# Not part of `make test`: pip-audit needs PyPI's vulnerability data, which CI machines here cannot
# reach. --strict fails when a package could not be checked, so a silent pass means a real one.
audit: $(STAMP)
	$(BIN)/pip-audit --strict --requirement requirements.txt

# Tests run on two pytest-xdist workers, a test file each at a time (module fixtures, such as a
# shared local stack, stay in one worker): much of their time is spent waiting on child
# processes (the local AWS, workers, stacks under faults), which two workers overlap. The
# schemathesis files run on their own afterwards: their tests share one node id per API
# operation, and xdist would run only one of each.
SCHEMATHESIS_TESTS := tests/e2e/test_openapi_fuzz.py tests/e2e/test_openapi_stateful.py
PARALLEL := -n 2 --dist loadfile

test: check
	$(BIN)/python -m pytest $(PARALLEL) $(addprefix --ignore=,$(SCHEMATHESIS_TESTS))
	$(BIN)/python -m pytest $(SCHEMATHESIS_TESTS)
	$(MAKE) --no-print-directory rehearse

# No lint, no real processes, no fuzzing, no rehearsal: tests/unit, tests/integration, tests/api.
test-fast: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL) tests/unit tests/integration tests/api

bench: $(STAMP)
	$(BIN)/python -m ops.bench

clean:
	rm -rf $(VENV) $(LAMBDA_VENV) dist .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .local .local-* staticfiles
