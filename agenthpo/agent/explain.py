"""Why a classical sampler proposed what it did, in one line, from the sampler's own state.

Every trial the backbone proposes gets a rationale with the numbers filled in from the sampler
that drew it:

- **random start-up draws** (every model-based sampler's first trials) say so: "GP draws
  at random until 10 trials have finished (2 so far)";
- **TPE**: where the good trials lie against the rest, from TPE's own split of the finished
  trials into its best ``gamma`` fraction and the rest, and what it drew: "TPE: the best 3
  of 23 finished trials have lr 0.003-0.0101 (the rest 0.0001-0.1); it drew lr 0.006";
- **GP**: how far the proposal lies from the best trial and from the nearest finished trial
  (root-mean-square distance in the unit cube, log-scaled parameters on their log scale,
  categorical ones 0 or 1), and, where GP's fitted model can be read, its prediction there
  and whether the expected improvement comes from the predicted mean (exploiting) or from
  the uncertainty (exploring);
- **CMA-ES**: its generation, mean and step size, and what it drew.

A :class:`~agenthpo.backbone.Switching` backbone (:class:`~agenthpo.backbone.Backbone`) is
explained by the member that served the trial. Reading TPE's split, GP's model and CMA-ES's
optimizer uses Optuna internals (through :mod:`agenthpo._optuna`); where they differ from
those this was written against, the line says only what it can say without them and a
warning is logged once. :func:`explain` never raises.

Example:
    >>> import optuna
    >>> from agenthpo.agent.explain import explain
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    >>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2, n_trials=3)
    >>> trial = study.ask()
    >>> x = trial.suggest_float("x", -5, 5)
    >>> explain(study.sampler, study, study.trials[-1], {"x": x})
    'TPE draws at random until 10 trials have finished (3 so far)'
"""

from __future__ import annotations

import logging
import math
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import (
    BaseSampler,
    CmaEsSampler,
    NSGAIIISampler,
    NSGAIISampler,
    QMCSampler,
    RandomSampler,
    TPESampler,
)
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys, _optuna

__all__ = ["CmaState", "GPView", "cmaes_state", "distance", "explain", "gp_view", "tpe_split"]

_logger = logging.getLogger("agenthpo")
_warned: set[str] = set()
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
MAX_CHARS = 480
"""The longest rationale a trial stores (the sampler's cap)."""
NEAR = 0.1
"""A proposal this close (unit-cube RMS distance) to the best trial is "near" it."""
FAR = 0.2
"""A proposal at least this far from every finished trial is "far from every" one."""

_NAMES = {
    "TPESampler": "TPE",
    "GPSampler": "GP",
    "CmaEsSampler": "CMA-ES",
    "RandomSampler": "random sampling",
    "NSGAIISampler": "NSGA-II",
    "NSGAIIISampler": "NSGA-III",
}


def _warn_once(what: str, exc: BaseException) -> None:
    if what not in _warned:
        _warned.add(what)
        _logger.warning(
            "cannot read %s with this Optuna version (%s: %s); the trials' rationales say less",
            what,
            type(exc).__name__,
            exc,
        )


def explain(
    sampler: BaseSampler,
    study: Study,
    trial: FrozenTrial,
    config: Mapping[str, Any],
    *,
    max_chars: int = MAX_CHARS,
) -> str:
    """One line on why ``sampler`` proposed ``config`` for ``trial``, from its state now.

    Call it right after the sampler proposed (while ``trial`` runs): the state read is the
    one the proposal came from. ``config`` is the configuration the trial runs.

    Args:
        sampler: The classical sampler that proposed (a :class:`~agenthpo.backbone.Switching`
            backbone is explained by its member for the trial; an object with a
            ``backbone`` attribute, such as :class:`~agenthpo.AgentSampler`, by its backbone).
        study: The study.
        trial: The trial the proposal is for.
        config: The proposal.
        max_chars: The longest line returned.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> trial = study.ask()
        >>> explain(study.sampler, study, study.trials[-1], {"x": 1.0})
        'random sampling drew x 1'
    """
    try:
        member = _member_of(sampler, study, trial)
        text = _explain(member, study, trial, dict(config), max_chars)
    except Exception as exc:  # an explanation must never cost the trial
        _warn_once("the sampler's state", exc)
        _logger.debug("explaining trial %d failed", trial.number, exc_info=True)
        text = f"{_name(sampler)} proposed it"
    return _clip(text, max_chars)


