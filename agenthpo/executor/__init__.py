"""How a trial runs: a command (argv list) or a Python function.

Every executor takes a configuration and returns a :class:`TrialResult` with the final
metrics, the learning curve, the exit status, and the tails of stdout and stderr.

Example:
    >>> from agenthpo.executor import FunctionExecutor
    >>> def objective(config, report):
    ...     report(step=0, loss=(config["x"] - 2) ** 2)
    ...     return (config["x"] - 2) ** 2
    >>> FunctionExecutor(objective, isolate=False).run({"x": 1.0}, trial_number=0).metrics
    {'loss': 1.0, 'value': 1.0}
"""

from __future__ import annotations

from agenthpo.executor._base import Executor, ReportCallback, StartCallback, TrialResult
from agenthpo.executor._command import CommandExecutor
from agenthpo.executor._function import FunctionExecutor

__all__ = [
    "CommandExecutor",
    "Executor",
    "FunctionExecutor",
    "ReportCallback",
    "StartCallback",
    "TrialResult",
]
