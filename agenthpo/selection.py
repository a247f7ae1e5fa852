"""Noise-robust selection: the best configurations re-run on further seeds (or scored on
held-out folds), and a recommendation only by evidence that survives that noise.

A task's ``noise:`` section turns it on (:meth:`agenthpo.task.Task.noise_setup`). The
re-runs are no trials: the sampler never sees them, but they count against the budget, so
the search keeps room for them (:meth:`Selection.search_budget`). They are stored in the
study's ``agenthpo_noise`` attribute, which the agent, ``agenthpo show`` and the report
read, and the recommendation in ``agenthpo_selection``. :class:`agenthpo.tuner.Tuner`
runs the search and calls this module between its trials and at its end.

Example:
    >>> reevaluation_runs(optuna.create_study())
    0
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys
from agenthpo._lifecycle import WorkClaim, budget
from agenthpo._text import one_line
from agenthpo.executor import Executor, TrialResult
from agenthpo.storage import is_single_process
from agenthpo.task import NoiseSection, Task

__all__ = [
    "TRIAL_SEED",
    "Selection",
    "paired_gain",
    "reevaluation_runs",
    "reevaluations",
]

_logger = logging.getLogger("agenthpo")

_POLL_S = 1.0
TRIAL_SEED = 0
"""The seed a trial runs with when noise-robust selection is on (re-runs use 1..repeats)."""


@dataclass(frozen=True)
class Selection:
    """The noise-robust selection of one run of a task: what its re-runs may cost, which
    configurations they re-run, and the recommendation they support.

    Args:
        task: The task.
        noise: Its selection settings (``task.noise_setup()``).
        n_trials: The study's budget, re-runs included.
        storage_url: Where the study lives (one process or several decides whether a
            re-evaluation is claimed among workers).
        worker: Who this run is when it claims a re-evaluation among workers.
        outcome: Reads a run's result: its objective values, or why it failed.
        time_left: Seconds left of the run's time limit, from the run's start
            (``time.monotonic()``); ``None`` without a limit.

    Example:
        >>> from agenthpo.task import task_from_dict
        >>> task = task_from_dict({"name": "t", "n_trials": 20, "function": "m:f",
        ...     "objective": {"metric": "loss", "direction": "minimize"},
        ...     "space": {"x": {"type": "float", "low": 0, "high": 1}},
        ...     "default_config": {"x": 0.5}, "noise": {"repeats": 2}})
        >>> noise = task.noise_setup()
        >>> sel = Selection(task, noise, 20, "sqlite:///:memory:", "me",
        ...                 outcome=lambda r: (None, "unused"), time_left=lambda s: None)
        >>> sel.rerun_cap()  # noise.max_share (0.4 by default) of the 20 runs
        8
    """

    task: Task
    noise: NoiseSection
    n_trials: int
    storage_url: str
    worker: str
    outcome: Callable[[TrialResult], tuple[list[float] | None, str | None]]
    time_left: Callable[[float], float | None]

    def seeded(self, config: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """``config`` with the seed a run takes; with ``noise.fold_param``, the fold instead
        (0: the search's validation)."""
        return {**config, self.noise.param: seed}

    def rerun_cap(self) -> int:
        """How many re-evaluation runs the budget allows: ``noise.max_share`` of
        ``n_trials``, or 0 when that cannot re-run even the best single run and the default
        configuration (a comparison needs both)."""
        noise = self.noise
        if self.task.is_multi_objective:
            return 0
        cap = int(noise.max_share * self.n_trials)
        least = noise.repeats * (2 if self.task.default_config else 1)
        return cap if cap >= least else 0

    def candidates(self, study: optuna.Study) -> tuple[list[FrozenTrial], FrozenTrial | None]:
        """The configurations the final selection re-evaluates, in the order their runs are
        paid for (the best single run, the default configuration, the next best ...), and
        the default configuration's trial."""
        done = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.values is not None and len(t.values) == 1
        ]
        sign = 1.0 if self.task.objective.direction == "maximize" else -1.0
        ranked = sorted(done, key=lambda t: (-sign * float(t.values[0]), t.number))
        default = next(
            (t for t in done if t.user_attrs.get(_keys.PROPOSED_BY) == "default_config"), None
        )
        order = ranked[:1] + ([default] if default is not None else []) + ranked[: self.noise.top]
        out: list[FrozenTrial] = []
        for t in order:
            if all(t.number != o.number for o in out):
                out.append(t)
        return out, default

    def search_budget(self, study: optuna.Study, active: int = 0) -> int:
        """How many trials the study may hold before it stops proposing new ones: re-evaluation
        runs count against the budget, those already run and those the final selection
        needs for the candidates not yet re-evaluated if one more trial (and the ``active``
        ones) joined them, up to :meth:`rerun_cap`."""
        noise = self.noise
        cap = self.rerun_cap()
        if cap == 0:
            return self.n_trials - reevaluation_runs(study)
        spent = reevaluation_runs(study)
        measured = reevaluations(study)
        candidates, _ = self.candidates(study)
        unmeasured = sum(1 for t in candidates if str(t.number) not in measured)
        slots = noise.top + (1 if self.task.default_config else 0)
        pending = min(unmeasured + active + 1, slots)
        reserve = max(0, min(noise.repeats * pending, cap - spent))
        return self.n_trials - spent - reserve

    def measure_noise(self, study: optuna.Study, executor: Executor) -> dict[str, Any] | None:
        """Re-evaluates the incumbent on further seeds, unless it was already, or the budget
        has no room (see :meth:`search_budget`).

        The runs are not trials (the sampler never sees them), but they count against the
        budget; their values, mean and standard deviation go into the study's
        ``agenthpo_noise`` attribute, which the agent and the report read.
        """
        noise = self.noise
        if self.task.is_multi_objective or noise.held_out:
            # Held-out folds are scored at the end only: seen during the search, they would
            # be evidence the search fits.
            return None
        try:
            best = study.best_trial
        except ValueError:
            return None
        stored = reevaluations(study)
        if str(best.number) in stored:
            return dict(stored[str(best.number)])
        if reevaluation_runs(study) + noise.repeats > self.rerun_cap():
            return None
        # Another worker re-running it now: the search goes on rather than wait.
        return self.measure(study, executor, best, wait=False)

    def measure(
        self,
        study: optuna.Study,
        executor: Executor,
        trial: FrozenTrial,
        *,
        wait: bool = True,
        started: float | None = None,
    ) -> dict[str, Any] | None:
        """Re-runs one completed trial's configuration on seeds 1..repeats (once); with
        ``noise.fold_param``, on held-out folds 1..repeats, whose values alone then make
        the entry (the trial's own value, which the search fitted, is left out).

        Once in the study, whoever runs it: of several workers, the one that claims it
        (:class:`~agenthpo._lifecycle.WorkClaim`) re-runs it, and the others wait for its
        entry (or, without ``wait``, return ``None`` at once; so too when the run's time
        limit, counted from ``started``, is reached while waiting); a claim whose worker
        died goes stale and the work is taken over.
        """
        key = f"reeval:{trial.number}"
        alone = is_single_process(self.storage_url)
        waiting = False
        while True:
            stored = reevaluations(study)
            if str(trial.number) in stored:
                return dict(stored[str(trial.number)])
            claim = WorkClaim.take(study, key, self.worker, alone=alone)
            if claim is None:
                if not wait or (started is not None and self.time_left(started) == 0.0):
                    return None
                if not waiting:
                    _logger.info(
                        "another worker is re-evaluating trial %d; waiting for its runs",
                        trial.number,
                    )
                    waiting = True
                time.sleep(_POLL_S)
                continue
            with claim:
                stored = reevaluations(study)  # finished by a worker whose claim had gone stale
                if str(trial.number) in stored:
                    return dict(stored[str(trial.number)])
                entry = self._rerun(study, executor, trial, claim)
            if entry is not None:
                return entry
            # Taken over while this worker was too busy to keep its claim alive: the worker
            # that took it finishes the work, and this one waits for its entry.

    def _rerun(
        self, study: optuna.Study, executor: Executor, trial: FrozenTrial, claim: WorkClaim
    ) -> dict[str, Any] | None:
        """:meth:`measure`'s runs, under its claim; the entry stored in the study, or
        ``None`` if another worker took the claim over (its runs then stored nowhere)."""
        noise = self.noise
        assert trial.value is not None
        held_out = noise.held_out
        values = [] if held_out else [float(trial.value)]
        seeds: list[int] = [] if held_out else [TRIAL_SEED]
        what = "fold" if held_out else "seed"
        failed: list[str] = []
        config = dict(trial.params)
        for seed in range(1, noise.repeats + 1):
            if claim.lost:
                _logger.warning(
                    "re-evaluation of trial %d: another worker took it over", trial.number
                )
                return None
            result = executor.run(self.seeded(config, seed), trial_number=trial.number)
            outcome, error = self.outcome(result)
            value = outcome[0] if outcome else None
            if error is not None or value is None:
                _logger.warning(
                    "re-evaluation of trial %d with %s %d failed: %s",
                    trial.number,
                    what,
                    seed,
                    error,
                )
                failed.append(f"{what} {seed}: {one_line(error or 'no value', 200)}")
                continue
            values.append(value)
            seeds.append(seed)
        n = len(values)
        mean = sum(values) / n if n else 0.0
        std = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
        entry: dict[str, Any] = {
            "values": values,
            "folds" if held_out else "seeds": seeds,
            "mean": mean if n else None,
            "std": std,
            "n": n,
            "runs": noise.repeats,
        }
        if failed:
            entry["failed"] = failed
        store_reevaluation(study, trial.number, entry)
        _logger.info(
            "re-evaluation: trial %d over %d %ss: %.6g +- %.3g", trial.number, n, what, mean, std
        )
        return entry

    def select(
        self, study: optuna.Study, executor: Executor, *, started: float | None = None
    ) -> dict[str, Any] | None:
        """Recommends a configuration by evidence that survives seed noise.

        The best single run, the default configuration's trial and the rest of the
        ``noise.top`` best trials are re-run on seeds 1..repeats, as far as the budget
        allows (:meth:`search_budget`; a skipped candidate is named in ``skipped``). The
        runs are no trials: the sampler never sees them, and the agent reads them as
        re-evaluations in the study's noise attribute. The candidate with the best mean
        wins, but is presented as an improvement only when its mean beats the default's by
        more than ``noise.band`` standard errors of the difference; otherwise the default
        is recommended. With ``noise.fold_param`` (a deterministic task) the re-runs score
        held-out folds 1..repeats instead of seeds, the means are over those folds alone,
        and the difference to the default is taken fold by fold (:func:`paired_gain`).
        The result is stored in the study's ``agenthpo_selection`` attribute (see
        :attr:`RunSummary.selection` for its keys); why there is none, in
        ``agenthpo_selection_note``.
        """
        noise = self.noise
        if self.task.is_multi_objective:
            return None
        candidates, default = self.candidates(study)
        if not candidates:
            return None
        cap = self.rerun_cap()
        if cap == 0:
            need = noise.repeats * (2 if self.task.default_config else 1)
            note = (
                f"no re-evaluation on further seeds: a budget of {self.n_trials} trials leaves"
                f" room for {int(noise.max_share * self.n_trials)} re-runs (noise.max_share"
                f" {noise.max_share:g}), fewer than the {need} that the best run"
                + (" and the default configuration need" if need > noise.repeats else " needs")
                + "; raise n_trials or noise.max_share. The best single run may be a seed fluke"
            )
            study.set_user_attr(_keys.STUDY_SELECTION_NOTE, note)
            _logger.warning(note)
            return None
        stats: dict[int, dict[str, Any]] = {}
        skipped: dict[str, str] = {}
        for t in candidates:
            measured = reevaluations(study)
            if str(t.number) in measured:
                stats[t.number] = dict(measured[str(t.number)])
                continue
            if started is not None and self.time_left(started) == 0.0:
                skipped[str(t.number)] = "the time limit was reached"
                continue
            spent = reevaluation_runs(study)
            if spent + noise.repeats > cap or (
                budget(study).counted + spent + noise.repeats > self.n_trials
            ):
                skipped[str(t.number)] = (
                    f"no room left: re-runs may take {noise.max_share:g} of the budget"
                )
                continue
            entry = self.measure(study, executor, t, started=started)
            if entry is None:
                skipped[str(t.number)] = "the time limit was reached"
                continue
            stats[t.number] = entry
        usable = [t for t in candidates if t.number in stats and int(stats[t.number]["n"]) > 1]
        for t in candidates:
            if t.number in stats and int(stats[t.number]["n"]) <= 1:
                skipped[str(t.number)] = (
                    "fewer than 2 held-out folds gave a value"
                    if noise.held_out
                    else "every re-run failed"
                )
        if default is not None and all(t.number != default.number for t in usable):
            default = None  # not re-evaluated: no comparison
        if not usable:
            note = "no configuration could be re-evaluated: " + (
                "; ".join(f"trial {k}: {v}" for k, v in skipped.items()) or "nothing to re-run"
            )
            study.set_user_attr(_keys.STUDY_SELECTION_NOTE, note)
            _logger.warning(note)
            return None
        selection = self._verdict(usable, default, stats, candidates[0].number)
        selection["skipped"] = skipped
        failures = sum(len(stats[t.number].get("failed") or ()) for t in usable)
        notes = [f"trial {k} not re-evaluated ({v})" for k, v in skipped.items()]
        if failures:
            notes.append(f"{failures} re-run{'s' if failures > 1 else ''} failed")
        if self.task.default_config and default is None:
            notes.append("the default configuration could not be re-evaluated")
        selection["note"] = "; ".join(notes) or None
        study.set_user_attr(_keys.STUDY_SELECTION, selection)
        _logger.info("selection: %s", selection["reason"])
        return selection

    def _verdict(
        self,
        usable: list[FrozenTrial],
        default: FrozenTrial | None,
        stats: Mapping[int, Mapping[str, Any]],
        best_single: int,
    ) -> dict[str, Any]:
        """The recommendation among the re-evaluated candidates, and why."""
        noise = self.noise
        sign = 1.0 if self.task.objective.direction == "maximize" else -1.0
        by_mean = sorted(usable, key=lambda t: (-sign * float(stats[t.number]["mean"]), t.number))
        winner = by_mean[0]

        def sem(n: int) -> float:
            return float(stats[n]["std"]) / math.sqrt(max(1, int(stats[n]["n"])))

        def said(t: FrozenTrial) -> str:
            e = stats[t.number]
            return f"{e['mean']:.4g} ± {e['std']:.2g} (n={e['n']})"

        held_out = noise.held_out
        over = "held-out folds" if held_out else "seeds"
        improvement: bool | None = None
        recommended = winner
        margin: float | None = None
        if default is None:
            reason = (
                f"trial {winner.number} has the best mean over {over}, {said(winner)}; no"
                " default configuration to compare with"
            )
        elif winner.number == default.number:
            improvement = False
            others = "; ".join(f"trial {t.number}: {said(t)}" for t in by_mean[1:4])
            reason = (
                f"the default configuration (trial {default.number}) has the best mean over"
                f" {over}, {said(default)}"
                + (f", against {others}" if others else "")
                + ": no candidate beat it, so the default configuration is recommended"
            )
        elif held_out:
            # Paired: each held-out fold scores both, so the band is that of the differences.
            paired = paired_gain(
                by_fold(stats[winner.number]),
                by_fold(stats[default.number]),
                direction=self.task.objective.direction,
                band=noise.band,
            )
            if paired is None:
                improvement, recommended = False, default
                reason = (
                    f"trial {winner.number}, {said(winner)}, and the default (trial"
                    f" {default.number}), {said(default)}, share fewer than two held-out folds"
                    " (failed re-runs): no comparison, so the default configuration is"
                    " recommended"
                )
            else:
                gain, margin, improvement = paired
        else:
            gain = sign * (
                float(stats[winner.number]["mean"]) - float(stats[default.number]["mean"])
            )
            margin = noise.band * math.hypot(sem(winner.number), sem(default.number))
            improvement = gain > margin
        if default is not None and winner.number != default.number and margin is not None:
            compared = ("on the held-out folds, " if held_out else "") + (
                f"trial {winner.number}, {said(winner)}, against the default (trial"
                f" {default.number}), {said(default)}: a gain of {gain:.3g}"
            )
            if improvement:
                reason = f"{compared}, beyond the noise band of {margin:.3g}"
            else:
                recommended = default
                reason = (
                    f"{compared}, within the noise band of {margin:.3g}: not an improvement,"
                    " so the default configuration is recommended"
                )
        if improvement is False and best_single != recommended.number:
            reason += (
                f"; trial {best_single}'s win on the validation the search fitted was not confirmed"
                " on the held-out folds"
                if held_out
                else f"; trial {best_single}'s single-run win was a seed fluke"
            )
        return {
            "recommended_trial": recommended.number,
            "config": dict(recommended.params),
            "improvement": improvement,
            "reason": reason,
            "best_single_run": best_single,
            "default_trial": default.number if default is not None else None,
            "band": margin,
            **(
                {"folds": list(range(1, noise.repeats + 1))}
                if held_out
                else {"seeds": [TRIAL_SEED, *range(1, noise.repeats + 1)]}
            ),
            "candidates": {
                str(t.number): {k: stats[t.number][k] for k in ("mean", "std", "n")} for t in usable
            },
        }


