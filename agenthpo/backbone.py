"""The backbone: the classical search under AgentHPO's strategies, fitted to the study.

:class:`Backbone` is an Optuna sampler that hands each trial to one member sampler, chosen
from what the study shows:

==========================================  ===============================================
the study                                   member
==========================================  ===============================================
one objective, a fixed set of parameters    Optuna's ``GPSampler`` (numeric and categorical
                                            parameters), after 5 start-up trials (one
                                            random, then a scrambled Sobol sequence),
                                            fitted on tail-warped values (the values worse
                                            than the median compressed, :func:`warp_scores`)
parameters that come and go (conditional)   multivariate TPE, grouped, with constant liar
several objectives                          multivariate TPE with constant liar
GP gets slow: ``gp_max_trials`` finished    CMA-ES warm-started from the finished trials
trials, or GP takes longer per trial than   (numeric parameters only), else multivariate
``max_wait_s`` and ``max_wait_share`` of    TPE with constant liar; the switch is for the
the trials' median duration                 rest of the study
PyTorch missing (GP needs it)               multivariate TPE with constant liar, said once
==========================================  ===============================================

Each trial records its member (user attribute ``backbone_member``), so reports and the agent
can say who proposed it. Constant liar (TPE) and GP's handling of running trials keep
parallel workers from proposing the same region at once.

:func:`auto_sampler` is the baseline a user who does not care about LLMs would pick, built
from the published rule of OptunaHub's ``AutoSampler`` (Optuna team, "AutoSampler: Automatic
Selection of Optimization Algorithms in Optuna", 2024): GP for spaces of numeric parameters
while fewer than 250 trials finished, then CMA-ES warm-started from them; multivariate TPE
with constant liar when the space has categorical or conditional parameters; NSGA-II for two
or three objectives and NSGA-III for more.

Example:
    >>> import optuna
    >>> from agenthpo.backbone import Backbone
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(sampler=Backbone(seed=0))
    >>> study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=3)
    >>> study.trials[0].user_attrs["backbone_member"]
    'gp'
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import random
import statistics
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.exceptions import ExperimentalWarning
from optuna.samplers import (
    BaseSampler,
    CmaEsSampler,
    NSGAIIISampler,
    NSGAIISampler,
    QMCSampler,
    RandomSampler,
    TPESampler,
)
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys, _optuna
from agenthpo._seeding import _PerTrial, seeded_per_trial

__all__ = [
    "Backbone",
    "BackboneOptions",
    "GPView",
    "Switching",
    "Warping",
    "auto_sampler",
    "study_shape",
    "warp_scores",
]

_logger = logging.getLogger("agenthpo")
_MIN_WARM_START = 10
_PORTFOLIO_WINDOW = 8  # a member's payoff: its last finished trials, this many
# members that draw one fixed set of parameters together; any other parameter of a trial
# they serve is drawn at random, as the study's first trial is
_FIXED_SPACE_MEMBERS = {"gp": "GP", "sobol": "the Sobol start-up", "cmaes": "CMA-ES"}

Warping = Literal["none", "rank", "half-rank", "tail", "tail-quartile", "power"]
"""How GP's objective values are transformed before it fits them (:func:`warp_scores`)."""
WARPINGS: tuple[Warping, ...] = ("none", "rank", "half-rank", "tail", "tail-quartile", "power")
"""The values of :attr:`BackboneOptions.warping`."""

MEMBERS: tuple[str, ...] = ("gp", "sobol", "tpe", "cmaes", "nsga2", "nsga3", "random")
"""The member names a trial's ``backbone_member`` can hold."""


