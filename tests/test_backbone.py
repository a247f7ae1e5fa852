"""The backbone sampler and the ``auto`` baseline: who serves each trial, and when it switches."""

from __future__ import annotations

import logging
import math
import statistics

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from agenthpo import backbone as backbone_module
from agenthpo._seeding import seeded_per_trial
from agenthpo.backbone import (
    Backbone,
    BackboneOptions,
    auto_sampler,
    study_shape,
    warp_scores,
)
from agenthpo.strategies import make_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def numeric(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    y = trial.suggest_float("y", 1e-3, 1.0, log=True)
    return (x - 1) ** 2 + math.log(y) ** 2


def mixed(trial: optuna.Trial) -> float:
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return numeric(trial) + (0.0 if kind == "a" else 1.0)


def conditional(trial: optuna.Trial) -> float:
    kind = trial.suggest_categorical("kind", ["a", "b"])
    if kind == "b":
        return trial.suggest_int("k", 1, 5) + numeric(trial)
    return numeric(trial)


def members(study: optuna.Study) -> list[str]:
    return [t.user_attrs.get("backbone_member", "added") for t in study.trials]


def test_a_fixed_numeric_space_is_gps_study_trial_for_trial() -> None:
    # With GP's own start-up (10 random trials) and its values as they are, the backbone
    # adds nothing to GP: the default's shorter Sobol start-up and tail warping are the
    # differences
    plain_gp = BackboneOptions(startup="random", startup_trials=10, warping="none")
    ours = optuna.create_study(sampler=Backbone(seed=3, options=plain_gp))
    ours.optimize(numeric, n_trials=14)
    plain = optuna.create_study(sampler=seeded_per_trial(optuna.samplers.GPSampler, 3))
    plain.optimize(numeric, n_trials=14)
    assert members(ours) == ["gp"] * 14
    assert [t.params for t in ours.trials] == [t.params for t in plain.trials]


def test_the_start_up_is_a_sobol_sequence_after_one_random_trial() -> None:
    study = optuna.create_study(sampler=Backbone(seed=3))
    study.optimize(numeric, n_trials=7)
    assert members(study) == ["gp"] + ["sobol"] * 4 + ["gp"] * 2
    # Sobol points of 2 dimensions spread over the space: every half of x's range holds
    # two of the 4 first points, every quarter one (a random sample of 4 often misses one)
    xs = [t.params["x"] for t in study.trials[1:5]]
    assert sorted(int((x + 5) // 2.5) for x in xs) == [0, 1, 2, 3]
    again = optuna.create_study(sampler=Backbone(seed=3))
    again.optimize(numeric, n_trials=7)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]


def test_categorical_parameters_stay_with_gp() -> None:
    study = optuna.create_study(sampler=Backbone(seed=0))
    study.optimize(mixed, n_trials=12)
    assert set(members(study)) == {"gp", "sobol"}
    assert members(study)[10:] == ["gp"] * 2


def test_conditional_parameters_hand_over_to_tpe() -> None:
    study = optuna.create_study(sampler=Backbone(seed=0))
    study.optimize(conditional, n_trials=12)
    got = members(study)
    assert study_shape(study).conditional
    first_mixed = next(
        i for i in range(1, 12) if {t.params.get("kind") for t in study.trials[:i]} == {"a", "b"}
    )
    assert got[first_mixed + 1 :] == ["tpe"] * (11 - first_mixed)


def test_several_objectives_go_to_tpe() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=Backbone(seed=0))
    study.optimize(lambda t: (numeric(t), t.params["x"] ** 2), n_trials=4)
    assert set(members(study)) == {"tpe"}


def _prefill(study: optuna.Study, n: int) -> None:
    space = {"x": FloatDistribution(-5, 5), "y": FloatDistribution(1e-3, 1.0, log=True)}
    for i in range(n):
        params = {"x": -5 + 10 * i / n, "y": 0.5}
        study.add_trial(create_trial(params=params, distributions=space, value=float(i)))


def test_gp_hands_over_to_warm_started_cmaes_after_its_trial_limit() -> None:
    sampler = Backbone(seed=0, options=BackboneOptions(gp_max_trials=12))
    study = optuna.create_study(sampler=sampler)
    _prefill(study, 12)
    study.optimize(numeric, n_trials=3)
    assert members(study)[12:] == ["cmaes"] * 3
    assert sampler.retired_because() == "cmaes"
    cmaes = sampler.member("cmaes")
    assert len(cmaes._source_trials or []) >= 12  # warm-started from what GP found


def test_with_categoricals_gp_hands_over_to_tpe() -> None:
    sampler = Backbone(seed=0, options=BackboneOptions(gp_max_trials=12))
    study = optuna.create_study(sampler=sampler)
    study.optimize(mixed, n_trials=15)
    assert members(study) == ["gp"] + ["sobol"] * 4 + ["gp"] * 7 + ["tpe"] * 3


def test_a_slow_gp_hands_over(caplog: pytest.LogCaptureFixture) -> None:
    # Every GP proposal is "too slow" against a zero allowance: after `slow_trials` model-based
    # proposals (the 5 start-up trials are Sobol draws, not timed), GP retires.
    options = BackboneOptions(max_wait_s=0.0, max_wait_share=0.0, slow_trials=2)
    study = optuna.create_study(sampler=Backbone(seed=0, options=options))
    with caplog.at_level(logging.INFO, logger="agenthpo"):
        study.optimize(numeric, n_trials=15)
    assert members(study)[5:7] == ["gp"] * 2
    assert members(study)[7:] == ["cmaes"] * 8
    assert "GP took" in caplog.text


def test_a_generous_allowance_keeps_gp() -> None:
    options = BackboneOptions(max_wait_s=600.0, slow_trials=1)
    study = optuna.create_study(sampler=Backbone(seed=0, options=options))
    study.optimize(numeric, n_trials=13)
    assert members(study)[10:] == ["gp"] * 3


def test_without_torch_tpe_proposes_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(backbone_module, "_has_torch", lambda: False)
    study = optuna.create_study(sampler=Backbone(seed=0))
    with caplog.at_level(logging.WARNING, logger="agenthpo"):
        study.optimize(numeric, n_trials=3)
    assert set(members(study)) == {"tpe"}
    assert caplog.text.count("needs PyTorch") == 1


def test_parallel_workers_each_trial_has_its_member() -> None:
    study = optuna.create_study(sampler=Backbone(seed=0))
    study.optimize(mixed, n_trials=14, n_jobs=2)
    assert len(study.trials) == 14
    assert all(t.user_attrs.get("backbone_member") in ("gp", "sobol") for t in study.trials)


@pytest.mark.parametrize(
    ("objective", "directions", "expected"),
    [
        (numeric, ["minimize"], "gp"),
        (mixed, ["minimize"], "tpe"),
        (conditional, ["minimize"], "tpe"),
    ],
)
def test_auto_follows_autosamplers_rule(objective, directions, expected) -> None:  # type: ignore[no-untyped-def]
    study = optuna.create_study(directions=directions, sampler=auto_sampler(seed=0))
    study.optimize(objective, n_trials=4)
    assert members(study)[2:] == [expected] * 2


def test_auto_several_objectives_and_long_runs() -> None:
    two = optuna.create_study(directions=["minimize"] * 2, sampler=auto_sampler(seed=0))
    two.optimize(lambda t: (numeric(t), t.params["x"]), n_trials=2)
    assert set(members(two)) == {"nsga2"}
    four = optuna.create_study(directions=["minimize"] * 4, sampler=auto_sampler(seed=0))
    four.optimize(lambda t: (numeric(t),) * 4, n_trials=2)
    assert set(members(four)) == {"nsga3"}
    long = optuna.create_study(sampler=auto_sampler(seed=0))
    _prefill(long, 250)
    long.optimize(numeric, n_trials=2)
    assert members(long)[250:] == ["cmaes"] * 2


def test_strategies_name_the_backbone_and_auto() -> None:
    assert isinstance(make_sampler("backbone", seed=0), Backbone)
    assert type(make_sampler("auto", seed=0)).__name__ == "_Auto"


def test_options_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="slow_trials"):
        BackboneOptions(slow_trials=0)
    with pytest.raises(ValueError, match="max_wait"):
        BackboneOptions(max_wait_s=-1)
    with pytest.raises(ValueError, match="min_loo_rank"):
        BackboneOptions(min_loo_rank=1.5)
    with pytest.raises(ValueError, match="poor_fit"):
        BackboneOptions(poor_fit="cmaes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="warping"):
        BackboneOptions(warping="log")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gp_threads"):
        BackboneOptions(gp_threads=0)


def _threads_gp_saw(options: BackboneOptions, user_threads: int, fail: bool = False) -> list[int]:
    """Torch's thread count inside each of GP's proposals, the user's set at ``user_threads``
    (restored after); the count after the study is checked against the user's."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(user_threads)
    try:
        sampler = Backbone(seed=0, options=options)
        study = optuna.create_study(sampler=sampler)
        study.optimize(numeric, n_trials=5)  # the start-up: GP not built yet
        gp = sampler.member("gp")
        own = gp.sample_relative
        seen: list[int] = []

        def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(torch.get_num_threads())
            if fail:
                raise RuntimeError("GP failed")
            return own(*args, **kwargs)

        gp.sample_relative = watched  # type: ignore[method-assign]
        if fail:
            with pytest.raises(RuntimeError, match="GP failed"):
                study.optimize(numeric, n_trials=1)
        else:
            study.optimize(numeric, n_trials=2)
        assert torch.get_num_threads() == user_threads
        return seen
    finally:
        torch.set_num_threads(before)


def test_gp_proposes_on_its_own_thread_count_and_restores_the_users() -> None:
    assert _threads_gp_saw(BackboneOptions(), user_threads=2) == [1, 1]
    assert _threads_gp_saw(BackboneOptions(gp_threads=3), user_threads=2) == [3, 3]
    assert _threads_gp_saw(BackboneOptions(gp_threads=None), user_threads=2) == [2, 2]


def test_a_failing_proposal_still_restores_the_users_thread_count() -> None:
    assert _threads_gp_saw(BackboneOptions(), user_threads=2, fail=True) == [1]


@pytest.mark.parametrize("kind", ["rank", "half-rank", "tail", "tail-quartile"])
def test_warped_scores_keep_the_order_and_tame_an_outlier(kind: str) -> None:
    rng = np.random.default_rng(0)
    scores = np.column_stack([rng.normal(size=12), rng.normal(size=12)])
    scores[3, 0] = -1e6  # one disastrous trial on the first objective
    scores[5, 1] = scores[7, 1]  # a tie on the second
    warped = warp_scores(scores, kind)
    assert warped.shape == scores.shape
    for j in range(2):
        for a in range(12):
            for b in range(12):
                if scores[a, j] < scores[b, j]:
                    assert warped[a, j] < warped[b, j]
                elif scores[a, j] == scores[b, j]:
                    assert warped[a, j] == warped[b, j]
    # the disastrous trial no longer dwarfs the spread of the others
    others = np.delete(warped[:, 0], 3)
    assert others.max() - warped[3, 0] < 20 * (others.max() - others.min())


def test_warpings_differ_as_documented() -> None:
    scores = np.array([[1.0], [2.0], [3.0], [4.0], [-100.0]])
    assert warp_scores(scores, "none") is scores
    ranked = warp_scores(scores, "rank").ravel()
    # ranks 2, 3, 4, 5, 1 of 5: the normal quantiles of 0.3, 0.5, 0.7, 0.9 and 0.1
    quantile = statistics.NormalDist().inv_cdf
    assert ranked == pytest.approx([quantile(q) for q in (0.3, 0.5, 0.7, 0.9, 0.1)])
    # the scale does not matter to ranks, only the order
    assert warp_scores(scores * 7 + 3, "rank") == pytest.approx(warp_scores(scores, "rank"))
    tail = warp_scores(scores, "tail").ravel()
    # the median (2) and better stay; below it, in units of the better half's mean distance
    # to the median (1.5), the distances are compressed logarithmically
    assert list(tail[1:4]) == [2.0, 3.0, 4.0]
    assert tail[0] == pytest.approx(2.0 - 1.5 * math.log1p(1.0 / 1.5))
    assert tail[4] == pytest.approx(2.0 - 1.5 * math.log1p(102.0 / 1.5))
    # the lower quartile (1) is the pivot: only the disaster is compressed, in units of the
    # mean distance of the values above it to it (2)
    quartile = warp_scores(scores, "tail-quartile").ravel()
    assert list(quartile[:4]) == [1.0, 2.0, 3.0, 4.0]
    assert quartile[4] == pytest.approx(1.0 - 2.0 * math.log1p(101.0 / 2.0))
    half = warp_scores(scores, "half-rank").ravel()
    standardized = (scores.ravel() - scores.mean()) / scores.std()
    assert half == pytest.approx(0.5 * standardized + 0.5 * ranked)


def test_gp_hands_a_trial_to_tpe_when_its_model_ranks_the_trials_poorly() -> None:
    pytest.importorskip("torch")
    options = BackboneOptions(min_loo_rank=0.6)
    smooth = optuna.create_study(sampler=Backbone(seed=0, options=options))
    smooth.optimize(numeric, n_trials=16)
    assert members(smooth)[10:] == ["gp"] * 6
    noise = np.random.RandomState(0)

    def guess(trial: optuna.Trial) -> float:
        return 0 * trial.suggest_float("x", -5, 5) + float(noise.normal())

    guessing = optuna.create_study(sampler=Backbone(seed=0, options=options))
    guessing.optimize(guess, n_trials=16)
    handed = [t for t in guessing.trials[10:] if t.user_attrs["backbone_member"] == "tpe"]
    assert len(handed) >= 4
    assert all(-5 <= t.params["x"] <= 5 for t in handed)
    # without the floor GP keeps every trial
    plain = optuna.create_study(sampler=Backbone(seed=0))
    noise = np.random.RandomState(0)
    plain.optimize(guess, n_trials=16)
    assert members(plain)[10:] == ["gp"] * 6


@pytest.mark.parametrize("loo_rank", [-1.0, 1.0])
def test_a_poor_fit_is_refitted_on_rank_scores(
    monkeypatch: pytest.MonkeyPatch, loo_rank: float
) -> None:
    pytest.importorskip("torch")
    from agenthpo import _optuna

    monkeypatch.setattr(_optuna, "gp_loo_rank_correlation", lambda sampler: loo_rank)
    options = BackboneOptions(min_loo_rank=0.6, poor_fit="rank")
    study = optuna.create_study(sampler=Backbone(seed=0, options=options))
    study.optimize(numeric, n_trials=13)
    assert members(study)[10:] == ["gp"] * 3
    gp = study.sampler.member("gp")  # type: ignore[attr-defined]
    assert gp.warping == "tail"  # the refit is for the trial only
    space = {"x": FloatDistribution(-5, 5), "y": FloatDistribution(1e-3, 1.0, log=True)}
    fitted = study.trials[:-1]
    model = _optuna.gp_last_model(gp, space, fitted)
    assert model is not None
    scores = -np.array([[t.value] for t in fitted])
    expected = warp_scores(scores, "rank" if loo_rank < 0.6 else "tail").ravel()
    expected = (expected - expected.mean()) / expected.std()
    assert model.y_train() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("kind", ["rank", "half-rank", "tail", "tail-quartile"])
def test_a_huge_start_up_outlier_no_longer_sends_gp_away(kind: str) -> None:
    pytest.importorskip("torch")
    space = {"x": FloatDistribution(0, 1), "y": FloatDistribution(0, 1)}

    def bowl(x: float, y: float) -> float:
        return (x - 0.35) ** 2 + (y - 0.6) ** 2

    def first_proposal(warping: str) -> dict[str, float]:
        sampler = Backbone(seed=0, options=BackboneOptions(warping=warping))  # type: ignore[arg-type]
        study = optuna.create_study(sampler=sampler)
        grid = [0.05, 0.35, 0.65, 0.95]
        for x in grid:
            for y in grid:
                spoiled = 1000.0 if (x, y) == (0.95, 0.05) else 0.0
                study.add_trial(
                    create_trial(
                        params={"x": x, "y": y}, distributions=space, value=bowl(x, y) + spoiled
                    )
                )
        return study.ask(space).params

    plain = first_proposal("none")
    warped = first_proposal(kind)
    # unwarped, the outlier sets GP's scale and it proposes far from the good trials
    assert bowl(**plain) > 0.1
    assert bowl(**warped) < 0.05
    assert all(1e-6 < v < 1 - 1e-6 for v in warped.values())  # not on a bound


def test_the_portfolio_shares_trials_between_gp_and_tpe_by_payoff() -> None:
    import optuna

    from agenthpo.backbone import Backbone, BackboneOptions

    def f(t: optuna.Trial) -> float:
        return (t.suggest_float("x", -3, 3) - 1) ** 2 + (t.suggest_int("k", 0, 8) - 2) ** 2

    def members(seed: int) -> list[str]:
        study = optuna.create_study(
            sampler=Backbone(seed=seed, options=BackboneOptions(portfolio=True))
        )
        study.optimize(f, n_trials=22)
        return [t.user_attrs["backbone_member"] for t in study.trials]

    chosen = members(0)
    assert chosen[1:5] == ["sobol"] * 4  # the start-up is unchanged
    after = chosen[5:]
    assert set(after) == {"gp", "tpe"}  # both members get trials after it
    assert members(0) == chosen  # seeded: the same shares again
    assert not BackboneOptions().portfolio  # off by default


def test_threads_can_reseed_while_members_are_built() -> None:
    import threading

    from agenthpo.backbone import Backbone

    backbone = Backbone(seed=0)
    errors: list[BaseException] = []

    def build() -> None:
        for name in ("tpe", "random", "cmaes", "sobol", "nsga2", "nsga3"):
            backbone.member(name)

    def reseed() -> None:
        try:
            for _ in range(2000):
                backbone.reseed_rng()
        except BaseException as exc:  # the race this test guards against
            errors.append(exc)

    threads = [threading.Thread(target=build), threading.Thread(target=reseed)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert backbone.member("tpe") is backbone.member("tpe")  # built once, then shared


@pytest.mark.parametrize("seed", [None, 3])
def test_an_unseeded_backbone_does_not_log_optunas_qmc_seed_warning(
    seed: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    """The Sobol start-up of an unseeded study logged Optuna's "No seed is provided for
    QMCSampler" on every run, in the user's first lines; the start-up still runs."""
    level = optuna.logging.get_verbosity()
    optuna.logging.enable_propagation()
    try:
        with caplog.at_level(logging.WARNING, logger="optuna"):
            study = optuna.create_study(sampler=Backbone(seed=seed))
            study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    finally:
        optuna.logging.disable_propagation()
    assert len(study.trials) == 3
    assert not [r for r in caplog.records if "QMCSampler" in r.getMessage()]
    assert optuna.logging.get_verbosity() == level  # put back


@pytest.mark.parametrize("make", [Backbone, auto_sampler], ids=["backbone", "auto"])
def test_a_trial_that_finishes_while_gp_draws_does_not_break_its_draw(make) -> None:  # type: ignore[no-untyped-def]
    """Optuna infers a trial's search space, then GP reads the finished trials again when it
    draws. Another worker's trial that finished in between without a parameter of that space
    (a conditional space, here ``z``) failed the trial with GP's ``KeyError: 'z'`` and
    ``optimize`` raised it; multivariate TPE now proposes that trial."""
    sampler = make(seed=0)
    study = optuna.create_study(sampler=sampler)
    both = {"x": FloatDistribution(-5, 5), "z": FloatDistribution(0, 1)}
    for i in range(10):  # a fixed space so far: GP serves the next trial
        params = {"x": -5 + i, "z": i / 10}
        study.add_trial(create_trial(params=params, distributions=both, value=float(i)))
    trial = study.ask()
    assert sampler.chosen(trial.number) == "gp"
    frozen = study.trials[trial.number]
    space = sampler.infer_relative_search_space(study, frozen)
    assert set(space) == {"x", "z"}
    # another worker's trial finishes meanwhile, without z and with a new parameter w
    other = {"x": both["x"], "w": FloatDistribution(0, 1)}
    study.add_trial(create_trial(params={"x": 0.5, "w": 0.3}, distributions=other, value=0.0))
    proposal = sampler.sample_relative(study, frozen, space)
    # only the space Optuna holds for the trial: a relative draw outside it fails the trial
    assert set(proposal) <= {"x", "z"}
    assert sampler.chosen(trial.number) == "tpe"
    assert study.trials[trial.number].user_attrs["backbone_member"] == "tpe"
    study.tell(trial, trial.suggest_float("x", -5, 5) + trial.suggest_float("w", 0, 1))
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 12


@pytest.mark.parametrize(("n_jobs", "n_trials"), [(1, 8), (2, 8), (1, 20), (2, 20)])
def test_a_conditional_space_runs_in_parallel_and_serially(n_jobs: int, n_trials: int) -> None:
    """The reported study: with two workers its first trial failed when GP drew it on a
    space that the trials the other worker finished meanwhile did not all have."""

    def objective(trial: optuna.Trial) -> float:
        if trial.suggest_categorical("k", ["a", "b"]) == "a":
            return trial.suggest_float("xa", 0, 1)
        return float(trial.suggest_int("nb", 0, 100))

    study = optuna.create_study(sampler=Backbone(seed=0))
    study.optimize(objective, n_trials=n_trials, n_jobs=n_jobs)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * n_trials
    assert members(study)[-1] == "tpe"


@pytest.mark.parametrize("late", [False, True], ids=["from-the-start", "after-8-trials"])
def test_parameters_drawn_outside_a_members_space_are_said_once_in_our_words(
    late: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A conditional parameter that GP or the Sobol start-up cannot draw with the others is
    drawn at random. Optuna's QMCSampler warned so on each such trial, telling the user to
    set ``warn_independent_sampling`` in a constructor they never call; the backbone says
    it once, on the ``agenthpo`` logger."""

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -3, 3)
        if late and trial.number < 8:
            return x**2
        if trial.suggest_categorical("optimizer", ["sgd", "adam"]) == "sgd":
            return x**2 + trial.suggest_float("momentum", 0.0, 0.99)
        return x**2 + trial.suggest_float("beta", 0.8, 0.999)

    level = optuna.logging.get_verbosity()
    optuna.logging.enable_propagation()
    try:
        # the agenthpo logger's own level too: a CLI run in the same process sets it
        with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="agenthpo"):
            study = optuna.create_study(sampler=Backbone(seed=0))
            study.optimize(objective, n_trials=16)
    finally:
        optuna.logging.disable_propagation()
    assert optuna.logging.get_verbosity() == level
    from_optuna = [r.getMessage() for r in caplog.records if r.name.startswith("optuna")]
    assert not [m for m in from_optuna if "independent" in m or "constructor" in m]
    ours = [r.getMessage() for r in caplog.records if r.name == "agenthpo"]
    drawn_alone = [m for m in ours if "at random" in m]
    assert drawn_alone  # said, in agenthpo's words ...
    for name in ("momentum", "beta", "optimizer"):  # ... once per parameter at most
        assert sum(f"{name!r}" in m for m in drawn_alone) <= 1
    assert all("warn_independent_sampling" not in m for m in ours)
    assert members(study)[-1] == "tpe"