def _name(sampler: BaseSampler) -> str:
    return _NAMES.get(type(sampler).__name__, type(sampler).__name__)


def _member_of(sampler: BaseSampler, study: Study, trial: FrozenTrial) -> BaseSampler:
    """The sampler that drew ``trial``: a switching backbone's member, a wrapper's backbone."""
    from agenthpo.backbone import Switching  # the backbone imports nothing from agent/

    for _ in range(4):  # wrappers of wrappers, bounded
        inner = getattr(sampler, "backbone", None)
        if isinstance(inner, BaseSampler) and not isinstance(sampler, Switching):
            sampler = inner
            continue
        if isinstance(sampler, Switching):
            name = sampler.chosen(trial.number)
            if name is None:
                stored = _optuna.stored_trial(study, trial).user_attrs
                name = stored.get(_keys.BACKBONE_MEMBER)
            if not isinstance(name, str):
                return sampler
            sampler = sampler.member(name, study)
            continue
        break
    return sampler


def _explain(
    sampler: BaseSampler, study: Study, trial: FrozenTrial, config: dict[str, Any], limit: int
) -> str:
    if isinstance(sampler, TPESampler):
        return _tpe(sampler, study, trial, config, limit)
    if isinstance(sampler, CmaEsSampler):
        return _cmaes(sampler, study, trial, config, limit)
    if type(sampler).__name__ == "GPSampler" or _is_gp(sampler):
        return _gp(sampler, study, trial, config, limit)
    name = _name(sampler)
    if isinstance(sampler, QMCSampler):
        return (
            "start-up: the next point of a scrambled Sobol sequence (spread evenly over the"
            f" space before GP fits a model): {_values(config, limit - 100)}"
        )
    if isinstance(sampler, RandomSampler):
        return f"{name} drew {_values(config, limit - len(name) - 6)}"
    if isinstance(sampler, (NSGAIISampler, NSGAIIISampler)):
        return (
            f"{name}'s genetic draw (its first generation is random, later ones cross and"
            f" mutate the best trials): {_values(config, limit - len(name) - 80)}"
        )
    return f"{name} proposed {_values(config, limit - len(name) - 10)}"


def _is_gp(sampler: BaseSampler) -> bool:
    try:
        from optuna.samplers import GPSampler
    except ImportError:  # pragma: no cover - every supported Optuna has it
        return False
    return isinstance(sampler, GPSampler)


# -- numbers as people read them --------------------------------------------------------------
def _value(v: Any) -> str:
    """A proposed value: 4 significant digits (as the LLM's history shows values)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int):
        return str(v)
    return format(v, ".4g")


def _bound(v: float, *, up: bool) -> str:
    """``v`` to 3 significant digits, rounded outward (so a stated range holds its values)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if not math.isfinite(v) or v == 0:
        return format(v, "g")
    d = Decimal(repr(float(v)))
    q = Decimal(1).scaleb(d.adjusted() - 2)
    return format(float(d.quantize(q, rounding=ROUND_CEILING if up else ROUND_FLOOR)), ".3g")


def _range(values: Sequence[Any]) -> str:
    lo, hi = min(values), max(values)
    if lo == hi:
        return _value(lo)
    return f"{_bound(lo, up=False)}-{_bound(hi, up=True)}"


