"""``AgentSampler``: the agent as an Optuna sampler, alone or steering a classical optimizer.

It proposes the whole configuration in ``sample_relative`` from an LLM (the paper's Creator),
validated against the space before it is returned (Optuna would silently replace an invalid
relative value). When the LLM fails, its answer stays invalid or repeats a tried
configuration, or the LLM budget is spent, the backbone sampler (TPE by default) proposes
instead and the reason is recorded. The backbone also serves ``sample_independent`` and
learns from every trial, whoever proposed it.

A schedule decides which trials the LLM proposes (see :mod:`agenthpo.strategies`): every
trial (``agent``), the first few and then a share (``hybrid-tpe``), or a share after a
warm-up while seeing the backbone's own proposal and state (``centaur``).

On each trial the sampler stores as ``user_attrs`` (shown by optuna-dashboard): the
rationale, who proposed (``llm`` or ``backbone``), the model, tokens, cost, latency, and the
fallback's reason; every LLM request and response goes into the trial's system attributes.

Example:
    >>> import optuna
    >>> from agenthpo import AgentSampler
    >>> sampler = AgentSampler(llm=my_llm, seed=0)  # doctest: +SKIP
    >>> study = optuna.create_study(sampler=sampler)  # doctest: +SKIP
    >>> objective = lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2  # doctest: +SKIP
    >>> study.optimize(objective, n_trials=10)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import random
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, CmaEsSampler, TPESampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys
from agenthpo._seeding import reseed, trial_seed
from agenthpo.agent.creator import (
    CallRecord,
    Creator,
    Proposal,
    ProposalFailed,
    find_duplicate,
    propose_batch,
)
from agenthpo.agent.explain import cmaes_state, explain
from agenthpo.agent.history import pareto_ranks, render_history, trial_views
from agenthpo.agent.prompts import TaskContext
from agenthpo.agent.screen import OutsideScreen, ScreenVerdict, tpe_screen
from agenthpo.agent.trust import Trust, llm_trust
from agenthpo.backbone import Backbone
from agenthpo.errors import LLMRequiredError, LLMUnavailableWarning
from agenthpo.llm import LLMClient, is_embedded, resolve_llm
from agenthpo.llm._pricing import price_of
from agenthpo.space import Space

if TYPE_CHECKING:
    from optuna._typing import JSONSerializable

__all__ = ["AgentSampler"]

_logger = logging.getLogger("agenthpo")


def _percent(share: float) -> str:
    """``25%``, ``0.4%``: a share as people write it, never rounded to 0% or 100%."""
    text = f"{share:.0%}"
    return f"{share:.1%}" if text in ("0%", "100%") and 0 < share < 1 else text


def _first(n: int) -> str:
    """``the first trial``, ``the first 10 trials``."""
    return "the first trial" if n == 1 else f"the first {n} trials"


def _stored_schedule(stored: Any) -> tuple[int, int] | None:
    """A study's stored ``(warm-up, start-up)``, or ``None`` when absent or malformed."""
    if not isinstance(stored, dict):
        return None
    warmup, startup = stored.get("warmup"), stored.get("startup")
    if isinstance(warmup, int) and isinstance(startup, int) and min(warmup, startup) >= 0:
        return warmup, startup
    return None


# How a run's first lines name the classical samplers behind the agent.
_BACKBONE_NAMES = {
    "TPESampler": "TPE",
    "CmaEsSampler": "CMA-ES",
    "GPSampler": "GP",
    "Backbone": "the backbone",
}

_RATIONALE_ATTR_MAX = 480
MAX_STORED_ANSWER_CHARS = 20_000
"""How much of one LLM answer is stored with a trial (an answer that long is unusable
anyway); the cut is marked in the stored text."""
_REDRAWS = 10  # draws of the backbone beyond the first while it repeats a tried config


