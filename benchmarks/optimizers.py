"""Strategy names -> optimizers: AgentHPO's strategies and the classical baselines.

================  ==========================================================================
``backbone``      AgentHPO's backbone alone (:class:`agenthpo.backbone.Backbone`), no LLM,
                  with its default options; its runs (and those of the LLM strategies on
                  it) store :data:`BACKBONE_VERSION`, and the report leaves out older ones
``backbone-*``    the backbone with the options :data:`OPTION_ROWS` sets, whatever the
                  default is: ``-v1`` (version 1 of the default: GP after 10 Sobol
                  trials, values as they are) and one change each to it: ``-random``
                  (GP's own random start-up), ``-portfolio``, ``-warp-rank``, ``-warp-half``,
                  ``-warp-tail``, ``-warp-tailq``, ``-warp-power`` (GP fitted on warped
                  values, :attr:`agenthpo.backbone.BackboneOptions.warping`), ``-loo`` and
                  ``-loo-rank`` (GP's proposal dropped when its leave-one-out ranks are
                  poor); ``-start5``, ``-power-start5``, ``-tail-start5`` (5 start-up
                  trials; candidates for the next default); on request
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
from typing import Any

import optuna
from optuna.samplers import BaseSampler

from agenthpo.llm import LLMClient, RandomLLM, parse_llm_spec
from agenthpo.policy import preset
from agenthpo.strategies import make_sampler
from benchmarks.tasks import Task

__all__ = [
    "ALL_STRATEGIES",
    "BACKBONE_VARIANTS",
    "BACKBONE_VERSION",
    "BACKBONE_VERSIONS",
    "DEFAULT_STRATEGIES",
    "LLM_STRATEGIES",
    "SLOW_STRATEGIES",
    "as_default_backbone",
    "available",
    "llm_label",
    "make_llm",
    "on_default_backbone",
    "optuna_sampler",
    "uses_llm",
    "with_default_backbone",
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
    # the screen with a margin (1 log unit): GP's own proposal maximizes its acquisition, so
    # the plain screen refuses nearly everything under GP
    "hybrid-margin": ("hybrid-tpe", "backbone", "hybrid-margin"),
    # issue 22, item 5: the LLM revises the space's numeric ranges every 10 trials
    "hybrid-revise": ("hybrid-tpe", "backbone", "hybrid-revise"),
    # the LLM's turns only after the first 10 trials, unscreened: hybrid without its
    # start-up turns (which come before any model can judge them)
    "hybrid-late": ("hybrid-tpe", "backbone", "hybrid-late"),
    # hybrid-margin without its start-up turns: the LLM's 25% start after the backbone's 5
    # Sobol start-up trials, so every LLM proposal is screened (with the margin); the
    # hybrid-judged preset, which is hybrid-tpe's schedule for a capable model
    "hybrid-margin-w5": ("hybrid-tpe", "backbone", "hybrid-judged"),
    # hybrid-design as it was first measured: the design, then hybrid's unscreened 25%
    # (POLICY_OVERRIDES); on the backbone (-v1) and on TPE, for their stored runs
    "hybrid-design-v1": ("hybrid-tpe", "backbone", "hybrid"),
    "hybrid-tpe-design": ("hybrid-tpe", "tpe", "hybrid"),
    # hybrid-judge as it was first measured (on hybrid's start-up turns), on TPE: its
    # stored runs keep meaning that (POLICY_OVERRIDES adds the candidates)
    "hybrid-tpe-judge": ("hybrid-tpe", "tpe", "hybrid"),
}
"""Each LLM label: the strategy, its backbone and the registry's preset it runs."""
POLICY_OVERRIDES: dict[str, dict[str, Any]] = {
    "hybrid-no-avoid": {"avoid_failures": False},
    "hybrid-tpe-judge": {"candidates": 3},
    "hybrid-design-v1": {"startup": 0, "initial_design": 5},
    "hybrid-tpe-design": {"startup": 0, "initial_design": 5},
}
"""The labels that change their preset's policy: the LLMPolicy fields they set."""
LLM_STRATEGIES: tuple[str, ...] = tuple(LLM_PRESETS)
_V1: dict[str, Any] = {"startup_trials": 10, "warping": "none"}
"""The default backbone's options before version 2 (what the older variants changed)."""
OPTION_ROWS: dict[str, dict[str, Any]] = {
    # one change each to the version-1 default (sessions 11 to 13)
    "backbone-warp-rank": {**_V1, "warping": "rank"},
    "backbone-warp-half": {**_V1, "warping": "half-rank"},
    "backbone-warp-tail": {**_V1, "warping": "tail"},
    "backbone-warp-tailq": {**_V1, "warping": "tail-quartile"},
    "backbone-warp-power": {**_V1, "warping": "power"},
    "backbone-loo": {**_V1, "min_loo_rank": 0.6, "poor_fit": "tpe"},
    "backbone-loo-rank": {**_V1, "min_loo_rank": 0.6, "poor_fit": "rank"},
    "backbone-v1": dict(_V1),
    "backbone-random": {**_V1, "startup": "random"},
    "backbone-portfolio": {**_V1, "portfolio": True},
    # a shorter start-up, alone and with warping; -tail-start5 is version 2 of the default
    "backbone-start5": {"startup_trials": 5, "warping": "none"},
    "backbone-power-start5": {"startup_trials": 5, "warping": "power"},
    "backbone-tail-start5": {"startup_trials": 5, "warping": "tail"},
}
"""Each of these rows: the backbone with exactly these ``BackboneOptions`` fields set (the
others at their defaults), so a row means the same whatever the default becomes."""
BACKBONE_VERSION = 2
"""The version of the default backbone's options (``BackboneOptions()``); runs of a strategy
on the default backbone store it, and the report leaves out runs of an older version."""
BACKBONE_VERSIONS: dict[int, str] = {
    1: "GP after 10 Sobol start-up trials, fitted on the values as they are",
    2: "GP after 5 Sobol start-up trials, fitted on tail-warped values",
}
VERSION_ROWS: dict[int, str] = {2: "backbone-tail-start5"}
"""Each version of the default backbone measured first as an option row -> that row: the
row sets exactly the options the version made the default, so its runs are the default
backbone's runs of that version, trial for trial (:func:`as_default_backbone`)."""
BACKBONE_VARIANTS: tuple[str, ...] = tuple(OPTION_ROWS)
"""The backbone's measured variants: AgentHPO's own rows, never a classical baseline."""
ON_REQUEST: tuple[str, ...] = (
    "hybrid-tpe-fixed",
    "hybrid-no-avoid",
    "hybrid-design",
    "hybrid-design-v1",
    "hybrid-judge",
    "hybrid-margin",
    "hybrid-revise",
    "hybrid-late",
    "hybrid-margin-w5",
    "hybrid-tpe-design",
    "hybrid-tpe-judge",
)
CLASSICAL_STRATEGIES: tuple[str, ...] = (
    "backbone",
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


def on_default_backbone(strategy: str) -> bool:
    """Whether a strategy runs on the default backbone (``BackboneOptions()``), so that its
    results change when the default does (:data:`BACKBONE_VERSION`).

    Example:
        >>> on_default_backbone("hybrid-screen"), on_default_backbone("backbone-warp-tail")
        (True, False)
    """
    return strategy == "backbone" or (
        strategy in LLM_PRESETS and LLM_PRESETS[strategy][1] == "backbone"
    )


def as_default_backbone(run: dict[str, Any]) -> dict[str, Any] | None:
    """The run of an option row that a version of the default backbone made its default,
    as a ``backbone`` run of that version (:data:`VERSION_ROWS`); ``None`` for other runs.
    The report and ``--skip-done`` count these beside the ``backbone`` runs, so a version's
    runs are not run twice.

    Example:
        >>> as_default_backbone({"strategy": "backbone-tail-start5", "seed": 0})
        {'strategy': 'backbone', 'seed': 0, 'backbone_version': 2, 'ran_as': 'backbone-tail-start5'}
        >>> as_default_backbone({"strategy": "tpe", "seed": 0}) is None
        True
    """
    row = str(run.get("strategy"))
    version = next((v for v, name in VERSION_ROWS.items() if name == row), None)
    if version is None or run.get("llm"):
        return None
    return {**run, "strategy": "backbone", "backbone_version": version, "ran_as": row}


def with_default_backbone(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``runs`` after the ``backbone`` runs their option rows stand for
    (:func:`as_default_backbone`): put first, so that a ``backbone`` run of the same task
    and seed, in these runs or in a later file, replaces its stand-in."""
    aliases = [a for r in runs if (a := as_default_backbone(r)) is not None]
    return [*aliases, *runs]


def available(strategy: str) -> str | None:
    """``None`` if the strategy can run here, else why not."""
    if strategy not in ALL_STRATEGIES:
        return f"unknown strategy {strategy!r}; choose from {', '.join(ALL_STRATEGIES)}"
    if (
        strategy in ("gp", "backbone", "auto") or strategy in OPTION_ROWS
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
    if strategy in OPTION_ROWS:
        from agenthpo.backbone import Backbone, BackboneOptions

        return Backbone(seed=seed, options=BackboneOptions(**OPTION_ROWS[strategy]))
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
