"""Shared fixtures: small tasks and scripted LLM answers."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

# pytest-xdist starts its workers with COLUMNS=80 and LINES=24 set, and Rich fixes a console's
# size from them when the console is made (the CLI's are made on import): a test that runs
# the CLI with a wider COLUMNS would still get 80 columns. A plain pytest run sets neither.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)

# One BLAS/OpenMP thread per process (as the benchmarks run), set before torch or numpy load:
# pytest-xdist runs a worker per core, and torch (Optuna's GP) starting a thread per core in
# each worker oversubscribes them; its threads then spin against each other and the GP tests
# run many times slower. Subprocesses that tests start inherit it.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from agenthpo.llm import Message  # noqa: E402
from agenthpo.space import Space  # noqa: E402
from agenthpo.task import Task, task_from_dict  # noqa: E402

# One decoding thread: two threads on a busy 2-core machine made llama.cpp 100x slower.
os.environ.setdefault("AGENTHPO_LLAMA_THREADS", "1")

QUADRATIC = """
def objective(config, report):
    x = config["x"]
    bonus = {"a": 0.0, "b": 1.0}[config["kind"]]
    for step in range(3):
        report(step=step, loss=(x - 2) ** 2 + bonus + 1.0 / (step + 1))
    return {"loss": (x - 2) ** 2 + bonus, "test_loss": 123.0}
"""


@pytest.fixture(autouse=True)
def _logging_restored() -> Any:
    """The ``agenthpo`` logger as it was before each test: the CLI run in-process sets its
    level (WARNING without --verbose) and adds a handler, and a later test in the same
    worker reading its INFO records with caplog would otherwise see none of them. Optuna's
    verbosity too, which the CLI sets for its process."""
    import optuna

    logger = logging.getLogger("agenthpo")
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    verbosity = optuna.logging.get_verbosity()
    yield
    optuna.logging.set_verbosity(verbosity)
    logger.setLevel(level)
    logger.handlers[:] = handlers
    logger.propagate = propagate


def answer(config: dict[str, Any], rationale: str = "try the middle of the range") -> str:
    """A well-formed LLM answer."""
    return json.dumps({"config": config, "rationale": rationale})


@pytest.fixture
def small_space() -> Space:
    return Space.from_dict(
        {
            "x": {"type": "float", "low": -5.0, "high": 5.0},
            "kind": {"type": "categorical", "choices": ["a", "b"]},
        }
    )


@pytest.fixture
def quadratic_task(tmp_path: Path) -> Task:
    """A function task (isolated in a child process) whose optimum is x=2, kind=a."""
    (tmp_path / "quad.py").write_text(QUADRATIC)
    return task_from_dict(
        {
            "name": "quad",
            "description": "a quadratic bowl",
            "objective": {"metric": "loss", "direction": "minimize"},
            "hidden_metrics": ["test_loss"],
            "space": {
                "x": {"type": "float", "low": -5.0, "high": 5.0},
                "kind": ["a", "b"],
            },
            "n_trials": 4,
            "function": "quad:objective",
            "strategy": "agent",
        },
        base_dir=tmp_path,
    )


def responder(
    fn: Callable[[Sequence[Message], dict[str, Any] | None], str],
) -> Callable[[Sequence[Message], dict[str, Any] | None], str]:
    return fn


@pytest.fixture
def warnings_seen() -> Iterator[list[str]]:
    """Warnings logged on the "agenthpo" logger (collected directly, whatever propagates)."""
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("agenthpo")
    handler = _Collect(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
