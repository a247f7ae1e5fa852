"""Reading the runs: causes, failure regions, and proposals sent back from them."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial

from agenthpo import _keys
from agenthpo.agent.creator import Creator, ProposalFailed
from agenthpo.agent.failures import Bound, FailureRegion, causes_of, failure_regions, region_of
from agenthpo.agent.history import TrialView, render_history
from agenthpo.agent.prompts import TaskContext
from agenthpo.agent.recorder import Recorder
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.space import Space
from agenthpo.task import task_from_dict
from agenthpo.tuner import Tuner
from tests.conftest import answer

SPACE = Space.from_dict(
    {
        "lr": {"type": "float", "low": 1e-4, "high": 10.0, "log": True},
        "width": {"type": "int", "low": 8, "high": 4096, "log": True},
        "norm": {"type": "categorical", "choices": ["none", "batch", "layer"]},
    }
)
CTX = TaskContext(name="mlp", metric="acc", direction="maximize")
RECORDER = Recorder(
    backbone_name="TPE", model=lambda: "m", cost=lambda _p, _c: None, record_calls=False
)


def ok(n: int, lr: float, width: int, norm: str = "layer", value: float = 0.9) -> TrialView:
    return TrialView(n, {"lr": lr, "width": width, "norm": norm}, "complete", value=value)


def bad(n: int, lr: float, width: int, norm: str, analysis: str) -> TrialView:
    return TrialView(n, {"lr": lr, "width": width, "norm": norm}, "failed", analysis=analysis)


def test_causes_are_read_from_every_note_of_the_analysis() -> None:
    text = "still improving at the last step (9): acc rose 0.1; overfitting: acc peaked at 4"
    assert causes_of(TrialView(0, {}, "complete", value=0.5, analysis=text)) == (
        "still improving",
        "overfitting",
    )
    assert causes_of(TrialView(1, {}, "failed", analysis="timed out: 60 s")) == ("timed out",)
    # a run the agent's pruner stopped because it diverged is a failure, though PRUNED
    pruned = TrialView(2, {}, "pruned", value=0.1, analysis="diverged: acc became nan at step 3")
    assert causes_of(pruned) == ("diverged",)
    # a failure the Executor did not read is a crash; a plain completed run has no cause
    assert causes_of(TrialView(3, {}, "failed", error="MemoryError")) == ("crashed",)
    assert causes_of(TrialView(4, {}, "complete", value=0.5, analysis="no problem seen")) == ()


def test_a_region_is_every_bound_that_separates_the_failures_from_the_runs_that_worked() -> None:
    views = [
        ok(0, 0.01, 64),
        ok(1, 0.3, 512),
        bad(2, 2.0, 256, "layer", "diverged: loss became nan at step 3"),
        bad(3, 5.0, 128, "layer", "diverged: loss became inf at step 1"),
        ok(4, 0.05, 2048),
    ]
    (region,) = failure_regions(views, SPACE)
    assert region.cause == "diverged"
    assert region.trials == (2, 3)
    assert region.bounds == (Bound("lr", "at least", 2.0, 0.3),)
    assert region.contains({"lr": 3.0, "width": 16, "norm": "none"})
    assert not region.contains({"lr": 1.0, "width": 16, "norm": "none"})  # between: unknown


def test_several_bounds_must_all_hold_and_a_categorical_choice_can_be_one() -> None:
    views = [
        ok(0, 0.01, 64, "none"),
        ok(1, 0.3, 512, "layer"),
        bad(2, 0.001, 8, "batch", "crashed: ValueError: Expected more than 1 value per channel"),
    ]
    (region,) = failure_regions(views, SPACE)
    assert region.cause == "crashed"
    assert {b.name: b.side for b in region.bounds} == {
        "lr": "at most",
        "width": "at most",
        "norm": "equal",
    }
    assert region.contains({"lr": 0.001, "width": 8, "norm": "batch"})
    assert not region.contains({"lr": 0.001, "width": 8, "norm": "layer"})
    assert not region.contains({"lr": 0.001, "width": 64, "norm": "batch"})


def test_failures_mixed_among_working_runs_give_no_region() -> None:
    views = [
        ok(0, 0.01, 64, "none"),
        bad(1, 0.1, 128, "none", "timed out: 60 s"),
        ok(2, 1.0, 256, "none"),
        ok(3, 0.05, 1024, "none"),
        ok(4, 0.02, 16, "none"),
    ]
    # lr and width of the timeout lie among working runs' values; its norm is theirs too
    assert failure_regions(views, SPACE) == []
    # nothing to compare with: no region either
    assert failure_regions(views[1:2], SPACE) == []


def test_each_failure_cause_gets_its_own_region() -> None:
    views = [
        ok(0, 0.01, 64),
        ok(1, 0.1, 256),
        bad(2, 5.0, 128, "layer", "diverged: loss became nan at step 2"),
        bad(3, 0.05, 4096, "layer", "timed out: the per-trial time limit was reached"),
    ]
    regions = failure_regions(views, SPACE)
    assert [r.cause for r in regions] == ["diverged", "timed out"]
    assert region_of({"lr": 0.02, "width": 4096, "norm": "layer"}, regions) is regions[1]
    assert region_of({"lr": 0.02, "width": 300, "norm": "layer"}, regions) is None


def test_the_history_states_where_runs_failed() -> None:
    views = [
        ok(0, 0.01, 64),
        ok(1, 0.3, 512),
        bad(2, 2.0, 256, "layer", "diverged: loss became nan at step 3"),
    ]
    text = render_history(views, metric="acc", direction="maximize", space=SPACE)
    assert "Where runs failed" in text
    assert "#2 diverged: lr at least 2 (the largest that worked: 0.3)" in text
    # without the space there are no bounds to state
    assert "Where runs failed" not in render_history(views, metric="acc", direction="maximize")


def test_a_bounded_history_names_the_readings_of_runs_it_does_not_list() -> None:
    views = [ok(i, 0.001 * (i + 1), 64, value=0.5 + 0.01 * i) for i in range(14)]
    views[3] = TrialView(
        3, views[3].config, "complete", value=0.2, analysis="overfitting: acc peaked at step 4"
    )
    text = render_history(views, metric="acc", direction="maximize", space=SPACE)
    assert "What the completed runs' curves showed: overfitting in #3." in text


def test_a_proposal_where_runs_failed_is_sent_back_with_the_evidence() -> None:
    regions = [FailureRegion("diverged", (2, 3), (Bound("lr", "at least", 2.0, 0.3),))]
    llm = ScriptedLLM(
        [
            answer({"lr": 4.0, "width": 64, "norm": "layer"}, "push the rate"),
            answer({"lr": 0.5, "width": 64, "norm": "layer"}, "just above the best rate"),
        ]
    )
    creator = Creator(llm=llm, space=SPACE, context=CTX, failure_regions=regions)
    proposal = creator.propose("History: ...")
    assert proposal.config["lr"] == 0.5
    assert proposal.failure_region is regions[0]
    repair = llm.calls[1].messages[-1].content
    assert "trials #2, #3 diverged: lr at least 2 (the largest that worked: 0.3)" in repair
    attrs = RECORDER.proposal(proposal)
    assert attrs[_keys.LLM_FAILURE_REGION] == {
        "cause": "diverged",
        "trials": [2, 3],
        "repaired": True,
    }


def test_a_proposal_that_stays_where_runs_failed_is_not_used() -> None:
    regions = [FailureRegion("timed out", (5,), (Bound("width", "at least", 2048, 512),))]
    stay = answer({"lr": 0.01, "width": 4096, "norm": "layer"}, "a wider net")
    creator = Creator(
        llm=ScriptedLLM([stay, stay]), space=SPACE, context=CTX, failure_regions=regions
    )
    with pytest.raises(ProposalFailed) as caught:
        creator.propose("History: ...")
    assert caught.value.kind == "failure_region"
    attrs = RECORDER.fallback(caught.value)
    assert attrs[_keys.LLM_FAILURE_REGION]["repaired"] is False
    assert attrs[_keys.FALLBACK_REASON].startswith("failure_region: ")


TRAIN = """
import sys
from agenthpo import report
lr = float(sys.argv[sys.argv.index("--lr") + 1])
if lr > 1.0:
    raise SystemExit("loss became nan at step 2")
