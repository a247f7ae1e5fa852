"""AgentHPO: an LLM agent that tunes hyperparameters the way an expert would, on Optuna.

Training scripts only need :func:`report` (and :func:`get_config`); importing ``agenthpo``
stays light for them, because the rest of the API is imported on first use.

Example:
    >>> import agenthpo
    >>> agenthpo.report(step=1, val_accuracy=0.91)  # doctest: +SKIP
    @@agenthpo {"step": 1, "metrics": {"val_accuracy": 0.91}}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agenthpo._version import __version__
from agenthpo.reporter import get_config, report

if TYPE_CHECKING:
    from agenthpo.errors import AgentHPOError, LLMError, SpaceError, TaskError
    from agenthpo.policy import LLMPolicy, preset
    from agenthpo.sampler import AgentSampler
    from agenthpo.space import Space
    from agenthpo.study import create_study
    from agenthpo.task import Task, TaskContext, load_task, task_from_dict
    from agenthpo.tuner import RunSummary, Tuner

_LAZY = {
    "AgentHPOError": "agenthpo.errors",
    "AgentSampler": "agenthpo.sampler",
    "LLMError": "agenthpo.errors",
    "LLMPolicy": "agenthpo.policy",
    "RunSummary": "agenthpo.tuner",
    "Space": "agenthpo.space",
    "SpaceError": "agenthpo.errors",
    "Task": "agenthpo.task",
    "TaskContext": "agenthpo.task",
    "TaskError": "agenthpo.errors",
    "create_study": "agenthpo.study",
    "Tuner": "agenthpo.tuner",
    "load_task": "agenthpo.task",
    "task_from_dict": "agenthpo.task",
    "preset": "agenthpo.policy",
}

__all__ = [
    "AgentHPOError",
    "AgentSampler",
    "LLMError",
    "LLMPolicy",
    "RunSummary",
    "Space",
    "SpaceError",
    "Task",
    "TaskContext",
    "TaskError",
    "Tuner",
    "__version__",
    "create_study",
    "get_config",
    "load_task",
    "preset",
    "report",
    "task_from_dict",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agenthpo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
