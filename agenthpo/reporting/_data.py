"""What a report shows, read from the stored study alone.

Everything here comes from Optuna storage: the trials with their ``user_attrs`` (see
:mod:`agenthpo._keys`) and the study's attributes (the task's background, the metric's name,
the hidden metrics). Nothing is taken from the memory of a running tuner.

Example:
    >>> import optuna
    >>> study = optuna.create_study(direction="maximize")
    >>> study.add_trial(optuna.trial.create_trial(
    ...     params={"x": 0.5},
    ...     distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
    ...     value=0.9,
    ... ))
    >>> data = collect_data(study)
    >>> data.best.number, data.best.value, data.counts()["complete"]
    (0, 0.9, 1)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys
from agenthpo.reporting._contribution import Contribution, contribution
from agenthpo.reporting._revisions import RevisionRow, read_revisions

__all__ = [
    "NOISE",
    "STUDY_REFERENCE",
    "LLMUsage",
    "NoiseBand",
    "ProposerStats",
    "ReportData",
    "Selection",
    "TrialRow",
    "analysis_beyond_error",
    "collect_data",
    "parse_selection",
    "read_selection",
]

NOISE = "noise"
"""Trial user attribute: ``{"mean": m, "std": s, "n": k}`` when the trial was re-run with other
seeds."""

STUDY_REFERENCE = "agenthpo_reference"
"""Study user attribute: ``{label: [best-so-far value after trial 1, 2, ...]}``, e.g. the median
of random-search runs on a benchmark, drawn as a reference line in the history plot."""

STATES = ("complete", "pruned", "fail", "interrupted", "running", "waiting")
"""A report's trial states: Optuna's, except that a failed trial outside the budget (stopped
by the time limit or a signal, surplus, or failed by AgentHPO before it ran: ``not_counted``)
is ``interrupted``, as ``agenthpo run`` counts it, and no failure of its configuration."""

STATE_WORDS = {"fail": "failed", "interrupted": "interrupted and not counted"}
"""How a state reads in a count, where it differs from its name."""


@dataclass(frozen=True)
class NoiseBand:
    """The spread of a configuration's value over re-runs with other seeds."""

    mean: float
    std: float
    n: int


def analysis_beyond_error(analysis: str, error: str) -> str:
    """``analysis``, unless it only repeats ``error`` (the analyst's ``crashed: <error>``).

    Trial tables show the error beside the analysis; saying it twice buries it.

    Example:
        >>> analysis_beyond_error("crashed: ValueError: bad lr", "ValueError: bad lr")
        ''
    """
    if error and analysis in (f"crashed: {error}", f"failed: {error}"):
        return ""
    return analysis


def _designed(value: Any) -> bool:
    """Whether a trial's ``initial_design`` attribute marks one of the LLM's design (the
    task's default is the design's too, but given: it counts as given)."""
    return isinstance(value, dict) and bool(value.get("index")) and not value.get("default")


@dataclass(frozen=True)
class TrialRow:
    """One stored trial, as the report shows it."""

    number: int
    state: str
    """One of :data:`STATES`."""
    values: tuple[float, ...] | None
    params: dict[str, Any]
    """Its configuration; a queued trial's as queued."""
    proposed_by: str = ""
    rationale: str = ""
    analysis: str = ""
    error: str = ""
    fallback_reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)
    noise: NoiseBand | None = None
    duration_s: float | None = None
    llm_model: str = ""
    llm_calls: int = 0
    llm_prompt_tokens: int = 0
    llm_completion_tokens: int = 0
    llm_cost_usd: float | None = None
    llm_latency_s: float = 0.0
    initial_design: bool = False
    """One of the LLM's initial design (``LLMPolicy.initial_design``), not the default."""
    given: bool = False
    """Its configuration was given, not proposed: enqueued (the default configuration, a
    warm start, a user's own), not an LLM batch's candidate."""
    not_counted: bool = False
    """Interrupted or surplus: not in the budget, and not a result of its proposer."""
    near_copy: int | None = None
    """The trial an LLM answer for it repeated or nearly repeated (``llm_near_copy``)."""
    failure_region: str = ""
    """Where earlier runs failed that an LLM answer for it lay, e.g. ``"#3, #7 diverged"``
    (``llm_failure_region``); empty if none did."""
    rationale_check: str = ""
    """What its rationale claims that the stored numbers contradict (``rationale_check``)."""

    @property
    def value(self) -> float | None:
        """The first objective's value; ``None`` unless the trial completed."""
        return self.values[0] if self.values else None

    @property
    def analysis_beyond_error(self) -> str:
        """The analysis, unless it only repeats the error (see :func:`analysis_beyond_error`)."""
        return analysis_beyond_error(self.analysis, self.error)