def _values(config: Mapping[str, Any], budget: int, first: Sequence[str] = ()) -> str:
    """``lr 0.006, batch 64``: as many of ``config``'s values as fit ``budget`` characters
    (``first`` first), the rest counted."""
    names = [n for n in first if n in config] + [n for n in config if n not in first]
    return _fit([f"{n} {_value(config[n])}" for n in names], budget)


def _fit(items: Sequence[str], budget: int) -> str:
    """``a, b and 3 more``: the items that fit in ``budget`` characters (at least one)."""
    shown: list[str] = []
    for i, item in enumerate(items):
        rest = len(items) - i - 1
        more = f" and {rest} more" if rest else ""
        if shown and len(", ".join([*shown, item])) + len(more) > budget:
            return ", ".join(shown) + f" and {len(items) - len(shown)} more"
        shown.append(item)
    return ", ".join(shown)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _startup(name: str, done: int, n_startup: int) -> str:
    # counted in finished trials, as the sampler counts them: with trials running side by
    # side or failing, several draws share a count, which "draw 1 of 5" misread
    trials = "1 trial has" if n_startup == 1 else f"{n_startup} trials have"
    return f"{name} draws at random until {trials} finished ({done} so far)"


def _others(study: Study, trial: FrozenTrial, states: Sequence[TrialState]) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=states) if t.number != trial.number]


