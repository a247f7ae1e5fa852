"""Every function of ``agenthpo/_optuna.py`` against the installed Optuna.

``make test`` runs these in the main environment (the newest Optuna) and again in
``.venv-optuna-oldest/`` (the oldest Optuna the project supports), so a change in the Optuna
internals they wrap fails here, by name, rather than somewhere in a study.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import CmaEsSampler, GPSampler, RandomSampler, TPESampler
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from agenthpo import _optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _quadratic(trial: optuna.Trial) -> float:
    return (trial.suggest_float("x", -5, 5) - 1) ** 2 + (trial.suggest_float("y", -5, 5)) ** 2


# -- studies, trials and their storage ----------------------------------------------------------
def test_storage_ids_and_trial_attributes(tmp_path: Path) -> None:
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path}/s.db")
    running = study.ask()
    frozen = study.trials[0]
    storage = _optuna.storage_of(study)

    assert _optuna.study_id(study) == storage.get_study_id_from_name("s")
    assert _optuna.trial_id(running) == _optuna.trial_id(frozen)
    assert _optuna.trial_id(frozen) == storage.get_trial_id_from_study_id_trial_number(
        _optuna.study_id(study), 0
    )
    # a second handle on the same study, through its storage
    again = optuna.load_study(study_name="s", storage=storage)
    assert [t.number for t in again.trials] == [0]

    _optuna.set_trial_user_attr(study, frozen, "who", "me")
    _optuna.set_trial_system_attr(study, frozen, "agenthpo:x", {"a": [1, 2]})
    stored = _optuna.stored_trial(study, running)
    assert stored.user_attrs == {"who": "me"}
    assert stored.system_attrs["agenthpo:x"] == {"a": [1, 2]}
    assert frozen.user_attrs == {}  # the frozen copy itself is untouched

    handle = _optuna.trial_handle(study, frozen)
    handle.report(0.5, step=0)
    handle.set_user_attr("via", "handle")
    study.tell(handle, 1.0)
    done = _optuna.stored_trial(study, frozen)
    assert done.state == TrialState.COMPLETE
    assert done.intermediate_values == {0: 0.5}
    assert done.user_attrs == {"who": "me", "via": "handle"}


def test_a_rewritten_journal_is_read_from_its_start_again(tmp_path: Path) -> None:
    path = tmp_path / "j.log"
    backend = JournalFileBackend(str(path))
    storage = JournalStorage(backend)
    study = optuna.create_study(storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    logs = list(backend.read_logs(0))
    assert len(logs) > 4
    # rewrite the file with its first entry padded: every later entry moves
    lines = path.read_bytes().splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps(first, indent=None, separators=(", ", ":  ")).encode()
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    _optuna.journal_forget_read_offsets(backend)
    assert list(backend.read_logs(4)) == logs[4:]


# -- distributions and the search-space transform ------------------------------------------------
def test_contains() -> None:
    assert _optuna.contains(IntDistribution(0, 10, step=2), 4)
    assert not _optuna.contains(IntDistribution(0, 10, step=2), 5)
    assert not _optuna.contains(FloatDistribution(0.1, 1.0, log=True), 2.0)
    assert _optuna.contains(FloatDistribution(0.1, 1.0, log=True), 0.5)
    assert _optuna.contains(CategoricalDistribution(["a", "b"]), "b")


def test_uniform_draw_is_in_range_and_reproducible() -> None:
    space = {
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
        "n": IntDistribution(2, 64, step=2),
        "kind": CategoricalDistribution(["a", "b", "c"]),
    }
    draws = [_optuna.uniform_draw(space, np.random.RandomState(seed)) for seed in range(20)]
    assert draws[3] == _optuna.uniform_draw(space, np.random.RandomState(3))
    for draw in draws:
        assert set(draw) == set(space)
        assert 1e-4 <= draw["lr"] <= 1e-1
        assert 2 <= draw["n"] <= 64
        assert int(draw["n"]) % 2 == 0
        assert draw["kind"] in ("a", "b", "c")
    assert len({d["kind"] for d in draws}) > 1


# -- samplers' state -----------------------------------------------------------------------------
def test_n_startup_trials() -> None:
    assert _optuna.n_startup_trials(TPESampler(n_startup_trials=7), 10) == 7
    assert _optuna.n_startup_trials(GPSampler(n_startup_trials=4), 10) == 4
    assert _optuna.n_startup_trials(CmaEsSampler(n_startup_trials=3), 1) == 3
    assert _optuna.n_startup_trials(RandomSampler(), 10) == 10


@pytest.mark.parametrize("cls", [TPESampler, RandomSampler, CmaEsSampler])
def test_reseeding_replays_the_draws(cls: type[optuna.samplers.BaseSampler]) -> None:
    def draws(seed: int) -> list[dict[str, Any]]:
        sampler = cls(seed=123)
        study = optuna.create_study(sampler=sampler)
        out = []
        for number in range(12):
            _optuna.reseed_random_states(sampler, seed * 1000 + number)
            trial = study.ask()
            value = _quadratic(trial)
            study.tell(trial, value)
            out.append(trial.params)
        return out

    first = draws(5)
    assert draws(5) == first
    assert draws(6) != first
    assert len({json.dumps(p) for p in first}) == 12


# -- TPE -------------------------------------------------------------------------------------
def test_tpe_split_and_acquisition() -> None:
    sampler = TPESampler(seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_quadratic, n_trials=20)
    below, above = _optuna.tpe_split(sampler, study, study.trials)
    assert (len(below), len(above)) == (2, 18)
    assert max(t.value for t in below) <= min(t.value for t in above)  # type: ignore[type-var]

    space = {"x": FloatDistribution(-5, 5), "y": FloatDistribution(-5, 5)}
    best = study.best_params
    worst = max(study.trials, key=lambda t: t.value or 0.0).params
    good, bad = _optuna.tpe_acquisition(sampler, study, space, below, above, [best, worst])
    assert good > bad

    assert _optuna.tpe_constant_liar(TPESampler(constant_liar=True))
    assert not _optuna.tpe_constant_liar(TPESampler(constant_liar=False))


def test_tpe_split_puts_running_trials_with_the_rest() -> None:
    sampler = TPESampler(seed=0, constant_liar=True)
    study = optuna.create_study(sampler=sampler, directions=["minimize", "minimize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), 12)
    study.ask()
    below, above = _optuna.tpe_split(sampler, study, study.trials)
    assert len(below) + len(above) == 13
    assert all(t.state != TrialState.RUNNING for t in below)
    assert any(t.state == TrialState.RUNNING for t in above)


# -- GP --------------------------------------------------------------------------------------
class _Recording(_optuna.GPSamplerWithAcquisition):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[tuple[Any, float | None]] = []

    def on_acquisition(self, acqf: Any, own: float | None) -> None:
        self.seen.append((acqf, own))


def test_gp_hands_over_its_acquisition_and_model() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    sampler = _Recording(seed=0, n_startup_trials=5)
    plain = GPSampler(seed=0, n_startup_trials=5)
    study = optuna.create_study(sampler=sampler)
    twin = optuna.create_study(sampler=plain)
    study.optimize(_quadratic, n_trials=8)
    twin.optimize(_quadratic, n_trials=8)
    # the hook sees each model-based draw and changes none of them
    assert [t.params for t in study.trials] == [t.params for t in twin.trials]
    assert len(sampler.seen) == 3
    acqf, own = sampler.seen[-1]
    assert isinstance(own, float)
    drawn = study.trials[-1].params
    rated = _optuna.gp_acquisition(acqf, drawn)
    assert rated == pytest.approx(own, abs=1e-6)
    assert _optuna.gp_acquisition(acqf, {"x": 0.0}) is None  # y missing
    predicted = _optuna.gp_posterior(acqf, drawn)
    assert predicted is not None
    assert predicted[1] >= 0.0
    assert _optuna.gp_posterior(acqf, {"x": 0.0}) is None

    # the model GP holds was fitted on the trials that had finished when it last drew
    space = {"x": FloatDistribution(-5, 5), "y": FloatDistribution(-5, 5)}
    completed = study.get_trials(states=(TrialState.COMPLETE,))
    assert _optuna.gp_last_model(sampler, space, completed) is None  # one trial more
    model = _optuna.gp_last_model(sampler, space, completed[:-1])
    assert model is not None
    assert model.y_train().shape == (7,)
    mean, var = model.posterior({"x": 1.0, "y": 0.0})
    assert np.isfinite(mean)
    assert var >= 0.0
    assert _optuna.gp_last_model(GPSampler(), space, completed) is None  # no model yet


def test_gp_loo_rank_correlation_tells_a_model_that_ranks_from_one_that_guesses() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    assert _optuna.gp_loo_rank_correlation(GPSampler()) is None  # no model yet
    smooth = GPSampler(seed=0, n_startup_trials=8)
    optuna.create_study(sampler=smooth).optimize(_quadratic, n_trials=20)
    rank = _optuna.gp_loo_rank_correlation(smooth)
    assert rank is not None
    assert rank > 0.8
    noise = np.random.RandomState(0)
    guessing = GPSampler(seed=0, n_startup_trials=8)
    optuna.create_study(sampler=guessing).optimize(
        lambda t: 0 * t.suggest_float("x", -5, 5) + noise.normal(), n_trials=20
    )
    rank = _optuna.gp_loo_rank_correlation(guessing)
    assert rank is not None
    assert rank < 0.6


class _Ranked(_optuna.GPSamplerWithAcquisition):
    """Fits the ranks of the scores (0 the worst) instead of the scores."""

    def fit_scores(self, scores: np.ndarray) -> np.ndarray:
        return np.argsort(np.argsort(scores, axis=0), axis=0).astype(float)


def test_gp_fits_the_scores_fit_scores_makes() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    sampler = _Ranked(seed=0, n_startup_trials=5)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_quadratic, n_trials=8)
    space = {"x": FloatDistribution(-5, 5), "y": FloatDistribution(-5, 5)}
    fitted = study.get_trials(states=(TrialState.COMPLETE,))[:-1]
    model = _optuna.gp_last_model(sampler, space, fitted)
    assert model is not None
    # minimized values: rank 0 is the largest value; GP standardizes what it fits
    ranks = np.argsort(np.argsort(-np.array([t.value for t in fitted])))
    expected = (ranks - ranks.mean()) / ranks.std()
    assert model.y_train() == pytest.approx(expected, abs=1e-6)
    # the study's trials keep their own values: GP fitted copies
    assert [t.value for t in fitted] == [_quadratic_value(t.params) for t in fitted]


def _quadratic_value(params: dict[str, Any]) -> float:
    return float((params["x"] - 1) ** 2 + params["y"] ** 2)


def test_with_fitted_values_copies_only_when_the_scores_change() -> None:
    study = optuna.create_study(directions=["minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 10 * t.params["x"]), n_trials=4)
    trials = study.get_trials()
    same = _optuna.with_fitted_values(_optuna.GPSamplerWithAcquisition(), study, trials)
    assert same is trials
    got = _optuna.with_fitted_values(_Ranked(), study, trials)
    # scores are higher-is-better per objective, the values come back in the study's
    # directions: the smallest x ranks best on the first objective and worst on the second
    rank_of_x = np.argsort(np.argsort([t.params["x"] for t in trials]))
    assert [g.values[0] for g in got] == [float(r) - 3 for r in rank_of_x]
    assert [g.values[1] for g in got] == [float(r) for r in rank_of_x]
    assert [t.values[1] for t in trials] == [10 * t.params["x"] for t in trials]

    class Wrong(_optuna.GPSamplerWithAcquisition):
        def fit_scores(self, scores: np.ndarray) -> np.ndarray:
            return scores[:1]

    with pytest.raises(ValueError, match="shape"):
        _optuna.with_fitted_values(Wrong(), study, trials)


# -- CMA-ES ----------------------------------------------------------------------------------
def test_cmaes_trials_and_distribution() -> None:
    sampler = CmaEsSampler(seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_quadratic, n_trials=14)
    trials = _optuna.cmaes_trials(sampler, study)
    assert [t.number for t in trials] == list(range(14))
    space = sampler.infer_relative_search_space(study, trials[-1])
    assert set(space) == {"x", "y"}

    found = _optuna.cmaes_distribution(sampler, study, space, trials, initial=False)
    assert found is not None
    generation, mean, sigma = found
    assert generation >= 1
    assert set(mean) == {"x", "y"}
    assert all(-5 <= v <= 5 for v in mean.values())
    assert 0 < sigma < 1

    assert _optuna.cmaes_distribution(sampler, study, space, [], initial=False) is None
    fresh = CmaEsSampler(seed=0)
    first = optuna.create_study(sampler=CmaEsSampler(seed=0))
    first.optimize(_quadratic, n_trials=3)
    start = _optuna.cmaes_distribution(fresh, study, space, [], initial=True)
    assert start is not None
    assert start[0] == 0
    # reading the initial distribution leaves the sampler's seed stream as it was
    second = optuna.create_study(sampler=fresh)
    second.optimize(_quadratic, n_trials=3)
    assert [t.params for t in second.trials] == [t.params for t in first.trials]
