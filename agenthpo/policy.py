"""The LLM policy: who proposes each trial, the LLM or the backbone, and on what terms.

An :class:`LLMPolicy` is one frozen value: the schedule (a warm-up of backbone trials, the
LLM's start-up turns, then its share of the rest), the adaptive trust, the screen, batches,
the token and cost budget and how the LLM is asked. Named presets live in :data:`PRESETS`,
the one registry that the task file (``policy: {preset: NAME, ...}``),
:func:`agenthpo.strategies.make_sampler`, :func:`agenthpo.create_study` and the benchmarks
all use. A :class:`Preset` holds a policy per :class:`ModelProfile` (a capable model, or the
embedded tiny one), and the sampler resolves it once per study against its model's profile;
the policy in force is logged and stored in the study (``agenthpo_policy``).

Presets (``share`` is the LLM's share of the trials after the warm-up and start-up;
"adaptive" lowers it while its proposals do worse than the backbone's,
:mod:`agenthpo.agent.trust`; "screened" means a proposal runs only where the backbone's own
acquisition rates it at least as high as the backbone's proposal, :mod:`agenthpo.agent.screen`):

=================  ===============================================================================
``agent``          the LLM proposes every trial (the AgentHPO paper's method); the backbone steps
                   in only when an answer is unusable
``hybrid-tpe``     the default: a capable model gets 25% (adaptive) of the trials after the
                   first 5 (the backbone's start-up), each screened with a margin of 1 log unit
                   (``hybrid-judged``); the embedded model's turns start after the first 10
                   trials and are screened
``centaur``        the backbone (CMA-ES in the ``centaur`` strategy) proposes every trial; after
                   10, on 30% of them (adaptive) the LLM sees its proposal and state and may
                   override it
``hybrid``         3 start-up trials from the LLM, then 25%, adaptive, unscreened, for every
                   model (the capable-model default until the start-up turns were measured to
                   cost; BENCHMARKS.md)
``hybrid-fixed``   ``hybrid`` with a fixed share (not adaptive)
``hybrid-late``    the LLM's 25% (adaptive) start after the first 10 trials, for
                   every model, unscreened
``hybrid-screen``  ``hybrid-late`` with the LLM's proposals screened: ``hybrid-tpe``'s embedded
                   schedule for every model
``hybrid-margin``  ``hybrid`` with the LLM's proposals screened with a margin: one runs where
                   the backbone's acquisition rates it within 1 log unit of its own proposal
                   (GP: at least 37% of its expected improvement); the start-up trials come
                   before the backbone can judge and run unscreened
``hybrid-judged``  ``hybrid-tpe``'s capable-model schedule for every model: ``hybrid-margin``
                   without the start-up turns, so the LLM's 25% begin after the first 5 trials
                   and the backbone judges every proposal
``hybrid-design``  the LLM's initial design of 5 configurations (the task's default one of them)
                   in place of the backbone's start-up, then ``hybrid-judged``'s 25% (adaptive,
                   screened with the margin)
``hybrid-judge``   ``hybrid-judged`` with 3 candidates per LLM turn, of which the backbone's
                   acquisition runs the best (within the margin), or its own proposal
``hybrid-revise``  ``hybrid-judged`` whose LLM may also revise the search space's numeric
                   ranges after every 10 completed trials, at most 3 times
                   (:mod:`agenthpo.agent.revision`)
=================  ===============================================================================

With the embedded model every preset asks without repair rounds (``repair_rounds=0``): a
repair round rarely fixes its answers and costs a call.

Example:
    >>> from agenthpo.policy import CAPABLE, EMBEDDED, preset
    >>> p = preset("hybrid-tpe", share=0.5)
    >>> p.for_model(CAPABLE).warmup, p.for_model(EMBEDDED).warmup, p.for_model(EMBEDDED).share
    (5, 10, 0.5)
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agenthpo.errors import AgentHPOError
from agenthpo.llm import is_embedded

__all__ = [
    "CAPABLE",
    "EMBEDDED",
    "LEGACY_OPTIONS",
    "POLICY_FIELDS",
    "PRESETS",
    "STRATEGY_PRESETS",
    "LLMPolicy",
    "ModelProfile",
    "Preset",
    "from_legacy_options",
    "get_preset",
    "preset",
]


@dataclass(frozen=True, kw_only=True)
class LLMPolicy:
    """Who proposes each trial, and on what terms the LLM is asked.

    Trial numbers count from 0. The first ``warmup`` trials are the backbone's; the next
    ``startup`` are the LLM's; of the rest the LLM gets a ``share``, spread evenly by trial
    number so that every worker agrees. Whenever the LLM's answer is unusable (invalid after
    the repair rounds, a duplicate, an error) or its budget is spent, the backbone proposes.

    Attributes:
        warmup: Trials the backbone proposes before the LLM's first turn.
        startup: Trials after the warm-up that all go to the LLM.
        share: The LLM's share of the trials after that (0 to 1).
        adaptive: Give a scheduled turn (after the start-up) to the LLM only with
            probability :func:`~agenthpo.agent.trust.llm_trust`, so a model whose proposals
            keep doing worse than the backbone's costs little (single objective only).
        trust_floor: The least trust: a losing LLM keeps this share of its turns.
        screen: Run an LLM proposal only where the backbone's own acquisition rates it at
            least as high as the backbone's proposal for the trial
            (:mod:`agenthpo.agent.screen`); needs a TPE or AgentHPO backbone.
        screen_margin: How far below the backbone's own proposal the judge may rate an LLM
            proposal (or the best of its candidates) and still run it, in the judge's log
            units (GP's log expected improvement, TPE's log density ratio): 1.0 lets a
            proposal run whose expected improvement is at least ``1/e`` (37%) of the
            backbone's. The backbone's own proposal maximizes GP's acquisition, so with 0
            the screen refuses nearly every proposal under GP. Applies where the screen
            judges (``screen``, or ``candidates`` above 1).
        show_backbone: Ask the backbone first and show its proposal (and CMA-ES's state) to
            the LLM, which may keep or override it.
        batch_size: Candidates asked for in one call; the others are enqueued in the study
            for any worker.
        initial_design: Configurations the LLM proposes in one call, from the task's
            background, at the first trial after the warm-up: one runs on that trial, the
            others are enqueued for any worker (trial attribute ``initial_design``).
            The task's default configuration, when the study has one (a trial proposed by
            ``default_config``), is one of them and the LLM is asked for the others. They
            are checked like every proposal (invalid values clipped into the space or the
            entry dropped, near copies of each other or of a trial dropped) and take no turn
            of the schedule: the warm-up, start-up and share follow them as they would
            have without them. 0: no initial design.
        candidates: Configurations the LLM offers on each of its turns, in one call. With
            more than one, the backbone judges them by its own acquisition
            (:mod:`agenthpo.agent.screen`): the candidate it rates highest runs, or its own
            proposal when it rates that higher still (as the screen judges one proposal);
            all the values go on the trial (``llm_candidates``). Until the backbone's model
            is fitted (its start-up) a turn asks for one configuration. Needs a backbone
            that can screen; 1 is one proposal per turn, screened only with ``screen``.
        max_tokens: Stop asking the LLM once the study's trials used this many tokens
            (``None``: no limit).
        max_cost: Stop asking once the study's LLM cost reaches this many dollars
            (``None``: no limit; known models only, see :mod:`agenthpo.llm._pricing`).
        price_per_mtok: ``(input, output)`` dollars per million tokens, for a model the
            price table lacks (``None``: the table's).
        repair_rounds: Follow-up calls that send an invalid answer's problems back.
        temperature: The LLM's sampling temperature.
        duplicate_tolerance: How far an LLM proposal must move from every tried or running
            configuration, as a share of each parameter's range. A proposal is a near copy
            of a trial when every categorical value is the same and every number (an integer
            too) is within this share of its range of the trial's, on the log scale for a
            log-scaled parameter (:meth:`~agenthpo.space.Space.distance` below it); it is
            handled as a repeat (a repair round, then the backbone) and recorded on the
            trial (``llm_near_copy``). The default, 5%, refuses ``C 57.55 -> 58.55`` with
            the rest unchanged; 0 refuses exact repeats only. The backbone's own proposals
            are not held to it.
        avoid_failures: Send an LLM proposal back (a repair round, then the backbone) when
            it lies where earlier runs diverged, timed out or crashed: beyond the runs that
            worked on every parameter that separates those failures from them
            (:mod:`agenthpo.agent.failures`; recorded as ``llm_failure_region``). The
            history states those regions either way.
        require_llm: An LLM that cannot run stops the run
            (:class:`~agenthpo.errors.LLMRequiredError`) instead of leaving its trials to the
            backbone.
        record_calls: Store every request and response on its trial (audit and replay).
        revise_space_every: Let the LLM revise the search space (:mod:`agenthpo.agent.revision`)
            each time this many more trials have completed past the warm-up: revision ``k``
            is due at the first trial to start once ``warmup + k * revise_space_every``
            trials completed. At a revision the LLM may narrow or widen numeric ranges, with
            the trials that show why; each change is validated (a narrowed range keeps the
            best trials' values, a widening needs best trials near that bound and goes at
            most one range width, or one decade on a log scale, beyond it), stored on the
            study (``agenthpo_space_revision_K``) and the backbone continues on the revised
            space. Single objective only; needs the task's space. 0: never.
        revise_space_max: The most revisions a study makes (each one LLM call, whatever it
            changes).

    Example:
        >>> LLMPolicy(warmup=10, share=0.25).share
        0.25
        >>> LLMPolicy(share=1.5)
        Traceback (most recent call last):
        ...
        ValueError: LLMPolicy.share must be between 0 and 1 (got 1.5)
    """

    warmup: int = 0
    startup: int = 0
    share: float = 1.0
    adaptive: bool = False
    trust_floor: float = 0.1
    screen: bool = False
    screen_margin: float = 0.0
    show_backbone: bool = False
    batch_size: int = 1
    initial_design: int = 0
    candidates: int = 1
    max_tokens: int | None = None
    max_cost: float | None = None
    price_per_mtok: tuple[float, float] | None = None
    repair_rounds: int = 1
    temperature: float = 0.7
    duplicate_tolerance: float = 0.05
    avoid_failures: bool = True
    require_llm: bool = False
    record_calls: bool = True
    revise_space_every: int = 0
    revise_space_max: int = 3

    def __post_init__(self) -> None:
        for name in (
            "adaptive",
            "screen",
            "show_backbone",
            "avoid_failures",
            "require_llm",
            "record_calls",
        ):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"LLMPolicy.{name} must be true or false")
        for name, least in (
            ("warmup", 0),
            ("startup", 0),
            ("batch_size", 1),
            ("initial_design", 0),
            ("candidates", 1),
            ("repair_rounds", 0),
            ("revise_space_every", 0),
            ("revise_space_max", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"LLMPolicy.{name} must be a whole number >= {least}")
        if self.candidates > 1 and self.batch_size > 1:
            raise ValueError(
                "LLMPolicy.candidates and LLMPolicy.batch_size cannot both exceed 1: the"
                " candidates of a turn compete for one trial, a batch's fill several"
            )
        _between("share", self.share, 0.0, 1.0)
        _between("trust_floor", self.trust_floor, 0.0, 1.0)
        _between("temperature", self.temperature, 0.0, 2.0)
        _between("duplicate_tolerance", self.duplicate_tolerance, 0.0, 1.0)
        _between("screen_margin", self.screen_margin, 0.0, math.inf)
        if self.max_tokens is not None and (
            isinstance(self.max_tokens, bool)
            or not isinstance(self.max_tokens, int)
            or self.max_tokens < 0
        ):
            raise ValueError("LLMPolicy.max_tokens must be a whole number >= 0, or None")
        if self.max_cost is not None:
            _between("max_cost", self.max_cost, 0.0, math.inf)
        if self.price_per_mtok is not None:
            price = tuple(self.price_per_mtok)
            if len(price) != 2 or any(
                isinstance(p, bool) or not isinstance(p, (int, float)) or p < 0 for p in price
            ):
                raise ValueError("LLMPolicy.price_per_mtok must be (input, output) dollars >= 0")
            object.__setattr__(self, "price_per_mtok", (float(price[0]), float(price[1])))

    def replace(self, **changes: Any) -> LLMPolicy:
        """A copy with ``changes`` (field names of :class:`LLMPolicy`), validated.

        Example:
            >>> LLMPolicy().replace(share=0.5).share
            0.5
        """
        _check_fields(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The policy as JSON-ready data (:meth:`from_dict` reads it back).

        Example:
            >>> LLMPolicy.from_dict(LLMPolicy(warmup=3).to_dict()) == LLMPolicy(warmup=3)
            True
        """
        data = dataclasses.asdict(self)
        if self.price_per_mtok is not None:
            data["price_per_mtok"] = list(self.price_per_mtok)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LLMPolicy:
        """The policy stored by :meth:`to_dict`."""
        values = dict(data)
        _check_fields(values)
        if values.get("price_per_mtok") is not None:
            values["price_per_mtok"] = tuple(values["price_per_mtok"])
        return cls(**values)

    def to_json(self) -> str:
        """One line of JSON, as a run's log and the study show it."""
        return json.dumps(self.to_dict(), sort_keys=True)


def _between(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        bound = f"at least {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
        raise ValueError(f"LLMPolicy.{name} must be {bound} (got {value!r})")


POLICY_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(LLMPolicy))


def _check_fields(changes: Mapping[str, Any]) -> None:
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise TypeError(
            f"unknown LLMPolicy field {', '.join(map(repr, unknown))};"
            f" the fields are {', '.join(POLICY_FIELDS)}"
        )


@dataclass(frozen=True)
class ModelProfile:
    """What kind of model proposes: the embedded tiny model, or a capable one.

    A preset's policy depends on it (:meth:`Preset.for_model`); it is resolved once per
    study from the LLM client (:meth:`of`) or read back from the study.

    Example:
        >>> from agenthpo.llm import RandomLLM
        >>> ModelProfile.of(RandomLLM(seed=0)).kind
        'capable'
    """

    kind: Literal["capable", "embedded"]

    @classmethod
    def of(cls, llm: object) -> ModelProfile:
        """The profile of an LLM client (embedded when it says so, as the bundled one does)."""
        return EMBEDDED if is_embedded(llm) else CAPABLE

    @property
    def embedded(self) -> bool:
        """Whether this is the embedded tiny model."""
        return self.kind == "embedded"


CAPABLE = ModelProfile("capable")
"""Any model but the embedded one (an API model, a local server, a scripted client)."""
EMBEDDED = ModelProfile("embedded")
"""The bundled SmolLM2-135M (or a replay of it): its ideas are little better than random."""


@dataclass(frozen=True)
class Preset:
    """A named policy, per model profile, with the overrides a user gave.

    Attributes:
        name: The registry's name (:data:`PRESETS`).
        summary: What it does, in one line.
        capable: The policy for a capable model.
        embedded: The policy for the embedded model.
        overridden: The fields a user set (:meth:`with_overrides`), which win over the
            preset and over a resumed study's stored schedule.

    Example:
        >>> p = get_preset("centaur").with_overrides(share=0.5)
        >>> p.for_model(CAPABLE).share, p.overridden
        (0.5, frozenset({'share'}))
    """

    name: str
    summary: str
    capable: LLMPolicy
    embedded: LLMPolicy
    overridden: frozenset[str] = field(default_factory=frozenset)

    def for_model(self, profile: ModelProfile) -> LLMPolicy:
        """The policy for a model of ``profile``."""
        return self.embedded if profile.embedded else self.capable

    def with_overrides(self, **changes: Any) -> Preset:
        """This preset with ``changes`` (:class:`LLMPolicy` fields) for every model.

        Raises:
            TypeError: A name that is no field of :class:`LLMPolicy`.
            ValueError: A value out of its field's range.
        """
        if not changes:
            return self
        return dataclasses.replace(
            self,
            capable=self.capable.replace(**changes),
            embedded=self.embedded.replace(**changes),
            overridden=self.overridden | frozenset(changes),
        )

    def describe(self) -> dict[str, Any]:
        """The preset's name and overrides, as stored with a study."""
        return {"preset": self.name, "overridden": sorted(self.overridden)}


def _preset(
    name: str, summary: str, capable: LLMPolicy, embedded: LLMPolicy | None = None
) -> Preset:
    """A registry entry; the embedded model asks without repair rounds unless told."""
    return Preset(
        name=name,
        summary=summary,
        capable=capable,
        embedded=embedded if embedded is not None else capable.replace(repair_rounds=0),
    )


_HYBRID = LLMPolicy(startup=3, share=0.25, adaptive=True)
_LATE = LLMPolicy(warmup=10, share=0.25, adaptive=True)
_JUDGED = LLMPolicy(warmup=5, share=0.25, adaptive=True, screen=True, screen_margin=1.0)
"""A capable model's default: its turns begin once the backbone (GP after 5 Sobol trials) can
judge them, and each runs only where the backbone rates it within 1 log unit of its own."""

PRESETS: Mapping[str, Preset] = {
    p.name: p
    for p in (
        _preset("agent", "the LLM proposes every trial", LLMPolicy()),
        _preset(
            "hybrid-tpe",
            "a capable model: 25% (adaptive) after the first 5 trials, screened with a margin;"
            " the embedded model: 25% after the first 10 trials, screened",
            _JUDGED,
            _LATE.replace(screen=True, repair_rounds=0),
        ),
        _preset(
            "centaur",
            "the backbone proposes; after 10 trials the LLM may override 30% (adaptive)",
            LLMPolicy(warmup=10, share=0.3, adaptive=True, show_backbone=True),
        ),
        _preset("hybrid", "3 start-up trials, then 25% (adaptive), for every model", _HYBRID),
        _preset(
            "hybrid-fixed", "3 start-up trials, then a fixed 25%", _HYBRID.replace(adaptive=False)
        ),
        _preset("hybrid-late", "25% (adaptive) after the first 10 trials", _LATE),
        _preset(
            "hybrid-screen",
            "25% (adaptive) after the first 10 trials, screened",
            _LATE.replace(screen=True),
        ),
        _preset(
            "hybrid-margin",
            "3 start-up trials, then 25% (adaptive), screened with a margin: a proposal runs"
            " where the backbone rates it within 1 log unit of its own",
            _HYBRID.replace(screen=True, screen_margin=1.0),
        ),
        _preset(
            "hybrid-judged",
            "25% (adaptive) after the first 5 trials, screened with a margin: a proposal runs"
            " where the backbone rates it within 1 log unit of its own",
            _JUDGED,
        ),
        _preset(
            "hybrid-design",
            "an initial design of 5 configurations from the LLM (the default among them)"
            " in place of the backbone's start-up, then hybrid-judged's screened 25%",
            _JUDGED.replace(warmup=0, initial_design=5),
        ),
        _preset(
            "hybrid-judge",
            "hybrid-judged with 3 candidates per turn: the backbone runs the best of them"
            " (within the margin of its own proposal), or its own",
            _JUDGED.replace(candidates=3),
        ),
        _preset(
            "hybrid-revise",
            "hybrid-judged; the LLM may also revise the space's numeric ranges after every"
            " 10 completed trials, at most 3 times",
            _JUDGED.replace(revise_space_every=10),
        ),
    )
}
"""Every named preset (see the module's table)."""


STRATEGY_PRESETS: Mapping[str, str] = {
    "agent": "agent",
    "hybrid-tpe": "hybrid-tpe",
    "centaur": "centaur",
}
"""Each LLM strategy's own preset (:mod:`agenthpo.strategies`), used unless another is named."""


def get_preset(name: str) -> Preset:
    """The registry's preset ``name``.

    Raises:
        AgentHPOError: No such preset (the message lists them).
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise AgentHPOError(
            f"unknown policy preset {name!r}; choose one of {', '.join(PRESETS)}"
        ) from None


def preset(name: str, **overrides: Any) -> Preset:
    """The registry's preset ``name`` with ``overrides`` (:class:`LLMPolicy` fields).

    Example:
        >>> preset("agent", batch_size=4).for_model(CAPABLE).batch_size
        4
    """
    return get_preset(name).with_overrides(**overrides)


# The sampler options before the policy (``AgentSampler(llm_share=...)``), and the policy
# field each became. They still work for one release, with a FutureWarning.
LEGACY_OPTIONS: Mapping[str, str] = {
    "llm_warmup_trials": "warmup",
    "llm_startup_trials": "startup",
    "llm_share": "share",
    "adaptive_share": "adaptive",
    "trust_floor": "trust_floor",
    "screen_llm": "screen",
    "show_backbone": "show_backbone",
    "llm_batch_size": "batch_size",
    "max_llm_tokens": "max_tokens",
    "max_llm_cost": "max_cost",
    "price_per_mtok": "price_per_mtok",
    "repair_rounds": "repair_rounds",
    "temperature": "temperature",
    "duplicate_tolerance": "duplicate_tolerance",
    "require_llm": "require_llm",
    "record_calls": "record_calls",
    "default_schedule": "warmup, startup",
    "embedded_schedule": "warmup, startup",
}


def from_legacy_options(
    base: Preset, options: Mapping[str, Any], *, caller: str, can_screen: bool = True
) -> Preset:
    """``base`` with the pre-policy sampler options of ``options`` mapped onto its fields.

    The old options said ``None`` for "the model's own value"; here ``None`` leaves the
    preset's per-model value. ``default_schedule`` and ``embedded_schedule`` set the
    ``(warmup, startup)`` of every model and of the embedded one. ``screen_llm=None``
    screened the embedded model's proposals where the backbone can screen (``can_screen``).

    Raises:
        TypeError: An option that is neither an old name nor a policy field.
    """
    if not options:
        return base
    unknown = sorted(set(options) - set(LEGACY_OPTIONS))
    if unknown:
        raise TypeError(
            f"{caller} got unexpected option {', '.join(map(repr, unknown))}; pass"
            f" policy=preset(NAME, ...) with LLMPolicy fields ({', '.join(POLICY_FIELDS)})"
        )
    named = ", ".join(f"{k} -> {LEGACY_OPTIONS[k]}" for k in options)
    warnings.warn(
        f"{caller}: the options {named} are deprecated and go in the next release; pass"
        " policy=agenthpo.policy.preset(NAME, FIELD=VALUE, ...) instead",
        FutureWarning,
        stacklevel=3,
    )
    capable, embedded = base.capable, base.embedded
    if options.get("default_schedule") is not None:
        warmup, startup = options["default_schedule"]
        capable = capable.replace(warmup=warmup, startup=startup)
        embedded = embedded.replace(warmup=warmup, startup=startup)
    if options.get("embedded_schedule") is not None:
        warmup, startup = options["embedded_schedule"]
        embedded = embedded.replace(warmup=warmup, startup=startup)
    if "screen_llm" in options and options["screen_llm"] is None:
        capable = capable.replace(screen=False)
        embedded = embedded.replace(screen=can_screen)
    changes: dict[str, Any] = {}
    for old, value in options.items():
        if value is None or old in ("default_schedule", "embedded_schedule"):
            continue
        new = LEGACY_OPTIONS[old]
        if new in ("warmup", "startup"):
            value = max(0, value)
        elif new == "batch_size":
            value = max(1, value)
        changes[new] = value
    result = dataclasses.replace(base, capable=capable, embedded=embedded)
    return result.with_overrides(**changes)