# -- TPE ---------------------------------------------------------------------------------------
def _tpe(
    sampler: TPESampler, study: Study, trial: FrozenTrial, config: dict[str, Any], limit: int
) -> str:
    finished = _others(study, trial, _FINISHED)
    n_startup = _optuna.n_startup_trials(sampler, 10)
    if len(finished) < n_startup:
        return _startup("TPE", len(finished), n_startup)
    split = tpe_split(sampler, study, trial)
    if split is None:
        return f"TPE's model of the {len(finished)} finished trials drew" + (
            f" {_values(config, limit - 60)}"
        )
    below, above = split
    multi = len(study.directions) > 1
    head = (
        f"TPE: the {len(below)} of {len(finished)} finished trials it ranks best (Pareto"
        " ranks) have "
        if multi
        else f"TPE: the best {len(below)} of {len(finished)} finished trials have "
    )
    parts: list[tuple[float, str, str]] = []  # (how concentrated, name, text)
    dists = _distributions(study, trial)
    for name in config:
        good = [t.params[name] for t in below if name in t.params]
        rest = [t.params[name] for t in above if name in t.params]
        dist = dists.get(name)
        if not good or dist is None:
            continue
        parts.append(_tpe_part(name, dist, good, rest))
    parts.sort(key=lambda p: p[0])
    order = [name for _, name, _ in parts]
    drawn = []
    for name in order + [n for n in config if n not in order]:
        good = [t.params[name] for t in below if name in t.params]
        drawn.append(f"{name} {_value(config[name])}{_falls(dists.get(name), good, config[name])}")
    drew = _fit(drawn, max(60, limit // 3))
    tail = f"; it drew {drew}"
    if not parts:
        return f"TPE's model of the {len(finished)} finished trials drew {drew}"
    budget = limit - len(head) - len(tail)
    return head + _fit([text for _, _, text in parts], budget) + tail


def _tpe_part(
    name: str, dist: BaseDistribution, good: list[Any], rest: list[Any]
) -> tuple[float, str, str]:
    """How concentrated the good trials are on ``name`` (lower: more), and the words."""
    if isinstance(dist, CategoricalDistribution):
        top = max(set(good), key=lambda c: (good.count(c), -dist.choices.index(c)))
        share = good.count(top) / len(good)
        rest_share = rest.count(top) / len(rest) if rest else 0.0
        rest_text = f"the rest {rest.count(top)} of {len(rest)}" if rest else "no others"
        text = f"{name} {_value(top)} in {good.count(top)} of {len(good)} ({rest_text})"
        return 1.0 - (share - rest_share), name, text
    width = _unit_width(dist, good)
    rest_width = _unit_width(dist, rest) if rest else 1.0
    score = width / rest_width if rest_width > 0 else 1.0
    rest_text = f"the rest {_range(rest)}" if rest else "no others"
    return score, name, f"{name} {_range(good)} ({rest_text})"


def _falls(dist: BaseDistribution | None, good: list[Any], value: Any) -> str:
    """Where a drawn numeric value lies against the good trials' range."""
    if not good or not isinstance(dist, (FloatDistribution, IntDistribution)):
        return ""
    if value < min(good):
        return " (below their range)"
    if value > max(good):
        return " (above their range)"
    return " (in their range)"


def _unit_width(dist: BaseDistribution, values: list[Any]) -> float:
    points = [_unit(dist, v) for v in values]
    return max(points) - min(points)


def tpe_split(
    sampler: TPESampler, study: Study, trial: FrozenTrial
) -> tuple[list[FrozenTrial], list[FrozenTrial]] | None:
    """TPE's split of the trials for ``trial``'s proposal into the best and the rest, as its
    ``_sample`` makes it (running trials join the rest under constant liar), or ``None``
    where Optuna's internals differ.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=20)
        >>> _ = study.ask()
        >>> below, above = tpe_split(study.sampler, study, study.trials[-1])
        >>> len(below), len(above)
        (2, 18)
    """
    try:
        liar = _optuna.tpe_constant_liar(sampler)
        states = (*_FINISHED, TrialState.RUNNING) if liar else _FINISHED
        return _optuna.tpe_split(sampler, study, _others(study, trial, states))
    except (AttributeError, ImportError, TypeError, ValueError) as exc:
        _warn_once("TPE's split of the trials", exc)
        return None


# -- the unit cube -----------------------------------------------------------------------------
def _unit(dist: BaseDistribution, value: Any) -> float:
    """``value``'s place in ``dist``'s range, 0 to 1 (log-scaled where ``dist`` is)."""
    if isinstance(dist, (FloatDistribution, IntDistribution)):
        lo, hi, v = float(dist.low), float(dist.high), float(value)
        if dist.log:
            lo, hi, v = math.log(lo), math.log(hi), math.log(v)
        return 0.0 if hi <= lo else min(1.0, max(0.0, (v - lo) / (hi - lo)))
    return 0.0


def distance(
    dists: Mapping[str, BaseDistribution], a: Mapping[str, Any], b: Mapping[str, Any]
) -> float:
    """The root-mean-square distance of ``a`` and ``b`` over ``dists`` in the unit cube (a
    categorical parameter counts 0 when equal, else 1): between 0 and 1.

    Example:
        >>> from optuna.distributions import FloatDistribution
        >>> round(distance({"x": FloatDistribution(0, 10)}, {"x": 2.0}, {"x": 7.0}), 6)
        0.5
    """
    if not dists:
        return 0.0
    total = 0.0
    for name, dist in dists.items():
        if isinstance(dist, CategoricalDistribution):
            total += 0.0 if a[name] == b[name] else 1.0
        else:
            total += (_unit(dist, a[name]) - _unit(dist, b[name])) ** 2
    return math.sqrt(total / len(dists))


def _distributions(study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
    """The distributions of the finished trials' parameters, the trial's own over them."""
    out: dict[str, BaseDistribution] = {}
    for t in _others(study, trial, _FINISHED):
        out.update(t.distributions)
    out.update(trial.distributions)
    return out


# -- GP ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GPView:
    """GP's fitted model at a proposal, in the objective's units.

    Attributes:
        mean: The predicted objective value.
        std: The model's standard deviation there.
        best: The best value so far (the bar expected improvement is measured against).
        exploiting: Whether the expected improvement comes mostly from the predicted mean
            beating ``best`` (``(mean - best) * Phi(z)``, in the direction of improvement)
            rather than from the uncertainty (``std * phi(z)``).

    Example:
        >>> GPView(mean=0.1, std=0.02, best=0.2, exploiting=True).exploiting
        True
    """

    mean: float
    std: float
    best: float
    exploiting: bool


def gp_view(
    sampler: BaseSampler, study: Study, space: Mapping[str, BaseDistribution], config: Any
) -> GPView | None:
    """GP's posterior at ``config`` from the model it fitted for its last proposal.

    ``None`` (and a warning, once) where Optuna's GP internals differ, and ``None`` when the
    model GP holds was not fitted on exactly the study's completed trials over ``space`` (its
    last proposal was for another study or before trials finished), for several objectives
    and for constrained studies.
    """
    if len(study.directions) != 1 or not space:
        return None
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed or any(getattr(t, "constraints", None) for t in completed):
        return None
    try:
        model = _optuna.gp_last_model(sampler, space, completed)
        if model is None:
            return None
        sign = -1.0 if study.direction == StudyDirection.MINIMIZE else 1.0
        y = sign * np.asarray([float(t.value) for t in completed])  # type: ignore[arg-type]
        if not np.all(np.isfinite(y)):
            return None
        mu, sd = float(np.mean(y)), float(np.std(y))
        y_std = (y - mu) / max(sd, 1e-10)
        if not np.allclose(model.y_train(), y_std):
            return None
        m, var = model.posterior(dict(config))
        s = math.sqrt(max(var, 0.0))
    except (AttributeError, ImportError, TypeError, ValueError, RuntimeError, KeyError) as exc:
        _warn_once("GP's fitted model", exc)
        return None
    threshold = float(np.max(y_std))
    gain = m - threshold
    if s > 0:
        z = gain / s
        from_mean = gain * 0.5 * math.erfc(-z / math.sqrt(2))
        from_std = s * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    else:
        from_mean, from_std = max(gain, 0.0), 0.0
    scale = max(sd, 1e-10)
    return GPView(
        mean=sign * (m * scale + mu),
        std=s * scale,
        best=sign * float(np.max(y)),
        exploiting=from_mean > 0 and from_mean >= from_std,
    )


def _gp(
    sampler: BaseSampler, study: Study, trial: FrozenTrial, config: dict[str, Any], limit: int
) -> str:
    completed = _others(study, trial, (TrialState.COMPLETE,))
    n_startup = _optuna.n_startup_trials(sampler, 10)
    if len(completed) < n_startup:
        return _startup("GP", len(completed), n_startup)
    space = {
        name: dist
        for name, dist in sampler.infer_relative_search_space(study, trial).items()
        if name in config
    }
    if not space:
        return "GP drew at random (no parameter every finished trial shares): " + _values(
            config, limit - 70
        )
    aside = [name for name in config if name not in space]
    tried = [t for t in completed if all(name in t.params for name in space)]
    facts: list[str] = []
    if tried:
        near = min(tried, key=lambda t: distance(space, config, t.params))
        d_near = distance(space, config, near.params)
        if len(study.directions) == 1:
            sign = -1.0 if study.direction == StudyDirection.MINIMIZE else 1.0
            best = max(tried, key=lambda t: sign * float(t.value))  # type: ignore[arg-type]
            d_best = distance(space, config, best.params)
            where = (
                "near the best trial"
                if d_best <= NEAR
                else "far from every finished trial"
                if d_near >= FAR
                else "away from the best trial"
            )
            facts.append(
                f"{where}: {d_best:.2f} from the best trial #{best.number},"
                f" {d_near:.2f} from the nearest finished trial #{near.number} (unit-cube"
                " RMS distance)"
            )
        else:
            where = "far from every finished trial" if d_near >= FAR else "near finished trials"
            facts.append(
                f"{where}: {d_near:.2f} from the nearest, #{near.number} (unit-cube RMS distance)"
            )
    view = gp_view(sampler, study, space, config)
    if view is not None:
        source = (
            "from the predicted mean (exploiting)"
            if view.exploiting
            else "from the uncertainty (exploring)"
        )
        facts.append(
            f"GP predicts {view.mean:.4g} ± {view.std:.3g} there against the best"
            f" {view.best:.4g}: expected improvement {source}"
        )
    if aside:
        facts.append(f"{', '.join(aside)} drawn at random (outside GP's search space)")
    tail = "; " + "; ".join(facts) if facts else ""
    head = "GP drew "
    return head + _values(config, limit - len(head) - len(tail)) + tail


# -- CMA-ES ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CmaState:
    """CMA-ES's search distribution: its generation, mean (in the parameters' own units) and
    step size (a fraction of each parameter's range, log-scaled ones on their log scale).

    Example:
        >>> CmaState(generation=2, mean={"x": 1.5}, sigma=0.2).describe()[:62]
        'Its search distribution after generation 2: mean {"x": 1.5}, s'
    """

    generation: int
    mean: dict[str, Any]
    sigma: float

    def describe(self) -> str:
        """The state in a sentence (shown to the LLM by ``centaur``; the words are
        :func:`~agenthpo.agent.prompts.cmaes_state_text`'s)."""
        from agenthpo.agent.prompts import cmaes_state_text

        return cmaes_state_text(self.generation, self.mean, self.sigma)


def cmaes_state(
    sampler: BaseSampler, study: Study, trial: FrozenTrial | None = None
) -> CmaState | None:
    """CMA-ES's search distribution, or ``None`` (not CMA-ES, no state yet, or internals that
    differ).

    With ``trial`` (one CMA-ES just proposed for), the distribution its proposal was drawn
    from: the optimizer stored on the trial when the proposal closed a generation, else the
    one restored from the finished trials, else the initial one. Without, the distribution
    restored from the finished trials (``None`` before any).

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> s = optuna.create_study(sampler=optuna.samplers.CmaEsSampler(seed=0))
        >>> s.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), 12)
        >>> cmaes_state(s.sampler, s).generation
        1
    """
    if not isinstance(sampler, CmaEsSampler):
        return None
    try:
        completed = _optuna.cmaes_trials(sampler, study)
        if trial is not None:
            completed = [t for t in completed if t.number != trial.number]
        probe = trial if trial is not None else (completed[-1] if completed else None)
        if probe is None:
            return None
        space = sampler.infer_relative_search_space(study, probe)
        if not space:
            return None
        sources = list(completed)
        if trial is not None:
            sources.append(_optuna.stored_trial(study, trial))
        found = _optuna.cmaes_distribution(
            sampler, study, space, sources, initial=trial is not None
        )
        if found is None:
            return None
        generation, mean, sigma = found
        return CmaState(generation=generation, mean=mean, sigma=sigma)
    except (
        AttributeError,
        ImportError,
        TypeError,
        ValueError,
        KeyError,
        IndexError,
        pickle.UnpicklingError,
    ) as exc:
        _warn_once("CMA-ES's state", exc)
        return None


def _cmaes(
    sampler: CmaEsSampler, study: Study, trial: FrozenTrial, config: dict[str, Any], limit: int
) -> str:
    completed = [t for t in _optuna.cmaes_trials(sampler, study) if t.number != trial.number]
    n_startup = _optuna.n_startup_trials(sampler, 1)
    if len(completed) < n_startup:
        return _startup("CMA-ES", len(completed), n_startup)
    state = cmaes_state(sampler, study, trial)
    if state is None:
        return "CMA-ES drew at random (no numeric parameter every finished trial shares yet)"
    mean = [f"{n} {_value(v)}" for n, v in state.mean.items()]
    aside = [name for name in config if name not in state.mean]
    note = (
        f"; {', '.join(aside)} drawn at random (outside CMA-ES's numeric search space)"
        if aside
        else ""
    )
    head = f"CMA-ES, generation {state.generation}: mean "
    middle = f", step size sigma {state.sigma:.3g} (a fraction of each range); it drew "
    budget = limit - len(head) - len(middle) - len(note)
    return (
        head
        + _fit(mean, budget // 2)
        + middle
        + _values(config, budget // 2, first=list(state.mean))
        + note
    )
