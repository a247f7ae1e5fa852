"""The Creator: asks the LLM for a configuration with a rationale and makes sure it is usable.

Every answer is parsed, normalized (lossless coercions only), validated against the space and
checked against the configurations already tried or running. Problems go back to the LLM for
a repair round; an answer still unusable after that raises :class:`ProposalFailed`, and the
caller (the sampler) lets its backbone propose instead and records why.

Example:
    >>> from agenthpo.space import Space
    >>> space = Space.from_dict({"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True}})
    >>> parse_answer('```json\\n{"config": {"lr": 0.01}, "rationale": "mid range"}\\n```', space)
    ({'lr': 0.01}, 'mid range')
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agenthpo.agent.failures import FailureRegion, region_of
from agenthpo.agent.prompts import (
    RATIONALE_MAX_CHARS,
    SYSTEM_PROMPT,
    TaskContext,
    answer_schema,
    batch_request,
    batch_schema,
    creator_messages_text,
    duplicate_problem,
    failure_region_problem,
    near_copy_problem,
    not_json_problem,
    repair_prompt,
    truncated_problem,
    valid_value_hint,
)
from agenthpo.errors import LLMError
from agenthpo.llm import LLMClient, LLMResponse, Message, extract_json
from agenthpo.space import Config, Space

__all__ = [
    "Creator",
    "NearCopy",
    "Proposal",
    "ProposalFailed",
    "describe_change",
    "find_duplicate",
    "is_vacuous",
    "nearest_copy",
    "parse_answer",
    "propose_batch",
]

_logger = logging.getLogger("agenthpo")

FailureKind = Literal[
    "llm_error", "not_json", "truncated", "invalid", "duplicate", "failure_region", "screened"
]


@dataclass
class CallRecord:
    """One LLM call: what was asked and answered (kept for replay and cost accounting)."""

    messages: list[dict[str, str]]
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


@dataclass
class Proposal:
    """A usable configuration from the LLM."""

    config: Config
    rationale: str
    model: str
    calls: list[CallRecord] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    """Problems of the first answer that the repair round fixed."""
    normalized: list[str] = field(default_factory=list)
    """Lossless coercions applied to the answer ("Adam" -> "adam")."""
    near_copy: NearCopy | None = None
    """The trial an earlier answer (nearly) repeated before a repair round moved it."""
    failure_region: FailureRegion | None = None
    """Where earlier runs failed that an earlier answer lay in before a repair round moved
    it out (:mod:`agenthpo.agent.failures`)."""
    rationale_check: str | None = None
    """What the rationale claims that the stored numbers contradict
    (:func:`agenthpo.agent.claims.check_rationale`)."""

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens over all calls."""
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        """Completion tokens over all calls."""
        return sum(c.completion_tokens for c in self.calls)

    @property
    def latency_s(self) -> float:
        """Seconds spent waiting for the LLM over all calls."""
        return sum(c.latency_s for c in self.calls)


class ProposalFailed(Exception):
    """No usable configuration came from the LLM; ``kind`` and the message say why."""

    def __init__(
        self,
        kind: FailureKind,
        detail: str,
        calls: Sequence[CallRecord] = (),
        *,
        near_copy: NearCopy | None = None,
        failure_region: FailureRegion | None = None,
    ) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: FailureKind = kind
        self.detail = detail
        self.calls = list(calls)
        self.near_copy = near_copy
        """The trial the last answer (nearly) repeated, when that is why it failed."""
        self.failure_region = failure_region
        """Where earlier runs failed that the last answer lay in, when that is why."""