def paired_gain(
    candidate: Mapping[int, float],
    default: Mapping[int, float],
    *,
    direction: str,
    band: float,
) -> tuple[float, float, bool] | None:
    """How much a candidate beats the default on the folds both were scored on, paired.

    The gain is the mean of the fold-by-fold differences (positive: the candidate is
    better), the margin ``band`` standard errors of those differences; the candidate is an
    improvement only when the gain exceeds the margin. Used by the held-out selection
    (``noise: {fold_param: ...}``), where each fold scores both configurations, so their
    difference varies far less than either value.

    Args:
        candidate: The candidate's value per fold.
        default: The default configuration's value per fold.
        direction: ``"minimize"`` or ``"maximize"``.
        band: The band's width in standard errors.

    Returns:
        ``(gain, margin, improvement)``, or ``None`` with fewer than two shared folds (no
        standard error).

    Example:
        >>> paired_gain({1: 10.0, 2: 12.0, 3: 11.0}, {1: 11.0, 2: 12.5, 3: 12.0},
        ...             direction="minimize", band=2.0)
        (0.8333333333333334, 0.3333333333333333, True)
    """
    folds = sorted(set(candidate) & set(default))
    if len(folds) < 2:
        return None
    sign = 1.0 if direction == "maximize" else -1.0
    diffs = [sign * (float(candidate[k]) - float(default[k])) for k in folds]
    n = len(diffs)
    gain = sum(diffs) / n
    sd = math.sqrt(sum((d - gain) ** 2 for d in diffs) / (n - 1))
    margin = band * sd / math.sqrt(n)
    return gain, margin, gain > margin


