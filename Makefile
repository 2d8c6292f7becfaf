# GFN pipeline. The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
PYTHON ?= python3
VENV := .venv
SODA := $(VENV)/bin/soda
MODULES := contracts shared services/extractor services/validator services/transformer services/loader services/notifier tools/gfnapi-sim tools/gfnctl

.PHONY: venv
# Soda Core for the data-quality checks, in a venv (pinned as the architecture requires).
venv: $(SODA)
$(SODA):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check soda-core==3.5.6 soda-core-duckdb==3.5.6
