"""``AgentSampler``: the agent as an Optuna sampler, alone or steering a classical optimizer.

It proposes the whole configuration in ``sample_relative`` from an LLM (the paper's Creator),
validated against the space before it is returned (Optuna would silently replace an invalid
relative value). When the LLM fails, its answer stays invalid or repeats a tried
configuration, or the LLM budget is spent, the backbone sampler (by default
AgentHPO's :class:`~agenthpo.backbone.Backbone`) proposes
instead and the reason is recorded. The backbone also serves ``sample_independent`` and
learns from every trial, whoever proposed it.

Its :class:`~agenthpo.policy.LLMPolicy` says who proposes each trial (a named preset of
:data:`~agenthpo.policy.PRESETS`, resolved once per study against the model's
:class:`~agenthpo.policy.ModelProfile`, logged and stored with the study). The work is done by
small parts: the schedule (:mod:`agenthpo.agent.schedule`), the screen
(:mod:`agenthpo.agent.screen`), the budget (:mod:`agenthpo.agent.budget`), the proposer with
its prefetch, batches and claims (:mod:`agenthpo.agent.proposer`) and the trial recorder
(:mod:`agenthpo.agent.recorder`).

On each trial the sampler stores as ``user_attrs`` (shown by optuna-dashboard): the
rationale, who proposed (``llm`` or ``backbone``), the model, tokens, cost, latency, and the
fallback's reason; every LLM request and response goes into the trial's system attributes.

Example:
    >>> import optuna
    >>> from agenthpo import AgentSampler
    >>> from agenthpo.llm import RandomLLM
    >>> from agenthpo.policy import preset
    >>> from agenthpo.space import Space
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> space = Space.from_dict({"x": {"type": "float", "low": -5.0, "high": 5.0}})
    >>> sampler = AgentSampler(
    ...     llm=RandomLLM(seed=0), space=space, policy=preset("hybrid", startup=2), seed=0)
    >>> study = optuna.create_study(sampler=sampler)
    >>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2, n_trials=4)
    >>> [t.user_attrs["proposed_by"] for t in study.trials]
    ['llm', 'llm', 'backbone', 'backbone']
"""

from __future__ import annotations

import dataclasses
import logging
import random
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, CmaEsSampler, TPESampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys, _optuna, _say
from agenthpo._seeding import reseed, trial_seed
from agenthpo._text import one_line
from agenthpo.agent.backbone_proposals import REDRAWS, BackboneProposals
from agenthpo.agent.budget import cost, spent
from agenthpo.agent.creator import Proposal, ProposalFailed, find_duplicate
from agenthpo.agent.prompts import TaskContext, design_request
from agenthpo.agent.proposer import Proposer
from agenthpo.agent.recorder import (
    MAX_STORED_ANSWER_CHARS,
    RATIONALE_ATTR_MAX,
    Recorder,
)
from agenthpo.agent.reviser import Reviser
from agenthpo.agent.revision import RangeChange, accepted_changes, space_in_force
from agenthpo.agent.schedule import backbone_label, describe, llm_turn, slot, turn
from agenthpo.agent.schedule import trust as schedule_trust
from agenthpo.agent.screen import OutsideScreen, Screen, ScreenVerdict
from agenthpo.agent.trust import Trust
from agenthpo.backbone import Backbone
from agenthpo.errors import LLMRequiredError, LLMUnavailableWarning, SpaceRevisionWarning
from agenthpo.llm import LLMClient, resolve_llm
from agenthpo.policy import (
    CAPABLE,
    EMBEDDED,
    POLICY_FIELDS,
    LLMPolicy,
    ModelProfile,
    Preset,
    from_legacy_options,
    get_preset,
)
from agenthpo.space import Space

__all__ = ["MAX_STORED_ANSWER_CHARS", "AgentSampler"]

_logger = logging.getLogger("agenthpo")


DEFAULT_PRESET = "hybrid-tpe"
"""The policy of an ``AgentSampler`` given none: the default strategy's preset
(:data:`agenthpo.strategies.DEFAULT_STRATEGY`; that module imports this one)."""


UNUSABLE_KINDS = frozenset({"not_json", "invalid", "truncated"})
"""Failures that say the model's answers cannot be used (not that they repeat a trial)."""
UNUSABLE_IN_A_ROW = 3
"""How many unusable answers in a row make :class:`AgentSampler` warn (once per study)."""


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _stored_schedule(stored: Any) -> tuple[int, int] | None:
    """A study's stored ``(warm-up, start-up)``, or ``None`` when absent or malformed."""
    if not isinstance(stored, dict):
        return None
    warmup, startup = stored.get("warmup"), stored.get("startup")
    if isinstance(warmup, int) and isinstance(startup, int) and min(warmup, startup) >= 0:
        return warmup, startup
    return None


