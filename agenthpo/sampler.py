"""``AgentSampler``: the agent as an Optuna sampler.

It proposes the whole configuration in ``sample_relative`` from an LLM (the paper's Creator),
validated against the space before it is returned (Optuna would silently replace an invalid
relative value). When the LLM fails, or its answer stays invalid or repeats a tried
configuration, the backbone sampler (TPE by default) proposes instead and the reason is
recorded. The backbone also serves ``sample_independent`` and learns from every trial.

On each trial the sampler stores as ``user_attrs`` (shown by optuna-dashboard): the
rationale, who proposed (``llm`` or ``backbone``), the model, tokens, latency, and the
fallback's reason.

Example:
    >>> import optuna
    >>> from agenthpo import AgentSampler
    >>> sampler = AgentSampler(llm=my_llm, seed=0)  # doctest: +SKIP
    >>> study = optuna.create_study(sampler=sampler)  # doctest: +SKIP
    >>> objective = lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2  # doctest: +SKIP
    >>> study.optimize(objective, n_trials=10)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys
from agenthpo.agent.creator import Creator, Proposal, ProposalFailed
from agenthpo.agent.history import render_history, trial_views
from agenthpo.agent.prompts import TaskContext
from agenthpo.llm import LLMClient, resolve_llm
from agenthpo.space import Space

__all__ = ["AgentSampler"]

_logger = logging.getLogger("agenthpo")

_RATIONALE_ATTR_MAX = 480


class AgentSampler(BaseSampler):
    """An Optuna sampler whose proposals come from an LLM agent, with a classical backbone.

    Args:
        llm: The model; ``None`` picks one as the CLI does (:func:`agenthpo.llm.resolve_llm`)
            at the first proposal.
        space: The search space. ``None`` infers it from finished trials (like multivariate
            TPE), so the first trial of a fresh study comes from the backbone.
        context: The task's background (description, dataset and model facts, metric, goal).
            ``None`` describes an anonymous study; its direction is read from the study.
        backbone: The sampler for fallbacks and ``sample_independent``; TPE by default.
        seed: Seeds the backbone and, where the LLM supports it, its sampling.
        hidden_metrics: Stored metrics never shown to the LLM (e.g. ``test_accuracy``).
        temperature: LLM sampling temperature.
        repair_rounds: Follow-up calls that send an invalid answer's problems back.
        duplicate_tolerance: Proposals closer than this (unit-cube distance) to a tried or
            running configuration are duplicates.
    """

    def __init__(
        self,
        *,
        llm: LLMClient | None = None,
        space: Space | None = None,
        context: TaskContext | None = None,
        backbone: BaseSampler | None = None,
        seed: int | None = None,
        hidden_metrics: Iterable[str] = (),
        temperature: float = 0.7,
        repair_rounds: int = 1,
        duplicate_tolerance: float = 1e-3,
    ) -> None:
        self._llm = llm
        self._space = space
        self._context = context
        self._seed = seed
        self._backbone = backbone if backbone is not None else TPESampler(seed=seed)
        self._hidden_metrics = tuple(hidden_metrics)
        self._temperature = temperature
        self._repair_rounds = repair_rounds
        self._duplicate_tolerance = duplicate_tolerance
        self._intersection = IntersectionSearchSpace()
        self.llm_note: str | None = None

    # -- the LLM, built lazily so that an unpickled sampler rebuilds its client -------------
    @property
    def llm(self) -> LLMClient:
        """The LLM client (resolved on first use when none was given)."""
        if self._llm is None:
            self._llm, self.llm_note = resolve_llm(None)
            _logger.info(self.llm_note)
        return self._llm

    @property
    def backbone(self) -> BaseSampler:
        """The classical sampler behind the agent."""
        return self._backbone

    def reseed_rng(self) -> None:
        """Reseeds the backbone (Optuna calls this for each worker process)."""
        self._backbone.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """The task's space, or the intersection of finished trials' spaces."""
        if self._space is not None:
            return self._space.to_optuna()
        return {
            name: dist
            for name, dist in self._intersection.calculate(study).items()
            if not dist.single()
        }

    def sample_relative(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        """Asks the agent for the whole configuration; falls back to the backbone."""
        if not search_space:
            return {}
        fixed = trial.system_attrs.get("fixed_params") or {}
        if all(name in fixed for name in search_space):
            return {}
        space = self._space if self._space is not None else Space.from_optuna(search_space)
        context = self._context or TaskContext(
            name=study.study_name,
            direction="maximize"
            if study.direction == optuna.study.StudyDirection.MAXIMIZE
            else "minimize",
        )
        trials = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number]
        views = trial_views(trials, hidden_metrics=self._hidden_metrics, metric=context.metric)
        history = render_history(
            views,
            metric=context.metric,
            direction=context.direction,
            space=space,
            hidden_metrics=self._hidden_metrics,
        )
        tried = [(t.number, t.params) for t in trials if t.params]
        creator = Creator(
            llm=self.llm,
            space=space,
            context=context,
            repair_rounds=self._repair_rounds,
            temperature=self._temperature,
            duplicate_tolerance=self._duplicate_tolerance,
        )
        seed = None if self._seed is None else self._seed + trial.number
        reference = _best(trials, context.direction)
        try:
            proposal = creator.propose(history, tried=tried, seed=seed, reference=reference)
        except ProposalFailed as failed:
            _logger.info(
                "trial %d: the LLM gave no usable proposal (%s); the backbone proposes",
                trial.number,
                failed,
            )
            self._store(study, trial, self._fallback_attrs(failed))
            return self._backbone_relative(study, trial)
        self._store(study, trial, self._proposal_attrs(proposal))
        _logger.info(
            "trial %d: the LLM proposed %s: %s", trial.number, proposal.config, proposal.rationale
        )
        return {name: proposal.config[name] for name in search_space}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """Delegates to the backbone."""
        return self._backbone.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Delegates to the backbone."""
        self._backbone.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Delegates to the backbone."""
        self._backbone.after_trial(study, trial, state, values)

    # -- helpers ----------------------------------------------------------------------------
    def _backbone_relative(self, study: Study, trial: FrozenTrial) -> dict[str, Any]:
        space = self._backbone.infer_relative_search_space(study, trial)
        if not space:
            return {}
        return self._backbone.sample_relative(study, trial, space)

    def _proposal_attrs(self, proposal: Proposal) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            _keys.PROPOSED_BY: "llm",
            _keys.RATIONALE: _clip(proposal.rationale, _RATIONALE_ATTR_MAX),
            _keys.LLM_MODEL: self.llm.name,
            _keys.LLM_PROMPT_TOKENS: proposal.prompt_tokens,
            _keys.LLM_COMPLETION_TOKENS: proposal.completion_tokens,
            _keys.LLM_LATENCY_S: round(proposal.latency_s, 3),
            _keys.LLM_CALLS: len(proposal.calls),
        }
        if proposal.repaired:
            attrs[_keys.LLM_REPAIRED] = _clip("; ".join(proposal.repaired), _RATIONALE_ATTR_MAX)
        return attrs

    def _fallback_attrs(self, failed: ProposalFailed) -> dict[str, Any]:
        return {
            _keys.PROPOSED_BY: "backbone",
            _keys.FALLBACK_REASON: _clip(f"{failed.kind}: {failed.detail}", _RATIONALE_ATTR_MAX),
            _keys.RATIONALE: f"{type(self._backbone).__name__} proposed (LLM fallback:"
            f" {failed.kind})",
            _keys.LLM_MODEL: self.llm.name,
            _keys.LLM_PROMPT_TOKENS: sum(c.prompt_tokens for c in failed.calls),
            _keys.LLM_COMPLETION_TOKENS: sum(c.completion_tokens for c in failed.calls),
            _keys.LLM_LATENCY_S: round(sum(c.latency_s for c in failed.calls), 3),
            _keys.LLM_CALLS: len(failed.calls),
        }

    @staticmethod
    def _store(study: Study, trial: FrozenTrial, attrs: dict[str, Any]) -> None:
        for key, value in attrs.items():
            study._storage.set_trial_user_attr(trial._trial_id, key, value)


def _best(trials: Sequence[FrozenTrial], direction: str) -> tuple[int, dict[str, Any]] | None:
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    if not done:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    best = min(done, key=lambda t: sign * t.values[0])
    return best.number, dict(best.params)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
