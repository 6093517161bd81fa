# The two set-up commands: `make demo` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
# test files run in this many processes (pytest-xdist, one file per process at a time): most of the
# suite's wall time is Ray starting and waiting, not arithmetic, so 2 workers fit a 2-core machine
TEST_WORKERS ?= 2
BIN := $(VENV)/bin
STAMP := $(VENV)/.semiemo-installed
DEV_STAMP := $(VENV)/.semiemo-dev-installed

.PHONY: demo test test-slow bench install dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build on CPU machines.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install $(TORCH_SPEC)
	$(BIN)/pip install -e .
	touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install -e ".[dev]"
	touch $@

install: $(STAMP)
dev: $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/semiemo demo

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -m "not slow" -q --durations=15 -n $(TEST_WORKERS) --dist loadfile

test-slow: $(DEV_STAMP)
	$(BIN)/python -m pytest -m slow -q

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info platform/*.egg-info
