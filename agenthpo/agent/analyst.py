"""The Executor's analysis: a short, factual reading of one trial's curve and outcome.

Computed from the reported metrics: diverged (NaN/inf), overfitting (training keeps
improving while validation worsens), still improving at the last step (budget too short),
plateaued early, timed out, crashed and why. A run with none of these still gets its
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


def analyze(
    result: TrialResult,
    *,
    metric: str,
    direction: str,
    error: str | None = None,
) -> str:
    """One or two sentences on what happened in a trial; never empty."""
    if result.status == "timeout":
        return f"timed out: {result.error or 'the per-trial time limit was reached'}"
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
    if not notes and span > 0 and best_i < len(values) * 0.5 and len(values) >= 6:
        notes.append(
            f"plateaued early: best {metric} {_fmt(values[best_i])} at step"
            f" {steps[best_i]:g} of {steps[-1]:g}, no gain after"
        )
    if not notes and span == 0:
        notes.append(f"flat: {metric} stayed at {_fmt(last)} over {len(values)} reported steps")
    elif not notes:
        text = (
            f"no problem seen in the curve: best {metric} {_fmt(values[best_i])} at step"
            f" {steps[best_i]:g} of {steps[-1]:g}"
        )
        if best_i != len(values) - 1:
            text += f", {_fmt(last)} at the end"
        notes.append(text)
    return "; ".join(notes)


def _too_short(result: TrialResult, series: Sequence[tuple[float, float]], metric: str) -> str:
    """The reading of a run whose curve has fewer than three points: its final value."""
    value = result.metrics.get(metric)
    if value is None and series:
        value = series[-1][1]
    final = f"{metric} {_fmt(value)}" if value is not None else f"no final {metric}"
    if not series:
        return f"finished: {final}; no learning curve of {metric} reported"
    return f"finished: {final} after {len(series)} reported step(s), too few to read a trend"
