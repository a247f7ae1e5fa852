"""TPE screens the LLM's proposals: with the embedded model by default, on request otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.samplers import TPESampler

from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.agent.screen import tpe_screen
from agenthpo.llm import ScriptedLLM
from agenthpo.policy import LLMPolicy, preset
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from agenthpo.strategies import make_sampler
from agenthpo.task import Task
from tests.conftest import answer

CTX = TaskContext(name="quad", metric="loss", direction="minimize")
SPACE = {"x": FloatDistribution(-5.0, 5.0), "kind": CategoricalDistribution(["a", "b"])}


class _EmbeddedLike(ScriptedLLM):
    """A scripted model that says it is the embedded one (as ``LocalClient`` does)."""

    embedded = True


def _proposing(config: dict[str, Any], embedded: bool = True) -> ScriptedLLM:
    def propose(messages: Any, schema: Any) -> str:
        return answer(config, "a guess")

    return _EmbeddedLike([propose]) if embedded else ScriptedLLM([propose])


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 2) ** 2 + (0.0 if kind == "a" else 10.0)


def _run(sampler: optuna.samplers.BaseSampler, n: int) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective, n_trials=n)
    return study


def _fitted(n: int = 30) -> tuple[optuna.Study, dict[str, Any]]:
    """A TPE study of ``n`` trials and TPE's own proposal for trial ``n``."""
    study = _run(optuna.samplers.TPESampler(seed=0), n)
    return study, study.ask(fixed_distributions=SPACE).params


def test_tpe_keeps_its_own_proposal_over_a_worse_one() -> None:
    study, own = _fitted()
    sampler = study.sampler
    assert isinstance(sampler, optuna.samplers.TPESampler)
    good = tpe_screen(sampler, study, 30, SPACE, {"x": 2.0, "kind": "a"}, own)
    bad = tpe_screen(sampler, study, 30, SPACE, {"x": -3.0, "kind": "b"}, own)
    same = tpe_screen(sampler, study, 30, SPACE, own, own)
    assert good is not None
    assert bad is not None
    assert same is not None
    assert same.passed
    assert same.llm == same.own
    assert bad.llm < bad.own
    assert not bad.passed
    assert bad.describe().startswith("TPE's density ratio rates its own proposal higher")
    assert good.passed == (good.llm >= good.own)
    assert good.llm > bad.llm


def test_the_screen_leaves_tpes_random_stream_alone() -> None:
    study, own = _fitted()
    sampler = study.sampler
    assert isinstance(sampler, optuna.samplers.TPESampler)
    state = sampler._rng.rng.get_state()[1].copy()
    config = {"x": 0.5, "kind": "a"}
    first = tpe_screen(sampler, study, 30, SPACE, config, own)
    assert first == tpe_screen(sampler, study, 30, SPACE, config, own)
    assert (sampler._rng.rng.get_state()[1] == state).all()


def test_no_verdict_while_tpe_is_still_drawing_at_random() -> None:
    study, own = _fitted(n=5)
    assert isinstance(study.sampler, optuna.samplers.TPESampler)
    assert tpe_screen(study.sampler, study, 5, SPACE, {"x": 2.0, "kind": "a"}, own) is None


# These scripted models probe next to a trial on purpose; the near-copy rule (5% of each
# range by default, tested in test_creator) would refuse them, so these tests keep 0.1%.
FINE = 1e-3


def _beside_the_worst(study: optuna.Study) -> Any:
    def propose(messages: Any, schema: Any) -> str:
        done = [t for t in study.trials if t.value is not None]
        worst = max(done, key=lambda t: t.value or 0.0)
        x = worst.params["x"]
        return answer(
            {"x": x + (0.05 if x < 4.9 else -0.05), "kind": worst.params["kind"]},
            "probe the region next to the worst trial",
        )

    return propose


