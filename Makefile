PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
GRAPHIQL := app/static/graphiql/graphiql.js
AUDIT := tests/graphql_http_audit/node_modules/.package-lock.json

.PHONY: demo test lint typecheck bench schema clean assets lock

# requirements.lock pins every package (`make lock` regenerates it from pyproject.toml), so a
# fresh install is the tested install.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header --quiet -o requirements.lock

# GraphiQL's page is bundled from the npm registry (web/graphiql, pinned by its lock file), so
# /graphql needs nothing from the internet at run time.
$(GRAPHIQL): web/graphiql/package.json web/graphiql/package-lock.json web/graphiql/src/index.jsx
	cd web/graphiql && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

assets: $(GRAPHIQL)

# The graphql-http audit suite (npm, pinned by its lock file) that tests/api/test_graphql_over_http.py
# runs against /graphql.
$(AUDIT): tests/graphql_http_audit/package.json tests/graphql_http_audit/package-lock.json
	cd tests/graphql_http_audit && npm ci --no-audit --no-fund --loglevel=error
	@touch $(AUDIT)

demo: $(STAMP) $(GRAPHIQL)
	$(BIN)/fleetgraph demo --port $(PORT)

lint: $(STAMP) $(GRAPHIQL)
	$(BIN)/ruff check .
	$(BIN)/mypy app schema resolvers loaders migrations kubesim
	$(BIN)/lint-imports
	$(BIN)/deptry .

test: lint $(AUDIT)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/graphql_overhead.py

schema: $(STAMP)
	$(BIN)/fleetgraph export-schema

clean:
	rm -rf $(VENV) .fleetgraph .mypy_cache .ruff_cache app/static/graphiql web/graphiql/node_modules tests/graphql_http_audit/node_modules
