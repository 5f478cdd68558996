# qdms — `make run` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEB_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
                chromium poppler-utils postgresql-client
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install system-deps translations extract-messages lint format clean readme-images

run: install
	$(BIN)/qdms db upgrade
	$(BIN)/qdms demo --first-start
	$(BIN)/qdms reindex --if-needed
	@$(BIN)/qdms demo-logins
	@echo "qdms is serving on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	$(BIN)/qdms run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest -n auto --dist loadfile --durations=25

install: system-deps $(VENV)/.installed translations

# Debian packages: CJK fonts and WeasyPrint's libraries, Chromium for the browser tests,
# poppler-utils to read PDFs back, postgresql-client for pg_dump/pg_restore (qdms backup
# and restore on PostgreSQL; the server's major version). Installed only when missing.
system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

# Catalogs are compiled by the build (.mo files are not committed).
translations: $(VENV)/.installed
	@$(BIN)/pybabel --quiet compile -d app/translations

# After changing visible strings: extract, merge, translate the .po, commit it.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel --quiet extract -F babel.cfg -k N_ -k _l --sort-output -o app/translations/messages.pot .
	$(BIN)/pybabel --quiet update -N -i app/translations/messages.pot -d app/translations

# The README's PDF pictures, rendered by the test that checks them.
readme-images: install
	mkdir -p docs/images
	QDMS_SAVE_PDF_IMAGES=docs/images $(BIN)/pytest -q \
	  "tests/test_pdf.py::test_pages_render_to_png" -k sqlite

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports --no-logo

format: $(VENV)/.installed
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache
