PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
GRAPHIQL := app/static/graphiql/graphiql.js

.PHONY: demo test lint typecheck bench schema clean assets

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# GraphiQL's page is bundled from the npm registry (web/graphiql, pinned by its lock file), so
# /graphql needs nothing from the internet at run time.
$(GRAPHIQL): web/graphiql/package.json web/graphiql/package-lock.json web/graphiql/src/index.jsx
	cd web/graphiql && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

assets: $(GRAPHIQL)

demo: $(STAMP) $(GRAPHIQL)
	$(BIN)/fleetgraph demo --port $(PORT)

lint: $(STAMP) $(GRAPHIQL)
	$(BIN)/ruff check .
	$(BIN)/mypy app schema resolvers loaders migrations kubesim

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/graphql_overhead.py

schema: $(STAMP)
	$(BIN)/fleetgraph export-schema

clean:
	rm -rf $(VENV) .fleetgraph .mypy_cache .ruff_cache app/static/graphiql web/graphiql/node_modules
