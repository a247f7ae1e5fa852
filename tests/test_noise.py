"""Noise: the incumbent re-run with other seeds; the agent is told the spread."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from agenthpo import _keys
from agenthpo.errors import TaskError
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.task import Task, task_from_dict
from agenthpo.tuner import Tuner, reevaluation_runs
from tests.conftest import answer

NOISY = """
def objective(config, report):
    seed = config.get("seed", 0)
    return {"loss": (config["x"] - 2) ** 2 + 0.1 * seed}
"""


def _task(tmp_path: Path, **extra: object) -> Task:
    (tmp_path / "noisy.py").write_text(NOISY)
    data: dict[str, object] = {
        "name": "noisy",
        "objective": {"metric": "loss", "direction": "minimize"},
        "space": {"x": {"type": "float", "low": -5.0, "high": 5.0}},
        "n_trials": 8,
        "function": "noisy:objective",
        "strategy": "agent",
        "noise": {"repeats": 2, "every": 2, "max_share": 0.5},
    }
    data.update(extra)
    return task_from_dict(data, base_dir=tmp_path)


def test_incumbent_is_rerun_and_the_agent_hears_the_spread(tmp_path: Path) -> None:
    task = _task(tmp_path)
    seen: list[str] = []

    def respond(messages: list[Message], schema: object) -> str:
        seen.append(messages[-1].content)
        return answer({"x": 2.0 + len(seen) * 0.6}, "walk right")

    storage = f"sqlite:///{tmp_path / 'n.db'}"
    Tuner(task, llm=ScriptedLLM([respond]), storage=storage, prefetch=False).run()
    study = optuna.load_study(study_name="noisy", storage=storage)
    noise = study.user_attrs[_keys.STUDY_NOISE]
    best = str(study.best_trial.number)
    entry = noise[best]
    assert entry["n"] == 3
    assert entry["seeds"] == [0, 1, 2]
    assert entry["values"][1] == pytest.approx(entry["values"][0] + 0.1)
    assert entry["std"] == pytest.approx(0.1)
    # The re-runs spent the budget: 4 trials and 4 re-runs (the incumbent's after trial 2,
    # the runner-up's at the end; the third candidate found no room) make the 8.
    assert len(study.trials) == 4
    assert reevaluation_runs(study) == 4
    assert study.user_attrs[_keys.STUDY_SELECTION]["skipped"] == {
        "2": "no room left: re-runs may take 0.5 of the budget"
    }
    # After the first measurement (trial 2) the agent was told the noise level.
    assert "Seed noise" not in seen[0]
    assert "Seed noise: trial #0 re-run with 3 seeds" in seen[2]
    assert "standard deviation of 0.1" in seen[2]


def test_seed_param_must_not_be_tuned(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"noise\.seed_param"):
        _task(tmp_path, noise={"seed_param": "x"})


# ---------------------------------------------- noise-robust selection (issue 18, item 1)

FLUKY = """
import random


def objective(config, report):
    # The default x = 2 is already the best configuration; every run adds seed noise
    # (reproducible: drawn from the configuration and the seed) far larger than what x
    # can gain, so a lucky seed-0 run wins by a fluke.
    seed = config.get("seed", 0)
    u = random.Random(f"{config['x']:.9f}/{seed}").random()
    return {"loss": 0.01 * (config["x"] - 2) ** 2 + 0.5 * u}