@dataclass(frozen=True)
class ProposerStats:
    """How the trials of one proposer (``llm``, ``backbone``, ...) went."""

    n: int
    n_complete: int
    best_value: float | None
    best_trial: int | None


@dataclass(frozen=True)
class LLMUsage:
    """What the study's proposals cost, summed over its trials."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0
    models: tuple[str, ...] = ()
    trials_asked: int = 0
    fallbacks: int = 0
    fallback_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Selection:
    """The noise-robust recommendation a study stored (see :meth:`agenthpo.Tuner.select`).

    Example:
        >>> sel = Selection(recommended=0, improvement=False, reason="within the band",
        ...     best_single_run=4, default_trial=0,
        ...     candidates={0: NoiseBand(0.71, 0.004, 3), 4: NoiseBand(0.65, 0.012, 3)})
        >>> sel.verdict()
        'the default configuration (trial 0) is recommended: no candidate beat it beyond the noise band'
    """  # noqa: E501

    recommended: int
    improvement: bool | None
    reason: str
    best_single_run: int | None = None
    default_trial: int | None = None
    candidates: dict[int, NoiseBand] = field(default_factory=dict)
    band: float | None = None
    note: str = ""

    def verdict(self) -> str:
        """Which configuration is recommended and whether it is an improvement, one line."""
        if self.improvement is False:
            return (
                f"the default configuration (trial {self.recommended}) is recommended: no"
                " candidate beat it beyond the noise band"
            )
        if self.improvement:
            return (
                f"trial {self.recommended} is recommended: it beats the default configuration"
                " beyond the noise band"
            )
        return (
            f"trial {self.recommended} is recommended by its mean over seeds (no default"
            " configuration to compare with)"
        )

    def rows(self) -> list[tuple[str, int, NoiseBand | None]]:
        """``(role, trial, its mean ± sd over seeds)``: the recommended configuration, the
        default, and the best single run where it is neither."""
        out: list[tuple[str, int, NoiseBand | None]] = [
            ("recommended", self.recommended, self.candidates.get(self.recommended))
        ]
        if self.default_trial is not None and self.default_trial != self.recommended:
            out.append(("default", self.default_trial, self.candidates.get(self.default_trial)))
        if self.best_single_run is not None and self.best_single_run not in (
            self.recommended,
            self.default_trial,
        ):
            out.append(
                ("best single run", self.best_single_run, self.candidates.get(self.best_single_run))
            )
        return out


def read_selection(
    study: optuna.Study, trials: Sequence[FrozenTrial] | None = None
) -> tuple[Selection | None, str]:
    """The study's stored selection, and why there is none or what it skipped (a note).

    A stored selection that cannot be read, or whose recommended trial is not a completed
    trial of the study (a stale or hand-edited attribute), is ignored, and the note says so:
    every caller then recommends the study's best trial, never a trial that is not there.

    Args:
        study: The study.
        trials: The study's trials, when the caller has read them already.

    Example:
        >>> read_selection(optuna.create_study())
        (None, '')
        >>> study = optuna.create_study()
        >>> study.set_user_attr("agenthpo_selection", {"recommended_trial": 9, "reason": "r"})
        >>> read_selection(study)
        (None, 'the stored selection recommends trial 9, which does not exist; ignored')
    """
    attrs = study.user_attrs
    raw = attrs.get(_keys.STUDY_SELECTION)
    selection = parse_selection(raw)
    if selection is None:
        if raw is not None:
            return None, "the stored selection cannot be read; ignored"
        return None, _text(attrs.get(_keys.STUDY_SELECTION_NOTE))
    by_number = {
        t.number: t for t in (trials if trials is not None else study.get_trials(deepcopy=False))
    }
    chosen = by_number.get(selection.recommended)
    if chosen is None or chosen.state != TrialState.COMPLETE or not chosen.values:
        which = (
            "does not exist"
            if chosen is None
            else f"did not complete ({chosen.state.name.lower()})"
            if chosen.state != TrialState.COMPLETE
            else "has no value"
        )
        return (
            None,
            f"the stored selection recommends trial {selection.recommended}, which {which};"
            " ignored",
        )
    # A default or best single run that is not a trial of the study is left out of the rows.
    selection = dataclasses.replace(
        selection,
        default_trial=selection.default_trial if selection.default_trial in by_number else None,
        best_single_run=selection.best_single_run
        if selection.best_single_run in by_number
        else None,
    )
    return selection, selection.note


def parse_selection(raw: Any) -> Selection | None:
    """A :class:`Selection` from its stored mapping (``RunSummary.selection``), or ``None``
    if ``raw`` is not one.

    Example:
        >>> parse_selection({"recommended_trial": 3, "improvement": True, "reason": "r"}).verdict()
        'trial 3 is recommended: it beats the default configuration beyond the noise band'
    """
    recommended = _float(raw.get("recommended_trial")) if isinstance(raw, Mapping) else None
    if recommended is None or recommended != int(recommended):
        return None
    candidates: dict[int, NoiseBand] = {}
    stored = raw.get("candidates")
    if isinstance(stored, Mapping):
        for key, value in stored.items():
            band = _noise(value)
            if band is not None and str(key).isdigit():
                candidates[int(key)] = band
    improvement = raw.get("improvement")

    def number(key: str) -> int | None:
        value = _float(raw.get(key))
        return int(value) if value is not None else None

    return Selection(
        recommended=_int(raw.get("recommended_trial")),
        improvement=improvement if isinstance(improvement, bool) else None,
        reason=_text(raw.get("reason")),
        best_single_run=number("best_single_run"),
        default_trial=number("default_trial"),
        candidates=candidates,
        band=_float(raw.get("band")),
        note=_text(raw.get("note")),
    )


@dataclass(frozen=True)
class ReportData:
    """A study as stored: its task, its trials, its best, what the LLM cost."""

    study_name: str
    directions: tuple[str, ...]
    metric_names: tuple[str, ...]
    hidden_metrics: tuple[str, ...]
    task: dict[str, Any]
    space: dict[str, dict[str, Any]]
    trials: tuple[TrialRow, ...]
    best: TrialRow | None
    pareto: tuple[TrialRow, ...]
    llm: LLMUsage
    proposers: dict[str, ProposerStats]
    references: dict[str, list[float]]
    selection: Selection | None = None
    """The noise-robust recommendation; ``best`` is then its recommended trial."""
    selection_note: str = ""
    """Why there is no selection, or what it skipped (empty when none of that applies)."""
    reevaluations: int = 0
    """Runs spent re-evaluating configurations on further seeds (within the budget)."""
    contribution: Contribution = field(default_factory=Contribution)
    """What the LLM added: its proposals against the backbone's (see
    :func:`~agenthpo.reporting._contribution.contribution`)."""
    revisions: tuple[RevisionRow, ...] = ()
    """The revisions of the search space, each proposed change a row
    (:mod:`agenthpo.reporting._revisions`)."""

    @property
    def metric(self) -> str:
        """The (first) objective's metric name."""
        return self.metric_names[0]

    @property
    def direction(self) -> str:
        """``minimize`` or ``maximize`` (of the first objective)."""
        return self.directions[0]

    def objectives(self) -> list[tuple[str, str]]:
        """``(direction, metric)`` of each objective."""
        return list(zip(self.directions, self.metric_names, strict=True))

    @property
    def multi_objective(self) -> bool:
        """Whether the study has more than one objective."""
        return len(self.directions) > 1

    @property
    def completed(self) -> tuple[TrialRow, ...]:
        """The trials with a value."""
        return tuple(t for t in self.trials if t.state == "complete" and t.values)

    def counts(self) -> dict[str, int]:
        """Trials by state (each of :data:`STATES`)."""
        out = dict.fromkeys(STATES, 0)
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def state_text(self) -> str:
        """The trials by state in words, e.g. ``"3 complete, 1 interrupted and not counted"``;
        ``"none"`` without a trial."""
        counts = self.counts()
        words = [f"{n} {STATE_WORDS.get(state, state)}" for state, n in counts.items() if n]
        return ", ".join(words) or "none"

    def trial(self, number: int) -> TrialRow | None:
        """The trial with this number, or ``None``."""
        for t in self.trials:
            if t.number == number:
                return t
        return None

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b`` for the first objective."""
        return a > b if self.direction == "maximize" else a < b

    def ranked(self) -> list[TrialRow]:
        """Completed trials, best first (by the first objective)."""
        sign = -1.0 if self.direction == "maximize" else 1.0
        return sorted(self.completed, key=lambda t: (sign * (t.value or 0.0), t.number))

    @property
    def param_names(self) -> list[str]:
        """Every parameter: the task's space order first, then any others seen in trials."""
        names = list(self.space)
        for t in self.trials:
            for name in t.params:
                if name not in names:
                    names.append(name)
        return names


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _int(value: Any) -> int:
    number = _float(value)
    return int(number) if number is not None else 0


