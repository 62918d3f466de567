# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# The first run makes .tools/ (uv, pinned) and .venv/ (everything in uv.lock).

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint bench setup web clean bytecode

setup: $(VENV)/.synced web bytecode

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled at install time: where PYTHONDONTWRITEBYTECODE is set, Python would
# otherwise compile every imported library from source at each start (about 2 s of CPU for
# each `vigil` command, more than half its start-up; docs/benchmarks.md, Triage).
$(VENV)/.synced: pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --frozen --all-extras --compile-bytecode --python $(PYTHON)
	touch $@

# Vigil's own modules too (an editable install is not compiled): about a tenth of a second of
# every command's start-up. Cheap to rerun: only changed files are compiled again.
bytecode: $(VENV)/.synced
	$(VENV)/bin/python -m compileall -q src

# The web workspace's front-end: libraries from the npm registry (package-lock.json), built
# into the package's static files (git-ignored); nothing is loaded from a CDN.
NPM ?= npm
WEB := src/vigil/server/web
WEB_BUILT := $(WEB)/static/manifest.json

web: $(WEB_BUILT)

node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --ignore-scripts --no-audit --no-fund

$(WEB_BUILT): node_modules/.package-lock.json $(WEB)/build.mjs $(wildcard $(WEB)/assets/*)
	node $(WEB)/build.mjs

demo: setup
	$(VENV)/bin/vigil demo

# mypy on the whole package: engines, workflows, interfaces (docs/architecture.md).

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src/vigil

test: lint web bytecode
	$(VENV)/bin/pytest -n 2 --dist loadgroup

bench: $(VENV)/.synced bytecode
	$(VENV)/bin/python -m benchmarks all

clean:
	rm -rf $(VENV) $(TOOLS) node_modules $(WEB)/static