"""


def _fluky_task(tmp_path: Path) -> Task:
    (tmp_path / "fluky.py").write_text(FLUKY)
    return task_from_dict(
        {
            "name": "fluky",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": -1.0, "high": 5.0}},
            "default_config": {"x": 2.0},
            "n_trials": 16,
            "function": "fluky:objective",
            "strategy": "random",
            "noise": {"repeats": 4, "top": 3, "max_share": 0.5},
        },
        base_dir=tmp_path,
    )


def test_selection_refuses_to_call_a_fluke_an_improvement(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'f.db'}"
    summary = Tuner(_fluky_task(tmp_path), storage=storage, seed=0).run()
    study = optuna.load_study(study_name="fluky", storage=storage)
    default = next(
        t for t in study.trials if t.user_attrs.get(_keys.PROPOSED_BY) == "default_config"
    )
    # The fluke is real: on its one run, another configuration beat the default ...
    assert study.best_trial.number != default.number
    # ... but re-run on further seeds it does not beat the default beyond the noise.
    selection = summary.selection
    assert selection is not None
    assert selection["improvement"] is False
    assert selection["recommended_trial"] == default.number
    assert summary.best_config == {"x": 2.0}
    assert "default" in selection["reason"]
    stored = study.user_attrs[_keys.STUDY_SELECTION]
    assert stored["recommended_trial"] == default.number
    measured = study.user_attrs[_keys.STUDY_NOISE]
    assert str(default.number) in measured  # the default was re-evaluated too
    # Re-evaluations are no trials, but they spend the budget: 8 trials and 8 re-runs.
    assert len(study.trials) == 8
    assert summary.n_reevaluations == reevaluation_runs(study) == 8
    assert summary.n_total + summary.n_reevaluations == 16


def test_selection_keeps_a_real_improvement(tmp_path: Path) -> None:
    (tmp_path / "clear.py").write_text(
        "def objective(config, report):\n"
        "    return {'loss': (config['x'] - 4) ** 2 + 0.01 * config.get('seed', 0)}\n"
    )
    task = task_from_dict(
        {
            "name": "clear",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": -1.0, "high": 5.0}},
            "default_config": {"x": 0.0},
            "n_trials": 10,
            "function": "clear:objective",
            "strategy": "random",
            "noise": {"repeats": 2},
        },
        base_dir=tmp_path,
    )
    summary = Tuner(task, storage=f"sqlite:///{tmp_path / 'c.db'}", seed=0).run()
    assert summary.selection is not None
    assert summary.selection["improvement"] is True
    assert summary.best_config != {"x": 0.0}


SEEDED = """
def objective(config, report, seed=0):
    return {"loss": (config["x"] - 1) ** 2 + 0.01 * seed}
