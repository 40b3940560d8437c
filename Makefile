# The two commands a new machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

LOCK := requirements.lock

.PHONY: run test check mypy-baseline install system-deps migrate demo serve lock messages-extract messages-update messages-compile clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The exact versions of requirements.lock, as constraints: pip installs nothing else.
$(STAMP): $(BIN)/python pyproject.toml $(LOCK)
	$(BIN)/pip install --quiet -c $(LOCK) -e .
	touch $@

$(TEST_STAMP): $(STAMP) | system-deps
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[test]'
	touch $@

# Re-resolve pyproject.toml's ranges in a scratch environment and pin what they give.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip
	.venv-lock/bin/pip install --quiet -e '.[test]'
	{ sed -n '1,2p' $(LOCK); .venv-lock/bin/pip freeze --exclude-editable; } > $(LOCK).new && mv $(LOCK).new $(LOCK)
	rm -rf .venv-lock

install: system-deps $(STAMP) messages-compile

# Debian libraries WeasyPrint needs for PDF invoices (Pango), the font they are set in, and
# poppler-utils (pdftotext/pdftoppm, used by the PDF tests). Installed when running as root;
# otherwise one line says what to install and everything but the PDFs works.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils
system-deps:
	@if { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q libpangoft2-1.0.so.0 \
	    && command -v pdftotext >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi dejavu; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "make: installing $(SYSTEM_PACKAGES) (PDF invoices)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null \
	    || echo "make: could not install $(SYSTEM_PACKAGES); PDF invoices will not work until they are installed"; \
	else \
	  echo "make: PDF invoices need Debian packages: sudo apt-get install $(SYSTEM_PACKAGES) (everything else works without them)"; \
	fi

run: install
	$(BIN)/portal migrate
	$(BIN)/portal demo --if-empty
	$(BIN)/portal serve

test: $(TEST_STAMP) messages-compile check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The shape of the code (docs/architecture.md): lint, the import contract, types against their baseline.
check: $(TEST_STAMP)
	$(BIN)/ruff check portal tests bench tools piccolo_conf.py
	$(BIN)/lint-imports
	$(BIN)/python tools/typecheck.py

# Write tools/mypy-baseline.txt again after fixing type errors (it refuses to take new ones).
mypy-baseline: $(TEST_STAMP)
	$(BIN)/python tools/typecheck.py --write

migrate: install
	$(BIN)/portal migrate

demo: install
	$(BIN)/portal demo

serve: install
	$(BIN)/portal serve

# Translations: extract marked strings into the template, merge into each catalog, compile.
messages-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k ngettext:1,2 -k N_ -k NP_:1,2 -o portal/locale/messages.pot --project=portal .

messages-update: messages-extract
	$(BIN)/pybabel update --no-fuzzy-matching -i portal/locale/messages.pot -d portal/locale

messages-compile: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d portal/locale

clean:
	rm -rf $(VENV) .pytest_cache
