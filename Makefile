# lineage-graph: two commands on a fresh machine (Python 3.11+, Java 17, Maven).
#   make run   set up, start a managed Neo4j, build the demo pipeline and serve it on 127.0.0.1:5000
#   make test  set up, start a separate managed test Neo4j and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install browser lint typecheck contract bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lineage-graph demo

# The dashboard's browser tests drive Debian's Chromium: installed here when missing and this
# user may (root, or passwordless sudo); otherwise those tests skip saying how to install it
# (they fail instead when LINEAGE_GRAPH_REQUIRE_BROWSER=1, as CI sets).
browser:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "Chromium not installed (apt-get install chromium): browser tests will skip"; \
	  exit 0; fi; \
	  echo "Installing Chromium (Debian package) for the dashboard's browser tests..."; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -q >/dev/null 2>&1 && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "Chromium could not be installed: browser tests will skip"; }

# pytest exits 5 when it collected no test: that is a broken suite, not a pass.
test: $(STAMP) browser
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check lineage_graph tests benchmarks
	$(BIN)/mypy lineage_graph

contract: $(STAMP)
	$(BIN)/lineage-graph api export

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
