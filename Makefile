# raybus developer entry points. Every target creates .venv and installs what it needs, so on a
# fresh machine `make run` and `make test` are the only two commands.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	rm -f $(VENV)/.installed-*
	touch $@

## run: the main job — an embedded cluster with its gateway on http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/raybus up

## lint: ruff and mypy (strict for core, storage, engines, rules)
lint: $(STAMP)
	$(BIN)/ruff check cluster actors gateway tests benchmarks
	$(BIN)/ruff format --check cluster actors gateway tests benchmarks
	$(BIN)/mypy cluster/raybus actors/raybus gateway/raybus

## test: lint, then the unit and integration tiers (not the slow tier)
test: lint
	$(BIN)/python -m pytest -q

## test-all: every tier, slow included
test-all: lint
	$(BIN)/python -m pytest -q -m ''

## bench: the benchmarks (figures go to benchmarks/README.md by hand)
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
