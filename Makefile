# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# The first run makes .tools/ (uv, pinned) and .venv/ (everything in uv.lock).

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint bench setup clean

setup: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --python $(PYTHON)
	touch $@

demo: $(VENV)/.synced
	$(VENV)/bin/vigil demo

# mypy on the whole package: engines, workflows, interfaces (docs/architecture.md).

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src/vigil

test: lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup

bench: $(VENV)/.synced
	$(VENV)/bin/python -m benchmarks all

clean:
	rm -rf $(VENV) $(TOOLS)
