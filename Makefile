# The two commands: `make run` and `make test`. Everything else is a helper for them.
VENV := .venv
LW := $(VENV)/bin/landwindow
PY := $(VENV)/bin/python

.PHONY: setup run test lint typecheck pytest bench clean db-stop crash load fuzz

setup:
	@bash scripts/setup

run: setup
	$(LW) db start
	$(LW) migrate
	$(LW) load-sample --if-empty
	$(LW) user demo
	$(LW) serve

test: setup lint typecheck pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy

pytest:
	$(VENV)/bin/pytest -q

crash: setup
	$(PY) scripts/crash_test.py

load: setup
	$(PY) bench/load.py

fuzz: setup
	$(PY) scripts/fuzz_api.py

db-stop:
	$(LW) db stop

clean: db-stop
	rm -rf .landwindow