"""


def _seeded_task(tmp_path: Path, **extra: object) -> Task:
    (tmp_path / "seeded.py").write_text(SEEDED)
    data: dict[str, object] = {
        "name": "seeded",
        "objective": {"metric": "loss", "direction": "minimize"},
        "space": {"x": {"type": "float", "low": -2.0, "high": 2.0}},
        "default_config": {"x": 0.0},
        "n_trials": 10,
        "function": "seeded:objective",
        "strategy": "random",
    }
    data.update(extra)
    return task_from_dict(data, base_dir=tmp_path)


def test_selection_is_on_by_default_when_the_function_takes_a_seed(tmp_path: Path) -> None:
    task = _seeded_task(tmp_path)
    assert task.seed_source() == "the function's seed argument"
    summary = Tuner(task, storage=f"sqlite:///{tmp_path / 's.db'}", seed=0).run()
    assert summary.selection is not None
    # The seed reached the function: its re-runs on seeds 1 and 2 differ by 0.01 each.
    stats = summary.selection["candidates"][str(summary.selection["best_single_run"])]
    assert stats["n"] == 3
    assert stats["std"] == pytest.approx(0.01)
    assert summary.n_total + summary.n_reevaluations == 10
    # 4 re-runs (0.4 of 10): the best single run and the default; the next found no room.
    assert summary.n_reevaluations == 4
    assert summary.reevaluation_note is not None
    assert "not re-evaluated (no room left" in summary.reevaluation_note


def test_noise_false_turns_the_default_selection_off(tmp_path: Path) -> None:
    task = _seeded_task(tmp_path, noise=False)
    assert task.noise_setup() is None
    summary = Tuner(task, storage=f"sqlite:///{tmp_path / 's.db'}", seed=0).run()
    assert summary.selection is None
    assert summary.n_reevaluations == 0
    assert summary.n_total == 10


def test_a_budget_too_small_for_re_evaluation_says_so(tmp_path: Path) -> None:
    summary = Tuner(
        _seeded_task(tmp_path, n_trials=5), storage=f"sqlite:///{tmp_path / 's.db'}", seed=0
    ).run()
    assert summary.selection is None
    assert summary.n_total == 5
    assert summary.reevaluation_note is not None
    assert "no re-evaluation" in summary.reevaluation_note
    assert "raise n_trials" in summary.reevaluation_note


@pytest.mark.parametrize(
    ("command", "source"),
    [
        (["python", "train.py", "--seed={seed}"], "the command's {seed} placeholder"),
        (["python", "train.py", "--seed", "0"], "the command's --seed option"),
        (["python", "train.py"], None),
    ],
)
def test_what_counts_as_a_task_that_can_vary_a_seed(
    tmp_path: Path, command: list[str], source: str | None
) -> None:
    task = task_from_dict(
        {
            "name": "cmd",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": -2.0, "high": 2.0}},
            "n_trials": 10,
            "command": command,
        },
        base_dir=tmp_path,
    )
    assert task.seed_source() == source
    assert (task.noise_setup() is not None) is (source is not None)


def test_a_tuned_seed_turns_no_selection_on(tmp_path: Path) -> None:
    """A seed the search tunes (a parameter of the space) is the search's choice: re-runs
    varying it would override it, so detection leaves the selection off."""
    task = task_from_dict(
        {
            "name": "cmd",
            "objective": {"metric": "loss", "direction": "minimize"},
            "space": {"x": {"type": "float", "low": -2.0, "high": 2.0}, "seed": [0, 1]},
            "n_trials": 10,
            "command": ["python", "train.py", "--seed={seed}", "--x={x}"],
        },
        base_dir=tmp_path,
    )
    assert task.seed_source() is not None
    assert task.noise_setup() is None


def test_a_placeholder_command_must_place_the_seed(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"noise: the command uses placeholders but none for"):
        task_from_dict(
            {
                "name": "cmd",
                "objective": {"metric": "loss", "direction": "minimize"},
                "space": {"x": {"type": "float", "low": -2.0, "high": 2.0}},
                "n_trials": 10,
                "command": ["python", "train.py", "--x={x}"],
                "noise": True,
            },
            base_dir=tmp_path,
        )


def test_held_out_fold_scores_never_reach_the_llm() -> None:
    # A resumed study holds the held-out folds' scores of its earlier winner: they judge the
    # search, so the search must not read them, and they are not seed noise either.
    from agenthpo.agent.proposer import _noise_note

    study = optuna.create_study()
    held_out = {"values": [3.0, 4.0], "folds": [1, 2], "mean": 3.5, "std": 0.7, "n": 2}
    study.set_user_attr(_keys.STUDY_NOISE, {"4": held_out})
    assert _noise_note(study, "rmse") == ""
    seeds = {"values": [1.0, 1.2], "seeds": [0, 1], "mean": 1.1, "std": 0.14, "n": 2}
    study.set_user_attr(_keys.STUDY_NOISE, {"4": held_out, "2": seeds})
    note = _noise_note(study, "rmse")
    assert "trial #2 re-run with 2 seeds" in note
    assert "#4" not in note
    assert "3.5" not in note


def test_the_last_search_trial_prepares_no_proposal_for_the_re_runs_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The budget's re-evaluation share asks no LLM: a proposal prepared for a trial beyond
    # the search budget is never used (and held the process up on a slow endpoint).
    from agenthpo.sampler import AgentSampler

    asked_for: list[int] = []
    real = AgentSampler.prefetch

    def spy(self: AgentSampler, study: optuna.Study, number: int) -> bool:
        asked_for.append(number)
        return real(self, study, number)

    monkeypatch.setattr(AgentSampler, "prefetch", spy)
    task = _task(tmp_path, strategy="agent", llm="random:0")
    summary = Tuner(task, storage=f"sqlite:///{tmp_path / 'n.db'}", seed=0).run()
    assert summary.n_reevaluations > 0
    assert asked_for
    assert max(asked_for) < summary.n_total
