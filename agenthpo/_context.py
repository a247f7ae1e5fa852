"""The background the agent reads about a task: what is trained, on what, and the goal.

:class:`TaskContext` sits beside :class:`agenthpo.task.Task` (which re-exports it and builds
one with :meth:`agenthpo.task.Task.context`); the words the LLM reads about it (the goal as
a sentence, the facts as text) are in :mod:`agenthpo.agent.prompts`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Direction", "TaskContext"]

Direction = Literal["maximize", "minimize"]
"""Whether an objective's metric is to be maximized or minimized."""


@dataclass(frozen=True)
class TaskContext:
    """The background the Creator reads: what is trained, on what, and the goal.

    Build it from a task with :meth:`agenthpo.task.Task.context`, and set its objectives
    with :meth:`with_objectives`: the first objective is always the primary ``metric`` and
    ``direction``, and ``objectives`` is empty for a single objective.

    Attributes:
        name: The task's (or study's) name.
        description: What is trained, in the user's words.
        dataset: Facts about the data (a mapping or a text).
        model: Facts about the model (a mapping or a text).
        metric: The primary objective's metric.
        direction: The primary objective's direction.
        objectives: Every objective as ``(metric, direction)`` when there are several (the
            first is ``metric``/``direction``); empty for one objective.

    Example:
        >>> ctx = TaskContext(name="digits").with_objectives([("val_accuracy", "maximize")])
        >>> ctx.metric, ctx.direction, ctx.objectives
        ('val_accuracy', 'maximize', ())
        >>> TaskContext(objectives=(("acc", "maximize"), ("seconds", "minimize"))).metric
        'acc'
    """

    name: str = "study"
    description: str = ""
    dataset: Mapping[str, Any] | str = field(default_factory=dict)
    model: Mapping[str, Any] | str = field(default_factory=dict)
    metric: str = "value"
    direction: Direction = "minimize"
    objectives: tuple[tuple[str, Direction], ...] = ()

    def __post_init__(self) -> None:
        # The first objective is the primary metric (a single one too, so that metric and
        # direction never disagree with it); one objective is stored as none.
        if self.objectives:
            object.__setattr__(self, "metric", self.objectives[0][0])
            object.__setattr__(self, "direction", self.objectives[0][1])
        if len(self.objectives) == 1:
            object.__setattr__(self, "objectives", ())

    def with_objectives(self, objectives: Iterable[tuple[str, Direction]]) -> TaskContext:
        """A copy whose goal is ``objectives``, ``(metric, direction)`` pairs, the first primary.

        Raises:
            ValueError: If ``objectives`` is empty.

        Example:
            >>> ctx = TaskContext(name="mo").with_objectives(
            ...     [("acc", "maximize"), ("seconds", "minimize")])
            >>> ctx.is_multi_objective, ctx.metric
            (True, 'acc')
        """
        goals = tuple((str(metric), direction) for metric, direction in objectives)
        if not goals:
            raise ValueError("with_objectives: name at least one (metric, direction)")
        return dataclasses.replace(self, objectives=goals)

    @property
    def all_objectives(self) -> tuple[tuple[str, Direction], ...]:
        """``(metric, direction)`` of every objective (one, or several for a trade-off)."""
        return self.objectives or ((self.metric, self.direction),)

    @property
    def is_multi_objective(self) -> bool:
        """Whether the goal is a trade-off between several metrics."""
        return len(self.all_objectives) > 1
