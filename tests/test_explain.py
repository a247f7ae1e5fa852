"""Every backbone trial explained: each line's numbers checked against the sampler's proposal.

Each test runs a small real study, asks for one more trial, takes the sampler's actual
proposal and checks what :func:`agenthpo.agent.explain.explain` says about it against the
study (and, for CMA-ES, against the optimizer Optuna stored).
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler, CmaEsSampler, GPSampler, TPESampler
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys
from agenthpo.agent import explain as explain_module
from agenthpo.agent.explain import cmaes_state, distance, explain, gp_view
from agenthpo.agent.prompts import TaskContext
from agenthpo.backbone import Backbone
from agenthpo.llm import ScriptedLLM
from agenthpo.policy import LLMPolicy
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space
from agenthpo.task import Task
from agenthpo.tuner import Tuner
from tests.conftest import answer

optuna.logging.set_verbosity(optuna.logging.WARNING)
NUMBER = r"-?[0-9.]+(?:e[-+][0-9]+)?"


def mixed(trial: optuna.Trial) -> float:
    """A learning rate (log), a batch size (int, log) and an optimizer (categorical)."""
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    batch = trial.suggest_int("batch", 16, 256, log=True)
    opt = trial.suggest_categorical("opt", ["adam", "sgd"])
    return (math.log10(lr) + 2.5) ** 2 + (math.log2(batch) - 6) ** 2 / 4 + (opt == "sgd") * 0.5


def numeric(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_int("y", 0, 20)
    return (x - 1) ** 2 + (y - 7) ** 2 / 10


def _study(sampler: BaseSampler, objective: Any, n: int) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study


def _propose(study: optuna.Study, objective: Any) -> tuple[FrozenTrial, dict[str, Any], str]:
    """The sampler's next proposal (the trial left running) and its explanation."""
    trial = study.ask()
    objective(trial)  # suggests every parameter: the sampler proposes them
    frozen = study._storage.get_trial(trial._trial_id)
    return frozen, dict(trial.params), explain(study.sampler, study, frozen, trial.params)


def _drew(text: str) -> dict[str, str]:
    """``name value`` pairs after "drew", each value as printed."""
    part = re.sub(r"\([^)]*\)", "", text.split("drew ", 1)[1].split(";", 1)[0])
    return {m[1]: m[2] for m in re.finditer(r"(\w+) ([^\s,;()]+)", part)}


def _printed(value: Any) -> str:
    return format(value, ".4g") if isinstance(value, float) else str(value)


def _unit(dist: BaseDistribution, v: Any) -> float:
    """The test's own unit-cube position (independent of the module's)."""
    lo, hi, x = dist.low, dist.high, v  # type: ignore[attr-defined]
    if dist.log:  # type: ignore[attr-defined]
        lo, hi, x = math.log(lo), math.log(hi), math.log(x)
    return (x - lo) / (hi - lo)


# -- start-up draws --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sampler", "name"),
    [(TPESampler(seed=0), "TPE"), (GPSampler(seed=0), "GP")],
)
def test_start_up_draws_are_called_start_up(sampler: BaseSampler, name: str) -> None:
    study = _study(sampler, mixed, 2)
    _, _, text = _propose(study, mixed)
    assert text == f"{name} draws at random until 10 trials have finished (2 so far)"


def test_cmaes_first_trial_is_its_start_up_draw() -> None:
    study = optuna.create_study(sampler=CmaEsSampler(seed=0))
    _, _, text = _propose(study, numeric)
    assert text == "CMA-ES draws at random until 1 trial has finished (0 so far)"


