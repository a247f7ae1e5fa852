"""Strategies: who proposes each trial, the LLM, a classical optimizer, or both.

An LLM strategy is a backbone and a policy preset (:mod:`agenthpo.policy`, whose table says
what each preset does); ``policy=`` (or the task file's ``policy: {preset: ...}``) picks
another preset or overrides its fields.

=============  ===============================================================================
``agent``      the backbone (:class:`~agenthpo.backbone.Backbone`) and the ``agent`` preset:
               every trial from the LLM (the AgentHPO paper's method); the backbone steps in
               only when an answer is unusable (invalid after the repair rounds, a
               duplicate, an LLM error)
``hybrid-tpe`` the backbone and the ``hybrid-tpe`` preset (the default): the LLM proposes
               part of the trials, the backbone the others and learns from every trial; the
               LLM's history marks which trials the backbone proposed and how they went.
               The name is older than the backbone: ``make_sampler(..., backbone="tpe")``
               gives the TPE-backed original
``centaur``    CMA-ES and the ``centaur`` preset: CMA-ES runs every trial; on the LLM's turns
               it sees CMA-ES's proposal, its mean and step size and the top configurations,
               and may keep or override the proposal (categorical parameters are sampled at
               random by CMA-ES, and chosen by the LLM on its turns)
``backbone``   the backbone alone (:class:`agenthpo.backbone.Backbone`: GP where it fits, TPE
               or CMA-ES where it does not), no LLM
``auto``       OptunaHub AutoSampler's published rule (:func:`agenthpo.backbone.auto_sampler`),
               no LLM: a baseline
``tpe``        Optuna's TPE sampler (its defaults), no LLM
``random``     Optuna's random sampler, no LLM
``cmaes``      Optuna's CMA-ES sampler, no LLM
``gp``         Optuna's Gaussian-process sampler, no LLM (needs PyTorch, which the
               ``agenthpo[local]`` extra installs)
=============  ===============================================================================

Example:
    >>> from agenthpo.strategies import make_sampler
    >>> type(make_sampler("tpe", seed=0)).__name__
    'TPESampler'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

from optuna.samplers import BaseSampler, CmaEsSampler, RandomSampler, TPESampler

from agenthpo._seeding import seeded_per_trial
from agenthpo.agent.prompts import TaskContext
from agenthpo.agent.screen import Screen
from agenthpo.backbone import Backbone, auto_sampler
from agenthpo.errors import AgentHPOError
from agenthpo.llm import LLMClient
from agenthpo.policy import (
    STRATEGY_PRESETS,
    LLMPolicy,
    Preset,
    from_legacy_options,
    get_preset,
)
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from agenthpo.task import StrategyName

__all__ = [
    "CLASSICAL",
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "STRATEGY_PRESETS",
    "make_sampler",
    "uses_llm",
]

STRATEGIES: tuple[str, ...] = get_args(StrategyName)
CLASSICAL: tuple[str, ...] = ("backbone", "auto", "tpe", "random", "cmaes", "gp")
DEFAULT_STRATEGY = "hybrid-tpe"


def uses_llm(strategy: str) -> bool:
    """Whether a strategy asks an LLM at all."""
    return strategy not in CLASSICAL


def _check(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise AgentHPOError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


def classical_sampler(strategy: str, *, seed: int | None = None) -> BaseSampler:
    """The plain Optuna sampler of a classical strategy."""
    _check(strategy)
    # Seeded: reseeded before each trial from (seed, trial number), so that workers and
    # restarts sharing the seed draw distinct streams (see agenthpo._seeding).
    if strategy == "backbone":
        return Backbone(seed=seed)
    if strategy == "auto":
        return auto_sampler(seed=seed)
    if strategy == "tpe":
        return seeded_per_trial(TPESampler, seed)
    if strategy == "random":
        return seeded_per_trial(RandomSampler, seed)
    if strategy == "cmaes":
        return seeded_per_trial(CmaEsSampler, seed, warn_independent_sampling=False)
    if strategy == "gp":
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            raise AgentHPOError("the gp strategy needs PyTorch: pip install 'agenthpo[local]'")
        from optuna.samplers import GPSampler

        return seeded_per_trial(GPSampler, seed)
    raise AgentHPOError(f"{strategy!r} is not a classical strategy")


def make_sampler(
    strategy: str = DEFAULT_STRATEGY,
    *,
    llm: LLMClient | None = None,
    space: Space | None = None,
    context: TaskContext | None = None,
    seed: int | None = None,
    hidden_metrics: Iterable[str] = (),
    policy: LLMPolicy | Preset | str | None = None,
    backbone: str = "backbone",
    **legacy: Any,
) -> BaseSampler:
    """The sampler for a strategy.

    Args:
        strategy: A name of :data:`STRATEGIES` (see the module's table).
        llm: The model of an LLM strategy (``None``: resolved at its first proposal).
        space: The search space (``None``: learned from finished trials).
        context: The task's background for the LLM.
        seed: Seeds the sampler.
        hidden_metrics: Stored metrics never shown to the LLM.
        policy: The LLM strategy's policy: a preset name, a
            :func:`~agenthpo.policy.preset` with overrides, or a full
            :class:`~agenthpo.policy.LLMPolicy`; ``None`` takes the strategy's own preset
            (:data:`STRATEGY_PRESETS`). Classical strategies have none and ignore it.
        backbone: The classical sampler under ``agent`` and ``hybrid-tpe``: ``"backbone"``
            (:class:`agenthpo.backbone.Backbone`) or ``"tpe"`` (plain TPE, the backbone
            before it; the benchmarks' older rows keep it). ``centaur`` runs on CMA-ES.
        **legacy: The options before the policy (``llm_share``, ``llm_startup_trials``,
            ``screen_llm``, ...; :data:`~agenthpo.policy.LEGACY_OPTIONS`): applied onto
            the policy for one release, with a :class:`FutureWarning`.

    Example:
        >>> from agenthpo.llm import RandomLLM
        >>> from agenthpo.policy import preset
        >>> hybrid = preset("hybrid", share=0.5)
        >>> sampler = make_sampler("hybrid-tpe", llm=RandomLLM(), policy=hybrid)
        >>> sampler.policy().share
        0.5

    Raises:
        AgentHPOError: Unknown strategy or preset, or one whose dependencies are missing.
    """
    _check(strategy)
    if strategy in CLASSICAL:
        return classical_sampler(strategy, seed=seed)
    if backbone not in ("backbone", "tpe"):
        raise AgentHPOError(f"backbone must be 'backbone' or 'tpe', not {backbone!r}")
    under: BaseSampler
    if strategy == "centaur":
        under = CmaEsSampler(seed=seed, warn_independent_sampling=False)
    else:
        under = Backbone(seed=seed) if backbone == "backbone" else TPESampler(seed=seed)
    chosen = policy if policy is not None else STRATEGY_PRESETS[strategy]
    if isinstance(chosen, str):
        chosen = get_preset(chosen)
    if legacy:
        if isinstance(chosen, LLMPolicy):
            raise TypeError("make_sampler: give a full LLMPolicy or the old options, not both")
        chosen = from_legacy_options(
            chosen, legacy, caller="make_sampler", can_screen=Screen(under).can_judge
        )
    return AgentSampler(
        llm=llm,
        space=space,
        context=context,
        backbone=under,
        policy=chosen,
        seed=seed,
        hidden_metrics=hidden_metrics,
    )
