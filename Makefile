# Every target sets itself up: a fresh machine needs only python3 (3.11+) and make.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/loglake demo --out demo-out --days 3

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) bench/ingest.py
	$(PY) bench/query.py

.PHONY: screenshots
screenshots: $(STAMP)  # docs/screenshots/*.png of each web view (demo-out/lake if present); needs /usr/bin/chromium
	$(PY) scripts/screenshots.py

clean:
	rm -rf demo-out .pytest_cache