class AgentSampler(BaseSampler):
    """An Optuna sampler whose proposals come from an LLM agent, with a classical backbone.

    Args:
        llm: The model; ``None`` picks one as the CLI does (:func:`agenthpo.llm.resolve_llm`)
            at the first proposal.
        space: The search space. ``None`` infers it from finished trials (like multivariate
            TPE), so the first trial of a fresh study comes from the backbone.
        context: The task's background (description, dataset and model facts, metric, goal).
            ``None`` describes an anonymous study; its direction is read from the study.
        backbone: The sampler for fallbacks, the trials the schedule gives it, and
            ``sample_independent``; TPE by default.
        seed: Seeds the backbone and, where the LLM supports it, its sampling.
        hidden_metrics: Stored metrics never shown to the LLM (e.g. ``test_accuracy``).
        temperature: LLM sampling temperature.
        repair_rounds: Follow-up calls that send an invalid answer's problems back; ``None``
            means one, or none for the embedded model (SmolLM2-135M fixed 2 answers in 89
            repair rounds, which were a third of its calls).
        duplicate_tolerance: Proposals closer than this (unit-cube distance) to a tried or
            running configuration are duplicates.
        llm_warmup_trials: The first trials go to the backbone alone (``centaur``: 10);
            ``None`` takes it from the schedules below.
        llm_startup_trials: After the warm-up, this many trials all go to the LLM; ``None``
            takes it from the schedules below.
        default_schedule: ``(warm-up, start-up)`` for whichever of the two is ``None``.
        embedded_schedule: The same when the LLM is the embedded model
            (:func:`~agenthpo.llm.is_embedded`), if it differs. A study's first proposal
            stores the schedule in the study (``agenthpo_schedule``); a resumed study, every
            worker and a replay then keep it.
        llm_share: After that, the share of trials the LLM proposes (1 = all, 0 = none),
            spread evenly by trial number so that every worker agrees.
        adaptive_share: Give a scheduled LLM turn to the LLM only with probability
            :func:`~agenthpo.agent.trust.llm_trust` (1 until a few of its proposals were
            judged and while they do as well as the backbone's, falling to ``trust_floor``
            as they keep doing worse), so that a weak model costs little as the budget
            grows. Single-objective studies only.
        trust_floor: The least trust: a losing LLM keeps this share of its turns.
        screen_llm: Let a TPE backbone screen the LLM's proposals
            (:func:`~agenthpo.agent.screen.tpe_screen`): one that TPE's density ratio rates
            below TPE's own proposal for the trial goes back to TPE. ``None`` screens when
            the model is the embedded one (as stored in the study, else
            :func:`~agenthpo.llm.is_embedded`) and the backbone is TPE.
        show_backbone: Ask the backbone first and show its proposal (and, for CMA-ES, its
            mean and step size) to the LLM, which may keep or override it.
        max_llm_tokens: Stop asking the LLM once the study's trials used this many tokens.
        max_llm_cost: Stop asking the LLM once the study's LLM cost reaches this many
            dollars (known models only; see :mod:`agenthpo.llm._pricing`).
        price_per_mtok: ``(input, output)`` dollars per million tokens, overriding the table.
        record_calls: Store every request and response on the trial (for audit and replay).
        llm_batch_size: Ask the LLM for this many diverse candidates in one call; the first
            runs now and the others are enqueued in the study, where any worker picks them
            up (each with its own rationale).
        require_llm: Make an LLM that cannot run an error (:class:`LLMRequiredError`, the
            trial fails uncounted) instead of a fallback to the backbone with an
            :class:`LLMUnavailableWarning`.
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
        repair_rounds: int | None = None,
        duplicate_tolerance: float = 1e-3,
        llm_warmup_trials: int | None = None,
        llm_startup_trials: int | None = None,
        default_schedule: tuple[int, int] = (0, 0),
        embedded_schedule: tuple[int, int] | None = None,
        llm_share: float = 1.0,
        adaptive_share: bool = False,
        trust_floor: float = 0.1,
        screen_llm: bool | None = False,
        show_backbone: bool = False,
        max_llm_tokens: int | None = None,
        max_llm_cost: float | None = None,
        price_per_mtok: tuple[float, float] | None = None,
        record_calls: bool = True,
        llm_batch_size: int = 1,
        require_llm: bool = False,
    ) -> None:
        if not 0.0 <= llm_share <= 1.0:
            raise ValueError(f"llm_share must be between 0 and 1 (got {llm_share})")
        if not 0.0 <= trust_floor <= 1.0:
            raise ValueError(f"trust_floor must be between 0 and 1 (got {trust_floor})")
        self._llm = llm
        self._space = space
        self._context = context
        self._seed = seed
        self._backbone = backbone if backbone is not None else TPESampler(seed=seed)
        self._hidden_metrics = tuple(hidden_metrics)
        self._temperature = temperature
        self._repair_rounds = repair_rounds
        self._duplicate_tolerance = duplicate_tolerance
        self._given = (
            None if llm_warmup_trials is None else max(0, llm_warmup_trials),
            None if llm_startup_trials is None else max(0, llm_startup_trials),
        )
        self._default_schedule = default_schedule
        self._embedded_schedule = embedded_schedule
        self._fixed: tuple[str, tuple[int, int]] | None = None  # (study name, schedule)
        self._share = llm_share
        self._adaptive = adaptive_share
        self._trust_floor = trust_floor
        # TPE's density ratio judges the LLM's proposals: the backbone's own when it is TPE,
        # a TPE built for judging beside AgentHPO's Backbone (whose GP has no such ratio).
        self._judge: TPESampler | None = (
            self._backbone
            if isinstance(self._backbone, TPESampler)
            else TPESampler(seed=seed)
            if isinstance(self._backbone, Backbone)
            else None
        )
        if screen_llm and self._judge is None:
            raise ValueError(
                "screen_llm needs a TPESampler or Backbone backbone (TPE's density ratio)"
            )
        self._screen_llm = screen_llm
        self._show_backbone = show_backbone
        self._max_tokens = max_llm_tokens
        self._max_cost = max_llm_cost
        self._price = price_per_mtok
        self._record_calls = record_calls
        self._batch = max(1, llm_batch_size)
        self._require_llm = require_llm
        self.llm_failure: str | None = None
        """The first LLM error of this sampler's life (``None`` while the LLM answers)."""
        self._intersection = IntersectionSearchSpace()
        self.llm_note: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._prefetched: _Prefetched | None = None
        self._carried: list[CallRecord] = []
        self._batches: dict[int, list[Proposal]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_pool"] = None  # threads and pending work stay with the original
        state["_prefetched"] = None
        state["_carried"] = []
        state["_batches"] = {}
        return state

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
        """Reseeds the backbone (Optuna calls this for each worker process).

        A seeded sampler takes a fresh random seed: its per-trial draws change, and stay
        distinct per trial.
        """
        if self._seed is not None:
            self._seed = random.randrange(2**31)
        self._backbone.reseed_rng()

    def schedule(self, study: Study | None = None) -> str:
        """Who proposes which trials, in one sentence (shown when a run starts).

        Example:
            >>> AgentSampler(llm_warmup_trials=10, llm_share=0.25).schedule()
            'TPE proposes the first 10 trials, then the LLM 25% of the rest and TPE the others'
        """
        warmup, startup = self.warmup_and_startup(study)
        backbone = _BACKBONE_NAMES.get(type(self._backbone).__name__, "the backbone")
        multi = study is not None and len(study.directions) > 1
        fewer = (
            f" (fewer while its proposals do worse than {backbone}'s)"
            if self._adaptive and self._share > 0 and not multi
            else ""
        )
        share = _percent(self._share)
        if self._show_backbone:
            text = f"{backbone} proposes every trial"
            override = [f"the next {startup}"] if startup else []
            if self._share > 0:
                override.append(f"{share} of {'the rest' if startup else 'them'}{fewer}")
            if not override:
                return text
            after = f" after the first {warmup}" if warmup else ""
            return f"{text};{after} the LLM may override {' and '.join(override)}"
        head = []
        if warmup:
            head.append(f"{backbone} proposes {_first(warmup)}")
        if startup:
            head.append(
                f"the LLM the next {startup}" if warmup else f"the LLM proposes {_first(startup)}"
            )
        if self._share >= 1:
            rest = "the LLM every trial after them" if head else "the LLM proposes every trial"
            rest += f" ({backbone} steps in when an answer is unusable)"
        elif self._share <= 0:
            rest = f"{backbone} the rest" if head else f"{backbone} proposes every trial"
        else:
            verb = "" if head else "proposes "
            rest = f"the LLM {verb}{share} of the {'rest' if head else 'trials'}{fewer}"
            rest += f" and {backbone} the others"
        text = ", then ".join([", ".join(head), rest]) if head else rest
        if self._share > 0 and self.screens(study):
            if backbone == "TPE":
                text += (
                    "; TPE screens the LLM's proposals (it keeps its own where its density"
                    " ratio rates it higher)"
                )
            else:
                text += (
                    f"; {backbone}'s own acquisition screens the LLM's proposals (its own"
                    " proposal runs where that rates it higher)"
                )
        return text[0].upper() + text[1:]

    def warmup_and_startup(self, study: Study | None = None) -> tuple[int, int]:
        """The schedule's ``(warm-up, start-up)`` trials: the given ones, else the study's
        stored schedule, else the model's (:func:`~agenthpo.llm.is_embedded`). With a study,
        the first call stores it there, so every worker and a resumed study agree.

        Example:
            >>> AgentSampler(llm_startup_trials=2, default_schedule=(5, 0)).warmup_and_startup()
            (5, 2)
        """
        if study is not None and self._fixed is not None and self._fixed[0] == study.study_name:
            return self._fixed[1]
        warmup, startup = self._given
        stored = study.user_attrs.get(_keys.STUDY_SCHEDULE) if study is not None else None
        if warmup is None or startup is None:
            base = _stored_schedule(stored)
            if base is None:
                weak = self._embedded_schedule is not None and is_embedded(self.llm)
                base = self._embedded_schedule if weak else self._default_schedule
                assert base is not None
            warmup = base[0] if warmup is None else warmup
            startup = base[1] if startup is None else startup
        if study is not None:
            if stored is None:
                study.set_user_attr(
                    _keys.STUDY_SCHEDULE,
                    {"warmup": warmup, "startup": startup, "embedded": is_embedded(self.llm)},
                )
            self._fixed = (study.study_name, (warmup, startup))
        return warmup, startup

    def screens(self, study: Study | None = None, *, embedded: bool | None = None) -> bool:
        """Whether TPE screens the LLM's proposals in ``study`` (see ``screen_llm``).

        Args:
            study: The study, whose stored schedule says whether its model is the embedded
                one when ``screen_llm`` is ``None``.
            embedded: Whether the proposer is the embedded model, where neither
                ``screen_llm`` nor the study says; ``None`` asks this sampler's LLM (and
                resolves it). A proposer from outside (an MCP client) gives ``False``.

        Example:
            >>> from agenthpo.llm import ScriptedLLM
            >>> AgentSampler(llm=ScriptedLLM([]), screen_llm=None).screens()
            False
        """
        if self._screen_llm is not None:
            return self._screen_llm
        if self._judge is None:
            return False
        stored = study.user_attrs.get(_keys.STUDY_SCHEDULE) if study is not None else None
        if isinstance(stored, dict) and isinstance(stored.get("embedded"), bool):
            return bool(stored["embedded"])
        return is_embedded(self.llm) if embedded is None else embedded

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
        """TPE's screen of a configuration proposed outside this sampler for trial ``number``.

        The configuration of a proposer that is not this sampler's LLM (an MCP client's)
        is judged as the LLM's proposals are: against TPE's own proposal for the same
        trial, drawn as :meth:`before_trial` and :meth:`sample_relative` would draw it
        (drawn again while it repeats a configuration of ``taken``). This sampler's LLM is
        never asked. ``rationale`` and ``proposer`` (e.g. ``client:claude-code``) go into
        the attributes of a trial whose proposal was screened out.

        Returns:
            ``None`` when the study does not screen (:meth:`screens`, the proposer counted
            as not the embedded model); otherwise TPE's own configuration and its verdict,
            which is ``None`` while TPE cannot judge (its random start-up).

        Example:
            >>> sampler = AgentSampler(screen_llm=True, space=space, seed=0)  # doctest: +SKIP
            >>> screen = sampler.screen_outside(  # doctest: +SKIP
            ...     study, {"x": 4.0}, number=12, rationale="why", proposer="client:me")
            >>> screen.verdict.passed, screen.own  # doctest: +SKIP
            (False, {'x': 2.1})
        """
        if not self.screens(study, embedded=False) or self._judge is None:
            return None
        search_space = self.infer_relative_search_space(study, _probe(number))
        space = self._space if self._space is not None else Space.from_optuna(search_space)
        # TPE draws its own proposal in a copy of the study held in memory, so that the
        # draw writes nothing to the study and no other worker can take a half-made trial
        mirror = optuna.create_study(
            storage=optuna.storages.InMemoryStorage(),
            directions=study.directions,
            sampler=self._backbone,
        )
        mirror.add_trials(
            [t for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING]
        )
        own: dict[str, Any] = {}
        for attempt in range(_REDRAWS + 1):
            if self._seed is not None:
                reseed(self._backbone, trial_seed(self._seed, number, attempt))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                drawn = mirror.ask(search_space)
            own = {name: drawn.params[name] for name in search_space}
            mirror.tell(drawn, state=TrialState.FAIL)
            if find_duplicate(own, taken, space, tolerance=0.0) is None:
                break
        verdict = self._verdict(study, number, search_space, config, own)
        if verdict is None or verdict.passed:
            return OutsideScreen(verdict=verdict, own=own)
        attrs = self.screened_attrs(config, rationale, verdict, proposer=proposer)
        return OutsideScreen(verdict=verdict, own=own, attrs=attrs)

    def screened_attrs(
        self, config: dict[str, Any], rationale: str, verdict: ScreenVerdict, *, proposer: str
    ) -> dict[str, Any]:
        """A trial's attributes when TPE screened out ``proposer``'s configuration: the
        backbone's turn, with the proposal, its reason and both log ratios kept.

        Example:
            >>> v = ScreenVerdict(passed=False, llm=-0.41, own=0.87)
            >>> attrs = AgentSampler(screen_llm=True).screened_attrs(
            ...     {"x": 4.0}, "far from the rest", v, proposer="client:me")
            >>> attrs["proposed_by"], attrs["screened_proposal"]["log_ratio"]
            ('backbone', -0.41)
        """
        shown = json.dumps(_rounded(config))
        return {
            _keys.PROPOSED_BY: "backbone",
            _keys.FALLBACK_REASON: _clip(
                f"screened: {shown}; {verdict.describe()}; {proposer}'s reason: {rationale}",
                _RATIONALE_ATTR_MAX,
            ),
            _keys.RATIONALE: _clip(
                f"{type(self._backbone).__name__} proposed: it screened out {proposer}'s"
                f" proposal {shown}, {verdict.describe()}",
                _RATIONALE_ATTR_MAX,
            ),
            _keys.SCREENED: {
                "proposed_by": proposer,
                "config": dict(config),
                "rationale": _clip(rationale, _RATIONALE_ATTR_MAX),
                "log_ratio": round(verdict.llm, 4),
                "backbone_log_ratio": round(verdict.own, 4),
            },
        }

    def llm_turn(self, number: int, study: Study | None = None) -> bool:
        """Whether the schedule gives trial ``number`` to the LLM (before any trust check)."""
        warmup, startup = self.warmup_and_startup(study)
        if number < warmup:
            return False
        k = number - warmup
        if k < startup:
            return True
        j = k - startup
        return math.floor((j + 1) * self._share + 1e-9) > math.floor(j * self._share + 1e-9)

    def trust(self, study: Study) -> Trust | None:
        """The trust in the LLM from the study's trials (``None`` unless adaptive)."""
        if not self._adaptive or len(study.directions) != 1:
            return None
        return llm_trust(study.get_trials(deepcopy=False), study.direction, floor=self._trust_floor)

    def _turn(self, study: Study, number: int) -> tuple[bool, Trust | None]:
        """Whether trial ``number`` goes to the LLM, and the trust that decided it.

        Start-up turns always go to the LLM (there is no evidence yet); later scheduled
        turns go to it with probability ``trust``, drawn from the seed and the trial number
        so that every worker and a resumed study decide alike.
        """
        if not self.llm_turn(number, study):
            return False, None
        if number < sum(self.warmup_and_startup(study)):
            return True, None
        trust = self.trust(study)
        if trust is None or trust.value >= 1.0:
            return True, trust
        draw = random.Random(f"agenthpo-trust:{self._seed}:{number}").random()
        return draw < trust.value, trust

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
        """Asks the agent (or, by the schedule, the backbone) for the whole configuration."""
        self._refuse_if_single_only(study)
        if not search_space:
            return {}
        fixed = trial.system_attrs.get("fixed_params") or {}
        left_out = trial.user_attrs.get(_keys.LEFT_OUT) or ()
        if all(name in fixed or name in left_out for name in search_space):
            return {}  # an enqueued configuration: nothing to propose
        backbone_name = type(self._backbone).__name__
        llm_turn, trust = self._turn(study, trial.number)
        if trust is not None:
            self._store(study, trial, {_keys.LLM_TRUST: round(trust.value, 3)})
        if not llm_turn:
            warmup = self.warmup_and_startup(study)[0]
            why = ""
            if trust is not None and self.llm_turn(trial.number, study):
                why = f"its turn: {trust.describe()}"
            elif trial.number < warmup:
                why = f"its turn: the first {warmup} trials are its warm-up"
            self._store(study, trial, {_keys.PROPOSED_BY: "backbone"})
            config = self._backbone_fresh(study, trial, search_space)
            return self._explained(study, trial, config, why)
        trials = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number]
        budget_note = self._budget_exhausted(trials)
        if budget_note is not None:
            self._store(
                study,
                trial,
                {
                    _keys.PROPOSED_BY: "backbone",
                    _keys.FALLBACK_REASON: f"budget: {budget_note}",
                },
            )
            config = self._backbone_complete(study, trial, search_space)
            return self._explained(study, trial, config, "LLM budget spent")

        space = self._space if self._space is not None else Space.from_optuna(search_space)
        extra_note: str | None = None
        backbone_proposal: dict[str, Any] | None = None
        if self._show_backbone:
            backbone_proposal = self._backbone_relative(study, trial, search_space)
            extra_note = self._backbone_note(study, backbone_proposal, space)
        outcome = self._take_prefetched(study, trial.number, space)
        if outcome is None:
            outcome = self._ask_llm(study, trial.number, space, extra_note)
            carried, self._carried = self._carried, []
            outcome.calls[:0] = carried
        elif isinstance(outcome, Proposal) and outcome.calls:
            self._store(study, trial, {_keys.LLM_PREFETCHED: True})
        if isinstance(outcome, ProposalFailed):
            _logger.info(
                "trial %d: the LLM gave no usable proposal (%s); %s proposes",
                trial.number,
                outcome,
                backbone_name,
            )
            self._store(study, trial, self._fallback_attrs(outcome))
            self._record(study, trial, outcome.calls)
            if outcome.kind == "llm_error":
                self._llm_failed(study, trial, outcome, backbone_name)
            config = self._backbone_complete(study, trial, search_space, backbone_proposal)
            return self._explained(study, trial, config, f"LLM fallback: {outcome.kind}")
        own = None
        if self.screens(study):
            # TPE's own proposal for this trial, drawn as plain TPE draws it: the bar the
            # LLM's proposals must clear, and the trial's configuration if they do not.
            own = self._backbone_complete(study, trial, search_space, backbone_proposal)
        self._enqueue(study, trial.number, search_space, self._pop_batch(trial.number), own)
        verdict = self._verdict(study, trial.number, search_space, outcome.config, own)
        if own is not None and verdict is not None and not verdict.passed:
            _logger.info(
                "trial %d: %s screened out the LLM's proposal %s (%s)",
                trial.number,
                backbone_name,
                outcome.config,
                verdict.describe(),
            )
            self._store(study, trial, self._screened_attrs(outcome, verdict))
            self._record(study, trial, outcome.calls)
            return own
        rival = self._claim(study, trial, outcome.config, space)
        if rival is not None:
            failed = ProposalFailed(
                "duplicate",
                f"trial #{rival} (another worker) took the same configuration meanwhile",
                outcome.calls,
            )
            self._store(study, trial, self._fallback_attrs(failed))
            self._record(study, trial, failed.calls)
            config = self._backbone_complete(study, trial, search_space, backbone_proposal)
            return self._explained(study, trial, config, "LLM fallback: duplicate")
        self._store(study, trial, self._proposal_attrs(outcome))
        self._record(study, trial, outcome.calls)
        _logger.info(
            "trial %d: the LLM proposed %s: %s", trial.number, outcome.config, outcome.rationale
        )
        return {name: outcome.config[name] for name in search_space if name in outcome.config}

    def _llm_failed(
        self, study: Study, trial: FrozenTrial, failed: ProposalFailed, backbone_name: str
    ) -> None:
        """Says, where a user sees it, that the LLM could not run: a warning (once per
        sampler) and a log line; with ``require_llm`` the trial fails and the run stops."""
        message = (
            f"the LLM ({self.llm.name}) could not run on trial {trial.number}: {failed.detail}"
        )
        if self._require_llm:
            self._store(
                study,
                trial,
                {_keys.ERROR: f"llm required: {failed.detail}", _keys.NOT_COUNTED: "llm"},
            )
            study.tell(trial.number, state=TrialState.FAIL)
            raise LLMRequiredError(f"{message} (require_llm is on, so the run stops)")
        if self.llm_failure is None:
            self.llm_failure = failed.detail
            text = f"{message}; {backbone_name} proposes its trials instead"
            _logger.warning(text)
            warnings.warn(LLMUnavailableWarning(text), stacklevel=2)

    # -- the LLM's proposal, now or prepared while a trial runs ------------------------------
    def _context_for(self, study: Study) -> TaskContext:
        """The given context, or one read from the study (its directions and metric names)."""
        directions: list[Literal["maximize", "minimize"]] = [
            "maximize" if d == optuna.study.StudyDirection.MAXIMIZE else "minimize"
            for d in study.directions
        ]
        if self._context is not None and len(self._context.all_objectives) == len(directions):
            return self._context
        names = study.metric_names
        if names is None or len(names) != len(directions):
            names = (
                ["value"]
                if len(directions) == 1
                else [f"value_{i}" for i in range(len(directions))]
            )
        base = self._context or TaskContext(name=study.study_name)
        return dataclasses.replace(
            base,
            metric=names[0],
            direction=directions[0],
            objectives=tuple(zip(names, directions, strict=True)) if len(directions) > 1 else (),
        )

    def _ask_llm(
        self, study: Study, number: int, space: Space, extra_note: str | None
    ) -> Proposal | ProposalFailed:
        """One proposal from the LLM for trial ``number`` from the history stored now."""
        context = self._context_for(study)
        trials = [t for t in study.get_trials(deepcopy=False) if t.number != number]
        objectives = context.all_objectives
        metrics = [m for m, _ in objectives]
        views = trial_views(trials, hidden_metrics=self._hidden_metrics, metric=metrics)
        history = render_history(
            views,
            metric=metrics,
            direction=[d for _, d in objectives],
            space=space,
            hidden_metrics=self._hidden_metrics,
        )
        noise_note = "" if context.is_multi_objective else _noise_note(study, context.metric)
        if noise_note:
            history = f"{history}\n{noise_note}" if history else noise_note
        if extra_note:
            history = f"{history}\n{extra_note}" if history else extra_note
        tried = [(t.number, t.params) for t in trials if t.params]
        creator = Creator(
            llm=self.llm,
            space=space,
            context=context,
            repair_rounds=self._repairs(),
            temperature=self._temperature,
            duplicate_tolerance=self._duplicate_tolerance,
        )
        seed = None if self._seed is None else self._seed + number
        reference = _best(trials, [d for _, d in objectives])
        try:
            if self._batch > 1 and not extra_note:
                first, *others = propose_batch(
                    creator, history, self._batch, tried=tried, seed=seed
                )
                self._batches[number] = others  # enqueued when trial ``number`` starts
                return first
            return creator.propose(history, tried=tried, seed=seed, reference=reference)
        except ProposalFailed as failed:
            return failed
        except Exception as exc:
            # The LLM's answer is outside input: whatever a provider or the parsing of an
            # answer raises must cost this trial its LLM proposal, not the run.
            _logger.warning(
                "trial %d: handling the LLM's answer failed (%s: %s)",
                number,
                type(exc).__name__,
                _clip(str(exc), 200),
                exc_info=_logger.isEnabledFor(logging.DEBUG),
            )
            return ProposalFailed(
                "llm_error", f"unexpected {type(exc).__name__}: {_clip(str(exc), 200)}"
            )

    def _pop_batch(self, number: int) -> list[Proposal]:
        """The other candidates of the batch asked for trial ``number`` (older ones dropped:
        their proposal was out of date and asked again)."""
        for stale in [n for n in self._batches if n < number]:
            del self._batches[stale]
        return self._batches.pop(number, [])

    def _enqueue(
        self,
        study: Study,
        number: int,
        search_space: dict[str, BaseDistribution],
        proposals: Sequence[Proposal],
        own: dict[str, Any] | None,
    ) -> None:
        """Enqueues a batch's other candidates for any worker; when TPE screens, only those
        it rates at least as high as its own proposal for trial ``number`` (an enqueued
        trial's configuration is fixed, so it is screened now)."""
        for proposal in proposals:
            verdict = self._verdict(study, number, search_space, proposal.config, own)
            if verdict is not None and not verdict.passed:
                _logger.info(
                    "the LLM's batch candidate %s is screened out (%s)",
                    proposal.config,
                    verdict.describe(),
                )
                continue
            study.enqueue_trial(
                proposal.config,
                user_attrs={
                    _keys.PROPOSED_BY: "llm",
                    _keys.RATIONALE: _clip(proposal.rationale, _RATIONALE_ATTR_MAX),
                    _keys.LLM_MODEL: self.llm.name,
                    _keys.LLM_BATCH: True,
                },
                skip_if_exists=True,
            )

    def prefetch(self, study: Study, number: int) -> bool:
        """Starts preparing the LLM's proposal for trial ``number`` in the background.

        The tuner calls this while a trial runs, so that the next proposal is ready when the
        trial ends: N trials then take about N x max(LLM time, trial time) instead of
        N x (LLM time + trial time). The proposal is made from the history known now (the
        running trial included, so it is not repeated). It is dropped and asked again if a
        trial that was running meanwhile failed (its error is news the LLM should see), or
        if it now duplicates a configuration another worker started.

        Returns:
            Whether a proposal is being prepared (not for backbone turns, ``centaur``'s
            turns, which need the backbone's proposal first, or once the budget is spent).
        """
        if self._show_backbone or not self._turn(study, number)[0]:
            return False
        trials = study.get_trials(deepcopy=False)
        if self._budget_exhausted(trials) is not None:
            return False
        if any(t.state == TrialState.WAITING for t in trials):
            return False  # an enqueued trial runs next; it needs no proposal
        if self._space is not None:
            space = self._space
        else:
            inferred = {
                name: dist
                for name, dist in self._intersection.calculate(study).items()
                if not dist.single()
            }
            if not inferred:
                return False
            space = Space.from_optuna(inferred)
        self._discard_prefetched()
        running = tuple(t.number for t in trials if t.state == TrialState.RUNNING)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agenthpo-llm")
        future = self._pool.submit(self._ask_llm, study, number, space, None)
        self._prefetched = _Prefetched(number=number, future=future, watched=running)
        return True

    def _discard_prefetched(self) -> list[CallRecord]:
        pending, self._prefetched = self._prefetched, None
        if pending is None:
            return []
        return list(pending.future.result().calls)

    def _take_prefetched(
        self, study: Study, number: int, space: Space
    ) -> Proposal | ProposalFailed | None:
        """The prepared outcome for trial ``number`` if it still holds, else ``None``.

        The calls of a dropped proposal are carried into the next one, so their tokens
        count.
        """
        pending = self._prefetched
        if pending is None:
            return None
        if pending.number != number:
            self._carried.extend(self._discard_prefetched())
            return None
        self._prefetched = None
        outcome = pending.future.result()
        carried, self._carried = self._carried, []
        trials = {t.number: t for t in study.get_trials(deepcopy=False)}
        stale = any(trials[n].state == TrialState.FAIL for n in pending.watched if n in trials)
        if isinstance(outcome, Proposal) and not stale:
            others = [(n, t.params) for n, t in trials.items() if n != number and t.params]
            if find_duplicate(outcome.config, others, space, tolerance=self._duplicate_tolerance):
                stale = True
        if stale:
            self._carried = carried + list(outcome.calls)
            _logger.info("trial %d: the prepared proposal is out of date; asking again", number)
            return None
        outcome.calls[:0] = carried
        return outcome

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """Delegates to the backbone."""
        self._refuse_if_single_only(study)
        return self._backbone.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Reseeds the backbone for this trial (when seeded), then delegates to it.

        The backbone's draws then depend on the seed and the trial number, not on how many
        draws this process made before: a seeded study stays reproducible, and workers or
        restarts that share the seed draw distinct streams.
        """
        if self._seed is not None:
            reseed(self._backbone, trial_seed(self._seed, trial.number))
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
    def _refuse_if_single_only(self, study: Study) -> None:
        """Several objectives need a backbone that handles them (TPE, random, GP; not CMA-ES)."""
        if isinstance(self._backbone, CmaEsSampler):
            self._raise_error_if_multi_objective(study)

    def _backbone_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """The backbone's own relative proposal, within ``search_space``; may be partial (TPE
        proposes nothing relative by default, CMA-ES leaves categoricals out)."""
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
            if name in search_space
            and search_space[name]._contains(search_space[name].to_internal_repr(value))
        }

    def _backbone_complete(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
        proposal: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A value for every parameter of ``search_space`` from the backbone: its relative
        proposal completed by its ``sample_independent`` (Optuna's relative contract)."""
        if proposal is None:
            proposal = self._backbone_relative(study, trial, search_space)
        return {
            name: proposal[name]
            if name in proposal
            else self._backbone.sample_independent(study, trial, name, dist)
            for name, dist in search_space.items()
        }

    def _backbone_fresh(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """The backbone's proposal, drawn again while it equals a finished or running trial's.

        Each configuration is claimed like an LLM proposal, so two workers that draw the
        same one meanwhile see each other. After :data:`_REDRAWS` identical draws (a small
        space nearly exhausted) the last one is kept.
        """
        space = self._space if self._space is not None else Space.from_optuna(search_space)
        config = self._backbone_complete(study, trial, search_space)
        for attempt in range(1, _REDRAWS + 1):
            rival = self._claim(study, trial, config, space, tolerance=0.0)
            if rival is None:
                break
            _logger.info(
                "trial %d: %s drew trial #%d's configuration again; drawing anew",
                trial.number,
                type(self._backbone).__name__,
                rival,
            )
            seed = random.randrange(2**32) if self._seed is None else self._seed
            reseed(self._backbone, trial_seed(seed, trial.number, attempt))
            config = self._backbone_complete(study, trial, search_space)
        return config

    def _explained(
        self, study: Study, trial: FrozenTrial, config: dict[str, Any], why: str
    ) -> dict[str, Any]:
        """Stores the backbone's own reason for ``config`` as the trial's rationale (see
        :func:`~agenthpo.agent.explain.explain`), with ``why`` it was the backbone's trial."""
        suffix = f" ({why})" if why else ""
        limit = max(80, _RATIONALE_ATTR_MAX - len(suffix))
        text = explain(self._backbone, study, trial, config, max_chars=limit) + suffix
        self._store(study, trial, {_keys.RATIONALE: _clip(text, _RATIONALE_ATTR_MAX)})
        return config

    def _claim(
        self,
        study: Study,
        trial: FrozenTrial,
        config: dict[str, Any],
        space: Space,
        *,
        tolerance: float | None = None,
    ) -> int | None:
        """Claims ``config`` for this trial; the number of a rival trial holding it, if any.

        Workers write their claim first and then look at everyone else's, so of two workers
        racing for the same configuration at least one sees the other and yields.
        """
        study._storage.set_trial_system_attr(trial._trial_id, _keys.SYS_CLAIM, config)
        others: list[tuple[int, dict[str, Any]]] = []
        for t in study.get_trials(deepcopy=False):
            if t.number == trial.number:
                continue
            # The claim first: a running trial's params may be half stored (Optuna writes
            # them one by one), and a partial config never matches a whole one.
            claimed = t.system_attrs.get(_keys.SYS_CLAIM) or t.params
            if isinstance(claimed, dict) and claimed:
                others.append((t.number, claimed))
        if tolerance is None:
            tolerance = self._duplicate_tolerance
        return find_duplicate(config, others, space, tolerance=tolerance)

    def _backbone_note(self, study: Study, proposal: dict[str, Any], space: Space) -> str:
        name = type(self._backbone).__name__
        if not proposal:
            return f"{name} has no proposal of its own yet (it is still warming up)."
        shown = {
            k: (float(format(v, ".4g")) if isinstance(v, float) else v) for k, v in proposal.items()
        }
        note = f"{name}, the optimizer running this study, proposes: {json.dumps(shown)}."
        state = _cmaes_state(self._backbone, study)
        if state:
            note += " " + state
        note += (
            " Keep its proposal if it looks right, or override it with a better configuration"
            " (complete it with values for any parameter it left out)."
        )
        return note

    def _repairs(self) -> int:
        if self._repair_rounds is not None:
            return self._repair_rounds
        return 0 if is_embedded(self.llm) else 1

    def _budget_exhausted(self, trials: Sequence[FrozenTrial]) -> str | None:
        if self._max_tokens is None and self._max_cost is None:
            return None
        tokens = 0
        cost = 0.0
        for t in trials:
            attrs = t.user_attrs
            tokens += int(attrs.get(_keys.LLM_PROMPT_TOKENS, 0))
            tokens += int(attrs.get(_keys.LLM_COMPLETION_TOKENS, 0))
            cost += float(attrs.get(_keys.LLM_COST, 0.0) or 0.0)
        if self._max_tokens is not None and tokens >= self._max_tokens:
            return f"{tokens} LLM tokens used, limit {self._max_tokens}"
        if self._max_cost is not None and cost >= self._max_cost:
            return f"${cost:.4f} spent on the LLM, limit ${self._max_cost:g}"
        return None

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        return price_of(self.llm.name, prompt_tokens, completion_tokens, price_per_mtok=self._price)

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
        cost = self._cost(proposal.prompt_tokens, proposal.completion_tokens)
        if cost is not None:
            attrs[_keys.LLM_COST] = round(cost, 6)
        if proposal.repaired:
            attrs[_keys.LLM_REPAIRED] = _clip("; ".join(proposal.repaired), _RATIONALE_ATTR_MAX)
        return attrs

    def _verdict(
        self,
        study: Study,
        number: int,
        search_space: dict[str, BaseDistribution],
        config: dict[str, Any],
        own: dict[str, Any] | None,
    ) -> ScreenVerdict | None:
        if own is None or self._judge is None:
            return None
        if isinstance(self._backbone, Backbone):
            # The member that drew the backbone's proposal judges with its own acquisition:
            # GP's log EI, TPE's density ratio; TPE's ratio for the others (CMA-ES, Sobol).
            member = self._backbone.chosen(number)
            view = self._backbone.gp_view(number) if member == "gp" else None
            if view is not None:
                mine = view.value(config)
                if mine is not None:
                    return ScreenVerdict(
                        passed=mine >= view.own, llm=mine, own=view.own, backbone="GP", judge="GP"
                    )
            if member == "tpe":
                judge = self._backbone.member("tpe")
                if isinstance(judge, TPESampler):
                    return tpe_screen(judge, study, number, search_space, config, own)
            name = {"gp": "GP", "cmaes": "CMA-ES"}.get(member or "", "the backbone")
            return tpe_screen(self._judge, study, number, search_space, config, own, name)
        name = _BACKBONE_NAMES.get(type(self._backbone).__name__, "the backbone")
        return tpe_screen(self._judge, study, number, search_space, config, own, name)

    def _screened_attrs(self, proposal: Proposal, verdict: ScreenVerdict) -> dict[str, Any]:
        """A trial's attributes when TPE screened out the LLM's proposal: TPE's turn, with the
        proposal, the model's reason and TPE's verdict kept for the history and the report."""
        attrs = self._fallback_attrs(ProposalFailed("screened", "", proposal.calls))
        attrs.update(
            self.screened_attrs(proposal.config, proposal.rationale, verdict, proposer="the LLM")
        )
        attrs[_keys.SCREENED]["proposed_by"] = "llm"
        return attrs

    def _fallback_attrs(self, failed: ProposalFailed) -> dict[str, Any]:
        prompt = sum(c.prompt_tokens for c in failed.calls)
        completion = sum(c.completion_tokens for c in failed.calls)
        attrs: dict[str, Any] = {
            _keys.PROPOSED_BY: "backbone",
            _keys.FALLBACK_REASON: _clip(f"{failed.kind}: {failed.detail}", _RATIONALE_ATTR_MAX),
            _keys.RATIONALE: f"{type(self._backbone).__name__} proposed (LLM fallback:"
            f" {failed.kind})",
            _keys.LLM_MODEL: self.llm.name,
            _keys.LLM_PROMPT_TOKENS: prompt,
            _keys.LLM_COMPLETION_TOKENS: completion,
            _keys.LLM_LATENCY_S: round(sum(c.latency_s for c in failed.calls), 3),
            _keys.LLM_CALLS: len(failed.calls),
        }
        cost = self._cost(prompt, completion)
        if cost is not None:
            attrs[_keys.LLM_COST] = round(cost, 6)
        return attrs

    def _record(self, study: Study, trial: FrozenTrial, calls: Sequence[CallRecord]) -> None:
        if not self._record_calls or not calls:
            return
        payload: list[Any] = [
            {
                "messages": c.messages,
                "text": _cut(c.text, MAX_STORED_ANSWER_CHARS),
                "model": c.model,
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "latency_s": round(c.latency_s, 3),
            }
            for c in calls
        ]
        study._storage.set_trial_system_attr(
            trial._trial_id, _keys.SYS_LLM_CALLS, cast("JSONSerializable", payload)
        )

    @staticmethod
    def _store(study: Study, trial: FrozenTrial, attrs: dict[str, Any]) -> None:
        for key, value in attrs.items():
            study._storage.set_trial_user_attr(trial._trial_id, key, value)


@dataclass(frozen=True)
class _Prefetched:
    number: int
    future: Future[Proposal | ProposalFailed]
    watched: tuple[int, ...]


def _cmaes_state(backbone: BaseSampler, study: Study) -> str:
    """CMA-ES's mean and step size in words, or "" (see :func:`cmaes_state`)."""
    state = cmaes_state(backbone, study)
    return state.describe() if state is not None else ""


def _noise_note(study: Study, metric: str) -> str:
    """What re-evaluating configurations on further seeds showed, for the LLM.

    Re-evaluations are no trials (the backbone never sees them): the LLM reads them here,
    named as re-runs of earlier trials, never as proposals of their own.
    """
    stored = study.user_attrs.get(_keys.STUDY_NOISE)
    if not isinstance(stored, dict) or not stored:
        return ""
    entries: list[tuple[int, float, float, int]] = []
    for number, entry in stored.items():
        try:
            entries.append(
                (int(number), float(entry["mean"]), float(entry["std"]), int(entry["n"]))
            )
        except (KeyError, TypeError, ValueError):
            continue
    if not entries:
        return ""
    entries.sort()
    number, mean, std, n = entries[-1]
    lines = [
        f"Seed noise: trial #{number} re-run with {n} seeds gave {metric} {mean:.6g} with a"
        f" standard deviation of {std:.3g}. Differences smaller than about {2 * std:.3g} are"
        " within the noise: do not call them gains or chase them."
    ]
    if len(entries) > 1:
        shown = ", ".join(f"#{k} {m:.6g} ± {s:.2g} (n={c})" for k, m, s, c in entries[-8:])
        lines.append(
            f"Re-evaluations (earlier trials re-run on other seeds, not new trials): {shown}."
        )
    return "\n".join(lines)


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


def _rounded(config: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(format(v, ".4g")) if isinstance(v, float) else v) for k, v in config.items()}


def _best(
    trials: Sequence[FrozenTrial], directions: Sequence[str]
) -> tuple[int, dict[str, Any]] | None:
    """The best trial (of several objectives: the Pareto front's best on the first)."""
    done = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE and t.values and len(t.values) == len(directions)
    ]
    if not done:
        return None
    if len(directions) > 1:
        ranks = pareto_ranks([t.values for t in done], directions)
        done = [t for t, r in zip(done, ranks, strict=True) if r == 0]
    sign = -1.0 if directions[0] == "maximize" else 1.0
    best = min(done, key=lambda t: sign * t.values[0])
    return best.number, dict(best.params)


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with how much went."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} characters cut]"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