# -- TPE ---------------------------------------------------------------------------------------
def test_tpe_states_its_good_trials_ranges_and_its_actual_draw() -> None:
    study = _study(TPESampler(seed=0), mixed, 23)
    frozen, params, text = _propose(study, mixed)
    match = re.match(r"TPE: the best (\d+) of (\d+) finished trials have ", text)
    assert match, text
    k, n = int(match[1]), int(match[2])
    assert (k, n) == (3, 23)  # TPE's gamma: ceil(0.1 * 23)
    done = sorted(study.get_trials(states=(TrialState.COMPLETE,)), key=lambda t: t.value)
    good, rest = done[:k], done[k:]
    numeric_ranges = re.findall(
        rf"(lr|batch) ({NUMBER})-({NUMBER}) \(the rest ({NUMBER})-({NUMBER})\)", text
    )
    assert {r[0] for r in numeric_ranges} == {"lr", "batch"}, text
    for name, lo, hi, rest_lo, rest_hi in numeric_ranges:
        values = [t.params[name] for t in good]
        others = [t.params[name] for t in rest]
        # the stated range holds the good trials, and is theirs (tight to 3 digits)
        assert float(lo) <= min(values)
        assert max(values) <= float(hi)
        assert min(values) <= float(lo) * 1.01 + 1e-12
        assert float(hi) <= max(values) * 1.01
        assert float(rest_lo) <= min(others)
        assert max(others) <= float(rest_hi)
    chosen = re.search(r"opt (adam|sgd) in (\d+) of (\d+) \(the rest (\d+) of (\d+)\)", text)
    assert chosen, text
    top = chosen[1]
    assert int(chosen[2]) == sum(t.params["opt"] == top for t in good)
    assert int(chosen[3]) == k
    assert int(chosen[4]) == sum(t.params["opt"] == top for t in rest)
    # what it drew is the actual proposal, and where it falls is said right
    drew = _drew(text)
    assert drew == {name: _printed(v) for name, v in params.items()}
    for name, *_ in numeric_ranges:
        values = [t.params[name] for t in good]
        where = re.search(rf"{name} [^\s,;]+ \((below|above|in) their range\)", text)
        assert where, text
        expected = (
            "below"
            if params[name] < min(values)
            else "above"
            if params[name] > max(values)
            else "in"
        )
        assert where[1] == expected
    assert len(text) <= 480
    assert frozen.state == TrialState.RUNNING


def test_a_long_line_stays_under_the_cap() -> None:
    def wide(trial: optuna.Trial) -> float:
        return sum(
            (trial.suggest_float(f"parameter_{i:02d}", 1e-6, 1e3, log=True) - 1) ** 2
            for i in range(40)
        )

    study = _study(TPESampler(seed=0), wide, 12)
    _, _, text = _propose(study, wide)
    assert text.startswith("TPE: the best 2 of 12 finished trials have ")
    assert len(text) <= 480
    assert "more" in text  # the parameters that did not fit are counted


def test_tpe_backbone_trials_under_agent_sampler_store_the_explanation(
    small_space: Space,
) -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5.0, 5.0)
        kind = trial.suggest_categorical("kind", ["a", "b"])
        return (x - 2) ** 2 + (0.0 if kind == "a" else 1.0)

    context = TaskContext(name="quad", metric="loss", direction="minimize")
    llm = ScriptedLLM([answer({"x": 50.0, "kind": "a"})])  # always out of range
    sampler = AgentSampler(
        backbone=TPESampler(seed=0),
        llm=llm,
        space=small_space,
        context=context,
        seed=0,
        policy=LLMPolicy(warmup=11),
    )
    study = _study(sampler, objective, 13)
    trials = study.trials
    assert trials[0].user_attrs[_keys.RATIONALE] == (
        "TPE draws at random until 10 trials have finished (0 so far)"
        " (its turn: warm-up trial 1 of 11)"
    )
    warmup = trials[10].user_attrs[_keys.RATIONALE]
    assert warmup.startswith("TPE: the best 1 of 10 finished trials have ")
    assert warmup.endswith("(its turn: warm-up trial 11 of 11)")
    fallback = trials[12].user_attrs[_keys.RATIONALE]
    assert fallback.startswith("TPE: the best 2 of 12 finished trials have ")
    assert fallback.endswith("(LLM fallback: invalid)")
    for t in trials[10:]:
        assert _drew(t.user_attrs[_keys.RATIONALE]) == {
            name: _printed(v) for name, v in t.params.items()
        }


# -- GP ----------------------------------------------------------------------------------------
def _gp_study() -> tuple[optuna.Study, FrozenTrial, dict[str, Any], str]:
    study = _study(GPSampler(seed=0), numeric, 14)
    frozen, params, text = _propose(study, numeric)
    return study, frozen, params, text


