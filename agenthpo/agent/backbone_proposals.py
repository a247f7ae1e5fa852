"""The backbone's own proposals under the agent: scheduled turns, fallbacks, and the
proposal the LLM may override (``show_backbone``), each with the backbone's own reason.

Example:
    >>> from optuna.samplers import TPESampler
    >>> from agenthpo.agent.backbone_proposals import BackboneProposals
    >>> BackboneProposals(TPESampler(seed=0)).name
    'TPESampler'
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial

from agenthpo import _keys, _optuna
from agenthpo._seeding import reseed, trial_seed
from agenthpo._text import one_line
from agenthpo.agent.explain import cmaes_state, explain
from agenthpo.agent.failures import failure_regions, region_of, step_out
from agenthpo.agent.history import trial_views
from agenthpo.agent.prompts import backbone_note
from agenthpo.agent.proposer import Proposer
from agenthpo.agent.recorder import RATIONALE_ATTR_MAX, Recorder
from agenthpo.space import Space

__all__ = ["REDRAWS", "BackboneProposals"]

_logger = logging.getLogger("agenthpo")

REDRAWS = 10
"""Draws of the backbone beyond the first while it repeats a tried configuration."""


class BackboneProposals:
    """The backbone's proposals for the trials the agent leaves to it.

    Args:
        backbone: The study's classical sampler.
        view: The study as the backbone reads it (after a revision of the space, its trials
            relabelled: :func:`agenthpo._optuna.relabelled_study`); the study itself by
            default.
    """

    def __init__(
        self, backbone: BaseSampler, *, view: Callable[[Study], Study] | None = None
    ) -> None:
        self._backbone = backbone
        self._view = view

    def _seen(self, study: Study) -> Study:
        return study if self._view is None else self._view(study)

    @property
    def name(self) -> str:
        """The backbone's class name, as rationales and logs name it."""
        return type(self._backbone).__name__

    def relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """The backbone's own relative proposal, within ``search_space``; may be partial (TPE
        proposes nothing relative by default, CMA-ES leaves categoricals out)."""
        study = self._seen(study)
        space = {
            name: dist
            for name, dist in self._backbone.infer_relative_search_space(study, trial).items()
            if name in search_space
        }
        if not space:
            return {}
        proposal = self._backbone.sample_relative(study, trial, space)
        return {
            name: value
            for name, value in proposal.items()
            if name in search_space and _optuna.contains(search_space[name], value)
        }

    def complete(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
        proposal: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A value for every parameter of ``search_space`` from the backbone: its relative
        proposal completed by its ``sample_independent`` (Optuna's relative contract)."""
        study = self._seen(study)
        if proposal is None:
            proposal = self.relative(study, trial, search_space)
        return {
            name: proposal[name]
            if name in proposal
            else self._backbone.sample_independent(study, trial, name, dist)
            for name, dist in search_space.items()
        }

    def fresh(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
        space: Space,
        *,
        seed: int | None,
        first: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The backbone's proposal, drawn again while it equals a finished or running trial's.

        Each configuration is claimed like an LLM proposal, so two workers that draw the
        same one meanwhile see each other. After :data:`REDRAWS` identical draws (a small
        space nearly exhausted) the last one is kept. ``first``: the relative proposal of
        the first draw, when it was drawn already (:meth:`relative`, shown to the LLM).
        """
        study = self._seen(study)
        config = self.complete(study, trial, search_space, first)
        for attempt in range(1, REDRAWS + 1):
            rival = Proposer.claim(study, trial, config, space, tolerance=0.0)
            if rival is None:
                break
            _logger.info(
                "trial %d: %s drew trial #%d's configuration again; drawing anew",
                trial.number,
                self.name,
                rival,
            )
            base = random.randrange(2**32) if seed is None else seed
            reseed(self._backbone, trial_seed(base, trial.number, attempt))
            config = self.complete(study, trial, search_space)
        return config

    def explained(
        self, study: Study, trial: FrozenTrial, config: dict[str, Any], why: str
    ) -> dict[str, Any]:
        """Stores the backbone's own reason for ``config`` as the trial's rationale (see
        :func:`~agenthpo.agent.explain.explain`), with ``why`` it was the backbone's trial."""
        study = self._seen(study)
        suffix = f" ({why})" if why else ""
        limit = max(80, RATIONALE_ATTR_MAX - len(suffix))
        text = explain(self._backbone, study, trial, config, max_chars=limit) + suffix
        Recorder.store(study, trial, {_keys.RATIONALE: one_line(text, RATIONALE_ATTR_MAX)})
        return config

    def out_of_failures(
        self, study: Study, trial: FrozenTrial, config: dict[str, Any], space: Space
    ) -> tuple[dict[str, Any], str]:
        """``config`` moved out of every region where earlier runs diverged, timed out or
        crashed (:func:`~agenthpo.agent.failures.step_out`), and what moved (empty: nothing).

        The backbone's samplers learn nothing from a failed trial (TPE and GP leave failed
        trials out), so without this they keep proposing where runs fail.
        """
        trials = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number]
        regions = failure_regions(trial_views(trials), space)
        moves: list[str] = []
        for _ in range(len(regions)):
            region = region_of(config, regions)
            if region is None:
                break
            stepped = step_out(config, region, space)
            if stepped is None:
                break
            moved, bound = stepped
            numbers = ", ".join(f"#{n}" for n in region.trials[-3:])
            moves.append(
                f"{bound.name} {_fmt(config[bound.name])} -> {_fmt(moved[bound.name])},"
                f" out of where {numbers} {region.cause}"
            )
            config = moved
        if moves:
            _logger.info("trial %d: %s", trial.number, "; ".join(moves))
        return config, "; ".join(moves)

    def note(self, study: Study, proposal: dict[str, Any]) -> str:
        """The backbone's proposal (and CMA-ES's state) in words, for the LLM to keep or
        override (:func:`~agenthpo.agent.prompts.backbone_note`)."""
        study = self._seen(study)
        state = cmaes_state(self._backbone, study) if proposal else None
        described = state.describe() if state is not None else ""
        return backbone_note(self.name, proposal, described)


def _fmt(value: Any) -> str:
    return format(value, ".3g") if isinstance(value, float) else str(value)