report(acc=1.0 - abs(lr - 0.1))
"""


def _fragile_run(tmp_path: Path, policy: dict[str, object]) -> tuple[list[FrozenTrial], list[str]]:
    (tmp_path / "train.py").write_text(TRAIN)
    task = task_from_dict(
        {
            "name": "fragile",
            "objective": {"metric": "acc", "direction": "maximize"},
            "space": {"lr": {"type": "float", "low": 0.001, "high": 10.0, "log": True}},
            "n_trials": 4,
            "command": ["python", "train.py"],
            "strategy": "agent",
            "policy": policy,
        },
        base_dir=tmp_path,
    )
    answers = iter([0.01, 3.0, 0.3, 5.0, 0.05])
    prompts: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        prompts.append(messages[-1].content)
        return answer({"lr": next(answers)}, "probe")

    storage = f"sqlite:///{tmp_path / 'f.db'}"
    Tuner(task, llm=ScriptedLLM([respond]), storage=storage, prefetch=False).run()
    return optuna.load_study(study_name="fragile", storage=storage).trials, prompts


def test_the_tuner_keeps_the_llm_out_of_a_region_where_a_run_failed(tmp_path: Path) -> None:
    trials, prompts = _fragile_run(tmp_path, {})
    lrs = [t.params["lr"] for t in trials]
    assert lrs == [0.01, 3.0, 0.3, 0.05]  # 5.0 was sent back: trial 1 failed up there
    assert trials[1].state == optuna.trial.TrialState.FAIL
    assert trials[3].user_attrs[_keys.LLM_FAILURE_REGION] == {
        "cause": "crashed",
        "trials": [1],
        "repaired": True,
    }
    assert "#1 crashed: lr at least 3" in prompts[3]
    assert "This configuration lies where trial #1 crashed" in prompts[4]


def test_avoid_failures_off_lets_the_proposal_run_but_the_history_still_says(
    tmp_path: Path,
) -> None:
    trials, prompts = _fragile_run(tmp_path, {"avoid_failures": False})
    assert [t.params["lr"] for t in trials] == [0.01, 3.0, 0.3, 5.0]
    assert trials[3].state == optuna.trial.TrialState.FAIL
    assert _keys.LLM_FAILURE_REGION not in trials[3].user_attrs
    assert "#1 crashed: lr at least 3" in prompts[3]


def _backbone_study(avoid: bool) -> optuna.Study:
    from agenthpo.llm import RandomLLM
    from agenthpo.policy import preset
    from agenthpo.strategies import make_sampler

    space = Space.from_dict(
        {
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "y": {"type": "float", "low": 0.0, "high": 1.0},
        }
    )
    # every trial is the backbone's (a warm-up longer than the study)
    policy = preset("hybrid", warmup=100, avoid_failures=avoid)
    sampler = make_sampler("hybrid-tpe", llm=RandomLLM(seed=0), space=space, policy=policy, seed=0)
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        x, y = trial.suggest_float("x", 0.0, 1.0), trial.suggest_float("y", 0.0, 1.0)
        if x > 0.6:  # the run dies above 0.6, and the loss is lowest near it
            trial.set_user_attr(_keys.ANALYSIS, "crashed: RuntimeError: out of memory")
            raise RuntimeError("out of memory")
        return (x - 0.6) ** 2 + (y - 0.5) ** 2

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=30, catch=(RuntimeError,))
    return study


def test_the_backbone_is_moved_out_of_where_runs_failed() -> None:
    on, off = _backbone_study(True), _backbone_study(False)
    failed = [sum(t.state == optuna.trial.TrialState.FAIL for t in s.trials) for s in (on, off)]
    assert failed[0] < failed[1]
    moved = [t for t in on.trials if _keys.FAILURE_STEP in t.user_attrs]
    assert moved
    first = moved[0]
    assert first.user_attrs[_keys.FAILURE_STEP].startswith("x ")
    assert "out of where #" in first.user_attrs[_keys.FAILURE_STEP]
    assert first.params["x"] <= 0.6 or first.state == optuna.trial.TrialState.FAIL
    assert "moved x" in first.user_attrs[_keys.RATIONALE]
    assert not any(_keys.FAILURE_STEP in t.user_attrs for t in off.trials)