def test_gp_states_its_distances_and_prediction_for_its_actual_draw() -> None:
    study, frozen, params, text = _gp_study()
    assert text.startswith("GP drew "), text
    assert _drew(text) == {name: _printed(v) for name, v in params.items()}
    found = re.search(
        r"(\d\.\d\d) from the best trial #(\d+), (\d\.\d\d) from the nearest finished trial"
        r" #(\d+)",
        text,
    )
    assert found, text
    done = study.get_trials(states=(TrialState.COMPLETE,))
    dists = study.trials[0].distributions

    def rms(t: FrozenTrial) -> float:
        return math.sqrt(
            sum((_unit(d, params[n]) - _unit(d, t.params[n])) ** 2 for n, d in dists.items())
            / len(dists)
        )

    assert int(found[2]) == study.best_trial.number
    assert float(found[1]) == pytest.approx(rms(study.best_trial), abs=0.006)
    nearest = min(done, key=rms)
    assert float(found[3]) == pytest.approx(rms(nearest), abs=0.006)
    assert float(found[3]) <= float(found[1])
    predicted = re.search(
        rf"GP predicts ({NUMBER}) ± ({NUMBER}) there against the best ({NUMBER}): expected"
        r" improvement from the (predicted mean \(exploiting\)|uncertainty \(exploring\))",
        text,
    )
    assert predicted, text
    assert float(predicted[3]) == float(format(study.best_value, ".4g"))
    assert float(predicted[2]) >= 0
    if "exploiting" in predicted[4]:  # EI from the mean: the mean beats the best (minimizing)
        assert float(predicted[1]) < study.best_value
    assert frozen.state == TrialState.RUNNING


def test_gp_model_read_is_the_fitted_one() -> None:
    # At a finished trial's own configuration the model GP fitted predicts about its value:
    # the standardisation, the sign and the units are read back right.
    study, _, _, _ = _gp_study()
    space = study.trials[0].distributions
    values = [t.value for t in study.get_trials(states=(TrialState.COMPLETE,))]
    spread = max(values) - min(values)  # type: ignore[type-var, operator]
    for t in (study.best_trial, study.trials[3]):
        view = gp_view(study.sampler, study, space, t.params)
        assert view is not None
        assert view.best == pytest.approx(study.best_value)
        assert view.mean == pytest.approx(t.value, abs=0.05 * spread)
        assert view.std < 0.2 * spread


def test_gp_without_its_model_claims_no_expected_improvement(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = _study(GPSampler(seed=0), numeric, 14)
    trial = study.ask()
    numeric(trial)
    frozen = study._storage.get_trial(trial._trial_id)
    # a model fitted on other trials (here: none kept) is not read
    study.sampler._gprs_cache_list = None  # type: ignore[attr-defined]
    text = explain(study.sampler, study, frozen, trial.params)
    assert "from the best trial" in text
    assert "expected improvement" not in text
    assert "predicts" not in text
    # Optuna internals that differ: no claim either, and one warning
    import optuna._gp.search_space as gp_search_space

    def moved(*args: Any, **kwargs: Any) -> Any:
        raise AttributeError("SearchSpace moved")

    monkeypatch.setattr(gp_search_space, "SearchSpace", moved)
    monkeypatch.setattr(explain_module, "_warned", set())
    study.sampler._gprs_cache_list = [object()]  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="agenthpo"):
        first = explain(study.sampler, study, frozen, trial.params)
        second = explain(study.sampler, study, frozen, trial.params)
    assert "expected improvement" not in first
    assert first == second
    assert first.startswith("GP drew ")
    warnings = [r for r in caplog.records if "GP's fitted model" in r.getMessage()]
    assert len(warnings) == 1


# -- CMA-ES ------------------------------------------------------------------------------------
def test_cmaes_states_the_mean_and_step_size_its_draw_came_from() -> None:
    sampler = CmaEsSampler(seed=0)
    study = _study(sampler, numeric, 8)
    closed_a_generation = 0
    for _ in range(10):
        frozen, params, text = _propose(study, numeric)
        found = re.match(
            rf"CMA-ES, generation (\d+): mean x ({NUMBER}), y ({NUMBER}), step size sigma"
            rf" ({NUMBER}) \(a fraction of each range\); it drew ",
            text,
        )
        assert found, text
        assert _drew(text) == {name: _printed(v) for name, v in params.items()}
        # the optimizer Optuna stored: on this trial when its proposal closed a generation
        completed = study.get_trials(states=(TrialState.COMPLETE,))
        optimizer = sampler._restore_optimizer([*completed, frozen])
        assert optimizer is not None
        if any(key.startswith("cma:optimizer") for key in frozen.system_attrs):
            closed_a_generation += 1
        assert int(found[1]) == optimizer.generation == frozen.system_attrs["cma:generation"]
        from optuna._transform import _SearchSpaceTransform

        trans = _SearchSpaceTransform(frozen.distributions, transform_0_1=True)
        mean = trans.untransform(optimizer._mean)
        assert found[2] == _printed(mean["x"])
        assert found[3] == _printed(mean["y"])
        assert float(found[4]) == float(format(optimizer._sigma, ".3g"))
        study.tell(frozen.number, numeric(optuna.trial.FixedTrial(params)))
    assert closed_a_generation >= 1  # the state read was the fresh one, not the last stored