def test_a_screened_out_run_is_tpe_itself(small_space: Space) -> None:
    # On plain TPE (the strategy's backbone before the Backbone): the embedded model keeps
    # proposing next to the worst trial so far, where TPE has seen bad results: TPE screens
    # each proposal out, and the study is the one plain TPE runs with the same seed.
    study = optuna.create_study()
    llm = _EmbeddedLike([_beside_the_worst(study)])
    study.sampler = make_sampler(
        "hybrid-tpe",
        llm=llm,
        space=small_space,
        context=CTX,
        seed=0,
        backbone="tpe",
        policy=preset("hybrid-tpe", duplicate_tolerance=FINE),
    )
    study.optimize(_objective, n_trials=30)
    tpe = _run(make_sampler("tpe", seed=0), 30)
    assert [t.params for t in study.trials] == [t.params for t in tpe.trials]
    screened = [t for t in study.trials if t.user_attrs.get(_keys.FALLBACK_REASON)]
    assert len(screened) >= 3, "the model was asked and screened out on each of its turns"
    for t in screened:
        assert t.user_attrs[_keys.PROPOSED_BY] == "backbone"
        assert t.user_attrs[_keys.FALLBACK_REASON].startswith('screened: {"x": ')
        assert "the LLM's reason: probe the region" in t.user_attrs[_keys.FALLBACK_REASON]
        assert t.user_attrs[_keys.RATIONALE].startswith(
            "TPESampler proposed: it screened out the LLM's proposal {"
        )
        assert "TPE's density ratio rates its own proposal higher" in t.user_attrs[_keys.RATIONALE]
        assert t.user_attrs[_keys.LLM_CALLS] == 1


def test_a_screened_out_run_is_the_backbone_itself(small_space: Space) -> None:
    # The default backbone: GP's own expected improvement judges, and a study whose every
    # LLM proposal is screened out is the backbone's own study, trial for trial.
    study = optuna.create_study()
    llm = _EmbeddedLike([_beside_the_worst(study)])
    study.sampler = make_sampler(
        "hybrid-tpe",
        llm=llm,
        space=small_space,
        context=CTX,
        seed=0,
        policy=preset("hybrid-tpe", duplicate_tolerance=FINE),
    )
    study.optimize(_objective, n_trials=16)
    alone = _run(make_sampler("backbone", seed=0), 16)
    assert [t.params for t in study.trials] == [t.params for t in alone.trials]
    screened = [t for t in study.trials if t.user_attrs.get(_keys.FALLBACK_REASON)]
    assert len(screened) >= 1, "the model was asked and screened out on its turns"
    for t in screened:
        assert t.user_attrs[_keys.PROPOSED_BY] == "backbone"
        assert t.user_attrs["backbone_member"] == "gp"
        assert (
            "GP's expected improvement rates its own proposal higher: log EI"
            in (t.user_attrs[_keys.RATIONALE])
        )


def _off_the_best(study: optuna.Study) -> Any:
    def propose(messages: Any, schema: Any) -> str:
        done = [t for t in study.trials if t.value is not None]
        best = min(done, key=lambda t: t.value or 0.0)
        x = best.params["x"]
        return answer(
            {"x": x - 1.0 if x > -4.0 else x + 1.0, "kind": best.params["kind"]},
            "one step from the best trial",
        )

    return propose


def _gp_margin_study(small_space: Space, margin: float) -> optuna.Study:
    study = optuna.create_study()
    study.sampler = make_sampler(
        "hybrid-tpe",
        llm=_EmbeddedLike([_off_the_best(study)]),
        space=small_space,
        context=CTX,
        seed=0,
        policy=preset("hybrid-tpe", duplicate_tolerance=FINE, screen_margin=margin),
    )
    study.optimize(_objective, n_trials=16)
    return study


def test_under_gp_a_margin_runs_a_proposal_the_plain_screen_refuses(small_space: Space) -> None:
    # GP's own proposal maximizes its log EI, so the plain screen refuses a proposal one
    # step from the best trial; a margin wide enough lets the same proposal run, and the
    # rationale says by how much.
    plain = _gp_margin_study(small_space, 0.0)
    assert not [t for t in plain.trials if t.user_attrs.get(_keys.PROPOSED_BY) == "llm"]
    assert [t for t in plain.trials if t.user_attrs.get(_keys.FALLBACK_REASON)]
    wide = _gp_margin_study(small_space, 1000.0)
    ran = [t for t in wide.trials if t.user_attrs.get(_keys.PROPOSED_BY) == "llm"]
    assert ran, "the margin let the LLM's proposals run"
    for t in ran:
        assert "GP's expected improvement rates it within the margin (1000.00)" in str(
            t.user_attrs[_keys.RATIONALE]
        )


