"""Suite 3: small real training runs in the AgentHPO paper's families (CPU-sized).

Not built yet: :func:`tasks` returns no task, so ``--suite real`` is empty.
"""

from __future__ import annotations

from benchmarks.tasks import Task

__all__ = ["tasks"]


def tasks() -> list[Task]:
    """The real training tasks (none yet)."""
    return []
