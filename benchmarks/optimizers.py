"""Strategy names -> optimizers: AgentHPO's strategies and the classical baselines.

================  ==========================================================================
``backbone``      AgentHPO's backbone alone (:class:`agenthpo.backbone.Backbone`), no LLM
``backbone-       the backbone with GP's own random start-up draws instead of the Sobol
random``          sequence (the start-up it had before measuring; on request)
``backbone-      the backbone with GP fitted on warped objective values
warp-*``          (:attr:`agenthpo.backbone.BackboneOptions.warping`): ``-rank``,
                  ``-half`` (half-rank), ``-tail``, ``-tailq`` (tail-quartile); on request
``backbone-loo``  the backbone whose GP hands a trial to multivariate TPE when its model
                  ranks the finished trials poorly, left out one at a time (rank correlation
                  below 0.6, :attr:`agenthpo.backbone.BackboneOptions.min_loo_rank`);
                  ``backbone-loo-rank``: GP refitted on rank scores instead; on request
``auto``          OptunaHub AutoSampler's published rule (:func:`agenthpo.backbone.auto_sampler`)
``random``        Optuna's RandomSampler
``tpe``           Optuna's TPESampler with its defaults (10 random start-up trials; since
                  Optuna 5 the default is multivariate for one objective)
``tpe-mv``        ``TPESampler(multivariate=True)`` (the same as ``tpe`` on Optuna >= 5)
``tpe-indep``     ``TPESampler(multivariate=False)``: the classic independent TPE (Optuna's
                  default before 5)
``cmaes``         Optuna's CmaEsSampler (categoricals sampled at random)
``gp``            Optuna's GPSampler (needs torch; about 1 s a trial: a slow baseline)
``smac``          SMAC3's HyperparameterOptimizationFacade (random forest), ask-and-tell
``hybrid``, ...   the LLM strategies: a policy preset of the registry
                  (:data:`agenthpo.policy.PRESETS`) on a backbone, by :data:`LLM_PRESETS`
================  ==========================================================================

The LLM strategies are built with :func:`agenthpo.strategies.make_sampler`, given the task's
space and background, from the presets named in :data:`LLM_PRESETS`. Each names a preset
whose schedule and screen hold for every model (not the product default ``hybrid-tpe``,
whose schedule depends on the model), so a row means the same whichever model runs it; the
labels are the stored results' names and never change meaning.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any, Literal

import optuna
from optuna.samplers import BaseSampler

from agenthpo.backbone import Warping
from agenthpo.llm import LLMClient, RandomLLM, parse_llm_spec
from agenthpo.policy import preset
from agenthpo.strategies import make_sampler
from benchmarks.tasks import Task

__all__ = [
    "ALL_STRATEGIES",
    "BACKBONE_VARIANTS",
    "DEFAULT_STRATEGIES",
    "LLM_STRATEGIES",
    "SLOW_STRATEGIES",
    "available",
    "llm_label",
    "make_llm",
    "optuna_sampler",
    "uses_llm",
]

LLM_PRESETS: dict[str, tuple[str, str, str]] = {
    # label: (AgentHPO strategy, its backbone, the policy preset)
    "hybrid": ("hybrid-tpe", "backbone", "hybrid"),
    "hybrid-screen": ("hybrid-tpe", "backbone", "hybrid-screen"),
    "hybrid-tpe": ("hybrid-tpe", "tpe", "hybrid"),  # the stored rows ran on plain TPE
    "centaur": ("centaur", "cmaes", "centaur"),
    "agent": ("agent", "tpe", "agent"),
    "hybrid-tpe-fixed": ("hybrid-tpe", "tpe", "hybrid-fixed"),
    "hybrid-tpe-late": ("hybrid-tpe", "tpe", "hybrid-late"),
    "hybrid-tpe-screen": ("hybrid-tpe", "tpe", "hybrid-screen"),
    # controls of one mechanism each: the preset with that mechanism off
    "hybrid-no-avoid": ("hybrid-tpe", "backbone", "hybrid"),
    # issue 22, items 2 and 3 (on request): the LLM's initial design; its judged candidates
    "hybrid-design": ("hybrid-tpe", "backbone", "hybrid-design"),
    "hybrid-judge": ("hybrid-tpe", "backbone", "hybrid-judge"),
    "hybrid-tpe-design": ("hybrid-tpe", "tpe", "hybrid-design"),
    "hybrid-tpe-judge": ("hybrid-tpe", "tpe", "hybrid-judge"),
}
"""Each LLM label: the strategy, its backbone and the registry's preset it runs."""
POLICY_OVERRIDES: dict[str, dict[str, Any]] = {
    "hybrid-no-avoid": {"avoid_failures": False},
}
"""The labels that change their preset's policy: the LLMPolicy fields they set."""
LLM_STRATEGIES: tuple[str, ...] = tuple(LLM_PRESETS)
WARP_ROWS: dict[str, Warping] = {
    "backbone-warp-rank": "rank",
    "backbone-warp-half": "half-rank",
    "backbone-warp-tail": "tail",
    "backbone-warp-tailq": "tail-quartile",
    "backbone-warp-power": "power",
}
"""Each ``backbone-warp-*`` row: the backbone's ``BackboneOptions.warping``."""
LOO_ROWS: dict[str, Literal["tpe", "rank"]] = {
    "backbone-loo": "tpe",
    "backbone-loo-rank": "rank",
}
"""Each ``backbone-loo*`` row: the backbone's ``poor_fit`` (``min_loo_rank`` 0.6)."""
OPTION_ROWS: dict[str, dict[str, Any]] = {
    "backbone-start5": {"startup_trials": 5},
    "backbone-power-start5": {"startup_trials": 5, "warping": "power"},
    "backbone-tail-start5": {"startup_trials": 5, "warping": "tail"},
}
"""Each of these rows: the backbone with these ``BackboneOptions`` fields set."""
BACKBONE_VARIANTS: tuple[str, ...] = (*WARP_ROWS, *LOO_ROWS, *OPTION_ROWS)
"""The backbone's measured variants: AgentHPO's own rows, never a classical baseline."""
ON_REQUEST: tuple[str, ...] = (
    "hybrid-tpe-fixed",
    "hybrid-no-avoid",
    "hybrid-design",
    "hybrid-judge",
    "hybrid-tpe-design",
    "hybrid-tpe-judge",
)
CLASSICAL_STRATEGIES: tuple[str, ...] = (
    "backbone",
    "backbone-random",
    "backbone-portfolio",
    *BACKBONE_VARIANTS,
    "auto",
    "random",
    "tpe",
    "tpe-mv",
    "tpe-indep",
    "cmaes",
    "gp",
    "smac",
)
ALL_STRATEGIES: tuple[str, ...] = CLASSICAL_STRATEGIES + LLM_STRATEGIES
SLOW_STRATEGIES: tuple[str, ...] = (
    "gp",
    "smac",
    "backbone",
    "backbone-random",
    "backbone-portfolio",
    *BACKBONE_VARIANTS,
    "auto",
)


