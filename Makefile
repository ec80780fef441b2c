# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export REPRKIT_DATA ?= $(abspath ../shared/data)

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: the CPU wheel on disk; an open range could pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[graph]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[graph,text,recsys,image,dev,ray]'
	touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(BIN)/reprkit coldbrew run --dataset cora --profile paper --seeds 0,1 --out runs/demo
	@echo "report: runs/demo/results.md"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check src tests  # README code keeps its aligned comments

clean:
	rm -rf $(VENV) runs build src/*.egg-info