def _cliff(trial: optuna.Trial) -> float:
    # Better toward x = 1, but runs with x above 0.6 crash: the backbone's GP leaves failed
    # trials out and keeps proposing there, and its turns step out of that region.
    x = trial.suggest_float("x", 0.0, 1.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    if x > 0.6:
        raise RuntimeError("diverged")
    return -x + (0.0 if kind == "a" else 1.0)


def _cliff_study(llm: ScriptedLLM, **policy: Any) -> optuna.Study:
    study = optuna.create_study()
    space = Space.from_optuna(
        {"x": FloatDistribution(0.0, 1.0), "kind": CategoricalDistribution(["a", "b"])}
    )
    study.sampler = make_sampler(
        "hybrid-tpe",
        llm=llm,
        space=space,
        context=CTX,
        seed=0,
        policy=preset("hybrid-screen", duplicate_tolerance=FINE, **policy),
    )
    study.optimize(_cliff, n_trials=24, catch=(RuntimeError,))
    return study


def test_a_screened_out_turn_runs_what_the_backbones_own_turn_would() -> None:
    # A screened-out LLM turn is the backbone's trial: drawn as the backbone's own turn
    # draws it (again while it repeats a trial, then out of where runs failed), so the
    # study is the one where every turn is the backbone's.
    far = _EmbeddedLike([lambda messages, schema: answer({"x": 0.01, "kind": "b"}, "far")])
    screened = _cliff_study(far)
    alone = _cliff_study(_EmbeddedLike([]), share=0.0)
    turns = [t for t in screened.trials if t.user_attrs.get(_keys.FALLBACK_REASON)]
    assert len(turns) >= 2
    assert all(t.user_attrs[_keys.FALLBACK_REASON].startswith("screened") for t in turns)
    assert not any(t.user_attrs.get(_keys.FALLBACK_REASON) for t in alone.trials)
    moved = [t for t in alone.trials if t.user_attrs.get(_keys.FAILURE_STEP)]
    assert moved, "the backbone's turns stepped out of the crashing region"
    assert [t.params for t in screened.trials] == [t.params for t in alone.trials]
    assert [t.user_attrs.get(_keys.FAILURE_STEP) for t in screened.trials] == [
        t.user_attrs.get(_keys.FAILURE_STEP) for t in alone.trials
    ]


def test_a_proposal_tpe_rates_above_its_own_is_kept(small_space: Space) -> None:
    # Far from every trial: once TPE's own proposals have covered the good region, its ratio
    # rates this unvisited corner above them (TPE's own exploration), and the proposal runs.
    # When that happens depends on TPE's draws: with seed 8 (per-trial seeding) the corner
    # is screened out on three turns and kept on the fourth.
    sampler = make_sampler(
        "hybrid-tpe",
        llm=_proposing({"x": 4.9, "kind": "b"}),
        space=small_space,
        seed=8,
        backbone="tpe",
    )
    study = _run(sampler, 30)
    used = [t for t in study.trials if t.user_attrs[_keys.PROPOSED_BY] == "llm"]
    assert used
    assert all(t.params == {"x": 4.9, "kind": "b"} for t in used)
    turns = [t for t in study.trials if t.user_attrs.get(_keys.FALLBACK_REASON, "")]
    screened = [t for t in turns if t.user_attrs[_keys.FALLBACK_REASON].startswith("screened")]
    assert screened
    assert all(t.number < used[0].number for t in screened)  # screened out until then
    # after it ran, the same proposal is a duplicate
    assert all(t.user_attrs[_keys.FALLBACK_REASON].startswith("duplicate") for t in turns[3:])


def test_any_other_model_is_not_screened_unless_asked(small_space: Space) -> None:
    def proposed(**options: Any) -> list[str]:
        study = optuna.create_study()

        def beside_the_worst(messages: Any, schema: Any) -> str:
            worst = max(
                (t for t in study.trials if t.value is not None), key=lambda t: t.value or 0.0
            )
            return answer({"x": worst.params["x"] * 0.99, "kind": worst.params["kind"]})

        study.sampler = make_sampler(
            "hybrid-tpe",
            llm=ScriptedLLM([beside_the_worst]),
            space=small_space,
            context=CTX,
            seed=0,
            policy=preset("hybrid-late", duplicate_tolerance=FINE, **options),
        )
        study.optimize(_objective, n_trials=20)
        return [t.user_attrs[_keys.PROPOSED_BY] for t in study.trials]

    assert "llm" in proposed()
    assert "llm" not in proposed(screen=True)


def test_the_run_says_that_tpe_screens(small_space: Space) -> None:
    sampler = make_sampler("hybrid-tpe", llm=_proposing({}), space=small_space, context=CTX)
    assert isinstance(sampler, AgentSampler)
    assert sampler.screens()
    assert sampler.schedule().endswith(
        "; the backbone's own acquisition screens the LLM's proposals (its own proposal runs"
        " where that rates it higher)"
    )
    on_tpe = make_sampler(
        "hybrid-tpe", llm=_proposing({}), space=small_space, context=CTX, backbone="tpe"
    )
    assert isinstance(on_tpe, AgentSampler)
    assert on_tpe.schedule().endswith(
        "; TPE screens the LLM's proposals (it keeps its own where its density ratio rates it"
        " higher)"
    )
    other = make_sampler(
        "hybrid-tpe", llm=_proposing({}, embedded=False), space=small_space, context=CTX
    )
    assert isinstance(other, AgentSampler)
    assert other.screens()  # a capable model's proposals are screened with a margin
    assert other.schedule().endswith(
        "; the backbone's own acquisition screens the LLM's proposals (its own proposal runs"
        " unless that rates the LLM's within 1 log unit of it)"
    )
    unscreened = make_sampler(
        "hybrid-tpe",
        llm=_proposing({}, embedded=False),
        space=small_space,
        context=CTX,
        policy=preset("hybrid"),
    )
    assert isinstance(unscreened, AgentSampler)
    assert not unscreened.screens()
    assert "screens" not in unscreened.schedule()
    agent = make_sampler("agent", llm=_proposing({}), space=small_space, context=CTX)
    assert isinstance(agent, AgentSampler)
    assert not agent.screens()


def test_a_resumed_study_keeps_screening_whatever_model_resumes_it(small_space: Space) -> None:
    study = optuna.create_study(
        sampler=make_sampler(
            "hybrid-tpe", llm=_proposing({"x": 2.0, "kind": "a"}), space=small_space, seed=0
        )
    )
    study.optimize(_objective, n_trials=2)
    later = make_sampler(
        "hybrid-tpe", llm=_proposing({}, embedded=False), space=small_space, seed=0
    )
    assert isinstance(later, AgentSampler)
    # the study keeps the embedded model's schedule and plain screen, not a capable model's
    assert later.screens(study)
    assert (later.policy(study).warmup, later.policy(study).screen_margin) == (10, 0.0)
    assert (later.policy().warmup, later.policy().screen_margin) == (5, 1.0)


def test_screening_needs_a_tpe_backbone() -> None:
    with pytest.raises(ValueError, match="TPESampler or Backbone backbone"):
        AgentSampler(backbone=optuna.samplers.RandomSampler(), policy=LLMPolicy(screen=True))


def test_the_task_file_turns_screening_on_and_off(quadratic_task: Task, tmp_path: Path) -> None:
    from agenthpo.tuner import Tuner

    def screens(llm: ScriptedLLM, **update: Any) -> bool:
        task = quadratic_task.model_copy(update={"strategy": "hybrid-tpe", **update})
        tuner = Tuner(task, llm=llm, storage=f"sqlite:///{tmp_path / 's.db'}")
        sampler = tuner.sampler()
        assert isinstance(sampler, AgentSampler)
        return sampler.screens()

    assert screens(_proposing({}))
    assert not screens(_proposing({}), llm_screen=False)
    assert screens(_proposing({}, embedded=False))
    assert not screens(_proposing({}, embedded=False), llm_screen=False)


def test_the_task_file_refuses_screening_where_there_is_no_tpe(quadratic_task: Task) -> None:
    from pydantic import ValidationError

    data = {**quadratic_task.model_dump(), "strategy": "centaur", "llm_screen": True}
    with pytest.raises(ValidationError, match="llm_screen: the backbone screens"):
        Task.model_validate(data)


def test_a_batch_candidate_tpe_screens_out_is_not_enqueued(small_space: Space) -> None:
    import json

    study, _own = _fitted()
    study.tell(study.trials[-1].number, state=optuna.trial.TrialState.FAIL)  # _fitted's ask
    batch = json.dumps(
        {
            "candidates": [
                {"config": {"x": -3.0, "kind": "b"}, "rationale": "where it went badly"},
                {"config": {"x": 4.9, "kind": "b"}, "rationale": "nobody looked there"},
                {"config": {"x": -2.9, "kind": "a"}, "rationale": "where it went badly too"},
            ]
        }
    )
    study.sampler = AgentSampler(
        backbone=TPESampler(seed=0),
        llm=ScriptedLLM([batch]),
        space=small_space,
        context=CTX,
        seed=0,
        policy=LLMPolicy(batch_size=3, screen=True, duplicate_tolerance=FINE),
    )
    study.optimize(_objective, n_trials=1)
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    ran = study.trials[31]
    assert ran.user_attrs[_keys.FALLBACK_REASON].startswith('screened: {"x": -3.0')
    assert [t.system_attrs["fixed_params"] for t in waiting] == [{"x": 4.9, "kind": "b"}]