def _text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def _noise(value: Any) -> NoiseBand | None:
    if not isinstance(value, Mapping):
        return None
    mean, std, n = _float(value.get("mean")), _float(value.get("std")), _float(value.get("n"))
    if mean is None or std is None or n is None:
        return None
    return NoiseBand(mean=mean, std=abs(std), n=int(n))


def _curve(trial: FrozenTrial, metric: str) -> list[dict[str, float]]:
    stored = trial.user_attrs.get(_keys.CURVE)
    points: list[dict[str, float]] = []
    if isinstance(stored, list):
        for point in stored:
            # A report without a step is a run's final summary, not a point of its curve.
            if not isinstance(point, Mapping) or _float(point.get("step")) is None:
                continue
            clean = {str(k): f for k, v in point.items() if (f := _float(v)) is not None}
            points.append(clean)
    if not points and trial.intermediate_values:
        points = [
            {"step": float(step), metric: float(v)}
            for step, v in sorted(trial.intermediate_values.items())
            if math.isfinite(v)
        ]
    return points


def _metrics(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): f for k, v in value.items() if (f := _float(v)) is not None}


def trial_row(
    trial: FrozenTrial, metric: str, study_noise: Mapping[str, Any] | None = None
) -> TrialRow:
    """A stored trial as a :class:`TrialRow`.

    Its noise band comes from the study's ``agenthpo_noise`` attribute (the tuner's
    re-runs of an incumbent with other seeds), or from a trial attribute ``noise``.
    """
    attrs = trial.user_attrs
    noise_value = attrs.get(NOISE)
    if noise_value is None and study_noise is not None:
        noise_value = study_noise.get(str(trial.number))
    values = None
    if trial.state == TrialState.COMPLETE and trial.values:
        values = tuple(float(v) for v in trial.values)
    duration = _float(attrs.get(_keys.DURATION_S))
    if duration is None and trial.datetime_start and trial.datetime_complete:
        duration = (trial.datetime_complete - trial.datetime_start).total_seconds()
    not_counted = bool(attrs.get(_keys.NOT_COUNTED))
    state = trial.state.name.lower()
    if trial.state == TrialState.FAIL and not_counted:
        state = "interrupted"
    return TrialRow(
        number=trial.number,
        state=state,
        values=values,
        params=dict(trial.params) or _queued_config(trial),
        proposed_by=_text(attrs.get(_keys.PROPOSED_BY)),
        rationale=_text(attrs.get(_keys.RATIONALE)),
        analysis=_text(attrs.get(_keys.ANALYSIS)),
        error=_text(attrs.get(_keys.ERROR)),
        fallback_reason=_text(attrs.get(_keys.FALLBACK_REASON)),
        metrics=_metrics(attrs.get(_keys.METRICS)),
        curve=_curve(trial, metric),
        noise=_noise(noise_value),
        duration_s=duration,
        llm_model=_text(attrs.get(_keys.LLM_MODEL)),
        llm_calls=_int(attrs.get(_keys.LLM_CALLS)),
        llm_prompt_tokens=_int(attrs.get(_keys.LLM_PROMPT_TOKENS)),
        llm_completion_tokens=_int(attrs.get(_keys.LLM_COMPLETION_TOKENS)),
        llm_cost_usd=_float(attrs.get(_keys.LLM_COST)),
        llm_latency_s=_float(attrs.get(_keys.LLM_LATENCY_S)) or 0.0,
        given="fixed_params" in trial.system_attrs and not attrs.get(_keys.LLM_BATCH),
        initial_design=_designed(attrs.get(_keys.INITIAL_DESIGN)),
        not_counted=not_counted,
        near_copy=_near_copy(attrs.get(_keys.LLM_NEAR_COPY)),
        failure_region=_failure_region(attrs.get(_keys.LLM_FAILURE_REGION)),
        rationale_check=_text(attrs.get(_keys.RATIONALE_CHECK)),
    )