class AgentSampler(BaseSampler):
    """An Optuna sampler whose proposals come from an LLM agent, with a classical backbone.

    Args:
        llm: The model; ``None`` picks one as the CLI does (:func:`agenthpo.llm.resolve_llm`)
            at the first proposal.
        space: The search space. ``None`` infers it from finished trials (like multivariate
            TPE), so the first trial of a fresh study comes from the backbone.
        context: The task's background (description, dataset and model facts, metric, goal).
            ``None`` describes an anonymous study; its direction is read from the study.
        backbone: The sampler for fallbacks, the trials the policy gives it, and
            ``sample_independent``; ``None`` is AgentHPO's
            :class:`~agenthpo.backbone.Backbone` (GP, TPE or CMA-ES as the study suits), as
            the default strategy has.
        policy: Who proposes each trial: a preset's name (:data:`~agenthpo.policy.PRESETS`),
            a :class:`~agenthpo.policy.Preset` with overrides
            (:func:`~agenthpo.policy.preset`), resolved once per study for the model's
            :class:`~agenthpo.policy.ModelProfile`, or an :class:`~agenthpo.policy.LLMPolicy`
            used as it is for any model. ``None``: ``hybrid-tpe``, the default strategy's:
            the backbone proposes most trials and judges the LLM's (with the old options
            below and no policy, ``agent`` on TPE, as before); ``agent`` (the paper's
            method) gives the LLM every trial.
            A backbone that cannot screen (CMA-ES) leaves a preset's screen off.
        seed: Seeds the backbone and, where the LLM supports it, its sampling.
        hidden_metrics: Stored metrics never shown to the LLM (e.g. ``test_accuracy``).
        **legacy: The options before the policy (``llm_share``, ``screen_llm``, ...; see
            :data:`~agenthpo.policy.LEGACY_OPTIONS`): still applied onto ``policy`` for one
            release, with a :class:`FutureWarning`.

    Raises:
        ValueError: A policy that screens with a backbone that cannot (not TPE or
            AgentHPO's :class:`~agenthpo.backbone.Backbone`).
        TypeError: An option that is neither an argument nor an old option, or an argument
            of the wrong kind (a dict as ``space``, a name as ``backbone``, ...).
    """

    def __init__(
        self,
        *,
        llm: LLMClient | None = None,
        space: Space | None = None,
        context: TaskContext | None = None,
        backbone: BaseSampler | None = None,
        policy: LLMPolicy | Preset | str | None = None,
        seed: int | None = None,
        hidden_metrics: Iterable[str] = (),
        **legacy: Any,
    ) -> None:
        if policy is None:
            # the old options (llm_share=...) were written against the agent preset on TPE,
            # the defaults before the default strategy's: they keep meaning what they meant
            policy = "agent" if legacy else DEFAULT_PRESET
            if legacy and backbone is None:
                backbone = TPESampler(seed=seed)
        hidden_metrics = _check_arguments(llm, space, context, backbone, policy, hidden_metrics)
        self._llm = llm
        self._space = space
        self._seed = seed
        self._backbone = backbone if backbone is not None else Backbone(seed=seed)
        self._screen = Screen(self._backbone, seed=seed, view=self._model_view)
        self._own = BackboneProposals(self._backbone, view=self._model_view)
        preset = _as_preset(policy)
        preset = from_legacy_options(
            preset, legacy, caller="AgentSampler", can_screen=self._screen.can_judge
        )
        if not self._screen.can_judge:
            if "screen" in preset.overridden and preset.capable.screen:
                raise ValueError(
                    "LLMPolicy.screen needs a TPESampler or Backbone backbone (TPE's density ratio)"
                )
            if "candidates" in preset.overridden and preset.capable.candidates > 1:
                raise ValueError(
                    "LLMPolicy.candidates above 1 needs a TPESampler or Backbone backbone to"
                    " judge them (TPE's density ratio)"
                )
            preset = dataclasses.replace(
                preset,
                capable=dataclasses.replace(preset.capable, screen=False, candidates=1),
                embedded=dataclasses.replace(preset.embedded, screen=False, candidates=1),
            )
        self._preset = preset
        if self._revises() and space is None:
            raise ValueError("LLMPolicy.revise_space_every needs the search space (space=...)")
        self._fixed: tuple[str, LLMPolicy] | None = None  # (study name, policy in force)
        self._proposer = Proposer(context=context, hidden_metrics=hidden_metrics)
        self._reviser = Reviser(
            context_for=self._proposer.context_for, hidden_metrics=hidden_metrics
        )
        # (study name, accepted revisions) the backbone's search-space caches were reset for
        self._revisions_seen: tuple[str, int] = ("", 0)
        self._warned_revised: set[tuple[str, str]] = set()  # (study, parameter)
        self._warned_mismatch: set[tuple[str, str]] = set()  # (study, parameter)
        self._unusable: dict[str, list[str]] = {}  # study -> unusable answers in a row
        self._failed_in: set[str] = set()  # studies told the LLM could not run
        self._intersection = IntersectionSearchSpace()
        self.llm_failure: str | None = None
        """The first LLM error of this sampler's life (``None`` while the LLM answers)."""
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

    @property
    def preset(self) -> Preset:
        """The policy as given: a preset with overrides, not yet resolved for a model."""
        return self._preset

    def reseed_rng(self) -> None:
        """Reseeds the backbone (Optuna calls this for each worker process).

        A seeded sampler takes a fresh random seed: its per-trial draws change, and stay
        distinct per trial.
        """
        if self._seed is not None:
            self._seed = random.randrange(2**31)
        self._backbone.reseed_rng()

    # -- the policy in force ----------------------------------------------------------------
    def policy(self, study: Study | None = None) -> LLMPolicy:
        """The policy in force: the preset for the model's profile, once per study.

        With a study, the first call stores the policy there (``agenthpo_policy``, and the
        schedule as ``agenthpo_schedule``) and logs it; a resumed study, every worker and a
        replay then keep its model profile and its schedule (fields the user set win).

        Example:
            >>> from agenthpo.llm import RandomLLM
            >>> AgentSampler(llm=RandomLLM(seed=0), policy="centaur").policy().warmup
            10
        """
        if study is not None and self._fixed is not None and self._fixed[0] == study.study_name:
            return self._fixed[1]
        stored = study.user_attrs.get(_keys.STUDY_SCHEDULE) if study is not None else None
        profile = _stored_profile(stored)
        if profile is None:
            profile = ModelProfile.of(self.llm)
        policy = self._resolve(profile, stored)
        if study is not None:
            if stored is None:
                study.set_user_attr(
                    _keys.STUDY_SCHEDULE,
                    {
                        "warmup": policy.warmup,
                        "startup": policy.startup,
                        "embedded": profile.embedded,
                    },
                )
            if _keys.STUDY_POLICY not in study.user_attrs:
                study.set_user_attr(
                    _keys.STUDY_POLICY,
                    {**self._preset.describe(), "model": profile.kind, "policy": policy.to_dict()},
                )
                _logger.info(
                    "study %s: policy %s for a%s %s model: %s",
                    study.study_name,
                    self._preset.name,
                    "n" if profile.embedded else "",
                    profile.kind,
                    policy.to_json(),
                )
            self._fixed = (study.study_name, policy)
        return policy

    def describe_policy(self, study: Study | None = None) -> str:
        """The policy in force in one line: its preset, the model profile and the fields
        that differ from :class:`~agenthpo.policy.LLMPolicy`'s defaults.

        Example:
            >>> from agenthpo.llm import RandomLLM
            >>> AgentSampler(llm=RandomLLM(), policy="centaur").describe_policy()
            'centaur for a capable model: warmup=10, share=0.3, adaptive, show_backbone'
        """
        policy = self.policy(study)
        stored = study.user_attrs.get(_keys.STUDY_SCHEDULE) if study is not None else None
        profile = _stored_profile(stored) or ModelProfile.of(self.llm)
        default = LLMPolicy()
        parts = []
        for name in POLICY_FIELDS:
            value = getattr(policy, name)
            if value == getattr(default, name):
                continue
            parts.append(name if value is True else f"{name}={value}")
        model = "the embedded model" if profile.embedded else "a capable model"
        return f"{self._preset.name} for {model}: {', '.join(parts) or 'the defaults'}"

    def _resolve(self, profile: ModelProfile, stored: Any) -> LLMPolicy:
        """The preset for ``profile``; a stored schedule fills the fields nobody set."""
        policy = self._preset.for_model(profile)
        schedule = _stored_schedule(stored)
        if schedule is not None:
            given = self._preset.overridden
            policy = dataclasses.replace(
                policy,
                warmup=policy.warmup if "warmup" in given else schedule[0],
                startup=policy.startup if "startup" in given else schedule[1],
            )
        return policy

    def schedule(self, study: Study | None = None) -> str:
        """Who proposes which trials, in one sentence (shown when a run starts).

        Example:
            >>> from agenthpo.llm import RandomLLM
            >>> from agenthpo.policy import LLMPolicy
            >>> AgentSampler(llm=RandomLLM(), policy=LLMPolicy(share=0)).schedule()
            'the backbone proposes every trial'
        """
        multi = study is not None and len(study.directions) > 1
        return describe(
            self.policy(study), backbone=backbone_label(self._backbone), multi_objective=multi
        )

    def warmup_and_startup(self, study: Study | None = None) -> tuple[int, int]:
        """The policy's ``(warm-up, start-up)`` trials (see :meth:`policy`)."""
        policy = self.policy(study)
        return policy.warmup, policy.startup

    def screens(self, study: Study | None = None) -> bool:
        """Whether the backbone screens the LLM's proposals in ``study`` (:meth:`policy`)."""
        return self.policy(study).screen

    def llm_turn(self, number: int, study: Study | None = None) -> bool:
        """Whether the schedule gives trial ``number`` to the LLM (before any trust check).

        With ``study``, the trials before it whose configuration was given (enqueued, the
        default configuration, warm starts) take no turn (:func:`~agenthpo.agent.schedule.slot`).
        """
        turn_ = number if study is None else slot(study.get_trials(deepcopy=False), number)
        return llm_turn(self.policy(study), turn_)

    def trust(self, study: Study) -> Trust | None:
        """The trust in the LLM from the study's trials (``None`` unless adaptive)."""
        return schedule_trust(self.policy(study), study)

    def _recorder(self, policy: LLMPolicy) -> Recorder:
        return Recorder(
            backbone_name=type(self._backbone).__name__,
            model=lambda: self.llm.name,
            cost=lambda p, c: cost(policy, self.llm.name, p, c),
            record_calls=policy.record_calls,
        )

    # -- proposals from outside (an MCP client), judged by the same screen -------------------
    def screen_outside(
        self,
        study: Study,
        config: dict[str, Any],
        *,
        number: int,
        rationale: str,
        proposer: str,
        taken: Sequence[tuple[int, Mapping[str, Any]]] = (),
    ) -> OutsideScreen | None:
        """The screen of a configuration proposed outside this sampler for trial ``number``.

        The configuration of a proposer that is not this sampler's LLM (an MCP client's)
        is judged as the LLM's proposals are: against the backbone's own proposal for the
        same trial, drawn as :meth:`before_trial` and :meth:`sample_relative` would draw it
        (drawn again while it repeats a configuration of ``taken``). This sampler's LLM is
        never asked nor resolved: the outside proposer counts as a capable model unless the
        study stored another profile. ``rationale`` and ``proposer`` (e.g.
        ``client:claude-code``) go into the attributes of a trial whose proposal was
        screened out.

        Returns:
            ``None`` when the study's policy does not screen; otherwise the backbone's own
            configuration and the verdict, which is ``None`` while it cannot judge (its
            random start-up).

        Example:
            >>> sampler = AgentSampler(policy=LLMPolicy(screen=True), space=space)  # doctest: +SKIP
            >>> screen = sampler.screen_outside(  # doctest: +SKIP
            ...     study, {"x": 4.0}, number=12, rationale="why", proposer="client:me")
            >>> screen.verdict.passed, screen.own  # doctest: +SKIP
            (False, {'x': 2.1})
        """
        stored = study.user_attrs.get(_keys.STUDY_SCHEDULE)
        policy = self._resolve(_stored_profile(stored) or CAPABLE, stored)
        if not policy.screen:
            return None
        search_space = self.infer_relative_search_space(study, _probe(number))
        space = self._space_for(study, search_space)
        # The backbone draws its own proposal in a copy of the study held in memory, so that
        # the draw writes nothing to the study and no other worker takes a half-made trial.
        mirror = optuna.create_study(
            storage=optuna.storages.InMemoryStorage(),
            directions=study.directions,
            sampler=self._backbone,
        )
        mirror.add_trials(
            [
                t
                for t in self._model_view(study).get_trials(deepcopy=False)
                if t.state != TrialState.WAITING
            ]
        )
        own: dict[str, Any] = {}
        for attempt in range(REDRAWS + 1):
            if self._seed is not None:
                reseed(self._backbone, trial_seed(self._seed, number, attempt))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                drawn = mirror.ask(search_space)
            own = {name: drawn.params[name] for name in search_space}
            mirror.tell(drawn, state=TrialState.FAIL)
            if find_duplicate(own, taken, space, tolerance=0.0) is None:
                break
        verdict = self._screen.verdict(
            study, number, search_space, config, own, margin=policy.screen_margin
        )
        if verdict is None or verdict.passed:
            return OutsideScreen(verdict=verdict, own=own)
        attrs = self.screened_attrs(config, rationale, verdict, proposer=proposer)
        return OutsideScreen(verdict=verdict, own=own, attrs=attrs)

    def screened_attrs(
        self, config: dict[str, Any], rationale: str, verdict: ScreenVerdict, *, proposer: str
    ) -> dict[str, Any]:
        """A trial's attributes when the screen refused ``proposer``'s configuration: the
        backbone's turn, with the proposal, its reason and both scores kept.

        Example:
            >>> v = ScreenVerdict(passed=False, llm=-0.41, own=0.87)
            >>> attrs = AgentSampler().screened_attrs(
            ...     {"x": 4.0}, "far from the rest", v, proposer="client:me")
            >>> attrs["proposed_by"], attrs["screened_proposal"]["log_ratio"]
            ('backbone', -0.41)
        """
        recorder = self._recorder(self._preset.capable)
        return recorder.screened(config, rationale, verdict, proposer=proposer)

    # -- Optuna's sampler interface ---------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """The space in force (the task's, revised as the study's revisions say:
        :meth:`space_in_force`), or the intersection of finished trials' spaces."""
        if self._space is not None:
            return self.space_in_force(study).to_optuna()
        shared = self._intersection.calculate(study).items()
        relative = {name: dist for name, dist in shared if not dist.single()}
        for name, dist in list(relative.items()):
            if isinstance(dist, CategoricalDistribution) and None in dist.choices:
                # The LLM's space has no null choice (scikit-learn's penalty=None): the
                # backbone draws this parameter on its own, the rest stays the LLM's.
                del relative[name]
                self._warn_once(
                    study,
                    name,
                    f"{name}: a categorical with None among its choices is drawn by the"
                    " backbone on its own; the LLM proposes the other parameters (a string"
                    " such as 'none', translated in the objective, keeps it in the LLM's"
                    " proposals)",
                )
        return relative

    def sample_relative(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        """Asks the agent (or, by the policy, the backbone) for the whole configuration."""
        self._refuse_if_single_only(study)
        fixed = trial.system_attrs.get("fixed_params") or {}
        left_out = trial.user_attrs.get(_keys.LEFT_OUT) or ()
        if not search_space and not fixed:
            # No space to propose in (none given, and no parameter every finished trial
            # shares): the backbone draws each parameter on its own; say so, as every other
            # trial says who proposed it.
            finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            why = (
                "the finished trials share no parameter"
                if finished
                else "no finished trial has shown the search space yet"
            )
            Recorder.store(
                study,
                trial,
                {
                    _keys.PROPOSED_BY: "backbone",
                    _keys.RATIONALE: _capitalized(backbone_label(self._backbone))
                    + f" drew each parameter on its own: {why}",
                },
            )
            return {}
        if all(name in fixed or name in left_out for name in search_space):
            return {}  # an enqueued configuration: nothing to propose
        policy = self.policy(study)
        recorder = self._recorder(policy)
        if policy.initial_design and self._design_due(study, trial.number, policy):
            designed = self._initial_design(study, trial, search_space, policy, recorder)
            if designed is not None:
                return designed
        llm_turn, trust = turn(policy, study, trial.number, self._seed)
        if trust is not None:
            recorder.store(study, trial, {_keys.LLM_TRUST: round(trust.value, 3)})
        if not llm_turn:
            return self._backbone_turn(study, trial, search_space, policy, trust)
        trials = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number]
        budget_note = spent(policy, trials)
        if budget_note is None:
            return self._llm_turn(study, trial, search_space, policy, recorder)
        recorder.store(
            study,
            trial,
            {_keys.PROPOSED_BY: "backbone", _keys.FALLBACK_REASON: f"budget: {budget_note}"},
        )
        config = self._backbone_config(study, trial, search_space, policy)
        return self._explained(study, trial, config, "LLM budget spent")

    def _backbone_turn(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
        policy: LLMPolicy,
        trust: Trust | None,
    ) -> dict[str, Any]:
        """The backbone's scheduled trial (its warm-up, or a turn the trust withheld)."""
        why = ""
        turn_ = slot(study.get_trials(deepcopy=False), trial.number)
        if trust is not None and llm_turn(policy, turn_):
            why = f"its turn: {trust.describe()}"
        elif turn_ < policy.warmup:
            # counted in turns: a trial given in advance (the default configuration) takes
            # none, so "the first 10 trials" misread the 11th trial's turn
            why = f"its turn: warm-up trial {turn_ + 1} of {policy.warmup}"
        Recorder.store(study, trial, {_keys.PROPOSED_BY: "backbone"})
        config = self._backbone_config(study, trial, search_space, policy)
        return self._explained(study, trial, config, why)

    def _llm_turn(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
        policy: LLMPolicy,
        recorder: Recorder,
    ) -> dict[str, Any]:
        """The LLM's trial: its proposal, unless it fails, the screen refuses it or another
        worker took it meanwhile (the backbone proposes then)."""
        space = self._space_for(study, search_space)
        extra_note: str | None = None
        shown: dict[str, Any] | None = None  # the backbone's proposal, shown to the LLM
        own: tuple[dict[str, Any], str] | None = None  # the backbone's configuration, once drawn
        if policy.show_backbone:
            shown = self._own.relative(study, trial, search_space)
            extra_note = self._own.note(study, shown)
        # Several candidates only where the backbone can judge them (its model is fitted).
        judging = policy.candidates > 1 and self._screen.ready(study, trial.number)
        asked = policy if judging or policy.candidates == 1 else policy.replace(candidates=1)
        outcome, prepared = self._proposer.ask_or_take(
            study, trial.number, space, asked, llm=self.llm, seed=self._seed, extra_note=extra_note
        )
        if prepared and isinstance(outcome, Proposal) and outcome.calls:
            recorder.store(study, trial, {_keys.LLM_PREFETCHED: True})
        if isinstance(outcome, Proposal) and judging:
            judged = self._judged(
                study, trial, search_space, space, policy, recorder, outcome, shown
            )
            if not isinstance(judged, ProposalFailed):
                return judged
            outcome = judged
        elif isinstance(outcome, Proposal):
            if policy.screen:
                # The backbone's own configuration for this trial, as its own turn would
                # draw it: the bar the LLM's proposals must clear, and what runs if not.
                own = self._backbone_config(study, trial, search_space, policy, shown)
            bar = None if own is None else own[0]
            self._enqueue(study, trial.number, search_space, bar, recorder, policy.screen_margin)
            verdict = self._screen.verdict(
                study,
                trial.number,
                search_space,
                outcome.config,
                bar,
                margin=policy.screen_margin,
            )
            if own is not None and verdict is not None and not verdict.passed:
                _logger.info(
                    "trial %d: %s screened out the LLM's proposal %s (%s)",
                    trial.number,
                    type(self._backbone).__name__,
                    outcome.config,
                    verdict.describe(),
                )
                recorder.store(study, trial, recorder.screened_llm(outcome, verdict))
                recorder.calls(study, trial, outcome.calls)
                self._unusable.pop(study.study_name, None)  # a usable answer, screened
                return self._moved(study, trial, own)
            rival = self._proposer.claim(
                study, trial, outcome.config, space, tolerance=policy.duplicate_tolerance
            )
            if rival is None:
                attrs = recorder.proposal(outcome)
                if verdict is not None:  # the screen's verdict goes with the rationale
                    attrs[_keys.RATIONALE] = one_line(
                        f"{outcome.rationale} ({verdict.describe()})", RATIONALE_ATTR_MAX
                    )
                    attrs[_keys.LLM_CANDIDATES] = verdict.to_attr(outcome.config)
                recorder.store(study, trial, attrs)
                recorder.calls(study, trial, outcome.calls)
                self._unusable.pop(study.study_name, None)
                _logger.info(
                    "trial %d: the LLM proposed %s: %s",
                    trial.number,
                    outcome.config,
                    outcome.rationale,
                )
                return {
                    name: outcome.config[name] for name in search_space if name in outcome.config
                }
            outcome = ProposalFailed("duplicate", _rival_detail(study, rival), outcome.calls)
        else:
            _logger.info(
                "trial %d: the LLM gave no usable proposal (%s); %s proposes",
                trial.number,
                outcome,
                type(self._backbone).__name__,
            )
        recorder.store(study, trial, recorder.fallback(outcome))
        recorder.calls(study, trial, outcome.calls)
        if outcome.kind == "llm_error":
            self._llm_failed(study, trial, outcome, policy)
        elif outcome.kind in UNUSABLE_KINDS:
            self._note_unusable(study, outcome.kind)
        if own is None:  # a screened turn drew it already (drawing again would differ)
            own = self._backbone_config(study, trial, search_space, policy, shown)
        return self._explained(study, trial, own, f"LLM fallback: {outcome.kind}")

    def _space_for(self, study: Study, search_space: dict[str, BaseDistribution]) -> Space:
        """The space in force, or one read from Optuna's distributions without a task."""
        if self._space is None:
            return Space.from_optuna(search_space)
        return self.space_in_force(study)

    def _backbone_config(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
        policy: LLMPolicy,
        shown: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """The configuration the backbone runs on ``trial`` and what was moved (empty:
        nothing): its proposal (starting from ``shown``, the relative proposal the LLM saw),
        drawn again while it repeats a finished or running trial, then, with
        ``avoid_failures``, moved out of where earlier runs failed.

        Every trial the LLM does not get (the backbone's turn, a fallback, a screened-out
        or out-judged proposal, a spent budget) is drawn here, so a screened-out LLM turn
        runs what the backbone's own turn would have run.
        """
        space = self._space_for(study, search_space)
        config = self._own.fresh(study, trial, search_space, space, seed=self._seed, first=shown)
        if not policy.avoid_failures:
            return config, ""
        return self._own.out_of_failures(study, trial, config, space)

    @staticmethod
    def _moved(
        study: Study, trial: FrozenTrial, config: tuple[dict[str, Any], str]
    ) -> dict[str, Any]:
        """The backbone's configuration, its move out of failed regions (if any) stored."""
        values, moved = config
        if moved:
            Recorder.store(study, trial, {_keys.FAILURE_STEP: moved})
        return values

    def _explained(
        self,
        study: Study,
        trial: FrozenTrial,
        config: tuple[dict[str, Any], str],
        why: str,
    ) -> dict[str, Any]:
        """The backbone's ``config`` (from :meth:`_backbone_config`) for the trial, with its
        reason and any move out of failed regions stored."""
        moved = config[1]
        if moved:
            why = f"{why}; moved {moved}" if why else f"moved {moved}"
        return self._own.explained(study, trial, self._moved(study, trial, config), why)

    def _judged(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
        space: Space,
        policy: LLMPolicy,
        recorder: Recorder,
        first: Proposal,
        shown: dict[str, Any] | None,
    ) -> dict[str, Any] | ProposalFailed:
        """The LLM's candidates for the trial, judged by the backbone's acquisition against
        its own proposal (``LLMPolicy.candidates``): the configuration that runs, or the
        failure the backbone's turn records (another worker took the chosen one).

        The candidate rated highest runs when it rates at least as high as the backbone's
        own proposal, else the backbone's own runs; where the backbone cannot rate them
        after all, the LLM's first candidate runs. (Before the backbone's model is fitted,
        a turn asks for one configuration and does not come here.) Every value goes on the
        trial (``llm_candidates``) and the verdict into its rationale.
        """
        proposals = [first, *self._proposer.pop_candidates(trial.number)]
        calls = [c for p in proposals for c in p.calls]
        configs = [dict(p.config) for p in proposals]
        # The backbone's own configuration for this trial, as its own turn would draw it: the
        # bar the candidates must clear, and the trial's configuration if none does.
        own = self._backbone_config(study, trial, search_space, policy, shown)
        judgement = self._screen.judge(
            study, trial.number, search_space, configs, own[0], margin=policy.screen_margin
        )
        label = backbone_label(self._backbone)
        if judgement is None:
            chosen, index = first, 0
            verdict = (
                f"{label} could not judge yet: the LLM's first of {len(proposals)} candidates runs"
            )
            about: dict[str, Any] = {
                "judge": None,
                "values": None,
                "own": None,
                "ran": "llm",
                "index": 1,
                "configs": configs,
            }
        elif not judgement.passed:
            best = proposals[judgement.best]
            best.calls = calls
            attrs = recorder.screened_llm(best, judgement.verdict())
            attrs[_keys.RATIONALE] = one_line(
                f"{type(self._backbone).__name__} proposed: {judgement.describe()}",
                RATIONALE_ATTR_MAX,
            )
            attrs[_keys.LLM_CANDIDATES] = judgement.to_attr(configs, ran="backbone")
            _logger.info(
                "trial %d: %s kept its own proposal over the LLM's %d candidates (%s)",
                trial.number,
                type(self._backbone).__name__,
                len(proposals),
                judgement.describe(),
            )
            recorder.store(study, trial, attrs)
            recorder.calls(study, trial, calls)
            return self._moved(study, trial, own)
        else:
            index = judgement.best
            chosen = proposals[index]
            verdict = judgement.describe()
            about = judgement.to_attr(configs, ran="llm")
        chosen.calls = calls
        rival = self._proposer.claim(
            study, trial, chosen.config, space, tolerance=policy.duplicate_tolerance
        )
        if rival is not None:
            return ProposalFailed(
                "duplicate",
                f"trial #{rival} (another worker) took the same configuration meanwhile",
                calls,
            )
        attrs = recorder.proposal(chosen)
        attrs[_keys.RATIONALE] = one_line(f"{chosen.rationale} ({verdict})", RATIONALE_ATTR_MAX)
        attrs[_keys.LLM_CANDIDATES] = about
        recorder.store(study, trial, attrs)
        recorder.calls(study, trial, calls)
        _logger.info(
            "trial %d: the LLM's candidate %d of %d runs, %s: %s",
            trial.number,
            index + 1,
            len(proposals),
            chosen.config,
            verdict,
        )
        return {name: chosen.config[name] for name in search_space if name in chosen.config}

    # -- revisions of the search space --------------------------------------------------------
    def _revises(self) -> bool:
        """Whether the policy revises the space for some model (before resolving it)."""
        return bool(
            self._preset.capable.revise_space_every or self._preset.embedded.revise_space_every
        )

    def space_in_force(self, study: Study) -> Space:
        """The space new trials of ``study`` are drawn from: the sampler's space with every
        revision the study accepted (``LLMPolicy.revise_space_every``;
        :mod:`agenthpo.agent.revision`) applied. An objective of one's own suggests from
        it to follow the revisions.

        Raises:
            ValueError: The sampler has no space (it infers one from the trials).

        Example:
            >>> sampler = AgentSampler(space=space, policy="hybrid-revise")  # doctest: +SKIP
            >>> def objective(trial):  # doctest: +SKIP
            ...     lr = sampler.space_in_force(trial.study)["lr"]
            ...     return train(trial.suggest_float("lr", lr.low, lr.high, log=True))
        """
        if self._space is None:
            raise ValueError("AgentSampler.space_in_force needs the sampler's space (space=...)")
        return space_in_force(self._space, study.user_attrs)

    def _revised(self, study: Study) -> tuple[Space, list[RangeChange]] | None:
        """The space in force and the accepted changes, when the study has any."""
        if self._space is None:
            return None
        attrs = study.user_attrs
        changes = accepted_changes(attrs)
        if not changes:
            return None
        return space_in_force(self._space, attrs), changes

    def _model_view(self, study: Study) -> Study:
        """The study as the backbone reads it: after revisions of the space, every trial
        labelled with the revised distributions and those whose values a narrowed range
        left out dropped (:func:`agenthpo._optuna.relabelled_study`); else the study."""
        revised = self._revised(study)
        if revised is None:
            return study
        space, changes = revised
        seen = (study.study_name, len(changes))
        if seen != self._revisions_seen:
            # the backbone's cached search spaces hold the ranges before the revision
            _optuna.forget_search_spaces(self._backbone)
            self._revisions_seen = seen
        distributions = space.to_optuna()
        names = {c.param for c in changes if c.param in distributions}
        return _optuna.relabelled_study(study, {n: distributions[n] for n in names})

    def _warn_if_fixed(
        self, study: Study, trial: FrozenTrial, space: Space, changes: Sequence[RangeChange]
    ) -> None:
        """Warns (once per parameter) when ``trial`` suggested a revised parameter over a
        range of its own (an objective with fixed ranges) that the revised range reaches
        beyond: the sampler cannot propose there. A revision inside the objective's range
        (a narrowing) holds, since the sampler proposes inside it, and is not warned about."""
        distributions = space.to_optuna()
        for name in dict.fromkeys(c.param for c in changes):
            used = trial.distributions.get(name)
            if used is None or name not in distributions or used == distributions[name]:
                continue
            revised = distributions[name]
            if _inside(revised, used) or (study.study_name, name) in self._warned_revised:
                continue
            self._warned_revised.add((study.study_name, name))
            text = (
                f"the space revision of {name} ({_bounds(revised)}) cannot take full effect:"
                f" the objective suggests {name} over {_bounds(used)} itself, so the sampler"
                " cannot propose beyond that. Suggest"
                f" {name} from AgentSampler.space_in_force(trial.study) to follow revisions."
            )
            _say.warn(text, SpaceRevisionWarning, stacklevel=3)

    # -- the initial design -----------------------------------------------------------------
    def _designs(self) -> bool:
        """Whether the policy asks for an initial design for some model (before resolving
        it, so that a policy without one never resolves the LLM for an enqueued trial)."""
        return bool(self._preset.capable.initial_design or self._preset.embedded.initial_design)

    @staticmethod
    def _default_trial(study: Study) -> FrozenTrial | None:
        """The study's trial of the task's default configuration (enqueued by the tuner)."""
        for t in study.get_trials(deepcopy=False):
            if t.user_attrs.get(_keys.PROPOSED_BY) == "default_config":
                return t
        return None

    def _label_default(self, study: Study, trial: FrozenTrial) -> None:
        """Labels the task's default configuration, as it starts, as the first of the
        initial design (which the LLM is asked to complete at its first turn)."""
        if trial.user_attrs.get(_keys.PROPOSED_BY) != "default_config":
            return
        if _keys.INITIAL_DESIGN in trial.user_attrs:
            return
        policy = self.policy(study)
        if not policy.initial_design or _keys.STUDY_INITIAL_DESIGN in study.user_attrs:
            return
        rationale = str(trial.user_attrs.get(_keys.RATIONALE) or "the task's default configuration")
        Recorder.store(
            study,
            trial,
            {
                _keys.INITIAL_DESIGN: {
                    "index": 1,
                    "of": policy.initial_design,
                    "default": True,
                },
                _keys.RATIONALE: one_line(
                    f"{rationale}; the first of the initial design of {policy.initial_design}",
                    RATIONALE_ATTR_MAX,
                ),
            },
        )

    @staticmethod
    def _design_due(study: Study, number: int, policy: LLMPolicy) -> bool:
        """Whether trial ``number`` asks for the initial design: the study has none yet and
        the trial is the first after the warm-up (its :func:`slot` is the warm-up's end)."""
        if _keys.STUDY_INITIAL_DESIGN in study.user_attrs:
            return False
        trials = study.get_trials(deepcopy=False)
        if slot(trials, number) != policy.warmup:
            return False
        others = [t for t in trials if t.number != number]
        return spent(policy, others) is None

    def _initial_design(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
        policy: LLMPolicy,
        recorder: Recorder,
    ) -> dict[str, Any] | None:
        """The LLM's initial design (``LLMPolicy.initial_design``): one call for the design's
        configurations; the first runs on this trial and the others are enqueued, each
        labelled ``initial_design``. ``None`` when the trial goes on as the schedule says
        (another worker claimed the design, or the task's default configuration is all of
        it); an LLM that fails leaves the trial to the backbone, and that trial takes no
        turn either."""
        record: dict[str, Any] = {"trial": trial.number}
        study.set_user_attr(_keys.STUDY_INITIAL_DESIGN, record)
        claimed = study.user_attrs.get(_keys.STUDY_INITIAL_DESIGN)
        if not isinstance(claimed, dict) or claimed.get("trial") != trial.number:
            return None  # another worker asks for it
        default = self._default_trial(study)
        given = 1 if default is not None else 0
        asked = policy.initial_design - given
        record.update(asked=max(asked, 0), default=None if default is None else default.number)
        if asked <= 0:
            study.set_user_attr(_keys.STUDY_INITIAL_DESIGN, {**record, "got": 0})
            return None
        space = self._space_for(study, search_space)
        shown = None
        if default is not None:
            shown = {k: v for k, v in default.params.items() if k in space.names}
        outcome = self._proposer.ask_many(
            study,
            trial.number,
            space,
            policy,
            llm=self.llm,
            seed=self._seed,
            k=asked,
            request=design_request(asked, shown),
            repair=True,
        )
        if isinstance(outcome, ProposalFailed):
            study.set_user_attr(
                _keys.STUDY_INITIAL_DESIGN,
                {**record, "got": 0, "failed": one_line(str(outcome), RATIONALE_ATTR_MAX)},
            )
            _logger.info(
                "trial %d: the LLM gave no usable initial design (%s); %s proposes",
                trial.number,
                outcome,
                type(self._backbone).__name__,
            )
            attrs = recorder.fallback(outcome)
            # The failed design takes no turn either: the schedule is the same as without it.
            attrs[_keys.INITIAL_DESIGN] = {"failed": outcome.kind}
            recorder.store(study, trial, attrs)
            recorder.calls(study, trial, outcome.calls)
            if outcome.kind == "llm_error":
                self._llm_failed(study, trial, outcome, policy)
            config = self._backbone_config(study, trial, search_space, policy)
            return self._explained(study, trial, config, "LLM fallback: initial design")
        total = policy.initial_design  # as asked: the study attribute says how many came
        study.set_user_attr(_keys.STUDY_INITIAL_DESIGN, {**record, "got": len(outcome)})
        _logger.info(
            "trial %d: the LLM's initial design of %d configurations%s: %s",
            trial.number,
            len(outcome),
            " besides the task's default" if given else "",
            [p.config for p in outcome],
        )
        first, *others = outcome
        for k, proposal in enumerate(others, start=given + 2):
            attrs = recorder.batch_candidate(proposal)
            del attrs[_keys.LLM_BATCH]
            attrs.update(self._design_attrs(proposal, k, total))
            study.enqueue_trial(proposal.config, user_attrs=attrs, skip_if_exists=True)
        attrs = recorder.proposal(first)
        attrs.update(self._design_attrs(first, given + 1, total))
        recorder.store(study, trial, attrs)
        recorder.calls(study, trial, first.calls)
        self._proposer.claim(study, trial, first.config, space, tolerance=0.0)
        return {name: first.config[name] for name in search_space if name in first.config}

    @staticmethod
    def _design_attrs(proposal: Proposal, index: int, total: int) -> dict[str, Any]:
        """The attributes that mark one of the initial design's configurations."""
        attrs: dict[str, Any] = {
            _keys.INITIAL_DESIGN: {"index": index, "of": total, "default": False},
            _keys.RATIONALE: one_line(
                f"initial design {index}/{total}: {proposal.rationale}", RATIONALE_ATTR_MAX
            ),
        }
        if proposal.repaired:
            attrs[_keys.LLM_REPAIRED] = one_line(
                "forced into the space: " + "; ".join(proposal.repaired), RATIONALE_ATTR_MAX
            )
        return attrs

    def _llm_failed(
        self, study: Study, trial: FrozenTrial, failed: ProposalFailed, policy: LLMPolicy
    ) -> None:
        """Says, where a user sees it, that the LLM could not run: a warning (once per
        sampler) and a log line; with ``require_llm`` the run stops with
        :class:`LLMRequiredError`, raised from the trial's sampling: whoever owns the trial
        fails it (``study.optimize`` and the :class:`~agenthpo.tuner.Tuner` do; telling it
        here would make their own tell fail and hide this error); outside ``optimize`` it
        is failed here."""
        message = (
            f"the LLM ({self.llm.name}) could not run on trial {trial.number}: {failed.detail}"
        )
        if policy.require_llm:
            Recorder.store(
                study,
                trial,
                {_keys.ERROR: f"llm required: {failed.detail}", _keys.NOT_COUNTED: "llm"},
            )
            try:
                # Inside study.optimize, stop it even when its catch= covers this error
                # (Optuna would fail the trial and go on); Optuna fails the trial.
                study.stop()
            except RuntimeError:
                # Outside it (study.ask with fixed distributions, as Ray Tune's OptunaSearch
                # asks), this error leaves ask before anyone holds the trial: it would stay
                # RUNNING for good, so it is failed here.
                _optuna.storage_of(study).set_trial_state_values(
                    _optuna.trial_id(trial), TrialState.FAIL
                )
                message += f"; trial {trial.number} is stored as failed"
            raise LLMRequiredError(f"{message} (require_llm is on, so the run stops)")
        if self.llm_failure is None:
            self.llm_failure = failed.detail
        if study.study_name not in self._failed_in:
            # Once per study: a second study on the same sampler would otherwise run on the
            # backbone alone without a word.
            self._failed_in.add(study.study_name)
            text = f"{message}; {type(self._backbone).__name__} proposes its trials instead"
            _say.warn(text, LLMUnavailableWarning, stacklevel=2)

    def failed_before(self, study_name: str, detail: str) -> None:
        """Records that the LLM could not run before study ``study_name``'s trials (a start
        check that failed, said by whoever ran it): its fallbacks there warn no more.

        Example:
            >>> from agenthpo.llm import RandomLLM
            >>> sampler = AgentSampler(llm=RandomLLM())
            >>> sampler.failed_before("s", "cannot reach http://127.0.0.1:9")
            >>> sampler.llm_failure
            'cannot reach http://127.0.0.1:9'
        """
        if self.llm_failure is None:
            self.llm_failure = detail
        self._failed_in.add(study_name)

    def _enqueue(
        self,
        study: Study,
        number: int,
        search_space: dict[str, BaseDistribution],
        own: dict[str, Any] | None,
        recorder: Recorder,
        margin: float = 0.0,
    ) -> None:
        """Enqueues a batch's other candidates for any worker; when the backbone screens,
        only those it rates at least as high as its own proposal for trial ``number``, less
        ``margin`` (an enqueued trial's configuration is fixed, so it is screened now)."""
        for proposal in self._proposer.pop_batch(number):
            verdict = self._screen.verdict(
                study, number, search_space, proposal.config, own, margin=margin
            )
            if verdict is not None and not verdict.passed:
                _logger.info(
                    "the LLM's batch candidate %s is screened out (%s)",
                    proposal.config,
                    verdict.describe(),
                )
                continue
            study.enqueue_trial(
                proposal.config, user_attrs=recorder.batch_candidate(proposal), skip_if_exists=True
            )

    def shutdown(self) -> None:
        """Abandons the proposal being prepared ahead (:meth:`prefetch`), without waiting:
        for the end of a run. A proposal already prepared stays for its trial.

        Example:
            >>> from agenthpo.llm import RandomLLM
            >>> AgentSampler(llm=RandomLLM()).shutdown()  # nothing in flight: a no-op
        """
        self._proposer.shutdown()

    def prefetch(self, study: Study, number: int) -> bool:
        """Starts preparing the LLM's proposal for trial ``number`` in the background.

        The tuner calls this while a trial runs, so that the next proposal is ready when the
        trial ends: N trials then take about N x max(LLM time, trial time) instead of
        N x (LLM time + trial time). The proposal is made from the history known now (the
        running trial included, so it is not repeated). It is dropped and asked again if a
        trial that was running meanwhile failed (its error is news the LLM should see), or
        if it now duplicates a configuration another worker started.

        Returns:
            Whether a proposal is being prepared (not for backbone turns, turns that show
            the backbone's proposal, which need it first, or once the budget is spent).
        """
        policy = self.policy(study)
        if policy.show_backbone or not turn(policy, study, number, self._seed)[0]:
            return False
        if policy.initial_design and self._design_due(study, number, policy):
            return False  # the initial design is asked for when the trial starts
        trials = study.get_trials(deepcopy=False)
        if spent(policy, trials) is not None:
            return False
        if any(t.state == TrialState.WAITING for t in trials):
            return False  # an enqueued trial runs next; it needs no proposal
        if self._revises() and self._reviser.due(study, number, policy) is not None:
            return False  # the space is revised when the trial starts: ask on the new one
        if self._space is not None:
            space = self.space_in_force(study)
        else:
            inferred = {
                name: dist
                for name, dist in self._intersection.calculate(study).items()
                if not dist.single()
            }
            if not inferred:
                return False
            space = Space.from_optuna(inferred)
        if policy.candidates > 1 and not self._screen.ready(study, number, running=True):
            policy = policy.replace(candidates=1)  # as the trial will ask (_llm_turn)
        self._proposer.prefetch(study, number, space, policy, llm=self.llm, seed=self._seed)
        return True

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """Delegates to the backbone (noting a parameter the objective suggests otherwise
        than the sampler's ``space`` declares: the proposal for it was dropped)."""
        self._refuse_if_single_only(study)
        if self._space is not None:
            self._note_space_mismatch(study, trial, param_name, param_distribution)
        view = self._model_view(study)
        return self._backbone.sample_independent(view, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Reseeds the backbone for this trial (when seeded), labels the task's default
        configuration as the first of an initial design (``LLMPolicy.initial_design``),
        revises the search space when a revision is due (``LLMPolicy.revise_space_every``),
        then delegates to the backbone.

        The backbone's draws then depend on the seed and the trial number, not on how many
        draws this process made before: a seeded study stays reproducible, and workers or
        restarts that share the seed draw distinct streams.
        """
        if self._seed is not None:
            reseed(self._backbone, trial_seed(self._seed, trial.number))
        if self._designs() and "fixed_params" in trial.system_attrs:
            self._label_default(study, trial)
        if self._revises():
            policy = self.policy(study)
            k = self._reviser.due(study, trial.number, policy)
            if k is not None and self._space is not None:
                self._reviser.revise(
                    study, trial, self._space, policy, llm=self.llm, seed=self._seed, k=k
                )
        self._backbone.before_trial(self._model_view(study), trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Delegates to the backbone; warns when the objective suggested a revised parameter
        over a range of its own (:class:`~agenthpo.errors.SpaceRevisionWarning`)."""
        revised = self._revised(study)
        if revised is not None:
            self._warn_if_fixed(study, trial, *revised)
        if state == TrialState.COMPLETE:  # a crash may end a run before its suggestions
            self._note_unsuggested(study, trial)
        self._backbone.after_trial(self._model_view(study), trial, state, values)

    def _note_space_mismatch(
        self, study: Study, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> None:
        """Says, once per study and parameter, that the objective suggests ``name`` over a
        range or choices that the sampler's ``space`` does not declare: proposals are made
        in ``space``, and Optuna drops a value the objective's own distribution does not
        hold, so the backbone draws it instead. An LLM trial records what it lost
        (``llm_dropped``), so its rationale is not read as what ran."""
        assert self._space is not None
        declared = self._space.to_optuna().get(name)
        in_force = self.space_in_force(study).to_optuna().get(name)
        if declared is None:
            self._warn_once(
                study,
                name,
                f"parameter {name!r}: the objective suggests it but the sampler's space does"
                f" not declare it, so the LLM never proposes it and"
                f" {type(self._backbone).__name__} draws it: declare the same parameters in"
                " both",
            )
            return
        if distribution in (declared, in_force):
            return  # a revised range the objective does not follow: _warn_if_fixed says so
        self._warn_once(
            study,
            name,
            f"parameter {name!r}: the objective suggests {_described(distribution)} but"
            f" the sampler's space declares {_described(declared)}; a proposal the"
            " objective's range does not hold"
            f" is dropped and {type(self._backbone).__name__} draws the parameter: declare"
            " it the same way in both",
        )
        stored = _optuna.stored_trial(study, trial)
        if stored.user_attrs.get(_keys.PROPOSED_BY) == "llm":
            dropped = [*stored.user_attrs.get(_keys.LLM_DROPPED, []), name]
            _optuna.set_trial_user_attr(study, trial, _keys.LLM_DROPPED, dropped)

    def _note_unusable(self, study: Study, kind: str) -> None:
        """Counts an LLM answer that could not be used, and warns once per study when
        :data:`UNUSABLE_IN_A_ROW` came in a row: a model that never answers usably ran no
        trial, yet only an unreachable one was said (the backbone proposed in silence)."""
        kinds = self._unusable.setdefault(study.study_name, [])
        kinds.append(kind)
        if len(kinds) == UNUSABLE_IN_A_ROW:
            counted = ", ".join(f"{k} {kinds.count(k)}" for k in dict.fromkeys(kinds))
            self._warn_once(
                study,
                "\0unusable",  # not a parameter's name: once per study
                f"the LLM ({self.llm.name})'s last {len(kinds)} answers could not be used"
                f" ({counted}); {type(self._backbone).__name__} proposed those trials. A"
                " larger model, or structured output from its server, answers usably",
            )

    def _warn_once(self, study: Study, name: str, text: str) -> None:
        """Logs and warns ``text`` once per study and parameter."""
        key = (study.study_name, name)
        if key not in self._warned_mismatch:
            self._warned_mismatch.add(key)
            _say.warn(text, stacklevel=4)

    def _note_unsuggested(self, study: Study, trial: FrozenTrial) -> None:
        """Records as dropped (``llm_dropped``) the parameters the LLM proposed that the
        objective never suggested on ``trial``, whose values did not run. With a ``space``
        given, that is a mismatch, said once per study and parameter; without one, the
        space was learned from finished trials and a define-by-run objective may leave a
        parameter out on this trial."""
        if trial.user_attrs.get(_keys.PROPOSED_BY) != "llm":
            return
        proposed = trial.system_attrs.get(_keys.SYS_CLAIM)
        if not isinstance(proposed, dict):
            return
        space = self._space
        unused = [n for n in proposed if n not in trial.params and (space is None or n in space)]
        if not unused:
            return
        if space is not None:
            for name in unused:
                self._warn_once(
                    study,
                    name,
                    f"parameter {name!r}: the sampler's space declares it but the objective"
                    " did not suggest it, so the LLM's value did not run: declare the same"
                    " parameters in both",
                )
        dropped = [*trial.user_attrs.get(_keys.LLM_DROPPED, []), *unused]
        _optuna.set_trial_user_attr(study, trial, _keys.LLM_DROPPED, dropped)

    def _refuse_if_single_only(self, study: Study) -> None:
        """Several objectives need a backbone that handles them (TPE, random, GP; not CMA-ES)."""
        if isinstance(self._backbone, CmaEsSampler) and len(study.directions) > 1:
            raise ValueError(  # Optuna's own message for single-objective samplers
                "If the study is being used for multi-objective optimization, "
                f"{self.__class__.__name__} cannot be used."
            )


def _check_arguments(
    llm: object,
    space: object,
    context: object,
    backbone: object,
    policy: object,
    hidden_metrics: Iterable[str],
) -> tuple[str, ...]:
    """Refuses arguments of the wrong kind when the sampler is made, naming them (they
    would otherwise fail at the first trial, inside Optuna); returns ``hidden_metrics`` as
    a tuple (one name given as text is one metric, not its characters)."""
    wrong = [
        f"{name}: give {want}, not {type(value).__name__}"
        for name, value, ok, want in (
            ("llm", llm, callable(getattr(llm, "complete", None)), "an LLM client"),
            ("space", space, isinstance(space, Space), "a Space (Space.from_dict(...))"),
            ("context", context, isinstance(context, TaskContext), "a TaskContext"),
            ("backbone", backbone, isinstance(backbone, BaseSampler), "an Optuna sampler"),
        )
        if value is not None and not ok
    ]
    if not isinstance(policy, LLMPolicy | Preset | str):
        wrong.append(
            f"policy: give a preset's name, a preset(...) or an LLMPolicy, not"
            f" {type(policy).__name__}"
        )
    if wrong:
        raise TypeError("; ".join(wrong))
    names = (hidden_metrics,) if isinstance(hidden_metrics, str) else tuple(hidden_metrics)
    if not all(isinstance(name, str) for name in names):
        raise TypeError("hidden_metrics: give metric names")
    return names


def _as_preset(policy: LLMPolicy | Preset | str) -> Preset:
    """A preset for any form of ``policy`` (an :class:`LLMPolicy` holds for every model and
    every field counts as set)."""
    if isinstance(policy, str):
        return get_preset(policy)
    if isinstance(policy, LLMPolicy):
        return Preset(
            name="custom",
            summary="a policy given in full",
            capable=policy,
            embedded=policy,
            overridden=frozenset(POLICY_FIELDS),
        )
    return policy


def _stored_profile(stored: Any) -> ModelProfile | None:
    """The model profile a study stored with its schedule, or ``None``."""
    if isinstance(stored, dict) and isinstance(stored.get("embedded"), bool):
        return EMBEDDED if stored["embedded"] else CAPABLE
    return None


def _probe(number: int) -> FrozenTrial:
    """A stand-in for trial ``number`` before it exists, where only the study's search
    space is asked for (neither the task's space nor the intersection reads the trial)."""
    return FrozenTrial(
        number=number,
        state=TrialState.WAITING,
        value=None,
        datetime_start=None,
        datetime_complete=None,
        params={},
        distributions={},
        user_attrs={},
        system_attrs={},
        intermediate_values={},
        trial_id=-1,
    )


def _inside(revised: BaseDistribution, used: BaseDistribution) -> bool:
    """Whether every value of ``revised`` is one ``used`` takes: a numeric range within the
    other's bounds, or a subset of its choices.

    Example:
        >>> from optuna.distributions import FloatDistribution as F
        >>> _inside(F(2.0, 5.0), F(0.0, 5.0)), _inside(F(2.0, 8.0), F(0.0, 5.0))
        (True, False)
        >>> from optuna.distributions import CategoricalDistribution as C
        >>> _inside(C(["a"]), C(["a", "b"])), _inside(C(["a", "c"]), C(["a", "b"]))
        (True, False)
        >>> _inside(C(["a"]), F(0.0, 5.0))
        False
    """
    if isinstance(revised, CategoricalDistribution):
        return isinstance(used, CategoricalDistribution) and set(revised.choices) <= set(
            used.choices
        )
    if isinstance(revised, (FloatDistribution, IntDistribution)) and isinstance(
        used, (FloatDistribution, IntDistribution)
    ):
        return bool(used.low <= revised.low and revised.high <= used.high)
    return False


def _rival_detail(study: Study, rival: int) -> str:
    """Why a claimed configuration is taken: by a trial still to finish (another worker's,
    or one queued) or by one that ran (the proposal repeats it)."""
    state = next((t.state for t in study.get_trials(deepcopy=False) if t.number == rival), None)
    if state in (TrialState.RUNNING, TrialState.WAITING):
        return f"trial #{rival} (another worker) took the same configuration meanwhile"
    return f"trial #{rival} already ran the same configuration"


def _described(distribution: BaseDistribution) -> str:
    """``0.001 to 0.1 (log)``, ``one of ['a', 'b']``: a distribution for a message."""
    if isinstance(distribution, CategoricalDistribution):
        return f"one of {list(distribution.choices)}"
    log = " (log)" if getattr(distribution, "log", False) else ""
    step = getattr(distribution, "step", None)
    return _bounds(distribution) + log + (f" step {step:g}" if step not in (None, 1) else "")


def _bounds(distribution: BaseDistribution) -> str:
    """``0.001 to 0.1`` for a numeric distribution."""
    low, high = getattr(distribution, "low", "?"), getattr(distribution, "high", "?")
    return f"{low:g} to {high:g}" if isinstance(low, (int, float)) else f"{low} to {high}"
