"""The Executor's analysis: a short, factual reading of one trial's curve and outcome.

Computed from the reported metrics: diverged (NaN/inf), overfitting (training keeps
improving while validation worsens), still improving at the last step (budget too short),
undertrained / stopped early (the loss still high when the run ended: a curve that stopped
moving early because the model barely learned is not a plateau), noisy (the curve swings up
and down so its best point is within the noise), plateaued early, timed out, crashed and
why. A run with none of these still gets its
reading (where the curve peaked, or that it was flat, or that there was no curve to read),
so every finished trial, whoever proposed it, carries an analysis.

Example:
    >>> from agenthpo.executor import TrialResult
    >>> curve = [{"step": s, "val_acc": 0.5 + 0.04 * s} for s in range(10)]
    >>> r = TrialResult(status="ok", metrics={"val_acc": 0.86}, curve=curve, error=None,
    ...                 exit_code=0, stdout_tail="", stderr_tail="", duration_s=1.0)
    >>> analyze(r, metric="val_acc", direction="maximize").split(":")[0]
    'still improving at the last step (9)'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from agenthpo.executor import TrialResult

__all__ = ["analyze"]


def _series(curve: Sequence[dict[str, float]], key: str) -> list[tuple[float, float]]:
    out = []
    for i, point in enumerate(curve):
        if key in point:
            out.append((float(point.get("step", i)), float(point[key])))
    return out


def _fmt(x: float) -> str:
    return format(x, ".3g")


def _train_key(curve: Sequence[dict[str, float]], metric: str) -> tuple[str, bool] | None:
    """A training-set series to compare with: (key, higher_is_better)."""
    keys = {k for point in curve for k in point}
    for key in ("train_loss", "loss", "training_loss"):
        if key in keys and key != metric:
            return key, False
    for key in sorted(keys):
        if key.startswith("train") and key != metric:
            lower = "loss" in key or "error" in key
            return key, not lower
    return None


UNDERTRAINED_RATIO = 0.5
"""A run is undertrained when its last loss keeps more than this share of its first: a
model that removed less than half of its starting loss has barely learned, whatever the
validation curve did."""

NOISE_RATIO = 0.2
"""A curve is noisy when its median step-to-step move is at least this share of its range:
a trend crosses its range in many small moves (a share near 1/steps), noise in a few
large ones (about 0.3 for uniform noise). The median ignores one-off jumps."""


def _loss_series(
    curve: Sequence[dict[str, float]], metric: str, direction: str
) -> tuple[str, list[tuple[float, float]]] | None:
    """The loss that says how far training got: the training loss, else the objective when
    it is a minimized loss."""
    train = _train_key(curve, metric)
    if train is not None and not train[1]:
        return train[0], _series(curve, train[0])
    if direction == "minimize" and "loss" in metric:
        return metric, _series(curve, metric)
    return None


def _undertrained(curve: Sequence[dict[str, float]], metric: str, direction: str) -> str | None:
    """The note for a run whose loss was still high when it stopped, or ``None``."""
    found = _loss_series(curve, metric, direction)
    if found is None:
        return None
    key, series = found
    if len(series) < 6:  # too short a log to tell a slow start from an undertrained run
        return None
    (_, first), (last_step, last) = series[0], series[-1]
    if not (first > 0 and last > 0) or last <= UNDERTRAINED_RATIO * first:
        return None
    return (
        f"undertrained / stopped early: {key} was still {_fmt(last)} at the last step"
        f" ({last_step:g}), {last / first:.0%} of its first value {_fmt(first)}; the model"
        " barely learned before the run ended, so a higher learning rate, less"
        " regularization or more steps may help"
    )


def _at_step(steps: Sequence[float], i: int) -> str:
    """Where the ``i``-th reported step lies, e.g. ``at step 3 (last step 9)``; steps are
    the script's own numbers (from 0 or 1, or in strides), so none reads as a count.

    Example:
        >>> _at_step([0, 1, 2], 2), _at_step([0, 1, 2], 1)
        ('at the last step (2)', 'at step 1 (last step 2)')
    """
    if i == len(steps) - 1:
        return f"at the last step ({steps[i]:g})"
    return f"at step {steps[i]:g} (last step {steps[-1]:g})"


def _noisy(values: Sequence[float], metric: str, best: float, best_step: float) -> str | None:
    """The note for a curve that swings up and down more than it trends, or ``None``."""
    if len(values) < 8:
        return None
    span = max(values) - min(values)
    moves = [abs(b - a) for a, b in itertools.pairwise(values)]
    typical = sorted(moves)[len(moves) // 2]
    if span <= 0 or typical < NOISE_RATIO * span:
        return None
    return (
        f"noisy: {metric} moved about {_fmt(typical)} from step to step between"
        f" {_fmt(min(values))} and {_fmt(max(values))}; its best {_fmt(best)} at step"
        f" {best_step:g} is within the noise, so re-evaluate before trusting it"
    )


def analyze(
    result: TrialResult,
    *,
    metric: str,
    direction: str,
    error: str | None = None,
) -> str:
    """One or two sentences on what happened in a trial; never empty."""
    if result.status == "timeout":
        return f"timed out: {_timeout_reading(result, metric)}"
    if error is not None and error.startswith("TimeoutError"):
        # a run stopped by a limit of its own (a job's time or compute limit) timed out too
        return f"timed out: {error}"
    if error is not None and result.status != "ok":
        return f"crashed: {error}"
    series = _series(result.curve, metric)
    notes: list[str] = []
    bad = next(((s, v) for s, v in series if not math.isfinite(v)), None)
    if bad is not None:
        return f"diverged: {metric} became {bad[1]} at step {bad[0]:g}"
    for key in ("train_loss", "loss"):
        for s, v in _series(result.curve, key):
            if not math.isfinite(v):
                return f"diverged: {key} became {v} at step {s:g}"
    if error is not None:
        return f"failed: {error}"
    if len(series) < 3:
        return _too_short(result, series, metric)
    sign = 1.0 if direction == "maximize" else -1.0
    values = [v for _, v in series]
    steps = [s for s, _ in series]
    best_i = max(range(len(values)), key=lambda i: sign * values[i])
    span = max(values) - min(values)
    last = values[-1]
    tail_start = int(len(values) * 0.7)
    tail_gain = sign * (values[-1] - values[tail_start])
    if span > 0 and tail_gain > 0.05 * span and best_i >= len(values) - 2:
        verb = "rose" if direction == "maximize" else "fell"
        notes.append(
            f"still improving at the last step ({steps[-1]:g}): {metric} {verb}"
            f" {_fmt(abs(values[-1] - values[tail_start]))} over the last 30% of steps;"
            " a longer budget may help"
        )
    drop = sign * (values[best_i] - last)
    train = _train_key(result.curve, metric)
    if span > 0 and drop > 0.1 * span and best_i < len(values) - 1 and train is not None:
        tkey, higher = train
        tseries = [v for s, v in _series(result.curve, tkey) if s >= steps[best_i]]
        if len(tseries) >= 2:
            tgain = (tseries[-1] - tseries[0]) * (1 if higher else -1)
            if tgain > 0:
                notes.append(
                    f"overfitting: {metric} peaked at step {steps[best_i]:g}"
                    f" ({_fmt(values[best_i])}) and ended at {_fmt(last)} while {tkey} kept"
                    " improving; more regularization or fewer steps may help"
                )
    if not notes:
        under = _undertrained(result.curve, metric, direction)
        if under is not None:
            notes.append(under)
    if not notes:
        noisy = _noisy(values, metric, values[best_i], steps[best_i])
        if noisy is not None:
            notes.append(noisy)
    if not notes and span > 0 and best_i < len(values) * 0.5 and len(values) >= 6:
        notes.append(
            f"plateaued early: best {metric} {_fmt(values[best_i])}"
            f" {_at_step(steps, best_i)}, no gain after"
        )
    if not notes and span == 0:
        notes.append(f"flat: {metric} stayed at {_fmt(last)} over {len(values)} reported steps")
    elif not notes:
        text = (
            f"no problem seen in the curve: best {metric} {_fmt(values[best_i])}"
            f" {_at_step(steps, best_i)}"
        )
        if best_i != len(values) - 1:
            text += f", {_fmt(last)} at the end"
        notes.append(text)
    return "; ".join(notes)


def _timeout_reading(result: TrialResult, metric: str) -> str:
    """What a timed-out run got to. The executor's error (``timed out after 30 s``) is shown
    beside the analysis, so it is repeated only when it says something else."""
    error = result.error or ""
    said = "" if not error or error.startswith("timed out") else f"{error}; "
    series = _series(result.curve, metric)
    if not series:
        return f"{said}stopped at the per-trial time limit before reporting {metric}"
    step, value = series[-1]
    return (
        f"{said}stopped at the per-trial time limit after step {step:g}"
        f" ({metric} {_fmt(value)} there)"
    )


def _too_short(result: TrialResult, series: Sequence[tuple[float, float]], metric: str) -> str:
    """The reading of a run whose curve has fewer than three points: its final value."""
    value = result.metrics.get(metric)
    if value is None and series:
        value = series[-1][1]
    final = f"{metric} {_fmt(value)}" if value is not None else f"no final {metric}"
    if not series:
        return f"finished: {final}; no learning curve of {metric} reported"
    return f"finished: {final} after {len(series)} reported step(s), too few to read a trend"
