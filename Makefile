# Recurrent HCC: SBRT vs SBRT+TACE, a re-executable report.
# `make help` lists the targets. Every target bootstraps .venv first
# (pinned by requirements.lock); a second call reinstalls nothing.

SHELL := /bin/bash
PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.lock 2>/dev/null | cut -c1-12)

# Inputs and outputs of a run; override on the command line, e.g.
#   make report DATA=my/cohort.csv AE=my/adverse_events.csv OUT=build-mine
DATA ?= data/cohort.csv
AE ?= data/adverse_events.csv
OUT ?= build
# pytest-xdist workers of `make test` (tests that share a build carry an xdist_group mark).
TEST_WORKERS ?= auto
# Extra papermill parameters, e.g. PARAMS="-p ratio 3 -p caliper 0.1"
PARAMS ?=

export PYTHONPATH := $(CURDIR)
export MPLBACKEND := Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets and what they do
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@rm -f $(VENV)/.installed-*
	@touch $@

.PHONY: venv
venv: $(STAMP) ## Create .venv with the pinned packages (once)

.PHONY: validate
validate: $(STAMP) ## Check DATA and AE against the data dictionary; list every problem (nothing is run)
	$(PY) -m helpers.data.load $(DATA) $(AE)

.PHONY: analysis
analysis: $(STAMP) ## Validate the data and execute the notebooks with papermill into $(OUT)/
	$(PY) -m helpers.pipeline --cohort $(DATA) --adverse-events $(AE) --out $(OUT) $(PARAMS)

.PHONY: report
report: analysis ## Build the report: notebooks, then the manuscript (HTML, PDF, DOCX) in $(OUT)/report/
	$(PY) -m helpers.render --out $(OUT)

.PHONY: test
test: $(STAMP) ## Run the test suite (in parallel: TEST_WORKERS processes, default one per core)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

.PHONY: benchmark
benchmark: $(STAMP) ## Time every step on 10^3..10^6-patient cohorts (MatchIt too, with R) into build-benchmark/; SIZES=1e3,1e4 for a quick look
	$(PY) -m benchmarks.run $(if $(SIZES),--sizes $(SIZES))

.PHONY: lint
lint: $(STAMP) ## Check the code with ruff (rules in pyproject.toml); `make lint FIX=1` applies its safe fixes
	$(PY) -m ruff check $(if $(FIX),--fix) .

.PHONY: data
data: $(STAMP) ## Regenerate the synthetic cohort in data/ (fixed seed; byte-identical)
	$(PY) -m helpers.synthetic --out data

.PHONY: crosscheck
crosscheck: $(STAMP) ## Cross-check matching and survival against R (needs R with survival, MatchIt and cmprsk)
	$(PY) -m pytest -q -m r_crosscheck --run-r

.PHONY: lock
lock: ## Re-pin requirements.lock from requirements.txt (needs the network)
	rm -rf .venv-lock && $(PYTHON_BOOT) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -r requirements.txt
	.venv-lock/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf .venv-lock

.PHONY: clean
clean: ## Remove build output and what a hand-run `quarto render` leaves (keeps .venv)
	rm -rf build _manuscript .quarto site_libs index_files index.typ index.html index.pdf index.docx
