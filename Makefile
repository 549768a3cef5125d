# Two commands get a newcomer running: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DB ?= data/noegletal.duckdb
PERIODE ?= 2026Q2
NOEGLETAL := $(VENV)/bin/noegletal --db $(DB)

.PHONY: install demo test browser bench lab strip clean

# The venv is rebuilt when pyproject.toml or the version (noegletal/__init__.py) changes.
$(STAMP): pyproject.toml noegletal/__init__.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dask]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(NOEGLETAL) demo
	$(NOEGLETAL) compute
	$(NOEGLETAL) reports $(PERIODE)
	@echo "Rapporterne ligger i reports/$(PERIODE)/index.html"

# Headless Chromium (browser test of the rendered HTML) and poppler-utils (pdftotext for the PDF text
# test): Debian's packages, installed when missing if we are root with apt.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installerer chromium og poppler-utils (Debian) til browser- og PDF-testene ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; \
	else echo "chromium/pdftotext mangler og kan ikke installeres her: de tests springes over"; fi

test: install browser
	$(PY) -m pytest -q

bench: install
	$(PY) -m bench.run

lab: install
	$(VENV)/bin/jupyter lab notebooks/

# Strip outputs from notebooks before committing (the tests check that they are stripped).
strip: install
	$(VENV)/bin/nbstripout notebooks/*.ipynb

clean:
	rm -rf $(VENV) data reports/*/ bench/work
