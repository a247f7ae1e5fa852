"""``agenthpo.create_study``: an Optuna study whose sampler is the agent, in one call.

Example:
    >>> import agenthpo
    >>> study = agenthpo.create_study(
    ...     space={"x": {"type": "float", "low": -10.0, "high": 10.0}},
    ...     llm="random:0",
    ...     direction="minimize",
    ...     description="a parabola with its minimum at x=2",
    ... )
    >>> study.optimize(lambda t: (t.suggest_float("x", -10.0, 10.0) - 2) ** 2, n_trials=5)
    >>> len(study.trials)
    5
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import optuna
from optuna.pruners import BasePruner
from optuna.storages import BaseStorage

from agenthpo import _keys
from agenthpo.llm import LLMClient, parse_llm_spec
from agenthpo.policy import LLMPolicy, Preset
from agenthpo.space import Space
from agenthpo.storage import open_storage
from agenthpo.strategies import DEFAULT_STRATEGY, make_sampler, uses_llm
from agenthpo.task import TaskContext, single_objective_only

__all__ = ["create_study"]


def create_study(
    *,
    space: Space | Mapping[str, Any] | None = None,
    llm: LLMClient | str | None = None,
    strategy: str = DEFAULT_STRATEGY,
    direction: Literal["minimize", "maximize"] = "minimize",
    directions: Sequence[Literal["minimize", "maximize"]] | None = None,
    metric: str | Sequence[str] = "value",
    description: str = "",
    dataset: Mapping[str, Any] | str | None = None,
    model: Mapping[str, Any] | str | None = None,
    hidden_metrics: Iterable[str] = (),
    storage: str | BaseStorage | None = None,
    study_name: str | None = None,
    load_if_exists: bool = False,
    seed: int | None = None,
    policy: LLMPolicy | Preset | str | None = None,
    pruner: BasePruner | None = None,
    **sampler_options: Any,
) -> optuna.Study:
    """Creates (or loads) an Optuna study driven by an AgentHPO strategy.

    Args:
        space: The search space (a :class:`Space` or its YAML form). With it the agent sees
            the whole space from the first trial; without it the space is learned from
            finished trials.
        llm: A client, or a spec such as ``"ollama:qwen2.5:7b"``; ``None`` picks one as the
            CLI does.
        strategy: ``hybrid-tpe`` (default), ``agent``, ``centaur`` or a classical one.
        direction: ``minimize`` or ``maximize``.
        directions: Several objectives' directions (a multi-objective study, as in Optuna);
            the agent then sees the Pareto front.
        metric: What the objective returns, as the agent should call it (with
            ``directions``: one name per objective).
        description: What is trained and on what, for the agent.
        dataset: Dataset facts for the agent.
        model: Model facts for the agent.
        hidden_metrics: Metrics (stored as the ``metrics`` user attribute) the agent must not
            see.
        storage: An AgentHPO storage URL (``sqlite:///``, ``journal:``, ``postgresql://``)
            or an Optuna storage object; ``None`` keeps the study in memory.
        study_name: The study's name.
        load_if_exists: Load the study if the storage already has it.
        seed: Seeds the sampler.
        policy: Who proposes each trial (an LLM strategy's): a preset name of
            :data:`agenthpo.policy.PRESETS`, :func:`agenthpo.policy.preset` with overrides
            (``preset("hybrid-tpe", share=0.5)``) or a full
            :class:`~agenthpo.policy.LLMPolicy`; ``None`` takes the strategy's own preset.
        pruner: An Optuna pruner, as :func:`optuna.create_study` takes it.
        **sampler_options: The options before the policy (``llm_share``, ...), applied onto
            it for one release with a :class:`FutureWarning`
            (:data:`agenthpo.policy.LEGACY_OPTIONS`).

    Returns:
        An ordinary :class:`optuna.Study`: call ``optimize`` or ``ask``/``tell`` on it.

    Raises:
        ValueError: An impossible combination (a CMA-ES strategy with several objectives,
            metric names that do not match the directions) or a loaded study whose trials
            hold a parameter of another type, log setting or choices than ``space``.
        TypeError: An argument of the wrong kind (``llm``, ``space``, ``policy``, ...).
    """
    if space is not None and not isinstance(space, Space):
        if not isinstance(space, Mapping):
            raise TypeError(f"space: give a Space or its YAML form, not {type(space).__name__}")
        space = Space.from_dict(space)
    if (
        llm is not None
        and not isinstance(llm, str)
        and not callable(getattr(llm, "complete", None))
    ):
        raise TypeError(
            f"llm: give a spec such as 'ollama:qwen2.5:7b' or an LLM client, not"
            f" {type(llm).__name__}"
        )
    if "sampler" in sampler_options:
        raise TypeError(
            "sampler: create_study builds its sampler from strategy=; for a sampler of your"
            " own, use optuna.create_study(sampler=AgentSampler(...))"
        )
    if storage is not None and not isinstance(storage, (str, BaseStorage)):
        raise TypeError(
            f"storage: give a storage URL or an Optuna storage, not {type(storage).__name__}"
        )
    client = parse_llm_spec(llm) if isinstance(llm, str) else llm
    hidden = (hidden_metrics,) if isinstance(hidden_metrics, str) else tuple(hidden_metrics)
    goals = list(directions) if directions is not None else [direction]
    if len(goals) > 1 and (problem := single_objective_only(strategy)):
        raise ValueError(problem)
    if not uses_llm(strategy) and (llm is not None or policy is not None):
        given = " and ".join(n for n, v in (("llm", llm), ("policy", policy)) if v is not None)
        raise ValueError(
            f"strategy {strategy!r} asks no LLM, so {given} would be ignored; give an LLM"
            " strategy (hybrid-tpe, agent, centaur) or leave them out"
        )
    if isinstance(metric, str):
        names = [metric] if len(goals) == 1 else [f"{metric}_{i}" for i in range(len(goals))]
    else:
        names = list(metric)
    if len(names) != len(goals):
        raise ValueError(f"{len(names)} metric names for {len(goals)} directions")
    context = TaskContext(
        name=study_name or "study",
        description=description,
        dataset=dataset or {},
        model=model or {},
    ).with_objectives(zip(names, goals, strict=True))
    sampler = make_sampler(
        strategy,
        llm=client if uses_llm(strategy) else None,
        space=space,
        context=context,
        seed=seed,
        hidden_metrics=hidden,
        policy=policy,
        **sampler_options,
    )
    study = optuna.create_study(
        storage=open_storage(storage) if isinstance(storage, str) else storage,
        sampler=sampler,
        pruner=pruner,
        study_name=study_name,
        directions=goals,
        load_if_exists=load_if_exists,
    )
    if space is not None and load_if_exists:
        stored: dict[str, Any] = {}
        for trial in study.get_trials(deepcopy=False):
            for name, dist in trial.distributions.items():
                stored.setdefault(name, dist)
        conflicts = space.conflicts_with(stored)
        if conflicts:
            # Optuna refuses such a trial only when it stores the parameter, mid-run.
            raise ValueError(
                f"study {study.study_name!r} holds trials whose parameters do not fit the"
                f" space ({'; '.join(conflicts)}); Optuna cannot mix them in one study"
            )
    if _keys.STUDY_TASK not in study.user_attrs:
        # What a report shows of the task, as the Tuner stores it for a task file.
        study.set_user_attr(
            _keys.STUDY_TASK,
            {
                "name": study.study_name,
                "description": description,
                "dataset": dataset or {},
                "model": model or {},
                "space": space.to_dict() if space is not None else {},
            },
        )
        study.set_user_attr(_keys.STUDY_HIDDEN, list(hidden))
    if study.metric_names is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)
    return study