def _queued_config(trial: FrozenTrial) -> dict[str, Any]:
    """A queued trial's configuration (Optuna's fixed params, until it starts); else empty."""
    fixed = trial.system_attrs.get("fixed_params")
    if trial.state == TrialState.WAITING and isinstance(fixed, Mapping):
        return dict(fixed)
    return {}


def _near_copy(value: Any) -> int | None:
    """The trial number of a stored ``llm_near_copy``, or ``None``."""
    if isinstance(value, Mapping):
        number = _float(value.get("of"))
        return int(number) if number is not None else None
    return None


def _failure_region(value: Any) -> str:
    """A stored ``llm_failure_region`` as ``"#3, #7 diverged"`` (empty if there is none).

    Example:
        >>> _failure_region({"cause": "timed out", "trials": [4], "repaired": True})
        '#4 timed out'
    """
    if not isinstance(value, Mapping) or not isinstance(value.get("trials"), list):
        return ""
    numbers = ", ".join(f"#{int(n)}" for n in value["trials"][-6:] if isinstance(n, int))
    return f"{numbers} {_text(value.get('cause'))}".strip()


def _metric_names(study: optuna.Study, n_objectives: int) -> tuple[str, ...]:
    stored = study.user_attrs.get(_keys.STUDY_METRIC)
    if isinstance(stored, str) and n_objectives == 1:
        return (stored,)
    if isinstance(stored, list) and len(stored) == n_objectives:
        return tuple(str(s) for s in stored)
    names = study.metric_names
    if names and len(names) == n_objectives:
        return tuple(str(n) for n in names)
    return ("value",) if n_objectives == 1 else tuple(f"value_{i}" for i in range(n_objectives))


