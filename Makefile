# One command runs the archive on the sample data, one runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= archive.db
PUBLIC_DB ?= public.db
HOST ?= 127.0.0.1
PORT ?= 8001

.PHONY: serve test lint format install browser archive public clean screenshots

AXE := tests/axe/node_modules/axe-core/axe.min.js

$(BIN)/testimony: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/testimony

# The browser tests drive Debian's chromium through playwright (never a browser download). As root this installs
# it with apt-get; otherwise it stops with one line saying what to install.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else \
	    echo "The browser tests need Debian's chromium: run 'sudo apt-get install chromium', then 'make test'." >&2; \
	    exit 2; \
	  fi; }

# The accessibility tests inject axe-core into chromium: the exact version tests/axe/package-lock.json pins.
$(AXE): tests/axe/package-lock.json
	npm ci --prefix tests/axe --no-audit --no-fund --silent

archive: install
	$(BIN)/testimony ingest data/ --db $(DB)
	$(BIN)/testimony stats --db $(DB)

public: archive
	$(BIN)/testimony publish --db $(DB) --out $(PUBLIC_DB)

serve: public
	$(BIN)/testimony serve --db $(PUBLIC_DB) --host $(HOST) --port $(PORT)

test: install browser $(AXE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q

# The README's pictures of the pages (docs/screenshots/), taken by the journalist's browser test itself.
screenshots: install browser
	TESTIMONY_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/test_journalist.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(DB) $(DB)-wal $(DB)-shm $(DB).whoosh $(PUBLIC_DB) $(PUBLIC_DB).whoosh
