# The two commands of the README: `make run` (the web app) and `make test`. Both set up .venv/ when missing.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test setup browser mutation

run: $(STAMP)
	$(PY) app.py

test: $(STAMP) browser
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

setup: $(STAMP)

# torch first and pinned: pip then takes the CPU wheel on disk instead of a CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium (Playwright's own browser download does not work offline).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; fi; }

# Mutation testing, not part of `make test`: mutmut 3 (config in pyproject.toml) runs, per mutant, the fast tests
# covering the mutated function. One core, 10-15 minutes for the default seeded sample of 70 mutants per stage
# (answer, retrieval, indexer, ingest); MUTATION_SAMPLE=0 runs every mutant (hours), STAGES=answer picks stages.
# The table and the surviving mutants, with why each is left, are in docs/MUTATION.md.
MUTATION_SAMPLE ?= 70
MUTATION_SEED ?= 13
STAGES ?= answer retrieval indexer ingest
mutation: $(STAMP)
	$(PY) -m pip install -q -e '.[test,mutation]'
	$(PY) scripts/mutation_report.py --sample $(MUTATION_SAMPLE) --seed $(MUTATION_SEED) --stages $(STAGES)
