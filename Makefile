# Two commands: `make quickstart` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
# The CPU build of torch (its wheel lies on this machine's disk); an unpinned torch would pull
# several GB of CUDA libraries. Override with `make TORCH_SPEC=torch==2.13.0 ...` elsewhere.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: quickstart test install clean bench bench-readme

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

quickstart: $(VENV)/.installed
	$(VENV)/bin/graphpfm quickstart

test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	# one torch thread per process: tests start subprocesses and worker pools beside pytest,
	# and threads waiting for busy cores cost 7-20x (benchmarks/README.md, Speed)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest -q $(PYTEST_ARGS)

# the tables of benchmarks/README.md, written again from the committed records
bench-readme:
	for r in quick small property; do \
	  $(PY) -m benchmarks.transfer report --summary --out benchmarks/results/transfer-$$r --readme-section transfer-$$r-summary && \
	  $(PY) -m benchmarks.transfer report --out benchmarks/results/transfer-$$r --readme benchmarks/results/transfer-$$r/README.md --readme-section transfer-$$r || exit 1; done
	$(PY) -m benchmarks.transfer compare --out benchmarks/results/transfer-property-bf16 --baseline benchmarks/results/transfer-property --arm motif_pred --readme benchmarks/results/transfer-property-bf16/README.md --readme-section property-bf16
	$(PY) -m benchmarks.node_probe report --summary --out benchmarks/results/node-probe-cora --readme-section node-probe-cora
	$(PY) -m benchmarks.node_probe report --out benchmarks/results/node-probe-cora --readme benchmarks/results/node-probe-cora/README.md --readme-section node-probe-cora

clean:
	rm -rf $(VENV) runs
