# spareflow developer commands. `make demo` and `make test` work from a fresh clone:
# they create .venv themselves (Python >= 3.11 as python3, or set PYTHON=...).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BASE   := $(VENV)/.base-installed
FULL   := $(VENV)/.full-installed
DEMO_OUT ?= demo-out

.PHONY: demo test bench lint venv clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(BASE): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(FULL): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $@ $(BASE)

venv: $(FULL)

demo: $(BASE)
	$(VENV)/bin/spareflow demo --out $(DEMO_OUT)
	@echo "report: $(abspath $(DEMO_OUT))/report.html"

test: $(FULL)
	$(PY) -m pytest

bench: $(FULL)
	$(PY) benchmarks/forecast_vs_statsforecast.py --repeat 3
	$(PY) benchmarks/auto_on_real_data.py
	$(PY) benchmarks/policy_vs_stockpyl.py

lint: $(FULL)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