def _describe(dist: BaseDistribution) -> dict[str, Any]:
    if isinstance(dist, CategoricalDistribution):
        return {"type": "categorical", "choices": list(dist.choices)}
    if isinstance(dist, (FloatDistribution, IntDistribution)):
        out: dict[str, Any] = {
            "type": "int" if isinstance(dist, IntDistribution) else "float",
            "low": dist.low,
            "high": dist.high,
            "log": dist.log,
        }
        if dist.step is not None:
            out["step"] = dist.step
        return out
    return {"type": type(dist).__name__}


def _space(task: Mapping[str, Any], trials: Sequence[FrozenTrial]) -> dict[str, dict[str, Any]]:
    stored = task.get("space")
    out: dict[str, dict[str, Any]] = {}
    if isinstance(stored, Mapping):
        for name, spec in stored.items():
            out[str(name)] = dict(spec) if isinstance(spec, Mapping) else {"spec": spec}
    for trial in trials:
        for name, dist in trial.distributions.items():
            if name not in out:
                out[name] = _describe(dist)
    return out


def _references(raw: Any) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    if isinstance(raw, Mapping):
        for label, values in raw.items():
            if isinstance(values, Sequence) and not isinstance(values, str):
                clean = [f for v in values if (f := _float(v)) is not None]
                if clean:
                    out[str(label)] = clean
    return out


