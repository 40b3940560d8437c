# The two commands a new machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install migrate demo serve messages-extract messages-update messages-compile clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP) messages-compile

run: install
	$(BIN)/portal migrate
	$(BIN)/portal demo --if-empty
	$(BIN)/portal serve

test: $(TEST_STAMP) messages-compile
	$(BIN)/python -m pytest $(PYTEST_ARGS)

migrate: install
	$(BIN)/portal migrate

demo: install
	$(BIN)/portal demo

serve: install
	$(BIN)/portal serve

# Translations: extract marked strings into the template, merge into each catalog, compile.
messages-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k ngettext:1,2 -k N_ -o portal/locale/messages.pot --project=portal .

messages-update: messages-extract
	$(BIN)/pybabel update -i portal/locale/messages.pot -d portal/locale

messages-compile: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d portal/locale

clean:
	rm -rf $(VENV) .pytest_cache
