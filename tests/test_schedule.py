"""The schedule counts turns: given configurations (enqueued, default, warm start) take none.

Issue 22, item 6: enqueued starting points used up the default strategy's three LLM start-up
turns, so a 1.5B model was scheduled only 4 times in 15 trials.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.samplers import TPESampler

from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.agent.schedule import llm_turn, slot, takes_no_turn
from agenthpo.llm import ScriptedLLM
from agenthpo.policy import LLMPolicy
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from agenthpo.task import Task, task_with
from agenthpo.tuner import Tuner
from tests.conftest import answer

CTX = TaskContext(name="quad", metric="loss", direction="minimize")


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 2) ** 2 + (0.0 if kind == "a" else 1.0)


def _llm() -> ScriptedLLM:
    """Answers far from each other and from the enqueued configurations."""
    return ScriptedLLM(
        [answer({"x": x, "kind": "a"}, "spread out") for x in (-4.0, -2.0, 3.0, 4.5, -3.0)]
    )


def _by(study: optuna.Study) -> list[str | None]:
    return [t.user_attrs.get(_keys.PROPOSED_BY) for t in study.trials]


def test_enqueued_trials_do_not_use_up_the_llms_start_up_turns(small_space: Space) -> None:
    policy = LLMPolicy(startup=3, share=0.0)  # the LLM's first 3 turns, then the backbone
    sampler = AgentSampler(
        backbone=TPESampler(seed=0),
        llm=_llm(),
        space=small_space,
        context=CTX,
        policy=policy,
        seed=0,
    )
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial({"x": 0.0, "kind": "a"})
    study.enqueue_trial({"x": 1.0, "kind": "b"})
    study.optimize(objective, n_trials=7)
    assert _by(study) == [None, None, "llm", "llm", "llm", "backbone", "backbone"]
    assert sum(by == "llm" for by in _by(study)) == 3
    # The backbone's own turns are not shortened either: its warm-up counts turns too.
    sampler = AgentSampler(backbone=TPESampler(seed=0),
        llm=_llm(), space=small_space, context=CTX, seed=0,
        policy=LLMPolicy(warmup=2, startup=1, share=0.0),
    )  # fmt: skip
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial({"x": 0.0, "kind": "a"})
    study.optimize(objective, n_trials=5)
    assert _by(study) == [None, "backbone", "backbone", "llm", "backbone"]


def test_an_enqueued_trial_between_turns_keeps_the_share_on_proposed_trials() -> None:
    """Every other turn the LLM's: a trial enqueued in the middle shifts the turns after it."""
    policy = LLMPolicy(share=0.5)
    study = optuna.create_study()
    for _ in range(2):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    study.enqueue_trial({"x": 0.5})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    trials = study.get_trials(deepcopy=False)
    assert [takes_no_turn(t) for t in trials] == [False, False, True, False, False]
    turns = [slot(trials, t.number) for t in trials]
    assert turns == [0, 1, 2, 2, 3]
    assert [llm_turn(policy, k) for k in (0, 1, 2, 3)] == [False, True, False, True]


def test_batch_candidates_are_the_llms_turns(small_space: Space) -> None:
    """An LLM batch's other candidates are enqueued, but they are its proposals."""
    study = optuna.create_study()
    study.enqueue_trial({"x": 0.5}, user_attrs={_keys.PROPOSED_BY: "llm", _keys.LLM_BATCH: True})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    trials = study.get_trials(deepcopy=False)
    assert not takes_no_turn(trials[0])
    assert slot(trials, 1) == 1


def test_the_default_config_and_warm_starts_take_no_llm_turn(
    quadratic_task: Task, tmp_path: Path
) -> None:
    task = task_with(
        quadratic_task,
        default_config={"x": 0.0, "kind": "a"},
        warm_start=[{"x": 1.0, "kind": "b"}],
        strategy="hybrid-tpe",
        policy={"warmup": 0, "startup": 3, "share": 0.0},
    )
    storage = f"sqlite:///{tmp_path / 'turns.db'}"
    Tuner(task, llm=_llm(), storage=storage, n_trials=6, seed=0).run()
    study = optuna.load_study(study_name="quad", storage=storage)
    assert _by(study) == ["default_config", "warm_start", "llm", "llm", "llm", "backbone"]