def _usage(rows: Sequence[TrialRow]) -> LLMUsage:
    reasons: dict[str, int] = {}
    costs = [r.llm_cost_usd for r in rows if r.llm_cost_usd is not None]
    models: list[str] = []
    for r in rows:
        if r.llm_model and r.llm_model not in models:
            models.append(r.llm_model)
        if r.fallback_reason:
            kind = r.fallback_reason.split(":", 1)[0].strip() or "unknown"
            reasons[kind] = reasons.get(kind, 0) + 1
    return LLMUsage(
        calls=sum(r.llm_calls for r in rows),
        prompt_tokens=sum(r.llm_prompt_tokens for r in rows),
        completion_tokens=sum(r.llm_completion_tokens for r in rows),
        cost_usd=sum(costs) if costs else None,
        latency_s=sum(r.llm_latency_s for r in rows),
        models=tuple(models),
        trials_asked=sum(1 for r in rows if r.llm_calls > 0),
        fallbacks=sum(reasons.values()),
        fallback_reasons=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def _proposers(rows: Sequence[TrialRow], maximize: bool) -> dict[str, ProposerStats]:
    groups: dict[str, list[TrialRow]] = {}
    for r in rows:
        if r.state == "interrupted":
            continue  # its rerun stands for its proposal
        groups.setdefault(r.proposed_by or "unknown", []).append(r)
    out: dict[str, ProposerStats] = {}
    for name, group in groups.items():
        done = [r for r in group if r.value is not None]
        best = None
        if done:
            best = (
                max(done, key=lambda r: r.value or 0.0)
                if maximize
                else min(done, key=lambda r: r.value or 0.0)
            )
        out[name] = ProposerStats(
            n=len(group),
            n_complete=len(done),
            best_value=best.value if best else None,
            best_trial=best.number if best else None,
        )
    return out


def collect_data(
    study: optuna.Study, *, references: Mapping[str, Sequence[float]] | None = None
) -> ReportData:
    """Reads everything a report shows from a stored study.

    Args:
        study: The study (loaded from its storage).
        references: Extra reference curves for the history plot, ``{label: best-so-far
            values by trial}``; they are added to any stored under the study attribute
            ``agenthpo_reference``.

    Returns:
        The study's data, ready to be reported.
    """
    frozen = study.get_trials(deepcopy=False)
    directions = tuple(d.name.lower() for d in study.directions)
    metrics = _metric_names(study, len(directions))
    stored_noise = study.user_attrs.get(_keys.STUDY_NOISE)
    study_noise = stored_noise if isinstance(stored_noise, Mapping) else None
    rows = tuple(trial_row(t, metrics[0], study_noise) for t in frozen)
    by_number = {r.number: r for r in rows}
    best: TrialRow | None = None
    pareto: tuple[TrialRow, ...] = ()
    if len(directions) == 1:
        try:
            best = by_number.get(study.best_trial.number)
        except ValueError:
            best = None
    else:
        pareto = tuple(by_number[t.number] for t in study.best_trials if t.number in by_number)
    selection, selection_note = (
        read_selection(study, frozen) if len(directions) == 1 else (None, "")
    )
    if selection is not None and selection.recommended in by_number:
        best = by_number[selection.recommended]
    reevaluations = sum(
        _int(e.get("runs", _int(e.get("n")) - 1))
        for e in (study_noise or {}).values()
        if isinstance(e, Mapping)
    )
    attrs = study.user_attrs
    task_raw = attrs.get(_keys.STUDY_TASK)
    task: dict[str, Any] = dict(task_raw) if isinstance(task_raw, Mapping) else {}
    hidden_raw = attrs.get(_keys.STUDY_HIDDEN)
    hidden = tuple(str(h) for h in hidden_raw) if isinstance(hidden_raw, list) else ()
    refs = _references(attrs.get(STUDY_REFERENCE))
    refs.update(_references(dict(references or {})))
    return ReportData(
        study_name=study.study_name,
        directions=directions,
        metric_names=metrics,
        hidden_metrics=hidden,
        task=task,
        space=_space(task, frozen),
        trials=rows,
        best=best,
        pareto=pareto,
        llm=_usage(rows),
        proposers=_proposers(rows, directions[0] == "maximize"),
        references=refs,
        selection=selection,
        selection_note=selection_note,
        reevaluations=reevaluations,
        contribution=contribution(
            rows, maximize=directions[0] == "maximize", n_objectives=len(directions)
        ),
        revisions=read_revisions(attrs),
    )
