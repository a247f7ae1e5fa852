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
    assert text.startswith("plateaued early: best acc 0.95 at step 2 (last step 11)")


def test_crash_and_timeout() -> None:
    crash = _result([], status="failed", error="CUDA out of memory", exit_code=1)
    assert analyze(
        crash, metric="acc", direction="maximize", error="RuntimeError: CUDA out of memory"
    ) == ("crashed: RuntimeError: CUDA out of memory")
    slow = _result([], status="timeout", error="timed out after 30 s")
    # The error is shown beside the analysis: the analysis does not repeat it.
    reading = analyze(slow, metric="acc", direction="maximize", error="timed out after 30 s")
    assert reading == "timed out: stopped at the per-trial time limit before reporting acc"
    assert "30 s" not in reading
    curve = [{"step": 0, "acc": 0.5}, {"step": 4, "acc": 0.71234}]
    got_far = _result(curve, status="timeout", error="timed out after 1.5 s")
    assert analyze(got_far, metric="acc", direction="maximize") == (
        "timed out: stopped at the per-trial time limit after step 4 (acc 0.712 there)"
    )


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
        "no problem seen in the curve: best acc 0.9 at step 6 (last step 9), 0.88 at the end"
    )


def test_the_best_step_reads_as_a_step_number_not_a_count() -> None:
    # Six reports, steps 0 to 5: "step 5 of 5" read as five steps.
    losses = [2.0, 1.2, 0.6, 0.35, 0.31, 0.3]
    curve = [{"step": s, "loss": v} for s, v in enumerate(losses)]
    text = analyze(_result(curve), metric="loss", direction="minimize")
    assert text == "no problem seen in the curve: best loss 0.3 at the last step (5)"
    assert " of " not in text


# Curves of each kind, as the analysis should name them (issue 18, item 4).


def _gcn_like(
    *, train_end: float, steps: int = 51, val_best_step: int = 20
) -> list[dict[str, float]]:
    """A full-batch classifier's log: train_loss falls from ln 7 to `train_end`; val_loss
    falls until `val_best_step`, then stays there (early stopping ends the run 30 later)."""
    curve = []
    for s in range(steps):
        train = 1.95 - (1.95 - train_end) * s / (steps - 1)
        frac = min(s, val_best_step) / val_best_step
        val = 1.94 - (1.94 - (train_end + 0.05)) * frac + (0.002 if s > val_best_step else 0)
        curve.append({"step": s, "train_loss": train, "val_loss": val})
    return curve


def test_a_run_stopped_with_a_high_loss_is_undertrained_not_plateaued() -> None:
    # The GCN run of issue 18: train loss 1.59 when early stopping ended it (about 0.5 at
    # the defaults); "plateaued early" hid that it had barely trained.
    curve = _gcn_like(train_end=1.59)
    text = analyze(_result(curve), metric="val_loss", direction="minimize")
    assert text.startswith("undertrained / stopped early: train_loss was still 1.59")
    assert "plateaued" not in text
    assert "learning rate" in text


def test_a_high_objective_loss_alone_reads_as_undertrained() -> None:
    # No training series: the objective itself is a loss that stayed near its start.
    values = [2.0, 1.9, 1.85, 1.82, 1.8] + [1.81] * 10
    curve = [{"step": s, "loss": v} for s, v in enumerate(values)]
    text = analyze(_result(curve), metric="loss", direction="minimize")
    assert text.startswith("undertrained / stopped early: loss was still 1.81")


def test_a_trained_run_that_stopped_improving_early_has_plateaued() -> None:
    curve = _gcn_like(train_end=0.3, val_best_step=10)
    text = analyze(_result(curve), metric="val_loss", direction="minimize")
    assert text.startswith("plateaued early: best val_loss 0.35 at step 10 (last step 50)")
    assert "undertrained" not in text


def test_a_noisy_curve_says_its_best_is_within_the_noise() -> None:
    import random

    rng = random.Random(3)
    curve = [{"step": s, "val_acc": 0.7 + rng.uniform(-0.05, 0.05)} for s in range(30)]
    text = analyze(_result(curve), metric="val_acc", direction="maximize")
    assert text.startswith("noisy: val_acc moved")
    assert "within the noise" in text
    assert "plateaued" not in text


def test_each_kind_of_curve_gets_its_own_name() -> None:
    rise = [{"step": s, "train_loss": 1.0 / (s + 1), "acc": 0.5 + 0.04 * s} for s in range(10)]
    over = []
    for s in range(20):
        acc = 0.7 + 0.02 * s if s <= 10 else 0.9 - 0.01 * (s - 10)
        over.append({"step": s, "train_loss": 1.0 / (s + 1), "acc": acc})
    flat = [{"step": s, "acc": 0.5} for s in range(10)]
    nan = [{"step": 0, "acc": 0.5}, {"step": 1, "acc": math.nan}]
    kinds = {
        "diverged": nan,
        "overfitting": over,
        "still improving": rise,
        "flat": flat,
    }
    for kind, curve in kinds.items():
        assert analyze(_result(curve), metric="acc", direction="maximize").startswith(kind)
