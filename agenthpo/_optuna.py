"""Every use of Optuna's private API, in one module: an Optuna upgrade breaks this file only.

AgentHPO needs a few things Optuna has no public API for: a study's storage and ids (to write
a trial's attributes from a sampler, which only holds a :class:`~optuna.trial.FrozenTrial`),
the state of Optuna's samplers (TPE's split and density ratio for the screen, GP's fitted
model and acquisition, CMA-ES's search distribution, for the rationales, every random state
a sampler holds, for per-trial seeding) and a few helpers (a distribution's range test, the
search-space transform, a journal file's read offsets). Each is one small function here,
its docstring naming the Optuna versions it was checked against; everything else in the
package goes through these (``tests/test_optuna_private.py`` fails on a private access
anywhere else, and ``make test`` runs the tests that exercise this module against the
oldest Optuna the project supports as well as the newest).

Functions that read a sampler's internals raise ``AttributeError``, ``ImportError``,
``TypeError`` or ``ValueError`` where those internals differ from the ones described; their
callers catch these and do without (an unscreened proposal, a shorter rationale).

Example:
    >>> import optuna
    >>> from agenthpo import _optuna
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study()
    >>> trial = study.ask()
    >>> _optuna.set_trial_user_attr(study, study.trials[0], "note", "hi")
    >>> _optuna.stored_trial(study, trial).user_attrs
    {'note': 'hi'}
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, CmaEsSampler, GPSampler, TPESampler
from optuna.storages import BaseStorage
from optuna.storages.journal import JournalFileBackend
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

__all__ = [
    "GPModel",
    "GPSamplerWithAcquisition",
    "cmaes_distribution",
    "cmaes_trials",
    "contains",
    "forget_search_spaces",
    "gp_acquisition",
    "gp_last_model",
    "gp_loo_rank_correlation",
    "gp_posterior",
    "journal_forget_read_offsets",
    "n_startup_trials",
    "relabel_trials",
    "relabelled_study",
    "reseed_random_states",
    "set_trial_system_attr",
    "set_trial_user_attr",
    "storage_of",
    "stored_trial",
    "study_id",
    "tpe_acquisition",
    "tpe_constant_liar",
    "tpe_split",
    "trial_handle",
    "trial_id",
    "uniform_draw",
    "with_fitted_values",
]

AnyTrial = FrozenTrial | optuna.Trial


# -- studies, trials and their storage ----------------------------------------------------------
def storage_of(study: Study) -> BaseStorage:
    """The storage ``study`` reads and writes (``Study._storage``; Optuna 5.0.0 to 5.1.0).

    Optuna has no public accessor; :func:`optuna.load_study` needs the storage to open a
    second handle on the same study.
    """
    storage: BaseStorage = study._storage
    return storage


def study_id(study: Study) -> int:
    """The storage's id of ``study`` (``Study._study_id``; Optuna 5.0.0 to 5.1.0), as
    optuna-dashboard's URLs use it."""
    return int(study._study_id)


def trial_id(trial: AnyTrial) -> int:
    """The storage's id of ``trial``, a running :class:`optuna.Trial` or a
    :class:`~optuna.trial.FrozenTrial` (``_trial_id`` on both; Optuna 5.0.0 to 5.1.0).

    The storage's methods (public) take this id, not the trial's number.
    """
    return int(trial._trial_id)


def stored_trial(study: Study, trial: AnyTrial) -> FrozenTrial:
    """``trial`` as storage holds it now (``storage.get_trial(trial_id)``; Optuna 5.0.0 to
    5.1.0).

    Unlike ``study.trials`` this reads one trial; unlike ``Trial.user_attrs`` it sees what
    a sampler wrote to storage after the :class:`optuna.Trial` cached its copy.
    """
    return storage_of(study).get_trial(trial_id(trial))