def by_fold(entry: Mapping[str, Any]) -> dict[int, float]:
    """A held-out re-evaluation's values by fold (an entry of the study's noise attribute)."""
    folds = entry.get("folds") or []
    return {int(k): float(v) for k, v in zip(folds, entry.get("values") or [], strict=False)}


def reevaluations(study: optuna.Study) -> dict[str, Any]:
    """The study's re-evaluations: ``{trial number: {"values", "seeds", "mean", ...}}``."""
    stored = study.user_attrs.get(_keys.STUDY_NOISE)
    return dict(stored) if isinstance(stored, dict) else {}


def store_reevaluation(study: optuna.Study, number: int, entry: dict[str, Any]) -> None:
    """Adds one re-evaluation to the study's, read back after writing: the entries share
    one attribute, so two workers storing theirs at once may each write over the other's;
    each one that finds its own missing merges it in again."""
    for _ in range(10):
        stored = reevaluations(study)  # as stored now (another worker may have added some)
        if str(number) in stored:  # one worker re-evaluates a trial: its key is its own
            return
        stored[str(number)] = entry
        study.set_user_attr(_keys.STUDY_NOISE, stored)
    _logger.warning("re-evaluation of trial %d: could not store it beside other workers'", number)


def reevaluation_runs(study: optuna.Study) -> int:
    """How many runs the study spent re-evaluating configurations on further seeds (each
    counts against the budget like a trial).

    Example:
        >>> reevaluation_runs(optuna.create_study())
        0
    """
    total = 0
    for entry in reevaluations(study).values():
        if isinstance(entry, dict):
            runs = entry.get("runs", int(entry.get("n", 1)) - 1)
            total += int(runs) if isinstance(runs, (int, float)) else 0
    return total