def _one_line(text: str, limit: int = RATIONALE_MAX_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def parse_answer(text: str, space: Space) -> tuple[dict[str, Any], str]:
    """Extracts ``(config, rationale)`` from an LLM answer.

    Accepts bare JSON, JSON in a Markdown fence or surrounded by prose, and an answer that
    gives the config without the ``{"config": ...}`` wrapper.

    Raises:
        ValueError: No JSON object, or no config in it.
    """
    data = extract_json(text)
    if not isinstance(data, dict):
        raise ValueError(f"the answer is JSON but not an object (got {type(data).__name__})")
    rationale = data.get("rationale", data.get("reason", ""))
    config = data.get("config")
    if config is None and any(name in data for name in space.names):
        config = {k: v for k, v in data.items() if k not in ("rationale", "reason")}
    if not isinstance(config, dict):
        raise ValueError('the answer has no "config" object')
    return config, _one_line(rationale if isinstance(rationale, str) else json.dumps(rationale))


@dataclass(frozen=True)
class NearCopy:
    """An answer that repeated, or nearly repeated, trial ``of``: ``distance`` is the
    largest gap of any parameter as a share of its range (0 for an exact repeat)."""

    of: int
    distance: float

    def to_attr(self, *, repaired: bool) -> dict[str, Any]:
        """The trial attribute ``llm_near_copy``: which trial, how close, and whether a
        repair round got a different configuration.

        Example:
            >>> NearCopy(of=3, distance=0.0123456).to_attr(repaired=True)
            {'of': 3, 'distance': 0.0123, 'repaired': True}
        """
        return {"of": self.of, "distance": round(self.distance, 4), "repaired": repaired}


def nearest_copy(
    config: Mapping[str, Any],
    others: Sequence[tuple[int, Mapping[str, Any]]],
    space: Space,
    *,
    tolerance: float,
) -> NearCopy | None:
    """The closest trial of ``others`` that ``config`` equals or lies within ``tolerance``
    of, as a :class:`NearCopy`, or ``None``.

    Distance is :meth:`Space.distance`: the largest per-parameter gap as a share of the
    parameter's range (log scale where the parameter is log-scaled; any categorical
    difference counts 1, so a near copy has every categorical value equal).

    Example:
        >>> space = Space.from_dict({"C": {"type": "float", "low": 0.01, "high": 100.0,
        ...                                "log": True}, "kernel": ["rbf", "poly"]})
        >>> nearest_copy({"C": 58.55, "kernel": "rbf"}, [(7, {"C": 57.55, "kernel": "rbf"})],
        ...              space, tolerance=0.05)
        NearCopy(of=7, distance=0.0019)
    """
    found: NearCopy | None = None
    for number, other in others:
        if set(other) != set(config):
            continue
        if dict(other) == dict(config):
            return NearCopy(number, 0.0)
        distance = space.distance(config, other)
        if distance < tolerance and (found is None or distance < found.distance):
            found = NearCopy(number, round(distance, 4))
    return found


def find_duplicate(
    config: Mapping[str, Any],
    others: Sequence[tuple[int, Mapping[str, Any]]],
    space: Space,
    *,
    tolerance: float = 1e-3,
) -> int | None:
    """The number of a trial whose config equals ``config`` or lies within ``tolerance``
    (see :func:`nearest_copy`)."""
    found = nearest_copy(config, others, space, tolerance=tolerance)
    return found.of if found is not None else None


_WORD = re.compile(r"[A-Za-z]{2,}")


def is_vacuous(rationale: str) -> bool:
    """True when a rationale says nothing (fewer than three words), as tiny models often do."""
    return len(_WORD.findall(rationale)) < 3


def _fmt(value: Any) -> str:
    return format(value, ".4g") if isinstance(value, float) else str(value)


def describe_change(
    space: Space, config: Mapping[str, Any], reference: tuple[int, Mapping[str, Any]] | None
) -> str:
    """A factual one-line account of how ``config`` differs from a reference trial's (the
    best completed one; ``None`` while no trial has completed, on later proposals too)."""
    if reference is None:
        return "no completed trial to compare with yet; the model gave no reason"
    number, ref = reference
    changes = []
    for name in space.names:
        old, new = ref.get(name), config.get(name)
        if old != new:
            changes.append(f"{name} {_fmt(old)} -> {_fmt(new)}")
    if not changes:
        return f"same as trial #{number}; the model gave no reason"
    return f"the model gave no reason; changes from best trial #{number}: " + ", ".join(changes)


class Creator:
    """Proposes configurations with an LLM, validated, repaired once, de-duplicated.

    Args:
        llm: The model.
        space: The search space every proposal must satisfy.
        context: The task's background.
        repair_rounds: Follow-up calls that send an unusable answer's problems back.
        temperature: Sampling temperature.
        max_tokens: Completion limit per call.
        duplicate_tolerance: How far a proposal must be from every tried or running trial
            (:func:`nearest_copy`; :attr:`agenthpo.policy.LLMPolicy.duplicate_tolerance`).
        failure_regions: Where earlier runs diverged, timed out or crashed
            (:func:`agenthpo.agent.failures.failure_regions`): a proposal in one is sent
            back with the evidence, as a near copy is.

    Example:
        >>> creator = Creator(llm=my_llm, space=space, context=TaskContext())  # doctest: +SKIP
        >>> creator.propose("History: ...", tried=[]).config  # doctest: +SKIP
        {'lr': 0.01}
    """

    def __init__(
        self,
        *,
        llm: LLMClient,
        space: Space,
        context: TaskContext,
        repair_rounds: int = 1,
        temperature: float = 0.7,
        max_tokens: int = 384,
        duplicate_tolerance: float = 0.05,
        failure_regions: Sequence[FailureRegion] = (),
    ) -> None:
        self.llm = llm
        self.space = space
        self.context = context
        self.repair_rounds = repair_rounds
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.duplicate_tolerance = duplicate_tolerance
        self.failure_regions = tuple(failure_regions)

    def messages(self, history: str) -> list[Message]:
        """The messages of a first proposal request."""
        return [
            Message("system", SYSTEM_PROMPT),
            Message(
                "user",
                creator_messages_text(
                    self.context, self.space, history, tolerance=self.duplicate_tolerance
                ),
            ),
        ]

    def _problems(
        self,
        text: str,
        tried: Sequence[tuple[int, Mapping[str, Any]]],
        *,
        truncated: bool = False,
    ) -> _Checked:
        """Parses and checks one answer (``truncated``: cut off at the length limit)."""
        try:
            raw, rationale = parse_answer(text, self.space)
        except ValueError as exc:
            if truncated:  # unparsable because it was cut: the model must say less
                return _Checked(None, "", [truncated_problem()], [], "truncated")
            return _Checked(None, "", [not_json_problem(str(exc))], [], "not_json")
        config, changes = self.space.normalize(raw)
        coerced = [str(c) for c in changes]
        violations = self.space.validate(config)
        if violations:
            problems = [str(v) for v in violations]
            fixed, fixes = self.space.repair(config)
            hints = [
                valid_value_hint(c.name, fixed[c.name])
                for c in fixes
                if c.name in fixed and c.after is not None
            ]
            return _Checked(None, rationale, problems + hints[:5], coerced, "invalid")
        copy = nearest_copy(config, tried, self.space, tolerance=self.duplicate_tolerance)
        if copy is not None:
            problem = (
                duplicate_problem(copy.of)
                if copy.distance == 0
                else near_copy_problem(copy.of, copy.distance, self.duplicate_tolerance)
            )
            return _Checked(None, rationale, [problem], coerced, "duplicate", copy)
        region = region_of(config, self.failure_regions)
        if region is not None:
            problem = failure_region_problem(region)
            return _Checked(None, rationale, [problem], coerced, "failure_region", region=region)
        return _Checked(config, rationale, [], coerced, None)

    def propose(
        self,
        history: str,
        *,
        tried: Sequence[tuple[int, Mapping[str, Any]]] = (),
        seed: int | None = None,
        reference: tuple[int, Mapping[str, Any]] | None = None,
    ) -> Proposal:
        """Asks for one configuration.

        Args:
            history: The rendered history (:func:`agenthpo.agent.history.render_history`).
            tried: ``(trial number, config)`` of every tried or running trial.
            seed: Sampling seed passed to the LLM where it supports one.
            reference: ``(number, config)`` of the best trial; a proposal whose rationale
                says nothing gets a factual one describing its changes from it.

        Raises:
            ProposalFailed: The LLM failed, or its answers stayed unusable after the repair
                rounds.
        """
        messages = self.messages(history)
        schema = answer_schema(self.space)
        calls: list[CallRecord] = []
        first_problems: list[str] = []
        kind: FailureKind = "invalid"
        problems: list[str] = []
        copy: NearCopy | None = None
        region: FailureRegion | None = None
        for round_ in range(self.repair_rounds + 1):
            try:
                response = self.llm.complete(
                    messages,
                    schema=schema,
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                    seed=None if seed is None else seed + round_,
                )
            except LLMError as exc:
                raise ProposalFailed(
                    "llm_error", str(exc), calls, near_copy=copy, failure_region=region
                ) from exc
            calls.append(_record(messages, response))
            checked = self._problems(response.text, tried, truncated=response.truncated)
            config, rationale, problems = checked.config, checked.rationale, checked.problems
            if config is not None:
                if is_vacuous(rationale):
                    rationale = describe_change(self.space, config, reference)
                return Proposal(
                    config=config,
                    rationale=rationale,
                    model=response.model,
                    calls=calls,
                    repaired=first_problems,
                    normalized=checked.normalized,
                    near_copy=copy,
                    failure_region=region,
                )
            failure = checked.kind
            assert failure is not None
            kind = failure
            copy = checked.near_copy or copy
            region = checked.region or region
            if not first_problems:
                first_problems = problems
            _logger.debug("unusable LLM answer (%s): %s", failure, "; ".join(problems))
            messages = [
                *messages,
                Message("assistant", _one_line(response.text, 2000)),
                Message("user", repair_prompt(problems)),
            ]
        raise ProposalFailed(
            kind, "; ".join(problems), calls, near_copy=copy, failure_region=region
        )


@dataclass(frozen=True)
class _Checked:
    """One answer, checked: its config (``None`` if unusable), rationale, the problems to
    send back, the coercions applied, why it is unusable and the trial it (nearly)
    repeated."""

    config: Config | None
    rationale: str
    problems: list[str]
    normalized: list[str]
    kind: FailureKind | None
    near_copy: NearCopy | None = None
    region: FailureRegion | None = None


def _record(messages: Sequence[Message], response: LLMResponse) -> CallRecord:
    return CallRecord(
        messages=[m.to_dict() for m in messages],
        text=response.text,
        model=response.model,
        prompt_tokens=response.usage.prompt_tokens,
        completion_tokens=response.usage.completion_tokens,
        latency_s=response.latency_s,
    )


def propose_batch(
    creator: Creator,
    history: str,
    k: int,
    *,
    tried: Sequence[tuple[int, Mapping[str, Any]]] = (),
    seed: int | None = None,
    request: str | None = None,
    repair: bool = False,
) -> list[Proposal]:
    """Asks for ``k`` diverse configurations in one call (for parallel workers, an initial
    design, or a turn's candidates).

    Each candidate is parsed, normalized and validated like a single proposal; invalid ones,
    and exact or near duplicates of tried, running or earlier candidates, are dropped. With
    ``repair``, an invalid candidate is first forced into the space (numbers clipped and
    rounded, a misspelt choice replaced by the closest one; :meth:`Space.repair`) unless
    that would invent a value (a missing parameter, an unrecognizable choice); the fixes
    are kept in :attr:`Proposal.repaired`. The call's tokens are booked on the first usable
    candidate.

    Args:
        creator: The Creator whose model, space and context are used.
        history: The rendered history.
        k: How many candidates to ask for.
        tried: ``(trial number, config)`` of every tried or running trial.
        seed: Sampling seed passed to the LLM where it supports one.
        request: The closing line of the request (:func:`~agenthpo.agent.prompts.batch_request`
            when ``None``).
        repair: Whether invalid candidates are forced into the space rather than dropped.

    Raises:
        ProposalFailed: The LLM failed, or no candidate was usable.
    """
    messages = creator.messages(history)
    last = messages[-1]
    body = last.content.rsplit("\n", 1)[0]
    messages[-1] = Message("user", f"{body}\n{request or batch_request(k)}")
    try:
        response = creator.llm.complete(
            messages,
            schema=batch_schema(creator.space, k),
            max_tokens=creator.max_tokens * k,
            temperature=creator.temperature,
            seed=seed,
        )
    except LLMError as exc:
        raise ProposalFailed("llm_error", str(exc)) from exc
    call = _record(messages, response)
    try:
        data = extract_json(response.text)
    except ValueError:
        raise ProposalFailed("not_json", "the answer was not JSON", [call]) from None
    items = data.get("candidates") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ProposalFailed("not_json", 'the answer has no "candidates" list', [call])
    seen = list(tried)
    proposals: list[Proposal] = []
    problems: list[str] = []
    for index, item in enumerate(items[:k]):
        checked = creator._problems(json.dumps(item), seen)
        fixed: list[str] = []
        if checked.kind == "invalid" and repair:
            checked, fixed = _repaired(creator, item, seen)
        config, rationale = checked.config, checked.rationale
        if config is None:
            problems.extend(f"candidate {index + 1}: {p}" for p in checked.problems[:2])
            continue
        seen.append((-1 - index, config))
        proposals.append(
            Proposal(
                config=config,
                rationale=rationale or "(no rationale given)",
                model=response.model,
                calls=[call] if not proposals else [],
                repaired=fixed,
                normalized=checked.normalized,
            )
        )
    if problems:
        _logger.debug("candidates dropped: %s", "; ".join(problems))
    if not proposals:
        raise ProposalFailed("invalid", "; ".join(problems) or "no candidates", [call])
    return proposals


def _repaired(
    creator: Creator, item: Any, seen: Sequence[tuple[int, Mapping[str, Any]]]
) -> tuple[_Checked, list[str]]:
    """An invalid candidate forced into the space, checked again; with the fixes made. It
    stays invalid when forcing it would invent a value (a missing parameter filled with the
    range's centre, a choice replaced by the first one)."""
    try:
        raw, rationale = parse_answer(json.dumps(item), creator.space)
    except ValueError as exc:
        return _Checked(None, "", [not_json_problem(str(exc))], [], "not_json"), []
    fixed, changes = creator.space.repair(raw)
    invented = [str(c) for c in changes if c.before is None or "default" in c.reason]
    if invented:
        return _Checked(None, rationale, invented, [], "invalid"), []
    checked = creator._problems(json.dumps({"config": fixed, "rationale": rationale}), seen)
    return checked, [str(c) for c in changes]