@dataclass(frozen=True)
class BackboneOptions:
    """How :class:`Backbone` chooses and when it switches.

    Attributes:
        startup_trials: Trials drawn before GP fits a model: 5 (GPSampler's own default
            is 10; 5 leaves GP more of a short budget, and a short study gains most).
        startup: How they are drawn: ``"random"`` (GPSampler's own draws) or ``"sobol"``
            (a scrambled Sobol sequence, :class:`optuna.samplers.QMCSampler`, after one
            random first trial that tells it the space).
        gp_max_trials: GP serves until this many trials finished (its cost grows with the
            cube of the trials it fits); then CMA-ES (numeric spaces) or TPE take over.
            250, as AutoSampler's rule.
        max_wait_s: GP may take this long per trial whatever the trials take (a short
            trial's time: below it nobody waits on the sampler).
        max_wait_share: Beyond ``max_wait_s``, GP may take this share of the median trial
            duration; a study whose trials take 1 s should not wait 3 s on its sampler.
        slow_trials: GP is judged slow once this many of its recent proposals were.
        portfolio: After the start-up, GP and multivariate TPE share the trials by payoff
            instead of GP taking them all: each trial goes to the member whose recent
            trials ranked better among the study's finished trials (Thompson sampling on
            those ranks, seeded per trial). Off by default until it is measured better.
        warping: How GP's objective values are transformed before it fits them
            (:func:`warp_scores`): ``"none"`` (as they are), ``"rank"`` (normal scores of
            their ranks), ``"half-rank"`` (the mean of the standardized values and their
            normal scores), ``"tail"`` (values worse than the median compressed
            logarithmically), ``"tail-quartile"`` (only those worse than the lower
            quartile), or ``"power"`` (a Yeo-Johnson transform, as HEBO). Default
            ``"tail"``: a few very bad trials otherwise set the scale GP sees and flatten
            its model where the good trials are.
        min_loo_rank: GP checks each model it fits: when the rank correlation between the
            finished trials' values and its leave-one-out predictions of them
            (:func:`agenthpo._optuna.gp_loo_rank_correlation`) is below this, its proposal
            is dropped and another proposes the trial, as ``poor_fit`` says. ``0.0`` (and
            below) keeps every model that ranks the trials better than chance.
        poor_fit: Who proposes a trial whose GP model ranks the trials poorly:
            ``"tpe"`` (multivariate TPE; the trial's member says ``"tpe"``) or ``"rank"``
            (GP again, fitted on the normal scores of the values' ranks, ``warping="rank"``,
            for this trial).
        gp_threads: PyTorch threads GP computes on while it proposes a trial; torch's own
            setting is restored afterwards. Default 1: GP's matrices are small, and torch's
            default of a thread per core made each proposal slower whenever another core
            was busy (a training subprocess, a second worker; BENCHMARKS.md, "GP's
            threads"). ``None`` leaves torch's setting alone. Torch's setting is
            process-wide: torch code in another thread of the same process runs on this
            many threads while GP proposes.

    Example:
        >>> BackboneOptions().gp_max_trials
        250
    """

    startup_trials: int = 5
    startup: Literal["random", "sobol"] = "sobol"
    gp_max_trials: int = 250
    max_wait_s: float = 5.0
    max_wait_share: float = 0.5
    slow_trials: int = 3
    portfolio: bool = False
    warping: Warping = "tail"
    min_loo_rank: float = 0.0
    poor_fit: Literal["tpe", "rank"] = "tpe"
    gp_threads: int | None = 1

    def __post_init__(self) -> None:
        if self.gp_threads is not None and self.gp_threads < 1:
            raise ValueError(f"gp_threads must be >= 1 or None, not {self.gp_threads}")
        if self.gp_max_trials < 0 or self.slow_trials < 1 or self.startup_trials < 1:
            raise ValueError("gp_max_trials must be >= 0, slow_trials and startup_trials >= 1")
        if self.startup not in ("random", "sobol"):
            raise ValueError(f"startup must be 'random' or 'sobol', not {self.startup!r}")
        if self.max_wait_s < 0 or self.max_wait_share < 0:
            raise ValueError("max_wait_s and max_wait_share must be >= 0")
        if not -1.0 <= self.min_loo_rank <= 1.0:
            raise ValueError(f"min_loo_rank must be in [-1, 1], not {self.min_loo_rank}")
        if self.poor_fit not in ("tpe", "rank"):
            raise ValueError(f"poor_fit must be 'tpe' or 'rank', not {self.poor_fit!r}")
        if self.warping not in WARPINGS:
            raise ValueError(f"warping must be one of {', '.join(WARPINGS)}, not {self.warping!r}")


@dataclass(frozen=True)
class StudyShape:
    """What the finished trials show about a study's space."""

    finished: int
    objectives: int
    categorical: bool
    conditional: bool
    distributions: dict[str, BaseDistribution]