def test_cmaes_says_categoricals_are_drawn_at_random() -> None:
    study = _study(CmaEsSampler(seed=0, warn_independent_sampling=False), mixed, 4)
    _, params, text = _propose(study, mixed)
    assert text.startswith("CMA-ES, generation 0: mean ")
    assert "opt drawn at random" in text
    assert _drew(text) == {name: _printed(v) for name, v in params.items()}


def test_the_centaur_note_reads_the_same_state() -> None:
    from agenthpo.llm import RandomLLM
    from agenthpo.sampler import AgentSampler

    study = _study(CmaEsSampler(seed=0), numeric, 14)
    state = cmaes_state(study.sampler, study)
    assert state is not None
    centaur = AgentSampler(llm=RandomLLM(), backbone=study.sampler, policy="centaur")
    assert state.describe() in centaur._own.note(study, {"x": 1.0})
    assert state.describe().startswith(
        f"Its search distribution after generation {state.generation}"
    )


# -- the backbone ------------------------------------------------------------------------------
def test_a_backbone_is_explained_by_its_member_of_the_trial() -> None:
    backbone = Backbone(seed=0)
    study = _study(backbone, numeric, 11)
    assert study.trials[0].user_attrs[_keys.BACKBONE_MEMBER] == "gp"
    frozen, params, text = _propose(study, numeric)
    assert backbone.chosen(frozen.number) == "gp"
    assert text.startswith("GP drew ")
    assert _drew(text) == {name: _printed(v) for name, v in params.items()}

    def conditional(trial: optuna.Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b"])
        x = trial.suggest_float(f"x_{kind}", 0, 1)
        return x

    study = optuna.create_study(sampler=Backbone(seed=0))
    study.enqueue_trial({"kind": "a", "x_a": 0.5})
    study.enqueue_trial({"kind": "b", "x_b": 0.5})
    study.optimize(conditional, n_trials=4)
    _, _, text = _propose(study, conditional)
    assert study.trials[-1].user_attrs[_keys.BACKBONE_MEMBER] == "tpe"
    assert text == "TPE draws at random until 10 trials have finished (4 so far)"


def test_distance_is_the_unit_cube_rms() -> None:
    space: dict[str, BaseDistribution] = {
        "lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True),
        "kind": CategoricalDistribution(["a", "b"]),
    }
    assert distance(space, {"lr": 1e-4, "kind": "a"}, {"lr": 1e-3, "kind": "a"}) == (
        pytest.approx(math.sqrt(0.25 / 2))
    )
    assert distance(space, {"lr": 1e-3, "kind": "a"}, {"lr": 1e-3, "kind": "b"}) == (
        pytest.approx(math.sqrt(0.5))
    )


# -- classical strategies through the tuner ----------------------------------------------------
@pytest.mark.parametrize("strategy", ["tpe", "cmaes"])
def test_classical_strategies_store_the_explanation(
    quadratic_task: Task, tmp_path: Path, strategy: str
) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    Tuner(quadratic_task, storage=storage, strategy=strategy, n_trials=12, seed=0).run()
    trials = optuna.load_study(study_name="quad", storage=storage).trials
    said = [t.user_attrs[_keys.RATIONALE] for t in trials]
    if strategy == "tpe":
        assert said[:10] == [
            f"TPE draws at random until 10 trials have finished ({k} so far)" for k in range(10)
        ]
        assert said[10].startswith("TPE: the best 1 of 10 finished trials have ")
        assert said[11].startswith("TPE: the best 2 of 11 finished trials have ")
    else:
        assert said[0] == "CMA-ES draws at random until 1 trial has finished (0 so far)"
        assert all(s.startswith("CMA-ES, generation ") for s in said[1:]), said
        assert all("kind drawn at random" in s for s in said[1:])
    for t, text in zip(trials[1:], said[1:], strict=True):
        if "drew " in text:
            assert _drew(text) == {name: _printed(v) for name, v in t.params.items()}


def test_an_asked_trial_of_a_classical_strategy_is_explained(
    quadratic_task: Task, tmp_path: Path
) -> None:
    tuner = Tuner(quadratic_task, storage=f"sqlite:///{tmp_path / 's.db'}", strategy="tpe")
    event = tuner.ask()
    assert (
        event.attrs[_keys.RATIONALE]
        == "TPE draws at random until 10 trials have finished (0 so far)"
    )
