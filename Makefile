# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
NPM_STAMP := node_modules/.installed-stamp

.PHONY: demo test lint typecheck unit browser-deps screenshots bench bench-deps clean assets

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[embedded,test]'
	touch $@

## Serve the demo site on http://127.0.0.1:$(PORT) (default 8000; make demo PORT=8080) with the embedded chDB store.
PORT ?= 8000
demo: $(STAMP)
	$(VENV)/bin/kruimel demo --port $(PORT)

## Lint, type-check and run every test (unit, integration, real browser).
# The browser tests run in a pytest process of their own: Playwright's sync API keeps an event
# loop running for the whole session, which the asyncio tests cannot share.
test: $(STAMP) browser-deps lint typecheck
	$(PY) -m pytest --ignore=tests/browser --cov --cov-report=term
	$(PY) -m pytest tests/browser

## Fast feedback: every test except the real-browser ones and those marked slow.
unit: $(STAMP) $(NPM_STAMP)
	$(PY) -m pytest --ignore=tests/browser -m "not slow and not browser"

lint: $(STAMP) $(NPM_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check consent analytics kruimel tests bench examples
	$(VENV)/bin/lint-imports
	npx --no-install eslint static/banner/src static/banner/build.mjs eslint.config.js

## The browser scripts (static/banner/*.js, .gz, .br) from static/banner/src/ and
## kruimel/base/shared.json, with esbuild. Commit the result: Python users never need Node.
assets: $(NPM_STAMP)
	node static/banner/build.mjs

# esbuild and eslint, pinned in package.json / package-lock.json.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## Installs Debian's Chromium and the npm packages the browser tests load.
browser-deps:
	bash .ci/browser-deps

screenshots: $(STAMP) browser-deps
	$(PY) bench/screenshots.py

## wrk drives bench/ingest.py (its Python client stands in where wrk cannot be installed);
## bench/banner_load.py loads the peers' banners from bench/peers (npm, exact versions, the lock).
bench-deps: browser-deps
	command -v wrk >/dev/null || apt-get install -y -q wrk || echo "no wrk: bench/ingest.py uses its Python client"
	bash .ci/bench-peers

# BENCH_ARGS=--quick: the middleware and ingestion benchmarks in about a minute each, the fuzz
# and the kill cycles shortened too (a quick run prints only; bench/results/ keeps full runs).
bench: $(STAMP) bench-deps
	$(PY) bench/middleware.py $(BENCH_ARGS)
	$(PY) bench/ingest.py $(BENCH_ARGS)
	$(PY) bench/summary.py
	$(PY) bench/disk.py
	$(PY) bench/fuzz.py $(BENCH_ARGS)
	$(PY) bench/durability.py $(BENCH_ARGS)
	$(PY) bench/banner_load.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist build
