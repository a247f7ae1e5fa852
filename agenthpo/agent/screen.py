"""The screen: would the backbone pick the LLM's proposal over its own?

The screen makes the LLM's proposal one more candidate of the backbone's own choice. TPE
picks its proposal from 24 candidates by its acquisition, ``log l(x) - log g(x)`` from two
Parzen estimators (``l`` over the best trials, ``g`` over the rest); the LLM's proposal
passes when that acquisition rates it at least as high as TPE's own proposal for the same
trial, and otherwise TPE's proposal runs, exactly as plain TPE would have run it. A study in
which every proposal is screened out is TPE's own study, trial for trial. Under AgentHPO's
:class:`~agenthpo.backbone.Backbone` the member that drew the trial judges with its own
acquisition (GP's log expected improvement, TPE's density ratio), and TPE's ratio judges for
the others (:class:`Screen`).

This reads TPE's internals (its split of the trials and its Parzen estimators, through
:mod:`agenthpo._optuna`); where they are missing the screen cannot judge and says so
(:func:`tpe_screen` returns ``None`` and logs a warning once).

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

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _optuna

__all__ = ["Judgement", "OutsideScreen", "Screen", "ScreenVerdict", "tpe_judge", "tpe_screen"]

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
    margin: float = 0.0  # how far below the own proposal's value a proposal still passes

    def to_attr(self, config: dict[str, Any]) -> dict[str, Any]:
        """The trial attribute ``llm_candidates`` for this one screened proposal: the screen
        is the judge's special case of one candidate, stored the same way.

        Example:
            >>> ScreenVerdict(True, -3.2, -2.5, backbone="GP", judge="GP", margin=1.0).to_attr(
            ...     {"x": 1})
            {'judge': 'GP', 'backbone': 'GP', 'values': [-3.2], 'own': -2.5, 'ran': 'llm', 'index': 1, 'configs': [{'x': 1}], 'margin': 1.0}
        """  # noqa: E501
        judgement = Judgement(
            values=(self.llm,),
            own=self.own,
            backbone=self.backbone,
            judge=self.judge,
            margin=self.margin,
        )
        return judgement.to_attr([dict(config)], ran="llm" if self.passed else "backbone")

    def describe(self) -> str:
        """One line for a trial's rationale.

        Example:
            >>> ScreenVerdict(passed=False, llm=-0.41, own=0.87).describe()
            "TPE's density ratio rates its own proposal higher: log ratio 0.87 against -0.41"
            >>> ScreenVerdict(True, -3.2, -2.5, backbone="GP", judge="GP", margin=1.0).describe()
            "GP's expected improvement rates it within the margin (1.00) of its own proposal: log EI -3.20 against -2.50"
        """  # noqa: E501
        theirs = "its own" if self.backbone == self.judge else f"{self.backbone}'s"
        if self.margin > 0 and self.llm < self.own:
            how = "expected improvement" if self.judge == "GP" else "density ratio"
            unit = "log EI" if self.judge == "GP" else "log ratio"
            verb = "rates it within" if self.passed else "rates it below"
            return (
                f"{self.judge}'s {how} {verb} the margin ({self.margin:.2f}) of {theirs}"
                f" proposal: {unit} {self.llm:.2f} against {self.own:.2f}"
            )
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
class Judgement:
    """The backbone's acquisition of each of the LLM's candidates for a trial and of its own
    proposal (higher is better): the best candidate runs if it rates at least as high as
    the backbone's own proposal less ``margin``, else the backbone's runs
    (``LLMPolicy.candidates``, ``LLMPolicy.screen_margin``).

    Attributes:
        values: Each candidate's acquisition, in the LLM's order.
        own: The acquisition of the backbone's own proposal.
        backbone: Whose proposal the candidates were judged against.
        judge: ``TPE`` (its density ratio, log l/g) or ``GP`` (its log expected improvement).
        margin: How far (in those log units) below the backbone's own proposal the best
            candidate may rate and still run.

    Example:
        >>> j = Judgement(values=(0.1, 0.5, -0.2), own=0.3)
        >>> j.best, j.passed, j.verdict().llm
        (1, True, 0.5)
        >>> j.describe()
        "TPE's density ratio picks candidate 2 of 3: log ratio 0.50; the others 0.10, -0.20; its own proposal 0.30"
    """  # noqa: E501

    values: tuple[float, ...]
    own: float
    backbone: str = "TPE"
    judge: str = "TPE"
    margin: float = 0.0

    @property
    def best(self) -> int:
        """The index of the candidate rated highest (the first of equals)."""
        return max(range(len(self.values)), key=lambda i: (self.values[i], -i))

    @property
    def passed(self) -> bool:
        """Whether the best candidate rates at least as high as the backbone's proposal
        less the margin."""
        return self.values[self.best] >= self.own - self.margin

    def verdict(self) -> ScreenVerdict:
        """The screen's verdict on the best candidate against the backbone's proposal."""
        return ScreenVerdict(
            passed=self.passed,
            llm=self.values[self.best],
            own=self.own,
            backbone=self.backbone,
            judge=self.judge,
            margin=self.margin,
        )

    def describe(self) -> str:
        """One line for the trial's rationale: every value, which one runs, and whose.

        Example:
            >>> Judgement(values=(0.1, -0.2), own=0.3, backbone="GP", judge="GP").describe()
            "GP's expected improvement rates its own proposal above the LLM's 2 candidates: log EI 0.30 against 0.10, -0.20"
        """  # noqa: E501
        how = "expected improvement" if self.judge == "GP" else "density ratio"
        unit = "log EI" if self.judge == "GP" else "log ratio"
        theirs = "its own" if self.backbone == self.judge else f"{self.backbone}'s"
        shown = ", ".join(f"{v:.2f}" for v in self.values)
        n = len(self.values)
        if not self.passed:
            return (
                f"{self.judge}'s {how} rates {theirs} proposal above the LLM's"
                f" {'candidate' if n == 1 else f'{n} candidates'}: {unit} {self.own:.2f}"
                f" against {shown}"
            )
        best = self.best
        others = ", ".join(f"{v:.2f}" for i, v in enumerate(self.values) if i != best)
        rest = f"; the others {others}" if others else ""
        within = f" (margin {self.margin:.2f})" if self.margin > 0 else ""
        return (
            f"{self.judge}'s {how} picks candidate {best + 1} of {n}: {unit}"
            f" {self.values[best]:.2f}{rest}; {theirs} proposal {self.own:.2f}{within}"
        )

    def to_attr(self, configs: list[dict[str, Any]], *, ran: str) -> dict[str, Any]:
        """The trial attribute ``llm_candidates``: the judge, every value, the candidates
        and which ran (``ran`` is ``llm`` or ``backbone``; ``index`` counts from 1), and the
        margin where one applied.

        Example:
            >>> Judgement(values=(0.1, 0.5), own=0.3).to_attr([{"x": 1}, {"x": 2}], ran="llm")
            {'judge': 'TPE', 'backbone': 'TPE', 'values': [0.1, 0.5], 'own': 0.3, 'ran': 'llm', 'index': 2, 'configs': [{'x': 1}, {'x': 2}]}
        """  # noqa: E501
        attr = {
            "judge": self.judge,
            "backbone": self.backbone,
            "values": [round(v, 4) for v in self.values],
            "own": round(self.own, 4),
            "ran": ran,
            "index": self.best + 1 if ran == "llm" else None,
            "configs": configs,
        }
        if self.margin > 0:  # stored only where one applied
            attr["margin"] = self.margin
        return attr


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
    *,
    margin: float = 0.0,
) -> ScreenVerdict | None:
    """TPE's verdict on ``config`` against its own proposal ``own`` for trial ``number``
    (or against the proposal of the sampler named ``backbone``, which TPE judges as well).

    ``None`` when TPE cannot judge: while it is still in its random start-up (no model), for
    several objectives, and where Optuna's internals differ from those this was written
    against. The parameters of ``search_space`` that both configurations set are judged.
    """
    judged = tpe_judge(sampler, study, number, search_space, [config], own, backbone, margin=margin)
    return None if judged is None else judged.verdict()


def tpe_judge(
    sampler: TPESampler,
    study: Study,
    number: int,
    search_space: Mapping[str, BaseDistribution],
    configs: Sequence[Mapping[str, Any]],
    own: Mapping[str, Any],
    backbone: str = "TPE",
    *,
    margin: float = 0.0,
) -> Judgement | None:
    """TPE's :class:`Judgement` of several ``configs`` against its own proposal ``own`` for
    trial ``number``, from the same estimators (:func:`tpe_screen` for one); ``None`` where
    that cannot judge. The parameters of ``search_space`` that every configuration sets are
    judged."""
    names = [
        n
        for n, d in search_space.items()
        if not d.single() and n in own and all(n in c for c in configs)
    ]
    if not names or not configs or len(study.directions) != 1:
        return None
    space = {n: search_space[n] for n in names}
    states = (TrialState.COMPLETE, TrialState.PRUNED)
    trials = [t for t in study.get_trials(deepcopy=False, states=states) if t.number != number]
    if len(trials) < _optuna.n_startup_trials(sampler, 10):
        return None
    try:
        *values, mine = _acquisition(sampler, study, trials, space, [*configs, own])
    except (AttributeError, ImportError, TypeError) as exc:  # Optuna's internals moved
        if not _warned:
            _warned.append(str(exc))
            _logger.warning(
                "cannot judge the LLM's proposals with this Optuna version's TPE (%s);"
                " they run unjudged",
                exc,
            )
        return None
    return Judgement(values=tuple(values), own=mine, backbone=backbone, margin=margin)


def _acquisition(
    sampler: TPESampler,
    study: Study,
    trials: list[FrozenTrial],
    space: dict[str, BaseDistribution],
    configs: list[Mapping[str, Any]],
) -> list[float]:
    """TPE's acquisition of each configuration, from the estimators it builds for the next
    trial (deterministic: no random draw)."""
    below, above = _optuna.tpe_split(sampler, study, trials)
    return _optuna.tpe_acquisition(sampler, study, space, below, above, configs)


class Screen:
    """Judges proposals for a backbone: by the acquisition of the member that drew the trial
    under AgentHPO's :class:`~agenthpo.backbone.Backbone`, else by TPE's density ratio.

    Args:
        backbone: The study's classical sampler.
        seed: Seeds the TPE built to judge beside a :class:`~agenthpo.backbone.Backbone`.
        view: The study as the backbone reads it (after a revision of the space, its trials
            relabelled: :func:`agenthpo._optuna.relabelled_study`); the study itself by
            default.

    Example:
        >>> from optuna.samplers import CmaEsSampler, TPESampler
        >>> Screen(TPESampler(seed=0)).can_judge, Screen(CmaEsSampler(seed=0)).can_judge
        (True, False)
    """

    def __init__(
        self,
        backbone: BaseSampler,
        *,
        seed: int | None = None,
        view: Callable[[Study], Study] | None = None,
    ) -> None:
        from agenthpo.backbone import Backbone  # the backbone imports nothing from agent/

        self._backbone = backbone
        self._view = view
        # TPE's density ratio judges: the backbone's own when it is TPE, a TPE built for
        # judging beside AgentHPO's Backbone (whose GP member has no such ratio).
        self._judge: TPESampler | None = (
            backbone
            if isinstance(backbone, TPESampler)
            else TPESampler(seed=seed)
            if isinstance(backbone, Backbone)
            else None
        )

    @property
    def can_judge(self) -> bool:
        """Whether this backbone can screen at all (TPE or AgentHPO's Backbone)."""
        return self._judge is not None

    def verdict(
        self,
        study: Study,
        number: int,
        search_space: Mapping[str, BaseDistribution],
        config: Mapping[str, Any],
        own: Mapping[str, Any] | None,
        *,
        margin: float = 0.0,
    ) -> ScreenVerdict | None:
        """The verdict on ``config`` against the backbone's ``own`` proposal for trial
        ``number`` (``config`` passes when it rates at least as high less ``margin``);
        ``None`` when there is no own proposal or no judge, or it cannot judge yet."""
        judged = self.judge(study, number, search_space, [config], own, margin=margin)
        return None if judged is None else judged.verdict()

    def ready(self, study: Study, number: int, *, running: bool = False) -> bool:
        """Whether the judge has a model for trial ``number``: one objective, and at least
        its start-up's worth of finished trials before it (``running``: counting the trials
        running now as finished, for a proposal prepared while they run). Before that
        :meth:`judge` returns ``None``, and asking the LLM for several candidates would be
        wasted.

        Example:
            >>> import optuna
            >>> study = optuna.create_study()
            >>> Screen(TPESampler(seed=0)).ready(study, 0)
            False
        """
        if self._judge is None or len(study.directions) != 1:
            return False
        if self._view is not None:
            study = self._view(study)
        states: tuple[TrialState, ...] = (TrialState.COMPLETE, TrialState.PRUNED)
        if running:
            states = (*states, TrialState.RUNNING)
        trials = study.get_trials(deepcopy=False, states=states)
        finished = sum(1 for t in trials if t.number != number)
        return finished >= _optuna.n_startup_trials(self._judge, 10)

    def judge(
        self,
        study: Study,
        number: int,
        search_space: Mapping[str, BaseDistribution],
        configs: Sequence[Mapping[str, Any]],
        own: Mapping[str, Any] | None,
        *,
        margin: float = 0.0,
    ) -> Judgement | None:
        """The :class:`Judgement` of the LLM's candidates ``configs`` against the backbone's
        ``own`` proposal for trial ``number``, by the same judge as :meth:`verdict`, with
        ``margin`` (:attr:`Judgement.margin`); ``None`` when there is no own proposal or no
        judge, or it cannot judge yet."""
        from agenthpo.agent.schedule import backbone_label
        from agenthpo.backbone import Backbone

        if own is None or self._judge is None or not configs:
            return None
        if self._view is not None:
            study = self._view(study)
        backbone = self._backbone
        if isinstance(backbone, Backbone):
            member = backbone.chosen(number)
            view = backbone.gp_view(number) if member == "gp" else None
            if view is not None:
                values = [view.value(dict(c)) for c in configs]
                if all(v is not None for v in values):
                    return Judgement(
                        values=tuple(float(v) for v in values if v is not None),
                        own=view.own,
                        backbone="GP",
                        judge="GP",
                        margin=margin,
                    )
            if member == "tpe":
                judge = backbone.member("tpe")
                if isinstance(judge, TPESampler):
                    return tpe_judge(
                        judge, study, number, search_space, configs, own, margin=margin
                    )
            name = {"gp": "GP", "cmaes": "CMA-ES"}.get(member or "", "the backbone")
            return tpe_judge(
                self._judge, study, number, search_space, configs, own, name, margin=margin
            )
        return tpe_judge(
            self._judge,
            study,
            number,
            search_space,
            configs,
            own,
            backbone_label(backbone),
            margin=margin,
        )
