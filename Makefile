# lineage-graph: two commands on a fresh machine (Python 3.11+, Java 17, Maven).
#   make run   set up, start a managed Neo4j, build the demo pipeline and serve it on 127.0.0.1:5000
#   make test  set up, start a separate managed test Neo4j and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck contract bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lineage-graph demo

# pytest exits 5 when it collected no test: that is a broken suite, not a pass.
test: $(STAMP)
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
