"""The Executor's analysis of a run's curve and outcome."""

from __future__ import annotations

import math

from agenthpo.agent.analyst import analyze
from agenthpo.executor import TrialResult


def _result(curve: list[dict[str, float]], **kw: object) -> TrialResult:
    fields: dict[str, object] = {"status": "ok", "metrics": {}, "curve": curve}
    fields.update(kw)
    return TrialResult(**fields)  # type: ignore[arg-type]


def test_divergence_names_the_step() -> None:
    curve = [{"step": s, "train_loss": 1.0 / (s + 1), "val_acc": 0.5} for s in range(5)]
    curve.append({"step": 5, "train_loss": math.nan, "val_acc": 0.1})
    text = analyze(_result(curve), metric="val_acc", direction="maximize")
    assert text == "diverged: train_loss became nan at step 5"


def test_nan_objective_is_divergence() -> None:
    curve = [{"step": 0, "loss": 1.0}, {"step": 1, "loss": math.inf}]
    text = analyze(_result(curve), metric="loss", direction="minimize")
    assert text.startswith("diverged: loss became inf at step 1")


def test_overfitting_is_seen_from_train_and_validation() -> None:
    curve = []
    for s in range(20):
        val = 0.7 + 0.02 * s if s <= 10 else 0.9 - 0.01 * (s - 10)
        curve.append({"step": s, "train_loss": 1.0 / (s + 1), "val_acc": val})
    text = analyze(_result(curve), metric="val_acc", direction="maximize")
    assert text.startswith("overfitting: val_acc peaked at step 10 (0.9) and ended at 0.81")
    assert "train_loss kept improving" in text


def test_still_improving_at_the_end() -> None:
    curve = [{"step": s, "loss": 2.0 - 0.1 * s} for s in range(10)]
    text = analyze(_result(curve), metric="loss", direction="minimize")
    assert text.startswith("still improving at the last step (9): loss fell")
    assert "longer budget" in text


def test_early_plateau() -> None:
    curve = [{"step": s, "acc": min(0.9, 0.5 + 0.2 * s)} for s in range(12)]
    curve[2]["acc"] = 0.95
    text = analyze(_result(curve), metric="acc", direction="maximize")
    assert text.startswith("plateaued early: best acc 0.95 at step 2 of 11")


def test_crash_and_timeout() -> None:
    crash = _result([], status="failed", error="CUDA out of memory", exit_code=1)
    assert analyze(
        crash, metric="acc", direction="maximize", error="RuntimeError: CUDA out of memory"
    ) == ("crashed: RuntimeError: CUDA out of memory")
    slow = _result([], status="timeout", error="timed out after 30 s")
    assert analyze(slow, metric="acc", direction="maximize") == "timed out: timed out after 30 s"


def test_a_run_with_nothing_wrong_still_gets_a_reading() -> None:
    short = _result([{"step": 0, "acc": 0.5}], metrics={"acc": 0.5})
    assert analyze(short, metric="acc", direction="maximize") == (
        "finished: acc 0.5 after 1 reported step(s), too few to read a trend"
    )
    told = _result([], metrics={"acc": 0.75})  # e.g. `agenthpo tell`: no curve at all
    assert analyze(told, metric="acc", direction="maximize") == (
        "finished: acc 0.75; no learning curve of acc reported"
    )
    flat = [{"step": s, "acc": 0.5} for s in range(10)]
    assert analyze(_result(flat), metric="acc", direction="maximize") == (
        "flat: acc stayed at 0.5 over 10 reported steps"
    )
    accs = [0.5, 0.6, 0.7, 0.8, 0.85, 0.88, 0.9, 0.89, 0.89, 0.88]
    rise = [{"step": s, "acc": a} for s, a in enumerate(accs)]
    assert analyze(_result(rise), metric="acc", direction="maximize") == (
        "no problem seen in the curve: best acc 0.9 at step 6 of 9, 0.88 at the end"
    )
