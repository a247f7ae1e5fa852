"""Errors a user can cause, each with a message that says what to fix.

The CLI prints these without a traceback and exits with status 2.

Example:
    >>> from agenthpo.errors import TaskError
    >>> str(TaskError("space.lr.low: must be below high (got low=1, high=0.1)"))
    'space.lr.low: must be below high (got low=1, high=0.1)'
"""

from __future__ import annotations

__all__ = [
    "AgentHPOError",
    "ExecutorError",
    "LLMConfigError",
    "LLMError",
    "LLMRequiredError",
    "LLMResponseError",
    "LLMUnavailableWarning",
    "NoResultError",
    "SpaceError",
    "SpaceRevisionWarning",
    "StorageError",
    "TaskError",
]


class AgentHPOError(Exception):
    """Base class of every error AgentHPO raises for a user's mistake or an outside fault."""


class NoResultError(AgentHPOError):
    """A study holds no result to give yet (no trial completed): no mistake in the input.
    The CLI exits 1 for it, as for a run whose trials all failed, not 2."""


class SpaceError(AgentHPOError):
    """A search space definition is impossible (bad bounds, empty choices, unknown type)."""


class TaskError(AgentHPOError):
    """A task file is missing, unreadable or invalid; the message names the field."""


class StorageError(AgentHPOError):
    """A study's storage cannot be written or read (a full disk, a damaged journal file)."""


class ExecutorError(AgentHPOError):
    """A trial cannot be started at all (missing program, unimportable function)."""


class LLMError(AgentHPOError):
    """An LLM call failed after its retries (dead endpoint, timeout, refused request)."""


class LLMConfigError(LLMError):
    """An LLM spec or provider setting is invalid, or the provider is not installed."""


class LLMResponseError(LLMError):
    """The LLM answered, but the answer is unusable (not JSON, wrong shape)."""


class LLMRequiredError(LLMError):
    """The LLM is required (``require_llm``) but could not run; nothing fell back to the
    backbone."""


class LLMUnavailableWarning(UserWarning):
    """The LLM could not run, so the backbone proposed the trials it would have proposed.

    Issued once per sampler, with the cause; ``require_llm=True`` makes it an
    :class:`LLMRequiredError` instead.
    """


class SpaceRevisionWarning(UserWarning):
    """A revision of the search space cannot take full effect in this study.

    Issued once per parameter and sampler when a revision widens a range beyond the one an
    objective suggests over itself (``trial.suggest_float("lr", 1e-5, 0.1)``): the sampler
    cannot propose beyond it. A narrowed range holds (the sampler proposes inside it) and
    is not warned about. Suggest from :meth:`agenthpo.AgentSampler.space_in_force` to
    follow revisions.
    """
