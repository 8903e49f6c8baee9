# The README's commands. Everything they need is installed here: no manual step before them.
PYTHON ?= python3
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app opsapp

.PHONY: run test bench lint translations check-migrations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/pytest

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

lint: $(VENV)/.installed-test
	$(BIN)/ruff check opsapp tests benchmarks config.py

check-migrations: $(VENV)/.installed
	$(FLASK) db check

# Extract the marked strings and merge them into the catalogues; compile after translating.
translations: $(VENV)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o opsapp/translations/messages.pot .
	$(BIN)/pybabel update -i opsapp/translations/messages.pot -d opsapp/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d opsapp/translations