def _tpe_default_is_multivariate() -> bool:
    import inspect

    default = inspect.signature(optuna.samplers.TPESampler).parameters["multivariate"].default
    return default is None or default is True


# Every fast strategy, less the TPE variant that is the same as ``tpe`` on this Optuna.
_SAME_AS_TPE = "tpe-mv" if _tpe_default_is_multivariate() else "tpe-indep"
DEFAULT_STRATEGIES: tuple[str, ...] = tuple(
    s
    for s in ALL_STRATEGIES
    if s not in SLOW_STRATEGIES and s != _SAME_AS_TPE and s not in ON_REQUEST
)

_LLM_CACHE: dict[str, LLMClient] = {}


def uses_llm(strategy: str) -> bool:
    """Whether a strategy asks an LLM."""
    return strategy in LLM_STRATEGIES


def available(strategy: str) -> str | None:
    """``None`` if the strategy can run here, else why not."""
    if strategy not in ALL_STRATEGIES:
        return f"unknown strategy {strategy!r}; choose from {', '.join(ALL_STRATEGIES)}"
    if (
        strategy in ("gp", "backbone", "backbone-random", "backbone-portfolio", "auto")
        or strategy in WARP_ROWS
        or strategy in LOO_ROWS
    ) and importlib.util.find_spec("torch") is None:
        return "gp needs torch (pip install torch==2.13.0)"
    if strategy == "smac" and importlib.util.find_spec("smac") is None:
        return "smac needs SMAC3 (pip install smac)"
    return None


def llm_label(strategy: str, llm: str | None) -> str | None:
    """The LLM part of a run's identity: the spec for LLM strategies, ``None`` otherwise."""
    return llm if uses_llm(strategy) else None


def make_llm(spec: str, seed: int) -> LLMClient:
    """The client for ``spec``: ``random`` is a fresh :class:`RandomLLM` per run; any other
    spec (:func:`agenthpo.llm.parse_llm_spec`) is built once per process and reused, so the
    embedded model loads once."""
    if spec == "random":
        return RandomLLM(seed=seed)
    if spec not in _LLM_CACHE:
        _LLM_CACHE[spec] = parse_llm_spec(spec)
    return _LLM_CACHE[spec]


def optuna_sampler(strategy: str, *, task: Task, seed: int, llm: LLMClient | None) -> BaseSampler:
    """The Optuna sampler of a strategy (every strategy but ``smac``)."""
    if strategy in ("tpe-mv", "tpe-indep"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(multivariate=strategy == "tpe-mv", seed=seed)
    if strategy == "smac":
        raise ValueError("smac runs its own ask-and-tell loop, not an Optuna sampler")
    if strategy == "backbone-random":
        from agenthpo.backbone import Backbone, BackboneOptions

        return Backbone(seed=seed, options=BackboneOptions(startup="random"))
    if strategy == "backbone-portfolio":
        from agenthpo.backbone import Backbone, BackboneOptions

        return Backbone(seed=seed, options=BackboneOptions(portfolio=True))
    if strategy in WARP_ROWS:
        from agenthpo.backbone import Backbone, BackboneOptions

        return Backbone(seed=seed, options=BackboneOptions(warping=WARP_ROWS[strategy]))
    if strategy in OPTION_ROWS:
        from agenthpo.backbone import Backbone, BackboneOptions

        return Backbone(seed=seed, options=BackboneOptions(**OPTION_ROWS[strategy]))
    if strategy in LOO_ROWS:
        from agenthpo.backbone import Backbone, BackboneOptions

        options = BackboneOptions(min_loo_rank=0.6, poor_fit=LOO_ROWS[strategy])
        return Backbone(seed=seed, options=options)
    if not uses_llm(strategy):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return make_sampler(strategy, seed=seed)
    name, backbone, preset_name = LLM_PRESETS[strategy]
    policy = preset(preset_name, **POLICY_OVERRIDES.get(strategy, {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return make_sampler(
            name,
            llm=llm,
            space=task.space,
            context=task.context,
            seed=seed,
            policy=policy,
            backbone="backbone" if backbone == "cmaes" else backbone,
        )
