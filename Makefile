# The README's two commands: `make lab` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=
# Jupyter refuses to run as root (containers, CI) unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# Notebook-level parallelism for nbmake (2 cores here; more only on bigger machines).
JOBS ?= 2

.PHONY: lab test install lint clean assignments bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's metadata changed (a second `make` does nothing here).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade --quiet "pip>=23"
	$(BIN)/python -m pip install --progress-bar off -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --notebook-dir=lectures $(ROOT_FLAG) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Library tests, the grading round trips, and every lecture and solution notebook (nbmake), in quick
# mode. One thread per worker: two workers with two threads each would oversubscribe 2 cores.
# Tests are handed out one by one, the grading round trips first (tests/conftest.py).
TEST_ENV := PATH="$(CURDIR)/$(BIN):$$PATH" EEP596GAN_QUICK=1 MPLBACKEND=Agg OMP_NUM_THREADS=1
test: $(STAMP) lint
	$(TEST_ENV) $(BIN)/python -m pytest -n $(JOBS) --dist load \
		--nbmake --nbmake-timeout=600 --durations=25 tests lectures solutions

# Regenerate the student versions from solutions/ (instructors only).
assignments: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python tools/build_assignment_notebooks.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python tools/generate_assignments.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_trainer.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