def set_trial_user_attr(study: Study, trial: AnyTrial, key: str, value: Any) -> None:
    """Writes a user attribute of ``trial`` to storage (``storage.set_trial_user_attr``;
    Optuna 5.0.0 to 5.1.0): a sampler holds only a frozen trial, whose ``set_user_attr``
    changes the copy alone."""
    storage_of(study).set_trial_user_attr(trial_id(trial), key, value)


def set_trial_system_attr(study: Study, trial: AnyTrial, key: str, value: Any) -> None:
    """Writes a system attribute of ``trial`` to storage (``storage.set_trial_system_attr``;
    Optuna 5.0.0 to 5.1.0; ``Trial.set_system_attr`` is deprecated)."""
    storage_of(study).set_trial_system_attr(trial_id(trial), key, value)


def trial_handle(study: Study, trial: AnyTrial) -> optuna.Trial:
    """A running :class:`optuna.Trial` for ``trial`` of ``study`` (``optuna.Trial(study,
    trial_id)``; Optuna 5.0.0 to 5.1.0): to report, set attributes and tell a trial another
    process asked for."""
    return optuna.Trial(study, trial_id(trial))


def journal_forget_read_offsets(backend: JournalFileBackend) -> None:
    """Makes a journal file backend read its file from the start again, after the file was
    rewritten (its cache of where each entry starts, ``JournalFileBackend._log_number_offset``,
    would point into the old file; Optuna 5.0.0 to 5.1.0)."""
    backend._log_number_offset = {0: 0}


# -- distributions and the search-space transform ------------------------------------------------
def journal_operations() -> set[int]:
    """The op codes of the journal records this Optuna knows (its private
    ``JournalOperation``; Optuna 5.0.0 to 5.1.0): a record with another was written by a
    newer version.

    Example:
        >>> 0 in journal_operations()  # creating a study
        True
    """
    from optuna.storages.journal._storage import JournalOperation

    return {int(op) for op in JournalOperation}


