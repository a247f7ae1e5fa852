"""Strategies: hybrid-tpe's schedule with the embedded model and with any other model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.llm import ScriptedLLM, is_embedded
from agenthpo.policy import preset
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from agenthpo.strategies import make_sampler
from agenthpo.task import Task
from tests.conftest import answer

CTX = TaskContext(name="quad", metric="loss", direction="minimize")


class _EmbeddedLike(ScriptedLLM):
    """A scripted model that says it is the embedded one (as ``LocalClient`` does)."""

    embedded = True


# Points apart from each other and from the backbone's start-up draws with seed 0 (more than
# 5% of the range, so that none is a near copy).
_SPREAD = [(2.6, "b"), (-1.2, "a"), (0.0, "b"), (-3.2, "a"), (4.3, "b"), (-2.3, "a")]


def _llm(embedded: bool) -> ScriptedLLM:
    counter = iter(range(10_000))

    def propose(messages: Any, schema: Any) -> str:
        x, kind = _SPREAD[next(counter) % len(_SPREAD)]
        return answer({"x": x, "kind": kind}, "spread out")

    return _EmbeddedLike([propose]) if embedded else ScriptedLLM([propose])


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 2) ** 2 + (0.0 if kind == "a" else 1.0)


def _run(sampler: optuna.samplers.BaseSampler, n: int) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective, n_trials=n)
    return study


def test_the_embedded_model_gets_its_turns_after_tpes_start_up(small_space: Space) -> None:
    llm = _llm(embedded=True)
    assert is_embedded(llm)
    sampler = make_sampler(
        "hybrid-tpe",
        llm=llm,
        space=small_space,
        context=CTX,
        seed=0,
        policy=preset("hybrid-tpe", screen=False),
    )
    study = _run(sampler, 16)
    who = [t.user_attrs[_keys.PROPOSED_BY] for t in study.trials]
    assert who[:10] == ["backbone"] * 10
    assert "llm" in who[10:]
    # The backbone's own reason (GP's start-up), then why the trial was the backbone's
    said = [t.user_attrs[_keys.RATIONALE] for t in study.trials[:10]]

    def warmup(k: int) -> str:
        return f" (its turn: warm-up trial {k} of 10)"

    assert said[0] == "GP draws at random until 5 trials have finished (0 so far)" + warmup(1)
    for k, line in enumerate(said[1:5], start=2):
        assert line.startswith("start-up: the next point of a scrambled Sobol sequence")
        assert line.endswith(warmup(k))
    for k, line in enumerate(said[5:], start=6):  # GP's model after its 5 start-up trials
        assert line.startswith("GP ")
        assert line.endswith(warmup(k))
    # The first ten trials are the backbone's own: the same configurations the backbone
    # strategy draws (both reseed it from the seed and the trial number before each trial).
    alone = _run(make_sampler("backbone", seed=0), 10)
    assert [t.params for t in study.trials[:10]] == [t.params for t in alone.trials]


def test_any_other_model_proposes_once_the_backbone_can_judge(small_space: Space) -> None:
    llm = _llm(embedded=False)
    assert not is_embedded(llm)
    sampler = make_sampler("hybrid-tpe", llm=llm, space=small_space, context=CTX, seed=0)
    study = _run(sampler, 16)
    who = [t.user_attrs[_keys.PROPOSED_BY] for t in study.trials]
    # the backbone's 5 start-up trials, as the backbone alone draws them
    assert who[:5] == ["backbone"] * 5
    alone = _run(make_sampler("backbone", seed=0), 5)
    assert [t.params for t in study.trials[:5]] == [t.params for t in alone.trials]
    # then the LLM's turns, each judged by the backbone with the margin
    judged = [t for t in study.trials if _keys.LLM_CANDIDATES in t.user_attrs]
    assert judged, "no LLM turn was judged"
    assert min(t.number for t in judged) >= 5
    for t in judged:
        verdict = t.user_attrs[_keys.LLM_CANDIDATES]
        assert verdict["margin"] == 1.0, verdict


@pytest.mark.parametrize(
    ("options", "warmup", "startup"),
    [
        ({}, 10, 0),
        # a number left out comes from the model's own schedule, not from another model's
        ({"startup": 3}, 10, 3),
        ({"startup": 0}, 10, 0),
        ({"warmup": 5}, 5, 0),
        ({"warmup": 0, "startup": 3}, 0, 3),
    ],
)
def test_a_schedule_the_user_gives_wins_over_the_embedded_default(
    small_space: Space, options: dict[str, int], warmup: int, startup: int
) -> None:
    sampler = make_sampler(
        "hybrid-tpe",
        llm=_llm(embedded=True),
        space=small_space,
        context=CTX,
        policy=preset("hybrid-tpe", **options),
    )
    assert isinstance(sampler, AgentSampler)
    assert sampler.warmup_and_startup() == (warmup, startup)


def test_the_task_file_sets_the_schedule(quadratic_task: Task, tmp_path: Path) -> None:
    from agenthpo.tuner import Tuner

    task = quadratic_task.model_copy(update={"llm_warmup_trials": 4, "llm_startup_trials": 2})
    tuner = Tuner(task, llm=_llm(embedded=False), storage=f"sqlite:///{tmp_path / 's.db'}")
    sampler = tuner.sampler()
    assert isinstance(sampler, AgentSampler)
    assert sampler.warmup_and_startup() == (4, 2)


def test_a_negative_schedule_in_the_task_file_is_refused(quadratic_task: Task) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="llm_startup_trials"):
        Task.model_validate({**quadratic_task.model_dump(), "llm_startup_trials": -1})


def _says(text: str, *facts: str) -> None:
    """Each fact is in the sentence, in this order (the wording around them may change)."""
    at = 0
    for fact in facts:
        found = text.find(fact, at)
        assert found >= 0, f"{fact!r} not in {text!r} after position {at}"
        at = found + len(fact)


def test_a_run_says_who_proposes_which_trials(small_space: Space) -> None:
    def said(strategy: str, llm: ScriptedLLM) -> str:
        sampler = make_sampler(strategy, llm=llm, space=small_space, context=CTX)
        assert isinstance(sampler, AgentSampler)
        return sampler.schedule()

    embedded = said("hybrid-tpe", _llm(embedded=True))
    # the backbone's 10 trials first, then the LLM's adaptive quarter, and the screen
    _says(embedded, "backbone", "first 10 trials", "LLM", "25%", "fewer", "screens")
    capable = said("hybrid-tpe", _llm(embedded=False))
    # the backbone's 5 start-up trials, then the LLM's adaptive quarter, screened with a margin
    _says(capable, "backbone", "first 5 trials", "LLM", "25%", "fewer", "screens", "within 1")
    agent = said("agent", _llm(embedded=False))
    _says(agent, "LLM", "every trial")
    assert "%" not in agent
    assert "screens" not in agent
    centaur = said("centaur", _llm(embedded=False))
    _says(centaur, "CMA-ES", "every trial", "first 10", "LLM", "override", "30%")


@pytest.mark.parametrize(
    ("overrides", "facts", "absent"),
    [
        ({"share": 0.0, "startup": 0}, ("TPE", "every trial"), ("LLM",)),
        (
            {"share": 0.0, "warmup": 2, "startup": 1},
            ("TPE", "first 2 trials", "LLM", "next 1", "TPE", "rest"),
            ("%",),
        ),
        (
            {"share": 1.0, "warmup": 4, "startup": 0},
            ("TPE", "first 4 trials", "LLM", "every trial", "TPE", "unusable"),
            ("%",),
        ),
        # a tiny share is never rounded to 0%
        (
            {"share": 0.004, "adaptive": False, "startup": 3, "warmup": 0},
            ("LLM", "first 3 trials", "0.4%"),
            ("fewer",),
        ),
    ],
)
def test_the_schedule_reads_right_at_the_edges(
    small_space: Space, overrides: dict[str, Any], facts: tuple[str, ...], absent: tuple[str, ...]
) -> None:
    sampler = make_sampler(
        "hybrid-tpe",
        llm=_llm(embedded=False),
        space=small_space,
        backbone="tpe",
        policy=preset("hybrid-tpe", **overrides),
    )
    assert isinstance(sampler, AgentSampler)
    text = sampler.schedule()
    _says(text, *facts)
    for word in absent:
        assert word not in text


def test_a_model_chosen_later_still_gets_its_schedule(
    small_space: Space, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No model given: the sampler resolves one when first needed (the auto-choice falls back
    # to the embedded model when there is no key and no Ollama), as create_study and Ray do.
    import agenthpo.sampler as sampler_module

    monkeypatch.setattr(sampler_module, "resolve_llm", lambda spec: (_llm(embedded=True), "n"))
    sampler = make_sampler("hybrid-tpe", space=small_space, context=CTX, seed=0)
    study = _run(sampler, 11)
    assert [t.user_attrs[_keys.PROPOSED_BY] for t in study.trials[:10]] == ["backbone"] * 10
    assert study.user_attrs[_keys.STUDY_SCHEDULE] == {"warmup": 10, "startup": 0, "embedded": True}


def test_a_resumed_study_keeps_its_schedule_whatever_model_resumes_it(
    small_space: Space, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"

    def sampler(embedded: bool) -> optuna.samplers.BaseSampler:
        return make_sampler("hybrid-tpe", llm=_llm(embedded), space=small_space, context=CTX)

    first = optuna.create_study(storage=storage, study_name="s", sampler=sampler(True))
    first.optimize(_objective, n_trials=4)
    # another worker (or a resumed run) with a capable model: trials 4-9 stay TPE's
    second = optuna.load_study(storage=storage, study_name="s", sampler=sampler(False))
    second.optimize(_objective, n_trials=6)
    who = [t.user_attrs[_keys.PROPOSED_BY] for t in second.trials]
    assert who == ["backbone"] * 10


def test_a_replay_of_an_embedded_model_study_gets_the_same_schedule(
    small_space: Space, tmp_path: Path
) -> None:
    from agenthpo.tuner import replay_llm

    storage = f"sqlite:///{tmp_path / 's.db'}"
    llm = _llm(embedded=True)
    sampler = make_sampler("hybrid-tpe", llm=llm, space=small_space, context=CTX, seed=0)
    original = optuna.create_study(storage=storage, study_name="orig", sampler=sampler)
    original.optimize(_objective, n_trials=14)
    replay = replay_llm(storage, "orig")
    assert replay.embedded
    again = make_sampler("hybrid-tpe", llm=replay, space=small_space, context=CTX, seed=0)
    copy = _run(again, 14)
    assert [t.params for t in copy.trials] == [t.params for t in original.trials]


def test_the_real_embedded_client_gets_the_late_schedule(small_space: Space) -> None:
    # The bundled model's own client (not a stand-in with the flag set); nothing is loaded.
    from agenthpo.llm import LocalClient

    sampler = make_sampler("hybrid-tpe", llm=LocalClient(), space=small_space, context=CTX)
    assert isinstance(sampler, AgentSampler)
    assert sampler.warmup_and_startup() == (10, 0)
    assert sampler.screens()  # and TPE screens its proposals
