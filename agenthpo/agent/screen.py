"""TPE's verdict on an LLM's proposal: would TPE pick it over its own?

A tiny model's proposals are often the worst configuration of the study so far (7 of the
bundled SmolLM2-135M's 15 on the NAS-Bench-201 tables), and each one it gets takes a trial
from TPE and changes TPE's later path. TPE picks its own proposal from 24 candidates by its
acquisition, ``log l(x) - log g(x)`` from two Parzen estimators (``l`` over the best trials,
``g`` over the rest). The screen makes the LLM's proposal one more candidate: it passes when
TPE's acquisition rates it at least as high as TPE's own proposal for the same trial, and
otherwise TPE's proposal runs, exactly as plain TPE would have run it. A study in which every
proposal is screened out is TPE's own study, trial for trial.

A looser rule (pass when the proposal beats the median of TPE's candidates) let through the
proposals that cost most on the NAS-Bench-201 tables: at trial 13, with 13 trials behind it,
TPE's ratio is nearly flat, and the tiny model's worst-so-far proposals passed it.

This reads TPE's internals (``TPESampler._build_parzen_estimator`` and
``_compute_acquisition_func``, Optuna's ``_split_trials``), unchanged from Optuna 4.0 to 5.0;
where they are missing the screen cannot judge and says so (:func:`tpe_screen` returns
``None`` and logs a warning once).

Example:
    >>> import optuna
    >>> from optuna.distributions import CategoricalDistribution, FloatDistribution
    >>> from agenthpo.agent.screen import tpe_screen
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> def loss(t):
    ...     x, kind = t.suggest_float("x", -5, 5), t.suggest_categorical("kind", ["a", "b"])
    ...     return (x - 2) ** 2 + (0 if kind == "a" else 10)
    >>> study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    >>> study.optimize(loss, n_trials=30)
    >>> space = {"x": FloatDistribution(-5, 5), "kind": CategoricalDistribution(["a", "b"])}
    >>> own = study.ask(space).params  # TPE's own proposal for trial 30
    >>> tpe_screen(study.sampler, study, 30, space, {"x": -3.0, "kind": "b"}, own).passed
    False
    >>> tpe_screen(study.sampler, study, 30, space, {"x": 4.9, "kind": "b"}, own).passed
    True

The second passes though its loss is high: no trial has been near it yet.

TPE's ratio rates regions no trial has visited highly (its prior weighs more in ``l`` than in
``g``: TPE explores that way itself), so a bold proposal can pass where one next to bad
results cannot.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

__all__ = ["OutsideScreen", "ScreenVerdict", "tpe_screen"]

_logger = logging.getLogger("agenthpo")
_warned: list[str] = []


@dataclass(frozen=True)
class ScreenVerdict:
    """TPE's acquisition of the LLM's proposal and of its own (higher is better)."""

    passed: bool
    llm: float
    own: float
    backbone: str = "TPE"  # whose proposal the LLM's was judged against
    judge: str = "TPE"  # "TPE": its density ratio (log l/g); "GP": its log expected improvement

    def describe(self) -> str:
        """One line for a trial's rationale.

        Example:
            >>> ScreenVerdict(passed=False, llm=-0.41, own=0.87).describe()
            "TPE's density ratio rates its own proposal higher: log ratio 0.87 against -0.41"
        """
        theirs = "its own" if self.backbone == self.judge else f"{self.backbone}'s"
        if self.judge == "GP":
            if self.passed:
                return (
                    f"GP's expected improvement rates it at least as high as {theirs}"
                    f" proposal: log EI {self.llm:.2f} against {self.own:.2f}"
                )
            return (
                f"GP's expected improvement rates {theirs} proposal higher: log EI"
                f" {self.own:.2f} against {self.llm:.2f}"
            )
        if self.passed:
            return (
                f"TPE's density ratio rates it at least as high as {theirs} proposal: log"
                f" ratio {self.llm:.2f} against {self.own:.2f}"
            )
        return (
            f"TPE's density ratio rates {theirs} proposal higher: log ratio {self.own:.2f}"
            f" against {self.llm:.2f}"
        )


@dataclass(frozen=True)
class OutsideScreen:
    """TPE's screen of a configuration proposed outside the sampler (an MCP client's).

    ``own`` is TPE's own configuration for the trial, which runs instead when ``verdict``
    says TPE rates it higher; ``verdict`` is ``None`` while TPE cannot judge (its random
    start-up, several objectives). ``attrs`` are the trial's attributes when the proposal
    was screened out (who proposed what, why, and both log ratios), else empty.
    """

    verdict: ScreenVerdict | None
    own: dict[str, Any]
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether the proposal runs (TPE rated it at least as high, or could not judge).

        Example:
            >>> OutsideScreen(verdict=None, own={"x": 1.0}).passed
            True
        """
        return self.verdict is None or self.verdict.passed


def tpe_screen(
    sampler: TPESampler,
    study: Study,
    number: int,
    search_space: Mapping[str, BaseDistribution],
    config: Mapping[str, Any],
    own: Mapping[str, Any],
    backbone: str = "TPE",
) -> ScreenVerdict | None:
    """TPE's verdict on ``config`` against its own proposal ``own`` for trial ``number``
    (or against the proposal of the sampler named ``backbone``, which TPE judges as well).

    ``None`` when TPE cannot judge: while it is still in its random start-up (no model), for
    several objectives, and where Optuna's internals differ from those this was written
    against. The parameters of ``search_space`` that both configurations set are judged.
    """
    names = [n for n, d in search_space.items() if n in config and n in own and not d.single()]
    if not names or len(study.directions) != 1:
        return None
    space = {n: search_space[n] for n in names}
    states = (TrialState.COMPLETE, TrialState.PRUNED)
    trials = [t for t in study.get_trials(deepcopy=False, states=states) if t.number != number]
    if len(trials) < getattr(sampler, "_n_startup_trials", 10):
        return None
    try:
        llm, mine = _acquisition(sampler, study, trials, space, [config, own])
    except (AttributeError, ImportError, TypeError) as exc:  # Optuna's internals moved
        if not _warned:
            _warned.append(str(exc))
            _logger.warning(
                "cannot screen the LLM's proposals with this Optuna version's TPE (%s);"
                " they go unscreened",
                exc,
            )
        return None
    return ScreenVerdict(passed=llm >= mine, llm=llm, own=mine, backbone=backbone)


def _acquisition(
    sampler: TPESampler,
    study: Study,
    trials: list[FrozenTrial],
    space: dict[str, BaseDistribution],
    configs: list[Mapping[str, Any]],
) -> list[float]:
    """TPE's acquisition of each configuration, from the estimators it builds for the next
    trial (deterministic: no random draw)."""
    from optuna.samplers._tpe import sampler as tpe_module

    gamma = getattr(sampler, "_gamma", None) or tpe_module.default_gamma
    split: Any = tpe_module._split_trials
    if "constraints_enabled" in inspect.signature(split).parameters:  # older Optuna
        below, above = split(
            study,
            trials,
            gamma(len(trials)),
            getattr(sampler, "_constraints_func", None) is not None,
        )
    else:
        below, above = split(study, trials, gamma(len(trials)))
    build = sampler._build_parzen_estimator
    mpe_below = build(study, space, below, handle_below=True)
    mpe_above = build(study, space, above, handle_below=False)
    samples = {n: np.asarray([d.to_internal_repr(c[n]) for c in configs]) for n, d in space.items()}
    values = sampler._compute_acquisition_func(samples, mpe_below, mpe_above)
    return [float(v) for v in values]