def study_shape(study: Study) -> StudyShape:
    """The shape of ``study``'s space as its finished trials show it.

    A parameter is conditional when some finished trial has it and another lacks it.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> s = optuna.create_study()
        >>> s.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        >>> study_shape(s).conditional, study_shape(s).finished
        (False, 2)
    """
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    names: list[set[str]] = [set(t.params) for t in trials]
    union = set().union(*names) if names else set()
    common = set.intersection(*names) if names else set()
    distributions: dict[str, BaseDistribution] = {}
    for t in trials:
        distributions.update(t.distributions)
    return StudyShape(
        finished=len(trials),
        objectives=len(study.directions),
        categorical=any(isinstance(d, CategoricalDistribution) for d in distributions.values()),
        conditional=union != common,
        distributions=distributions,
    )


def _standardized(col: np.ndarray) -> np.ndarray:
    spread = float(col.std())
    return (col - col.mean()) / spread if spread > 0 else np.zeros_like(col)


def _normal_scores(col: np.ndarray) -> np.ndarray:
    """The standard normal quantiles of ``col``'s ranks (ties share their mean rank)."""
    n = len(col)
    order = np.argsort(col, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(1, n + 1, dtype=float)
    for value in np.unique(col):  # ties: their mean rank
        tied = col == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    normal = statistics.NormalDist()
    return np.array([normal.inv_cdf((r - 0.5) / n) for r in ranks])


def _compressed_tail(col: np.ndarray, q: float) -> np.ndarray:
    """``col`` with the values below its ``q`` quantile pulled in logarithmically, in units
    of the mean distance of the values above that quantile to it."""
    pivot = float(np.quantile(col, q))
    upper = col[col > pivot]
    scale = float(np.mean(upper - pivot)) if len(upper) else 0.0
    if scale <= 0:
        scale = float(col.std()) or 1.0
    below = col < pivot
    out: np.ndarray = np.array(col, dtype=float)
    out[below] = pivot - scale * np.log1p((pivot - col[below]) / scale)
    return out


def _yeo_johnson(col: np.ndarray) -> np.ndarray:
    """``col`` standardized, then Yeo-Johnson transformed with the exponent that makes it
    most normal (maximum likelihood; HEBO's output warping, Cowen-Rivers et al., 2022): a
    long tail of bad scores gets an exponent above 1, which pulls it in; scores without
    one keep an exponent near 1, nearly as they are."""
    from scipy import stats

    z = _standardized(col)
    if not np.any(z):
        return z
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lam = float(stats.yeojohnson_normmax(z))
    if not np.isfinite(lam):
        return z
    return _standardized(np.asarray(stats.yeojohnson(z, lmbda=lam), dtype=float))


def warp_scores(scores: np.ndarray, kind: str) -> np.ndarray:
    """The scores GP fits under :attr:`BackboneOptions.warping` ``kind``: each column (an
    objective, higher is better) transformed on its own, in the same order.

    ``"rank"`` replaces each score by the standard normal quantile of its rank;
    ``"half-rank"`` averages those with the standardized scores, keeping half of the
    information in their distances; ``"tail"`` keeps the scores above the median and
    compresses those below it logarithmically (a score ``d`` below the median lands
    ``s * log(1 + d / s)`` below it, ``s`` the mean distance of the better half to the
    median); ``"tail-quartile"`` does the same below the lower quartile. ``"none"`` returns
    ``scores`` itself.

    Example:
        >>> warp_scores(np.array([[1.0], [2.0], [3.0], [-100.0]]), "rank").ravel().round(2)
        array([-0.32,  0.32,  1.15, -1.15])
    """
    if kind == "none" or len(scores) == 0:
        return scores
    if kind not in WARPINGS:
        raise ValueError(f"unknown warping {kind!r}; choose from {', '.join(WARPINGS)}")
    out = np.empty(scores.shape, dtype=float)
    for j in range(scores.shape[1]):
        col = np.asarray(scores[:, j], dtype=float)
        if kind == "rank":
            out[:, j] = _normal_scores(col)
        elif kind == "half-rank":
            out[:, j] = 0.5 * _standardized(col) + 0.5 * _normal_scores(col)
        elif kind == "power":
            out[:, j] = _yeo_johnson(col)
        else:
            out[:, j] = _compressed_tail(col, 0.5 if kind == "tail" else 0.25)
    return out


@dataclass(frozen=True)
class GPView:
    """What GP's model said when it proposed a trial: its acquisition function (log
    expected improvement) and the value at its own proposal, so that another
    configuration can be rated on the same scale.

    Reads Optuna's GP internals (the acquisition object ``GPSampler._optimize_acqf``
    receives) through :mod:`agenthpo._optuna`; where they differ, :meth:`value` and
    :meth:`posterior` return ``None``.
    """

    acqf: Any
    own: float

    def value(self, config: dict[str, Any]) -> float | None:
        """GP's acquisition (log EI) at ``config``; ``None`` if it cannot be rated."""
        try:
            return _optuna.gp_acquisition(self.acqf, config)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            return None

    def posterior(self, config: dict[str, Any]) -> tuple[float, float] | None:
        """GP's predicted mean and standard deviation at ``config``, in standardized units
        of the objective (higher is better); ``None`` if unavailable."""
        try:
            predicted = _optuna.gp_posterior(self.acqf, config)
            if predicted is None:
                return None
            mean, var = predicted
            return mean, var**0.5
        except (AttributeError, KeyError, TypeError, ValueError, IndexError, ImportError):
            return None


class _StaleSpace(Exception):
    """GP was asked to draw on a search space that some completed trial lacks."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class _WatchedGP(_PerTrial, _optuna.GPSamplerWithAcquisition):
    """Optuna's GPSampler, reseeded per trial, keeping the acquisition of its last draw.

    It draws only on a search space that every completed trial it fits has (with the same
    distributions); otherwise it raises :class:`_StaleSpace`, and :class:`Switching` hands
    the trial to multivariate TPE.
    """

    last_view: GPView | None = None
    warping: str = "none"

    def on_acquisition(self, acqf: Any, own: float | None) -> None:
        self.last_view = None if own is None else GPView(acqf, own)

    def fit_scores(self, scores: np.ndarray) -> np.ndarray:
        return warp_scores(scores, self.warping)

    def before_fit(
        self, completed_trials: list[FrozenTrial], search_space: dict[str, BaseDistribution]
    ) -> None:
        # Optuna infers a trial's search space, then GP reads the completed trials again to
        # draw (``GPSampler.sample_relative``); a trial that finished in between without a
        # parameter of that space (another worker's, on a conditional space) would fail GP
        # with a KeyError. Checked on the very trials GP fits.
        stale = sorted(
            {
                name
                for t in completed_trials
                for name, dist in search_space.items()
                if t.distributions.get(name) != dist
            }
        )
        if stale:
            raise _StaleSpace(stale)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("last_view", None)  # the acquisition holds torch state: not worth keeping
        return state


_WatchedGP.__name__ = "GPSampler"


def _has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with PyTorch on ``n`` intra-op threads, then restore torch's setting.

    ``None`` changes nothing. The setting is process-wide (``torch.set_num_threads``), so
    it holds for every thread of the process while the block runs.
    """
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Switching(BaseSampler):
    """A sampler that hands each trial to a member chosen by :meth:`choose`.

    Subclasses say which member serves a trial; this class builds members once, keeps the
    choice for the trial's whole life (relative and independent draws, ``after_trial``) and
    records it on the trial. A member named ``"cmaes"`` is warm-started from the trials that
    finished before it took over.

    A member is chosen when the trial starts, from the trials finished then; when trials
    that finished since make GP's search space one that some of them lack (a conditional
    space, seen first by another worker's trials), multivariate TPE proposes the trial
    instead. A parameter outside the space that GP, CMA-ES or the Sobol start-up draws
    together is drawn at random; the ``agenthpo`` logger says so once per parameter (at
    INFO), and the members' own per-trial warnings are off.
    """

    def __init__(self, *, seed: int | None = None) -> None:
        self._seed = seed
        self._members: dict[str, BaseSampler] = {}
        self._chosen: dict[int, str] = {}
        self._spaces: dict[int, frozenset[str]] = {}  # each running trial's relative space
        self._drawn_alone: dict[str, int] = {}  # parameter -> the first trial it was noted in
        self._gp_startup_trials = 10
        self._gp_warping = "none"

    # -- what subclasses decide ---------------------------------------------------------
    def choose(self, study: Study, trial: FrozenTrial) -> str:
        """The member for ``trial`` (one of :data:`MEMBERS`)."""
        raise NotImplementedError

    # -- members ------------------------------------------------------------------------
    def member(self, name: str, study: Study | None = None) -> BaseSampler:
        """The member sampler ``name``, built on first use."""
        member = self._members.get(name)
        if member is None:
            # two threads may build one at once: the first stored is the one every thread uses
            member = self._members.setdefault(name, self._build(name, study))
        return member

    def _build(self, name: str, study: Study | None) -> BaseSampler:
        seed = self._seed
        if name == "gp":
            gp: BaseSampler = _WatchedGP(
                seed=seed,
                warn_independent_sampling=False,
                n_startup_trials=self._gp_startup_trials,
            )
            gp.warping = self._gp_warping  # type: ignore[attr-defined]
            gp._agenthpo_seed = seed if seed is not None else random.randrange(2**31)  # type: ignore[attr-defined]
            return gp
        if name == "sobol":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                # Unseeded, Optuna would log "No seed is provided for QMCSampler" on every
                # run: a study without a seed is the user's choice, and each process then
                # scrambles its own Sobol sequence, which spreads the start-up all the same.
                # Its warning for each parameter it draws at random (one the first trial
                # lacked) tells the user to change a constructor they never call: the
                # backbone says it once instead (Switching.sample_independent).
                return QMCSampler(
                    qmc_type="sobol",
                    scramble=True,
                    seed=seed,
                    warn_asynchronous_seeding=False,
                    warn_independent_sampling=False,
                )
        if name == "tpe":
            with warnings.catch_warnings():  # group and constant_liar are "experimental"
                warnings.simplefilter("ignore", ExperimentalWarning)
                return seeded_per_trial(
                    TPESampler, seed, multivariate=True, group=True, constant_liar=True
                )
        if name == "cmaes":
            source: list[FrozenTrial] = []
            if study is not None:
                source = [
                    t
                    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                    if t.params
                ]
            kwargs: dict[str, Any] = {"warn_independent_sampling": False}
            # The warm start keeps the best tenth of the source trials: it needs ten or more.
            if len(source) >= _MIN_WARM_START:
                kwargs["source_trials"] = source
            with warnings.catch_warnings():  # source_trials is "experimental"
                warnings.simplefilter("ignore", ExperimentalWarning)
                return seeded_per_trial(CmaEsSampler, seed, **kwargs)
        if name == "nsga2":
            return NSGAIISampler(seed=seed)
        if name == "nsga3":
            return NSGAIIISampler(seed=seed)
        if name == "random":
            return seeded_per_trial(RandomSampler, seed)
        raise ValueError(f"unknown backbone member {name!r}")

    def chosen(self, number: int) -> str | None:
        """The member that served trial ``number`` in this process, if any."""
        return self._chosen.get(number)

    def _of(self, trial: FrozenTrial) -> BaseSampler:
        name = self._chosen.get(trial.number)
        if name is None:  # a trial this process did not start (Optuna always calls
            # before_trial first; kept for samplers wrapped by others)
            name = self.choose_and_record(None, trial)
        return self.member(name)

    def choose_and_record(self, study: Study | None, trial: FrozenTrial) -> str:
        """Chooses the member of ``trial``, remembers and (with a study) stores it."""
        name = self.choose(study, trial) if study is not None else "tpe"
        self._chosen[trial.number] = name
        if study is not None:
            _optuna.set_trial_user_attr(study, trial, _keys.BACKBONE_MEMBER, name)
        return name

    # -- Optuna's sampler protocol ------------------------------------------------------
    def reseed_rng(self) -> None:
        # a snapshot: with n_jobs > 1, another thread may add a member meanwhile
        for sampler in list(self._members.values()):
            sampler.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        name = self.choose_and_record(study, trial)
        self.member(name, study).before_trial(study, trial)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space = self._of(trial).infer_relative_search_space(study, trial)
        self._spaces[trial.number] = frozenset(space)
        return space

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        try:
            return self._of(trial).sample_relative(study, trial, search_space)
        except _StaleSpace as stale:
            _logger.debug(
                "backbone: trials finished since trial %d started lack or redefine %s of"
                " GP's search space; multivariate TPE proposes it",
                trial.number,
                stale,
            )
            return self._hand_to_tpe(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self._note_drawn_alone(study, trial, param_name, param_distribution)
        return self._of(trial).sample_independent(study, trial, param_name, param_distribution)

    def _note_drawn_alone(
        self, study: Study, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> None:
        """Says once per parameter that a member drawing a fixed set of parameters together
        draws parameter ``name``, which is outside that set, at random."""
        member = _FIXED_SPACE_MEMBERS.get(self._chosen.get(trial.number, ""))
        space = self._spaces.get(trial.number)
        if member is None or not space or name in space or distribution.single():
            return  # TPE models it, there is no joint draw (start-up), or nothing to draw
        # setdefault is atomic: of two workers noting the same parameter, one logs
        if self._drawn_alone.setdefault(name, trial.number) != trial.number:
            return
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        if all(name in t.params for t in finished):
            why = "earlier trials suggested it over another range or other choices"
            then = ""
        else:
            why = "not every finished trial suggested it"
            then = (
                "; multivariate TPE proposes once finished trials with and without it show"
                " that it comes and goes"
            )
        _logger.info(
            "backbone: %s draws parameter %r at random (first in trial %d): %s%s",
            member,
            name,
            trial.number,
            why,
            then,
        )

    def _hand_to_tpe(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Multivariate TPE proposes ``trial`` instead of its member, for the rest of its life.

        TPE draws the parameters of ``search_space`` (the space Optuna holds for the trial:
        a relative draw outside it fails the trial) that its own space has; it draws any
        other parameter of the trial on its own.
        """
        self._chosen[trial.number] = "tpe"
        _optuna.set_trial_user_attr(study, trial, _keys.BACKBONE_MEMBER, "tpe")
        tpe = self.member("tpe", study)
        tpe.before_trial(study, trial)
        space = {
            name: dist
            for name, dist in tpe.infer_relative_search_space(study, trial).items()
            if name in search_space
        }
        self._spaces[trial.number] = frozenset(space)
        return tpe.sample_relative(study, trial, space)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        sampler = self._of(trial)
        self._chosen.pop(trial.number, None)
        self._spaces.pop(trial.number, None)
        sampler.after_trial(study, trial, state, values)


class Backbone(Switching):
    """AgentHPO's classical search: GP where it fits, TPE or CMA-ES where it does not.

    See the module's table for the rule. The choice depends only on the study (its trials,
    objectives and the measured time of GP's proposals), never on which task it is.

    Args:
        seed: Seeds every member (each reseeded per trial, see :mod:`agenthpo._seeding`).
        options: When GP hands over; :class:`BackboneOptions`' defaults.

    Example:
        >>> Backbone(seed=0).options.max_wait_s
        5.0
    """

    def __init__(self, *, seed: int | None = None, options: BackboneOptions | None = None):
        super().__init__(seed=seed)
        self.options = options if options is not None else BackboneOptions()
        self._gp_startup_trials = self.options.startup_trials
        self._gp_warping = self.options.warping
        self._gp_seconds: list[float] = []
        self._views: dict[int, GPView] = {}
        self._gp_retired: str | None = None
        self._warned_torch = False

    def choose(self, study: Study, trial: FrozenTrial) -> str:
        shape = study_shape(study)
        if shape.objectives > 1 or shape.conditional:
            return "tpe"
        if not _has_torch():
            if not self._warned_torch:
                self._warned_torch = True
                _logger.warning(
                    "the backbone's GP needs PyTorch (pip install 'agenthpo[local]');"
                    " multivariate TPE proposes instead"
                )
            return "tpe"
        if self.options.startup == "sobol" and 0 < shape.finished < self.options.startup_trials:
            return "sobol"
        if self._gp_retired is None:
            why = self._gp_too_slow(study, shape)
            if why:
                self._gp_retired = "tpe" if shape.categorical else "cmaes"
                _logger.info("backbone: %s; %s takes over", why, self._gp_retired)
        if self._gp_retired is not None:
            return self._gp_retired
        if self.options.portfolio:
            return self._by_payoff(study, trial)
        return "gp"

    def _by_payoff(self, study: Study, trial: FrozenTrial) -> str:
        """GP or TPE for ``trial``: Thompson sampling on how the members' recent finished
        trials ranked among all finished trials (Beta posteriors on the rank in [0, 1])."""
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not done:
            return "gp"
        sign = 1.0 if study.direction.name == "MINIMIZE" else -1.0
        order = sorted(done, key=lambda t: sign * float(t.value or 0.0))
        rank = {t.number: 1.0 - i / max(1, len(order) - 1) for i, t in enumerate(order)}
        rng = random.Random(f"{self._seed}/{trial.number}")
        draws: dict[str, float] = {}
        for name in ("gp", "tpe"):
            mine = [
                rank[t.number] for t in done if t.user_attrs.get(_keys.BACKBONE_MEMBER) == name
            ][-_PORTFOLIO_WINDOW:]
            a = 1.0 + sum(mine)
            b = 1.0 + len(mine) - sum(mine)
            draws[name] = rng.betavariate(a, b)
        return max(draws, key=lambda n: (draws[n], n == "gp"))

    def retired_because(self) -> str | None:
        """The member that replaced GP for the rest of the study, or ``None``."""
        return self._gp_retired

    def _gp_too_slow(self, study: Study, shape: StudyShape) -> str:
        o = self.options
        if shape.finished >= o.gp_max_trials:
            return f"{shape.finished} trials finished (GP serves up to {o.gp_max_trials})"
        recent = self._gp_seconds[-o.slow_trials :]
        if len(recent) < o.slow_trials:
            return ""
        durations = _recent_durations(study, 10)
        allowed = max(o.max_wait_s, o.max_wait_share * statistics.median(durations or [0.0]))
        if min(recent) > allowed:
            return (
                f"GP took {min(recent):.1f} s or more per trial, over the {allowed:.1f} s"
                " it may take"
            )
        return ""

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if self._chosen.get(trial.number) != "gp" or not search_space:
            return super().sample_relative(study, trial, search_space)
        with _torch_threads(self.options.gp_threads):
            return self._gp_sample(study, trial, search_space)

    def _gp_sample(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        started = time.perf_counter()
        gp = self.member("gp")
        gp.last_view = None  # type: ignore[attr-defined]
        params = super().sample_relative(study, trial, search_space)
        if self._chosen.get(trial.number) != "gp":  # the space changed: TPE proposed it
            return params
        if params:  # a model-based proposal (GP's random start-up returns nothing here)
            self._gp_seconds.append(time.perf_counter() - started)
            if self._gp_ranks_poorly(gp):
                if self.options.poor_fit == "tpe":
                    return self._hand_to_tpe(study, trial, search_space)
                params = self._refit_on_ranks(gp, study, trial, search_space)
            view = getattr(gp, "last_view", None)
            if view is not None:
                self._views[trial.number] = view
        return params

    def _gp_ranks_poorly(self, gp: BaseSampler) -> bool:
        """Whether GP's last model ranks the finished trials worse, left out one at a time,
        than :attr:`BackboneOptions.min_loo_rank` asks."""
        if self.options.min_loo_rank <= 0.0:
            return False
        try:
            rank = _optuna.gp_loo_rank_correlation(gp)
        except (AttributeError, TypeError, ValueError, IndexError, RuntimeError):
            return False
        return rank is not None and rank < self.options.min_loo_rank

    def _refit_on_ranks(
        self,
        gp: BaseSampler,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        """GP's proposal for ``trial`` from a model fitted on the values' rank scores."""
        own = gp.warping  # type: ignore[attr-defined]
        gp.warping = "rank"  # type: ignore[attr-defined]
        try:
            return gp.sample_relative(study, trial, search_space)
        except _StaleSpace:  # a trial finished since the first fit: see Switching
            return self._hand_to_tpe(study, trial, search_space)
        finally:
            gp.warping = own  # type: ignore[attr-defined]

    def gp_view(self, number: int) -> GPView | None:
        """GP's model at trial ``number``'s proposal (this process's draws, while the trial
        runs); ``None`` for trials GP did not propose from its model."""
        return self._views.get(number)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._views.pop(trial.number, None)
        super().after_trial(study, trial, state, values)


def _recent_durations(study: Study, n: int) -> list[float]:
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    out: list[float] = []
    for t in done[-n:]:
        if t.datetime_start is not None and t.datetime_complete is not None:
            out.append((t.datetime_complete - t.datetime_start).total_seconds())
    return out


class _Auto(Switching):
    """OptunaHub AutoSampler's published rule (see the module's docstring)."""

    def choose(self, study: Study, trial: FrozenTrial) -> str:
        shape = study_shape(study)
        if shape.objectives > 3:
            return "nsga3"
        if shape.objectives > 1:
            return "nsga2"
        if shape.categorical or shape.conditional or not _has_torch():
            return "tpe"
        if shape.finished < 250:
            return "gp"
        return "cmaes"


def auto_sampler(*, seed: int | None = None) -> BaseSampler:
    """The ``auto`` baseline: OptunaHub's AutoSampler rule, rebuilt (its source cannot be
    fetched here; the rule is cited in the module's docstring).

    Example:
        >>> type(auto_sampler(seed=0)).__name__
        '_Auto'
    """
    return _Auto(seed=seed)