def contains(distribution: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` (external representation) lies in ``distribution``'s range and on
    its step grid (``BaseDistribution._contains``; Optuna 5.0.0 to 5.1.0).

    Example:
        >>> from optuna.distributions import IntDistribution
        >>> contains(IntDistribution(0, 10, step=2), 4), contains(IntDistribution(0, 10), 11)
        (True, False)
    """
    return bool(distribution._contains(distribution.to_internal_repr(value)))


def uniform_draw(
    distributions: Mapping[str, BaseDistribution], state: np.random.RandomState
) -> dict[str, Any]:
    """One configuration drawn uniformly in Optuna's transformed space (log scales in log
    space, steps on their grid, categoricals one-hot), with ``state`` (Optuna's
    ``_SearchSpaceTransform``; Optuna 5.0.0 to 5.1.0).

    Example:
        >>> from optuna.distributions import FloatDistribution
        >>> draw = uniform_draw({"x": FloatDistribution(1, 2)}, np.random.RandomState(0))
        >>> 1 <= draw["x"] <= 2
        True
    """
    from optuna._transform import _SearchSpaceTransform

    trans = _SearchSpaceTransform(dict(distributions))
    drawn: dict[str, Any] = trans.untransform(state.uniform(trans.bounds[:, 0], trans.bounds[:, 1]))
    return drawn


# -- a study whose trials carry revised distributions -------------------------------------------
class _RelabelledStudy(Study):
    """``study`` as its samplers read it after a revision of its space: see
    :func:`relabelled_study`. It shares the study's storage, ids and caches (its
    ``__dict__``), so whatever it writes goes to the study; only the trials it reads
    differ."""

    def __init__(
        self, study: Study, distributions: Mapping[str, BaseDistribution]
    ) -> None:  # no super().__init__: it shares the study's state instead of opening a new one
        self.__dict__.update(study.__dict__)
        self._agenthpo_study = study
        self._agenthpo_distributions = dict(distributions)

    def _get_trials(
        self,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
        use_cache: bool = False,
    ) -> list[FrozenTrial]:
        trials = self._agenthpo_study._get_trials(
            deepcopy=deepcopy, states=states, use_cache=use_cache
        )
        return relabel_trials(trials, self._agenthpo_distributions)


def relabel_trials(
    trials: Sequence[FrozenTrial], distributions: Mapping[str, BaseDistribution]
) -> list[FrozenTrial]:
    """``trials`` with each parameter of ``distributions`` labelled with its distribution
    there (copies; the trials themselves are left alone), leaving out every trial whose
    value of such a parameter lies outside it. Sets ``FrozenTrial.distributions`` on a
    shallow copy (Optuna 5.0.0 to 5.1.0).

    Example:
        >>> from optuna.distributions import FloatDistribution
        >>> from optuna.trial import create_trial
        >>> old = FloatDistribution(0, 10)
        >>> trials = [create_trial(params={"x": x}, distributions={"x": old}, value=x)
        ...           for x in (1.0, 8.0)]
        >>> [(t.params, t.distributions["x"].high) for t in relabel_trials(
        ...     trials, {"x": FloatDistribution(0, 5)})]
        [({'x': 1.0}, 5.0)]
    """
    out: list[FrozenTrial] = []
    for trial in trials:
        changed = {
            name: dist
            for name, dist in distributions.items()
            if name in trial.distributions and trial.distributions[name] != dist
        }
        if not changed:
            out.append(trial)
            continue
        if not all(contains(dist, trial.params[name]) for name, dist in changed.items()):
            continue
        relabelled = copy.copy(trial)
        relabelled.distributions = {**trial.distributions, **changed}
        out.append(relabelled)
    return out


def relabelled_study(study: Study, distributions: Mapping[str, BaseDistribution]) -> Study:
    """A view of ``study`` in which every trial carries ``distributions`` (a revised search
    space's) for those parameters, and trials whose value of one lies outside it are left
    out: the study as a sampler should see it after a revision of its space.

    Optuna's samplers model only the parameters whose distribution is the same in every
    trial (``IntersectionSearchSpace``): a parameter whose range was revised would drop out
    of GP's, TPE's and CMA-ES's model. The view overrides ``Study._get_trials``, which
    ``get_trials``, ``trials`` and the samplers read (Optuna 5.0.0 to 5.1.0); writes go to the
    study. A view of a view is the view.

    Example:
        >>> import optuna
        >>> from optuna.distributions import FloatDistribution
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study()
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 10), n_trials=3)
        >>> view = relabelled_study(study, {"x": FloatDistribution(0, 20)})
        >>> {t.distributions["x"].high for t in view.trials}
        {20.0}
    """
    if isinstance(study, _RelabelledStudy):
        study = study._agenthpo_study
    return _RelabelledStudy(study, distributions)


def forget_search_spaces(sampler: object) -> None:
    """Makes ``sampler`` (and every sampler inside it, a :class:`~agenthpo.backbone.Switching`
    backbone's members too) compute its search space again from all trials.

    Optuna's ``IntersectionSearchSpace`` computes the intersection incrementally: it keeps
    the result for the trials it has seen (``_search_space``, ``_cached_trial_number``), and
    TPE's group decomposition keeps every distribution it has seen
    (``_GroupDecomposedSearchSpace._search_space``); after a revision relabels the trials
    (:func:`relabelled_study`) they would still hold the old ranges (Optuna 5.0.0 to 5.1.0).
    """
    from optuna.search_space import IntersectionSearchSpace
    from optuna.search_space.group_decomposed import (
        _GroupDecomposedSearchSpace,
        _SearchSpaceGroup,
    )

    def visit(value: object, seen: set[int]) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, IntersectionSearchSpace):
            value._search_space = None
            value._cached_trial_number = -1
        elif isinstance(value, _GroupDecomposedSearchSpace):
            value._search_space = _SearchSpaceGroup()
        elif isinstance(value, BaseSampler):
            for inner in list(vars(value).values()):
                visit(inner, seen)
        elif isinstance(value, dict):
            for inner in list(value.values()):
                visit(inner, seen)

    visit(sampler, set())


# -- samplers' state -----------------------------------------------------------------------------
def n_startup_trials(sampler: BaseSampler, default: int) -> int:
    """How many random start-up trials ``sampler`` draws before its model
    (``_n_startup_trials`` of TPE, GP and CMA-ES; Optuna 5.0.0 to 5.1.0); ``default`` for a
    sampler without one."""
    return int(getattr(sampler, "_n_startup_trials", default))


def reseed_random_states(sampler: object, seed: int) -> None:
    """Reseeds every random state ``sampler`` holds, its own and its inner samplers'.

    Optuna's samplers keep numpy ``RandomState`` objects in private attributes, directly or
    behind ``LazyRandomState`` (an ``rng`` property); inner samplers (TPE's random sampler for
    its start-up trials, CMA-ES's independent sampler) are reseeded too, each with a seed of
    its own, derived from its place among the sampler's attributes (Optuna 5.0.0 to 5.1.0).
    """
    for index, value in enumerate(list(vars(sampler).values())):
        if isinstance(value, np.random.RandomState):
            value.seed(seed)
        elif isinstance(getattr(type(value), "rng", None), property):
            rng = value.rng
            if isinstance(rng, np.random.RandomState):
                rng.seed(seed)
        elif isinstance(value, BaseSampler):
            reseed_random_states(value, (seed + 7919 * (index + 1)) % 2**32)


# -- TPE -------------------------------------------------------------------------------------
def tpe_constant_liar(sampler: TPESampler) -> bool:
    """Whether TPE counts running trials among the worse ones (``TPESampler._constant_liar``;
    Optuna 5.0.0 to 5.1.0)."""
    return bool(getattr(sampler, "_constant_liar", False))


def tpe_split(
    sampler: TPESampler, study: Study, trials: list[FrozenTrial]
) -> tuple[list[FrozenTrial], list[FrozenTrial]]:
    """TPE's split of ``trials`` into the best (``below``) and the rest, as its ``_sample``
    makes it: ``gamma`` of the finished trials go below (the sampler's ``_gamma``, else
    Optuna's default for the study's objectives), running trials join the rest
    (``optuna.samplers._tpe.sampler._split_trials``; Optuna 5.0.0 to 5.1.0).

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=20)
        >>> below, above = tpe_split(study.sampler, study, study.trials)
        >>> len(below), len(above)
        (2, 18)
    """
    from optuna.samplers._tpe import sampler as tpe_module

    n = sum(t.state != TrialState.RUNNING for t in trials)
    gamma: Callable[[int], int] | None = getattr(sampler, "_gamma", None)
    if gamma is None:  # Optuna 5 sets it on the first draw
        multi = len(study.directions) > 1
        gamma = tpe_module.default_gamma_multiobjective if multi else tpe_module.default_gamma
    below, above = tpe_module._split_trials(study, trials, gamma(n))
    return list(below), list(above)


def tpe_acquisition(
    sampler: TPESampler,
    study: Study,
    space: dict[str, BaseDistribution],
    below: list[FrozenTrial],
    above: list[FrozenTrial],
    configs: Sequence[Mapping[str, Any]],
) -> list[float]:
    """TPE's acquisition ``log l(x) - log g(x)`` of each configuration over ``space``, from the
    Parzen estimators of the split ``below``/``above`` (deterministic: no random draw;
    ``TPESampler._build_parzen_estimator`` and ``_compute_acquisition_func``; Optuna 5.0.0
    to 5.1.0)."""
    build = sampler._build_parzen_estimator
    mpe_below = build(study, space, below, handle_below=True)
    mpe_above = build(study, space, above, handle_below=False)
    samples = {n: np.asarray([d.to_internal_repr(c[n]) for c in configs]) for n, d in space.items()}
    values = sampler._compute_acquisition_func(samples, mpe_below, mpe_above)
    return [float(v) for v in values]


# -- GP --------------------------------------------------------------------------------------
class GPSamplerWithAcquisition(GPSampler):
    """Optuna's :class:`~optuna.samplers.GPSampler` that hands the acquisition function of
    each model-based draw, and its value at the draw, to :meth:`on_acquisition`, and fits
    its model on the scores :meth:`fit_scores` makes of the finished trials' values.

    It overrides ``GPSampler._optimize_acqf``, which Optuna's source marks as the method
    advanced users may override, and ``GPSampler._sample_relative_impl``, which receives
    the completed trials GP fits (Optuna 5.0.0 to 5.1.0); with the default
    :meth:`fit_scores` the draw itself is unchanged.
    """

    def _sample_relative_impl(
        self,
        study: Study,
        completed_trials: list[FrozenTrial],
        running_trials: list[FrozenTrial],
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        self.before_fit(completed_trials, search_space)
        completed_trials = with_fitted_values(self, study, completed_trials)
        params: dict[str, Any] = super()._sample_relative_impl(
            study, completed_trials, running_trials, search_space
        )
        return params

    def before_fit(
        self, completed_trials: list[FrozenTrial], search_space: dict[str, BaseDistribution]
    ) -> None:
        """Called with the completed trials GP is about to fit and the space it draws on
        (GP reads them again after Optuna inferred the space); an override may raise to
        refuse the draw. Does nothing by default."""

    def fit_scores(self, scores: np.ndarray) -> np.ndarray:
        """The scores GP fits, from the completed trials' scores (one row per trial, one
        column per objective, higher is better). The same array by default: GP fits the
        values as they are. An override returns a new array of the same shape, each column
        in the same order as the scores it replaces."""
        return scores

    def _optimize_acqf(self, acqf: Any, best_params: Any) -> Any:
        x = super()._optimize_acqf(acqf, best_params)
        try:
            own: float | None = float(acqf.eval_acqf_no_grad(x.reshape(1, -1))[0])
        except (AttributeError, TypeError, ValueError, IndexError):
            own = None
        self.on_acquisition(acqf, own)
        return x

    def on_acquisition(self, acqf: Any, own: float | None) -> None:
        """Called after each model-based draw with its acquisition function (an object of
        Optuna's private ``optuna._gp.acqf``: read it only through this module's ``gp_*``
        functions) and its value at the draw (``None`` if it could not be read)."""


def with_fitted_values(
    sampler: GPSamplerWithAcquisition, study: Study, trials: list[FrozenTrial]
) -> list[FrozenTrial]:
    """``trials`` with the values GP fits: copies whose values come from
    ``sampler.fit_scores`` (the trials themselves when it returns the scores unchanged). GP
    reads the values of the trials ``_sample_relative_impl`` receives and nothing else of
    them that a copy would change (Optuna 5.0.0 to 5.1.0).

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study()
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        >>> class Doubled(GPSamplerWithAcquisition):
        ...     def fit_scores(self, scores: np.ndarray) -> np.ndarray:
        ...         return 2 * scores
        >>> got = with_fitted_values(Doubled(), study, study.trials)
        >>> [g.value == 2 * t.value for g, t in zip(got, study.trials)]
        [True, True]
    """
    if not trials:
        return trials
    sign = np.array(
        [-1.0 if d == optuna.study.StudyDirection.MINIMIZE else 1.0 for d in study.directions]
    )
    scores = sign * np.array([t.values for t in trials], dtype=float)
    fitted = sampler.fit_scores(scores)
    if fitted is scores:
        return trials
    fitted = np.asarray(fitted, dtype=float)
    if fitted.shape != scores.shape:
        raise ValueError(f"fit_scores returned shape {fitted.shape}, not {scores.shape}")
    out: list[FrozenTrial] = []
    for trial, row in zip(trials, sign * fitted, strict=True):
        copy_ = copy.copy(trial)
        copy_.values = [float(v) for v in row]
        out.append(copy_)
    return out


def _normalized(space: Any, config: Mapping[str, Any]) -> Any:
    """``config`` as one row of GP's normalized inputs over ``space`` (an
    ``optuna._gp.search_space.SearchSpace``); ``None`` if it lacks a parameter."""
    names = list(space._optuna_search_space)
    if any(n not in config for n in names):
        return None
    # the trials argument only sizes the result: one row, for the config given
    return space.get_normalized_params([None], [dict(config)])


def gp_acquisition(acqf: Any, config: Mapping[str, Any]) -> float | None:
    """GP's acquisition function ``acqf`` (log expected improvement) at ``config``; ``None``
    if ``config`` lacks one of its parameters (``acqf.search_space`` and
    ``eval_acqf_no_grad`` of ``optuna._gp.acqf``; Optuna 5.0.0 to 5.1.0)."""
    x = _normalized(acqf.search_space, config)
    return None if x is None else float(acqf.eval_acqf_no_grad(x)[0])


def gp_posterior(acqf: Any, config: Mapping[str, Any]) -> tuple[float, float] | None:
    """The predicted mean and variance at ``config`` of the regressor behind GP's
    acquisition function ``acqf``, in its standardized units (higher is better); ``None`` if
    ``config`` lacks one of its parameters (``acqf._gpr.posterior``; Optuna 5.0.0 to
    5.1.0)."""
    import torch

    x = _normalized(acqf.search_space, config)
    if x is None:
        return None
    with torch.no_grad():
        mean, var = acqf._gpr.posterior(torch.from_numpy(x))
    return float(mean.reshape(-1)[0]), float(var.reshape(-1)[0])


class GPModel:
    """The regressor GP fitted for its last proposal, over a search space.

    Build it with :func:`gp_last_model`.
    """

    def __init__(self, gpr: Any, space: Any) -> None:
        self._gpr = gpr
        self._space = space

    def y_train(self) -> np.ndarray:
        """The standardized objective values it was fitted on, one per trial
        (``GPRegressor._y_train``; Optuna 5.0.0 to 5.1.0)."""
        y: np.ndarray = self._gpr._y_train.detach().cpu().numpy().reshape(-1)
        return y

    def posterior(self, config: Mapping[str, Any]) -> tuple[float, float]:
        """Its predicted mean and variance at ``config`` (standardized units, higher is
        better; ``GPRegressor.posterior``; Optuna 5.0.0 to 5.1.0)."""
        import torch

        x = _normalized(self._space, config)
        if x is None:
            raise KeyError(
                f"the configuration lacks one of {list(self._space._optuna_search_space)}"
            )
        with torch.no_grad():
            mean, var = self._gpr.posterior(torch.from_numpy(x[0]))
        return float(mean), float(var)


def gp_last_model(
    sampler: BaseSampler, space: Mapping[str, BaseDistribution], trials: list[FrozenTrial]
) -> GPModel | None:
    """The model GP fitted for its last proposal, if it was fitted over ``space`` on exactly
    ``trials`` (the same normalized inputs, in order); ``None`` if GP holds none or another.

    Reads ``GPSampler._gprs_cache_list`` (the first objective's regressor) and
    ``GPRegressor._X_train`` (Optuna 5.0.0 to 5.1.0).
    """
    import torch  # noqa: F401  (GP's model needs it: an ImportError says it is missing)
    from optuna._gp import search_space as gp_search_space

    cache = getattr(sampler, "_gprs_cache_list", None)
    if not cache:
        return None
    gpr: Any = cache[0]
    internal = gp_search_space.SearchSpace(dict(space))
    x_train = internal.get_normalized_params(trials)
    fitted = gpr._X_train.detach().cpu().numpy()
    if fitted.shape != x_train.shape or not np.allclose(fitted, x_train):
        return None
    return GPModel(gpr, internal)


def gp_loo_rank_correlation(sampler: BaseSampler) -> float | None:
    """How well the model GP fitted for its last proposal ranks the trials it was fitted on
    when each is left out: the Spearman rank correlation between the fitted (standardized)
    values and their leave-one-out predictive means, ``None`` if GP holds no model or it
    was fitted on fewer than three trials.

    The leave-one-out means come in closed form from the inverse of the kernel matrix
    (``y_i - [K^-1 y]_i / [K^-1]_ii``, Rasmussen and Williams, "Gaussian Processes for
    Machine Learning", 2006, section 5.4.2). Reads ``GPSampler._gprs_cache_list`` (the first
    objective's regressor) and ``GPRegressor._y_train`` and ``_cov_Y_Y_chol`` (the Cholesky
    factor of the kernel matrix with the noise; its leading block is the factor of the
    fitted trials' block when running trials were appended after them) (Optuna 5.0.0 to
    5.1.0).
    """
    import torch

    cache = getattr(sampler, "_gprs_cache_list", None)
    if not cache:
        return None
    gpr: Any = cache[0]
    y = gpr._y_train.detach().reshape(-1).to(torch.float64)
    n = int(y.shape[0])
    chol = gpr._cov_Y_Y_chol
    if n < 3 or chol is None:
        return None
    chol = chol.detach()[:n, :n].to(torch.float64)
    with torch.no_grad():
        inverse = torch.cholesky_inverse(chol)
        loo = y - (inverse @ y) / torch.diagonal(inverse)
    return _spearman(y.numpy(), loo.numpy())


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(float)
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


# -- CMA-ES ----------------------------------------------------------------------------------
def cmaes_trials(sampler: CmaEsSampler, study: Study) -> list[FrozenTrial]:
    """The trials CMA-ES learns from (``CmaEsSampler._get_trials``: the completed ones, and
    pruned ones with their last value when it considers them; Optuna 5.0.0 to 5.1.0)."""
    trials: list[FrozenTrial] = sampler._get_trials(study)
    return trials


def cmaes_distribution(
    sampler: CmaEsSampler,
    study: Study,
    space: dict[str, BaseDistribution],
    sources: list[FrozenTrial],
    *,
    initial: bool,
) -> tuple[int, dict[str, Any], float] | None:
    """CMA-ES's search distribution over ``space``: its generation, mean (in the parameters'
    own units) and step size (a fraction of each parameter's range).

    The optimizer restored from ``sources`` (the trials' stored optimizer state), else with
    ``initial`` the one CMA-ES would start from (its seed stream left as it was), else
    ``None``; ``None`` as well when the optimizer is over another space. Reads
    ``CmaEsSampler._restore_optimizer``, ``_init_optimizer``, ``_with_margin``, ``_cma_rng``,
    Optuna's ``_SearchSpaceTransform`` and the ``cmaes`` optimizer's ``_mean`` and
    ``_sigma`` (Optuna 5.0.0 to 5.1.0, cmaes 0.10 to 0.13).
    """
    from optuna._transform import _SearchSpaceTransform

    optimizer: Any = sampler._restore_optimizer(sources)
    with_margin = bool(getattr(sampler, "_with_margin", False))
    trans = _SearchSpaceTransform(space, transform_step=not with_margin, transform_0_1=True)
    if optimizer is None:
        if not initial:
            return None
        rng = sampler._cma_rng.rng  # initialising draws a seed: leave the stream as it was
        saved = rng.get_state()
        try:
            optimizer = sampler._init_optimizer(trans, study.direction)
        finally:
            rng.set_state(saved)
    if optimizer.dim != len(trans.bounds):
        return None
    mean = trans.untransform(np.asarray(optimizer._mean))
    return int(optimizer.generation), dict(mean), float(optimizer._sigma)
