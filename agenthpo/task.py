"""The task: what is trained, on what, the goal, the space, and how one trial runs.

Loaded from YAML and validated with pydantic; every mistake becomes a
:class:`agenthpo.errors.TaskError` whose lines each name the field and what to fix.

Example:
    >>> task = Task.model_validate({
    ...     "name": "demo",
    ...     "objective": {"metric": "val_accuracy", "direction": "maximize"},
    ...     "space": {"lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True}},
    ...     "n_trials": 10,
    ...     "command": ["python", "train.py"],
    ... })
    >>> task.objective.direction
    'maximize'
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agenthpo._context import TaskContext
from agenthpo._yaml import Refused, safe_load
from agenthpo.errors import SpaceError, TaskError
from agenthpo.llm import LLMSettings, StructuredMode
from agenthpo.policy import PRESETS, STRATEGY_PRESETS, Preset, get_preset
from agenthpo.space import Config, Space
from agenthpo.space._params import _name_problem

__all__ = [
    "MAX_SEED",
    "MAX_TRIALS",
    "STRATEGY_NAMES",
    "LLMSection",
    "NoiseSection",
    "Objective",
    "PolicySection",
    "StrategyName",
    "Task",
    "TaskContext",
    "load_task",
    "task_from_dict",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
MAX_NAME_CHARS = 200
"""The longest task (and so study) name: Optuna's SQL schema holds 512 characters."""
_PLACEHOLDER_NAME = re.compile(r"\{([A-Za-z_][\w.\-]*)\}")
_TARGET_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_FIELD_PREFIX_RE = re.compile(r"^[A-Za-z_]\w*[.:]")
# Characters str.splitlines() breaks at, written escaped so that one problem stays one line.
_ESCAPE_BREAKS = str.maketrans({c: repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


StrategyName = Literal[
    "agent", "hybrid-tpe", "centaur", "backbone", "auto", "tpe", "random", "cmaes", "gp"
]
"""The strategies (see :mod:`agenthpo.strategies`)."""

MAX_SEED = 2**32 - 1
"""The largest seed (NumPy's random states, which Optuna's samplers use, take 32 bits)."""

MAX_TRIALS = 100_000
"""The largest budget a study takes (``n_trials``, ``--n-trials``): more is a slip of the
keyboard, not a search (the agent's history and the report are built for far fewer)."""

STRATEGY_NAMES: tuple[str, ...] = get_args(StrategyName)
"""Every strategy's name, in :data:`StrategyName`'s order (for help texts and messages)."""


def _is_option(arg: str) -> bool:
    """Whether a command element is an option (``--momentum``), not a value (``-1``).

    Example:
        >>> _is_option("--momentum"), _is_option("-1"), _is_option("-2.5e-3")
        (True, False, False)
    """
    if not arg.startswith("-"):
        return False
    try:
        float(arg)
    except ValueError:
        return True
    return False


def _numeric(annotation: Any) -> bool:
    """Whether a field takes a number and no boolean (``int``, ``float | None``, ...)."""
    kinds = set(get_args(annotation)) or {annotation}
    return bool(kinds & {int, float}) and bool not in kinds


class _Fields(BaseModel):
    """A task file's section: a number field refuses ``true``/``false``, which pydantic would
    read as 1 and 0 (``n_trials: true`` ran one trial, ``timeout: true`` gave a second)."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _numeric(field.annotation):
            raise ValueError(f"must be a number, not true/false (got {str(value).lower()})")
        return value


class Objective(BaseModel):
    """A metric to optimize and its direction (a task has one, or several for a trade-off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(min_length=1)
    direction: Literal["maximize", "minimize"]


def single_objective_only(strategy: str) -> str | None:
    """Why ``strategy`` cannot optimize several objectives, or ``None`` if it can.

    Example:
        >>> single_objective_only("centaur")
        "strategy: 'centaur' uses CMA-ES, which optimizes one objective; with several use hybrid-tpe, agent, tpe, random or gp"
    """  # noqa: E501
    if strategy in ("cmaes", "centaur"):
        return (
            f"strategy: {strategy!r} uses CMA-ES, which optimizes one objective;"
            " with several use hybrid-tpe, agent, tpe, random or gp"
        )
    return None


class LLMSection(_Fields):
    """The ``llm:`` section: a spec (``openai:gpt-4o-mini``, ``local``, ...) and settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str | None = None
    structured_output: StructuredMode = "auto"
    timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    temperature: float = Field(default=0.7, ge=0, le=2)
    price_per_mtok: tuple[float, float] | None = None
    """(input, output) dollars per million tokens, for models the price table lacks."""

    @field_validator("spec")
    @classmethod
    def _spec_not_blank(cls, value: str | None) -> str | None:
        # An empty spec would otherwise reach the provider chain and fail there, late and
        # without the field's name; leaving the key out is how to take the default chain.
        if value is not None and not value.strip():
            raise ValueError("is empty; name a model (local, openai:gpt-4o-mini, ...) or drop it")
        return value


class PolicySection(_Fields):
    """``policy: {preset: hybrid-screen, share: 0.5}``: the LLM policy, a preset and overrides.

    ``preset`` names one of :data:`agenthpo.policy.PRESETS` (left out: the strategy's own);
    every other key sets that field of :class:`agenthpo.policy.LLMPolicy` for any model.

    Example:
        >>> section = PolicySection.model_validate({"preset": "hybrid", "share": 0.5})
        >>> section.overrides()
        {'share': 0.5}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: str | None = None
    warmup: int | None = Field(default=None, ge=0, le=100_000)
    startup: int | None = Field(default=None, ge=0, le=100_000)
    share: float | None = Field(default=None, ge=0, le=1)
    adaptive: bool | None = None
    trust_floor: float | None = Field(default=None, ge=0, le=1)
    screen: bool | None = None
    screen_margin: float | None = Field(default=None, ge=0, le=1e6)
    show_backbone: bool | None = None
    batch_size: int | None = Field(default=None, ge=1, le=16)
    initial_design: int | None = Field(default=None, ge=0, le=32)
    candidates: int | None = Field(default=None, ge=1, le=16)
    max_tokens: int | None = Field(default=None, ge=0)
    max_cost: float | None = Field(default=None, ge=0)
    repair_rounds: int | None = Field(default=None, ge=0, le=5)
    duplicate_tolerance: float | None = Field(default=None, ge=0)
    avoid_failures: bool | None = None
    record_calls: bool | None = None
    revise_space_every: int | None = Field(default=None, ge=0, le=100_000)
    revise_space_max: int | None = Field(default=None, ge=0, le=100)

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in PRESETS:
            raise ValueError(f"unknown preset {value!r}; choose one of {', '.join(PRESETS)}")
        return value

    def overrides(self) -> dict[str, Any]:
        """The fields given, as :class:`agenthpo.policy.LLMPolicy` overrides."""
        return {
            name: getattr(self, name)
            for name in self.model_fields_set
            if name != "preset" and getattr(self, name) is not None
        }


# The task file's keys from before the ``policy:`` section, and the policy field each sets.
_LEGACY_POLICY_KEYS = {
    "llm_share": "share",
    "llm_startup_trials": "startup",
    "llm_warmup_trials": "warmup",
    "adaptive_share": "adaptive",
    "llm_screen": "screen",
    "llm_batch_size": "batch_size",
    "require_llm": "require_llm",
    "max_llm_tokens": "max_tokens",
    "max_llm_cost": "max_cost",
}


PrunerName = Literal["none", "median", "successive_halving", "hyperband", "agent"]


class PrunerSection(_Fields):
    """``pruner: {type: median, n_warmup_steps: 5, ...}``: a pruner and its options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: PrunerName
    n_startup_trials: int | None = Field(default=None, ge=0)
    n_warmup_steps: int | None = Field(default=None, ge=0)
    patience: int | None = Field(default=None, ge=1)
    min_resource: int | None = Field(default=None, ge=1)
    reduction_factor: int | None = Field(default=None, ge=2)

    def spec(self) -> dict[str, Any]:
        """The options given, for :func:`agenthpo.pruners.make_pruner`."""
        return self.model_dump(exclude_none=True)


class NoiseSection(_Fields):
    """The ``noise:`` section: re-evaluating the best configurations on further seeds (or,
    for a deterministic task, on held-out folds: :attr:`fold_param`).

    A single run's win can be a seed fluke. With this section the tuner re-runs the top
    trials and the default configuration on further seeds, within the study's budget, and
    recommends the default unless a candidate beats it beyond the noise band (see
    :meth:`agenthpo.Tuner.select`). It is on by default whenever the task can vary a seed
    (see :meth:`Task.noise_setup`); ``noise: false`` turns it off.

    Example:
        >>> NoiseSection().repeats, NoiseSection().top, NoiseSection().max_share
        (2, 3, 0.4)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    repeats: int = Field(default=2, ge=1, le=20)
    """Re-runs of each re-evaluated configuration, with seeds 1..repeats (its trial ran with
    seed 0)."""
    seed_param: str = Field(default="seed", min_length=1)
    """How the seed reaches the run: ``--seed N`` (or a ``{seed}`` placeholder) for a
    command, ``config["seed"]`` (or a ``seed`` argument) for a function. It must not be a
    parameter of the space."""
    every: int = Field(default=10, ge=1)
    """Re-evaluate the incumbent after this many trials, so the agent learns the noise level
    early (its runs count towards ``top``'s re-evaluations, not on top of them)."""
    top: int = Field(default=3, ge=1, le=20)
    """At the end, re-run this many best trials and the default configuration on the
    further seeds, and recommend by the mean: a single run's win can be a seed fluke."""
    band: float = Field(default=2.0, ge=0.0)
    """The noise band, in standard errors of the difference of two means: a candidate is an
    improvement only when its mean beats the default's by more than this."""
    max_share: float = Field(default=0.4, gt=0.0, lt=1.0)
    """The largest share of ``n_trials`` that re-evaluation runs may take: every re-run
    counts against the budget like a trial. Candidates that do not fit are not
    re-evaluated (the best single run and the default first), and the run says so."""
    fold_param: str | None = Field(default=None, min_length=1)
    """For a task whose runs do not vary with the seed (a deterministic training, a fixed
    split): the parameter through which a run takes a **held-out validation fold**, so
    that the re-runs test the candidates on evidence the search never scored, instead of on
    further seeds (which would measure nothing). Fold 0, or the parameter left out, is the
    validation the search optimizes; folds 1..``repeats`` are validation windows (or folds)
    the script keeps apart from it and from the test data. It reaches the run as
    ``seed_param`` does: ``--fold N`` (or a ``{fold}`` placeholder) for a command,
    ``config["fold"]`` for a function; it must not be a parameter of the space.

    With it the selection changes in three ways: a candidate's mean is over the held-out
    folds alone (its search value, which the search fitted, does not count); the noise band
    is ``band`` standard errors of the fold-by-fold differences to the default (a paired
    comparison: each fold scores both); and the incumbent is not re-run during the search
    (``every`` does not apply), so the agent never sees held-out evidence while it
    searches. Without a default configuration there is nothing to beat and the best mean
    over the held-out folds is recommended. The section must be given explicitly
    (``noise: {fold_param: fold, repeats: 4}``): a fold is never guessed from the command.

    Example:
        >>> NoiseSection(fold_param="fold", repeats=4).fold_param
        'fold'
    """

    @property
    def param(self) -> str:
        """The parameter the re-runs vary: ``fold_param`` if given, else ``seed_param``."""
        return self.fold_param or self.seed_param

    @property
    def held_out(self) -> bool:
        """Whether the re-runs score held-out folds (``fold_param``) rather than seeds."""
        return self.fold_param is not None


class WarmStartFrom(_Fields):
    """The best trials of an earlier study, run first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: str = Field(min_length=1)
    """A storage URL, optionally with ``#STUDY`` (default: the task's name)."""
    top: int = Field(default=3, ge=1, le=100)


class Task(_Fields):
    """One tuning task, as written in a task file.

    Exactly one of ``command`` (an argv list; the config is appended as ``--name value``
    or substituted into ``{name}`` placeholders, and written to a JSON file) and
    ``function`` (``"module:callable"``, called with the config and a reporter) says how a
    trial runs.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str
    description: str = ""
    dataset: dict[str, Any] | str = Field(default_factory=dict)
    model: dict[str, Any] | str = Field(default_factory=dict)
    objective: Objective
    """The objective, or the first of several."""
    objectives: list[Objective] = Field(default_factory=list)
    """Every objective, the first included; more than one makes a multi-objective task
    (``objective:`` may be written as a list for this)."""
    hidden_metrics: list[str] = Field(default_factory=list)
    space: Space
    n_trials: int | None = Field(default=None, ge=1, le=MAX_TRIALS)
    """The budget: trials (with re-evaluation runs) the study may hold. ``None`` leaves it to
    the caller (``--n-trials``, ``Tuner(n_trials=...)``), which must then give one."""
    default_config: dict[str, Any] | None = None
    """The configuration run first, as the baseline to beat. A parameter given as ``null``
    is left out of that run (no ``--name value``, no key in the config), so the script
    uses its own default, e.g. argparse's ``default=None``."""
    warm_start: list[dict[str, Any]] = Field(default_factory=list)
    warm_start_from: WarmStartFrom | None = None
    command: list[str] | None = None
    function: str | None = None
    timeout: float | None = Field(default=None, gt=0)
    time_limit: float | None = Field(default=None, gt=0)
    env: dict[str, str] = Field(default_factory=dict)
    llm: LLMSection | None = None
    strategy: StrategyName = "hybrid-tpe"
    policy: PolicySection | None = None
    """Who proposes each trial (:class:`PolicySection`): a preset and overrides. The keys
    below are the older way to set some of its fields, and still work."""
    # The older keys for policy fields (``policy.share`` and so on); unset, the preset's.
    llm_share: float | None = Field(default=None, ge=0, le=1)
    """``policy.share``: the LLM's share of the trials after its start-up."""
    llm_startup_trials: int | None = Field(default=None, ge=0, le=100_000)
    """``policy.startup``: trials the LLM proposes after the warm-up."""
    llm_warmup_trials: int | None = Field(default=None, ge=0, le=100_000)
    """``policy.warmup``: trials the backbone proposes before the LLM's first turn."""
    adaptive_share: bool | None = None
    """``policy.adaptive``: whether the LLM's share follows how its proposals do."""
    llm_screen: bool | None = None
    """``policy.screen``: whether the backbone screens the LLM's proposals (``hybrid-tpe``
    and ``agent``)."""
    llm_batch_size: int = Field(default=1, ge=1, le=16)
    """``policy.batch_size``: candidates asked for in one call."""
    require_llm: bool = False
    """Whether an LLM that cannot run stops the run with an error (``--require-llm``); by
    default the backbone proposes its trials instead, and the run says so."""
    noise: NoiseSection | Literal[False] | None = None
    """Noise-robust selection (:class:`NoiseSection`): ``None`` (not given) turns it on when
    the task can vary a seed (:meth:`noise_setup`), ``true`` or a mapping turns it on,
    ``false`` off."""
    pruner: PrunerName | PrunerSection | None = None
    max_llm_tokens: int | None = Field(default=None, ge=0)
    """``policy.max_tokens``: the study's LLM token budget."""
    max_llm_cost: float | None = Field(default=None, ge=0)
    """``policy.max_cost``: the study's LLM budget in dollars."""
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    storage: str | None = None

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _objective_list(cls, data: Any) -> Any:
        """``objective: [..]`` (or ``objectives:``) lists several; ``objective`` is the first."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        given = data.get("objective")
        if isinstance(given, list):
            if "objectives" in data and data["objectives"] != given:
                raise ValueError(
                    "objectives: give the objectives once, as `objective: [...]` or"
                    " `objectives: [...]`"
                )
            if not given:
                raise ValueError("objective: the list is empty; name at least one metric")
            data["objectives"] = given
            try:
                data["objective"] = Objective.model_validate(given[0])
            except ValidationError:
                # Reported once, at objectives.0; this stand-in never outlives validation.
                data["objective"] = Objective(metric="?", direction="minimize")
        elif given is None and isinstance(data.get("objectives"), list) and data["objectives"]:
            data["objective"] = data["objectives"][0]
        return data

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if len(value) > MAX_NAME_CHARS:
            raise ValueError(
                f"at most {MAX_NAME_CHARS} characters (got {len(value)}, starting"
                f" {value[:20]!r}); it names the study in the storage"
            )
        if not _NAME_RE.match(value):
            raise ValueError(
                "use letters, digits, '_', '.' or '-' and start with a letter or digit"
                f" (got {value!r})"
            )
        return value

    @field_validator("space", mode="before")
    @classmethod
    def _build_space(cls, value: Any) -> Space:
        if isinstance(value, Space):
            # a Space built in Python may hold any name Optuna takes; a task's become flags
            problems = [p for p in map(_name_problem, value.names) if p is not None]
            if problems:
                raise ValueError("; ".join(problems))
            return value
        if not isinstance(value, dict):
            raise ValueError(
                "must be a mapping from hyperparameter name to its range, e.g."
                " {lr: {type: float, low: 1.0e-4, high: 0.1, log: true}}"
            )
        for name, spec in value.items():
            # Field paths embed these keys; a line break in one would split a message line.
            for i, key in enumerate([name, *(spec if isinstance(spec, dict) else ())]):
                if isinstance(key, str) and not key.isprintable():
                    where = "space" if i == 0 else f"space.{name}"
                    raise ValueError(
                        f"{where}: the key {key!r} contains a line break or invisible"
                        " character; use letters, digits, '_', '.' or '-'"
                    )
        try:
            return Space.from_dict(value)
        except SpaceError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("dataset", "model", mode="before")
    @classmethod
    def _check_facts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        raise ValueError(
            "must be a mapping of facts (e.g. {name: digits, samples: 1797}) or a text"
            f" (got {value!r})"
        )

    @field_validator("noise", mode="before")
    @classmethod
    def _noise_shorthand(cls, value: Any) -> Any:
        if value is True:
            return {}
        if value is None or value is False or isinstance(value, (dict, NoiseSection)):
            return value
        raise ValueError(f"give true, false or a mapping of its settings (got {value!r})")

    @field_validator("warm_start_from", mode="before")
    @classmethod
    def _warm_start_shorthand(cls, value: Any) -> Any:
        return {"study": value} if isinstance(value, str) else value

    @field_validator("llm", mode="before")
    @classmethod
    def _llm_shorthand(cls, value: Any) -> Any:
        return {"spec": value} if isinstance(value, str) else value

    @field_validator("command", mode="before")
    @classmethod
    def _check_command(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                "must be a list of arguments, not one string (commands never run through a"
                f" shell); write e.g. [{', '.join(value.split()) or 'python, train.py'}]"
            )
        if isinstance(value, list):
            if not value:
                raise ValueError("must not be empty; write e.g. [python, train.py]")
            return [str(v) if isinstance(v, (int, float)) else v for v in value]
        return value

    @field_validator("function")
    @classmethod
    def _check_function(cls, value: str | None) -> str | None:
        if value is not None and not _TARGET_RE.match(value):
            raise ValueError(f"must look like 'package.module:callable' (got {value!r})")
        return value

    def _check_placeholders(self, command: list[str]) -> None:
        """Refuses placeholders that name no parameter, a standalone placeholder whose
        choices include one the program would read as an option (``--help``), and a
        conditional parameter's placeholder apart from its option (``--m {m}``: the element
        is left out while the parameter is inactive, the option would stay)."""
        known = set(self.space.names)
        if self.noise is not False:
            section = self.noise or NoiseSection()
            known.add(section.seed_param)
            if section.fold_param is not None:
                known.add(section.fold_param)
        for i, arg in enumerate(command):
            for match in _PLACEHOLDER_NAME.finditer(arg):
                name = match.group(1)
                param = self.space[name] if name in self.space.names else None
                condition = getattr(param, "condition", None)
                if condition and len(_PLACEHOLDER_NAME.findall(arg)) > 1:
                    raise ValueError(
                        f"command: {{{name}}} is conditional and shares the element {arg!r}"
                        " with other placeholders; the element is left out while"
                        f" {name} is inactive, so give it one of its own, --{name}={{{name}}}"
                    )
                flag = command[i - 1] if i else ""
                if condition and arg == match.group(0) and _is_option(flag):
                    # The element is left out while the parameter is inactive; its flag,
                    # a separate element, would stay and take the next argument as its value.
                    raise ValueError(
                        f"command: {{{name}}} is conditional and stands apart from its option"
                        f" {command[i - 1]!r}; write them as one element,"
                        f" {command[i - 1]}={{{name}}}, which is left out while {name} is"
                        " inactive"
                    )
                if name not in known:
                    hint = (
                        f" (for held-out validation folds, add noise: {{fold_param: {name}}})"
                        if "fold" in name.lower()
                        else ""
                    )
                    extra = sorted(known - set(self.space.names))
                    raise ValueError(
                        f"command: the placeholder {{{name}}} names no parameter of the space"
                        f" ({', '.join(self.space.names) or 'none'}"
                        + (
                            f"; the tuner also fills {', '.join('{' + e + '}' for e in extra)}"
                            if extra
                            else ""
                        )
                        + "); fix the name or remove it"
                        + hint
                    )
                choices = getattr(param, "choices", None) or []
                risky = [c for c in choices if isinstance(c, str) and c.startswith("-")]
                if arg == match.group(0) and risky:
                    raise ValueError(
                        f"command: the placeholder {{{name}}} stands alone, and the choice"
                        f" {risky[0]!r} would be read as an option; write --{name}={{{name}}}"
                    )

    @model_validator(mode="after")
    def _check_task(self) -> Task:
        if self.command is None and self.function is None:
            raise ValueError(
                "command: missing; give exactly one of `command` (e.g. [python, train.py]) or"
                " `function` (e.g. 'train:objective') to say how a trial runs"
            )
        if self.command is not None and self.function is not None:
            raise ValueError(
                "function: give exactly one of `command` and `function`, not both; remove one"
            )
        if self.command is not None:
            self._check_placeholders(self.command)
        if self.default_config is not None:
            config, _ = self.space.normalize(self.default_config)
            left_out = {k for k, v in config.items() if v is None and k in self.space}
            problems = [p for p in self.space.validate(config) if p.name not in left_out]
            if problems:
                # Each violation message starts with "<name>: ".
                raise ValueError(
                    "\n".join(
                        f"default_config.{_key(p.name)}: "
                        + p.message.removeprefix(p.name + ": ").translate(_ESCAPE_BREAKS)
                        for p in problems
                    )
                )
            self.default_config = config
        checked = []
        for index, config in enumerate(self.warm_start):
            normalized, _ = self.space.normalize(config)
            problems = self.space.validate(normalized)
            if problems:
                raise ValueError(f"warm_start.{index}: " + "; ".join(str(p) for p in problems))
            checked.append(normalized)
        self.warm_start = checked
        if (
            isinstance(self.noise, NoiseSection)
            and self.command is not None
            and any(_PLACEHOLDER_NAME.search(arg) for arg in self.command)
            and not any("{" + self.noise.param + "}" in arg for arg in self.command)
        ):
            name = self.noise.param
            what = "folds" if self.noise.held_out else "seeds"
            raise ValueError(
                f"noise: the command uses placeholders but none for {{{name}}}, so the re-runs'"
                f" {what} would never reach the script; add e.g. --{name}={{{name}}} to it"
            )
        if isinstance(self.noise, NoiseSection) and self.noise.seed_param in self.space:
            raise ValueError(
                f"noise.seed_param: {self.noise.seed_param!r} is a parameter of the space;"
                " name the script's seed option, which the tuner varies itself"
            )
        if isinstance(self.noise, NoiseSection) and self.noise.fold_param in self.space:
            raise ValueError(
                f"noise.fold_param: {self.noise.fold_param!r} is a parameter of the space;"
                " name the script's held-out fold option, which the tuner varies itself"
            )
        overrides = self.policy_overrides()  # raises on a field given twice
        if overrides.get("screen") and self.strategy == "centaur":
            key = "llm_screen" if self.llm_screen else "policy.screen"
            raise ValueError(
                f"{key}: the backbone screens the LLM's proposals in hybrid-tpe and agent,"
                f" not in {self.strategy} (CMA-ES cannot); remove {key} or change the strategy"
            )
        if (overrides.get("candidates") or 1) > 1 and self.strategy == "centaur":
            raise ValueError(
                "policy.candidates: the backbone judges the LLM's candidates in hybrid-tpe and"
                f" agent, not in {self.strategy} (CMA-ES cannot); remove policy.candidates or"
                " change the strategy"
            )
        self._check_objectives()
        return self

    def _check_objectives(self) -> None:
        if not self.objectives:
            self.objectives = [self.objective]
        if self.objectives[0] != self.objective:
            raise ValueError(
                "objectives: the first objective must be `objective`; give the list once, as"
                " `objective: [...]`"
            )
        names = [o.metric for o in self.objectives]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"objective: {', '.join(map(repr, twice))} is listed more than once")
        for name in names:
            if name in self.hidden_metrics:
                raise ValueError(
                    f"hidden_metrics: the objective metric {name!r} cannot be hidden"
                    " from the agent; remove it from hidden_metrics"
                )
        if len(names) == 1:
            return
        if self.pruner_spec() not in (None, "none"):
            raise ValueError(
                "pruner: Optuna prunes single-objective studies only; remove `pruner` or keep"
                " one objective"
            )
        if isinstance(self.noise, NoiseSection):
            raise ValueError(
                "noise: the seed-noise measurement needs a single objective; remove `noise`"
                " or keep one objective"
            )
        problem = single_objective_only(self.strategy)
        if problem:
            raise ValueError(problem)

    def policy_overrides(self) -> dict[str, Any]:
        """The :class:`agenthpo.policy.LLMPolicy` fields this task sets: the ``policy:``
        section's and the older keys' (``llm_share``, ``llm_screen``, ...), and the ``llm:``
        section's ``temperature`` and ``price_per_mtok``.

        Raises:
            ValueError: A field given both ways.
        """
        overrides = dict(self.policy.overrides()) if self.policy is not None else {}
        for key, name in _LEGACY_POLICY_KEYS.items():
            value = getattr(self, key)
            if value is None or value == type(self).model_fields[key].default:
                continue
            if name in overrides:
                raise ValueError(f"{key}: give it once, as policy.{name} or as {key}")
            overrides[name] = value
        if self.llm is not None:
            for name in ("temperature", "price_per_mtok"):
                value = getattr(self.llm, name)
                if value is not None and value != LLMSection.model_fields[name].default:
                    overrides[name] = value
        return overrides

    def llm_policy(self, strategy: str | None = None) -> Preset | None:
        """The policy of ``strategy`` (default: the task's) with this task's overrides; ``None``
        for a classical strategy, which asks no LLM.

        Example:
            >>> task = Task.model_validate({
            ...     "name": "demo", "objective": {"metric": "loss", "direction": "minimize"},
            ...     "space": {"x": {"type": "float", "low": 0, "high": 1}}, "n_trials": 5,
            ...     "command": ["python", "train.py"], "llm_share": 0.5,
            ...     "policy": {"preset": "hybrid-screen"}})
            >>> p = task.llm_policy()
            >>> p.name, p.capable.share, p.capable.screen
            ('hybrid-screen', 0.5, True)
        """
        strategy = strategy or self.strategy
        if strategy not in STRATEGY_PRESETS:
            return None
        name = self.policy.preset if self.policy is not None else None
        return get_preset(name or STRATEGY_PRESETS[strategy]).with_overrides(
            **self.policy_overrides()
        )

    @property
    def is_multi_objective(self) -> bool:
        """Whether the task trades off several objectives (a Pareto front, not one best)."""
        return len(self.objectives) > 1

    @property
    def metric_names(self) -> list[str]:
        """The objectives' metrics, in order."""
        return [o.metric for o in self.objectives]

    @property
    def directions(self) -> list[Literal["maximize", "minimize"]]:
        """The objectives' directions, in order."""
        return [o.direction for o in self.objectives]

    @property
    def base_dir(self) -> Path:
        """The directory of the task file: commands run there and relative paths start there."""
        return self._base_dir

    @property
    def source(self) -> Path | None:
        """The task file, when loaded from one."""
        return self._source

    def with_base_dir(self, base_dir: Path, source: Path | None = None) -> Task:
        """Sets the directory that relative paths are resolved against; returns ``self``."""
        self._base_dir = base_dir
        self._source = source
        return self

    def default_storage(self) -> str:
        """``storage`` from the task, else a SQLite file beside the task file.

        A relative path in a ``sqlite:///`` or ``journal:`` URL is relative to the task
        file's folder, not the working directory: run from anywhere, a task finds its
        study.
        """
        if self.storage:
            return _resolve_storage(self.storage, self._base_dir)
        stem = self._source.stem if self._source is not None else self.name
        return f"sqlite:///{(self._base_dir / f'{stem}.agenthpo.db').resolve()}"

    def noise_setup(self) -> NoiseSection | None:
        """The noise-robust selection in force: the ``noise:`` section, or the defaults when
        the section is not given and the task can vary a seed; ``None`` when it is off.

        A task can vary a seed (read from the task file and the function's source, never by
        running anything) when it has one objective and

        * its command has a ``{seed}`` placeholder, or holds a ``--seed`` option itself
          (and no placeholders, so the tuner's ``--seed N`` is appended after it), or
        * its function takes a ``seed`` argument or reads ``config["seed"]``.

        Detection leaves it off when ``seed`` is a parameter of the space: the search tunes
        the seed then, and re-runs on other seeds would override its choice.

        ``noise: false`` turns the selection off; ``noise: true`` or a mapping turns it on
        (the seed then reaches the run as ``seed_param`` says). A task whose runs ignore the
        seed can expose held-out validation folds instead, with
        ``noise: {fold_param: fold}`` (:attr:`NoiseSection.fold_param`): it is never turned
        on by detection.

        Example:
            >>> task = Task.model_validate({
            ...     "name": "demo", "objective": {"metric": "acc", "direction": "maximize"},
            ...     "space": {"lr": {"type": "float", "low": 0.001, "high": 0.1}},
            ...     "n_trials": 5, "command": ["python", "train.py", "--seed", "0"]})
            >>> task.noise_setup() == NoiseSection()
            True
            >>> task_with(task, noise=False).noise_setup() is None
            True
        """
        if isinstance(self.noise, NoiseSection):
            return self.noise
        if self.noise is False or self.is_multi_objective:
            return None
        if NoiseSection().seed_param in self.space:
            return None  # the seed is tuned: re-runs varying it would override the choice
        return NoiseSection() if self.seed_source() is not None else None

    def seed_source(self) -> str | None:
        """How this task's runs take a seed (``"the command's {seed} placeholder"``, ...), as
        :meth:`noise_setup` detects it; ``None`` when nothing shows that they do.

        Example:
            >>> task = Task.model_validate({
            ...     "name": "demo", "objective": {"metric": "acc", "direction": "maximize"},
            ...     "space": {"lr": {"type": "float", "low": 0.001, "high": 0.1}},
            ...     "n_trials": 5, "command": ["python", "train.py", "--seed={seed}"]})
            >>> task.seed_source()
            "the command's {seed} placeholder"
        """
        name = self.noise.seed_param if isinstance(self.noise, NoiseSection) else "seed"
        if self.command is not None:
            if any("{" + name + "}" in arg for arg in self.command):
                return f"the command's {{{name}}} placeholder"
            placeholders = any(_PLACEHOLDER_NAME.search(arg) for arg in self.command)
            flag = f"--{name}"
            if not placeholders and any(
                a == flag or a.startswith(flag + "=") for a in self.command
            ):
                return f"the command's {flag} option"
            return None
        if self.function is not None:
            return _function_seed(self.function, self._base_dir, name)
        return None

    def pruner_spec(self) -> str | dict[str, Any] | None:
        """The ``pruner:`` setting in the form :func:`agenthpo.pruners.make_pruner` takes."""
        if isinstance(self.pruner, PrunerSection):
            return self.pruner.spec()
        return self.pruner

    def llm_settings(self) -> LLMSettings | None:
        """The provider settings of the ``llm:`` section, if any."""
        if self.llm is None:
            return None
        return LLMSettings(
            structured_output=self.llm.structured_output,
            timeout=self.llm.timeout,
            max_retries=self.llm.max_retries,
        )

    def baseline(self) -> tuple[Config, list[str]] | None:
        """The default configuration without its ``null`` entries, and the parameters those
        leave to the script's own default; ``None`` when the task has none.

        Example:
            >>> task = Task.model_validate({
            ...     "name": "demo", "objective": {"metric": "acc", "direction": "maximize"},
            ...     "space": {"lr": {"type": "float", "low": 0.001, "high": 0.1},
            ...               "depth": {"type": "int", "low": 1, "high": 9}},
            ...     "default_config": {"lr": 0.01, "depth": None},
            ...     "n_trials": 5, "command": ["python", "train.py"]})
            >>> task.baseline()
            ({'lr': 0.01}, ['depth'])
        """
        if self.default_config is None:
            return None
        given = {k: v for k, v in self.default_config.items() if v is not None}
        return given, [k for k, v in self.default_config.items() if v is None]

    def validate_config(self, config: Config) -> list[str]:
        """Problems of ``config`` against the space (empty when valid)."""
        return [str(v) for v in self.space.validate(config)]

    def context(self) -> TaskContext:
        """The background the agent reads: name, description, dataset and model facts, goal.

        Example:
            >>> task = Task.model_validate({
            ...     "name": "demo", "objective": {"metric": "acc", "direction": "maximize"},
            ...     "dataset": {"rows": 1797},
            ...     "space": {"lr": {"type": "float", "low": 0.001, "high": 0.1}},
            ...     "n_trials": 5, "command": ["python", "train.py"]})
            >>> ctx = task.context()
            >>> ctx.name, ctx.metric, ctx.direction, ctx.dataset
            ('demo', 'acc', 'maximize', {'rows': 1797})
        """
        context = TaskContext(
            name=self.name, description=self.description, dataset=self.dataset, model=self.model
        )
        return context.with_objectives((o.metric, o.direction) for o in self.objectives)


def _key(part: int | str) -> str:
    """A path part as written, or quoted when it is empty or holds invisible characters."""
    text = str(part)
    return text if text and text.isprintable() else repr(part)


def _function_seed(target: str, base_dir: Path, name: str) -> str | None:
    """Whether the function ``module:fn`` (found beside the task file, read with ``ast``,
    never imported) takes a ``name`` argument or reads ``config[name]``; says which."""
    module, _, function = target.partition(":")
    parts = module.split(".")
    candidates = [
        base_dir.joinpath(*parts).with_suffix(".py"),
        base_dir.joinpath(*parts, "__init__.py"),
    ]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    fn = next(
        (
            node
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name == function.split(".")[-1]
        ),
        None,
    )
    if fn is None:
        return None
    args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
    if any(a.arg == name for a in args[1:]):
        return f"the function's {name} argument"
    config = args[0].arg if args else None
    for node in ast.walk(fn):
        key: ast.expr | None = None
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            key = node.slice if node.value.id == config else None
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == config
            and node.args
        ):
            key = node.args[0]
        if isinstance(key, ast.Constant) and key.value == name:
            return f"the function's {config}[{name!r}]"
    return None


def task_with(task: Task, **changes: Any) -> Task:
    """A validated copy of ``task`` with some fields changed (e.g. from command-line options).

    An older key for a policy field (``max_llm_tokens``) that the task's ``policy:`` section
    sets (``max_tokens``) changes it there.

    Raises:
        TaskError: A changed value is invalid.
    """
    data = task.model_dump()
    data["space"] = task.space
    policy = data.get("policy")
    for key, value in changes.items():
        name = _LEGACY_POLICY_KEYS.get(key)
        if isinstance(policy, dict) and name is not None and policy.get(name) is not None:
            policy[name] = value
        else:
            data[key] = value
    label = str(task.source) if task.source is not None else "task"
    return task_from_dict(data, base_dir=task.base_dir, source=task.source, label=label)


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(_key(p) for p in loc) if loc else "(top level)"


def _allowed_fields(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        field = current.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return []
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if current is None:
            return []
    return list(current.model_fields)


_GOT_KINDS = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "int_parsing",
        "float_parsing",
        "int_from_float",
        "bool_parsing",
        "multiple_of",
    }
)
"""pydantic's errors about a value that do not say which value they got."""


def _format_error(err: Any) -> str:
    loc: tuple[int | str, ...] = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    where = _loc(loc)
    if kind == "missing":
        return f"{where}: required field is missing; add it"
    if kind == "extra_forbidden":
        allowed = _allowed_fields(Task, loc)
        hint = ""
        key = str(loc[-1])
        close = difflib.get_close_matches(key, allowed, n=1) if allowed else []
        if not close:  # a field's name inside a longer slip: serach_space, my_objective
            inside = sorted((a for a in allowed if len(a) >= 4 and a in key), key=len)
            close = inside[-1:]
        if close:
            hint = f"; did you mean {close[0]!r}?"
        elif allowed:
            hint = f"; allowed fields: {', '.join(allowed)}"
        return f"{where}: unknown field{hint}"
    if msg.startswith(f"{where}.") or msg.startswith(f"{where}:"):
        return msg
    if not loc and _FIELD_PREFIX_RE.match(msg):
        return msg  # a whole-task check that names its field itself
    if kind in ("string_type", "int_type", "float_type", "dict_type", "list_type", "bool_type"):
        return f"{where}: {msg} (got {err.get('input')!r})"
    if kind == "literal_error":
        got = err.get("input")
        expected = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        close = difflib.get_close_matches(str(got), expected, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{where}: {msg} (got {got!r}{hint})"
    if kind in _GOT_KINDS:
        return f"{where}: {msg} (got {err.get('input')!r})"
    if kind == "model_type" or kind == "model_attributes_type":
        return f"{where}: must be a mapping"
    return f"{where}: {msg}"


_UNION_BRANCH_RE = re.compile(r"^(literal\[|[A-Z]\w*Section$)")
"""How pydantic names a branch of a field such as ``noise`` (a section or ``false``) or
``pruner`` (a section or a name) in an error's path."""
_NOT_A_MAPPING = ("model_type", "model_attributes_type")


def _one_branch(errors: list[Any]) -> list[Any]:
    """The errors of a union field reported once, without pydantic's branch names: a value
    that is a mapping was meant as the section (its own errors); any other value gets one
    error naming what the field takes."""
    branches: dict[tuple[int | str, ...], list[tuple[str, Any]]] = {}
    for err in errors:
        loc = tuple(err.get("loc", ()))
        at = next(
            (i for i, p in enumerate(loc) if isinstance(p, str) and _UNION_BRANCH_RE.match(p)),
            None,
        )
        if at is not None:
            plain = {**err, "loc": loc[:at] + loc[at + 1 :]}
            branches.setdefault(loc[:at], []).append((str(loc[at]), plain))
    out: list[Any] = []
    done: set[tuple[int | str, ...]] = set()
    for err in errors:
        loc = tuple(err.get("loc", ()))
        where = next((w for w in branches if loc[: len(w)] == w and len(loc) > len(w)), None)
        if where is None or not isinstance(loc[len(where)], str):
            out.append(err)
            continue
        if where in done:
            continue
        done.add(where)
        section = [e for tag, e in branches[where] if not tag.startswith("literal[")]
        if not section:  # no section among the branches: not a union this function knows
            out.extend(e for _, e in branches[where])
            continue
        if any(e.get("type") not in _NOT_A_MAPPING for e in section):
            out.extend(section)
            continue
        names = [e for tag, e in branches[where] if tag.startswith("literal[")]
        allowed = " or ".join(str(e.get("msg", "")).removeprefix("Input should be ") for e in names)
        got = section[0].get("input")
        out.append(
            {"loc": where, "type": "union", "msg": f"must be a mapping, or {allowed} (got {got!r})"}
        )
    return out


def _errors_from(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for err in _one_branch(exc.errors(include_url=False)):
        for line in _format_error(err).splitlines():
            if line and line not in lines:
                lines.append(line)
    return lines


def _resolve_storage(url: str, base_dir: Path) -> str:
    """``url`` with a relative SQLite or journal file path made absolute under ``base_dir``."""
    for prefix in ("sqlite:///", "journal:"):
        if url.startswith(prefix):
            rest = url.removeprefix(prefix)
            if prefix == "journal:" and rest.startswith("//"):
                return url  # journal:///ABSOLUTE
            if not rest or rest.startswith(("/", ":memory:", "~")):
                return url
            return f"{prefix}{(base_dir / rest).resolve()}"
    return url


MAX_TASK_FILE_BYTES = 1_000_000
"""The largest task file read: a task describes data in a few lines, it does not hold it."""


def load_task(path: str | Path) -> Task:
    """Loads and validates a task file.

    Raises:
        TaskError: The file is missing or unreadable, is not YAML, or does not describe a
            valid task; each line of the message names a field and what to fix.

    Example:
        >>> task = load_task("examples/digits_mlp/task.yaml")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        size = path.stat().st_size if path.is_file() else 0
        if size > MAX_TASK_FILE_BYTES:
            raise TaskError(
                f"{path}: the task file is larger than {MAX_TASK_FILE_BYTES // 1_000_000} MB"
                f" ({size:,} bytes); keep data out of it (the dataset field describes data in a"
                " few lines)"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaskError(f"{path}: no such task file") from None
    except IsADirectoryError:
        raise TaskError(f"{path}: is a directory; give the path of a task YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path}: cannot read the file ({exc})") from None
    try:
        data = safe_load(text)
    except Refused as exc:
        raise TaskError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        if context and str(problem).startswith("but "):  # "expected X" + "but found Y"
            problem = f"{context}, {problem}"
        raise TaskError(f"{path}: invalid YAML{where}: {problem}") from None
    if data is None:
        raise TaskError(
            f"{path}: the file is empty; a task file is a YAML mapping with name, objective,"
            " space, n_trials and command or function"
        )
    if not isinstance(data, dict):
        raise TaskError(
            f"{path}: a task file must be a YAML mapping with name, objective, space, n_trials"
            f" and command or function (got {type(data).__name__})"
        )
    return task_from_dict(
        data, base_dir=path.parent.resolve(), source=path.resolve(), label=str(path)
    )


def task_from_dict(
    data: dict[str, Any],
    *,
    base_dir: Path | None = None,
    source: Path | None = None,
    label: str = "task",
) -> Task:
    """Validates a task given as a mapping (a task file's content built in Python), with
    the messages :func:`load_task` gives: one line per problem, naming the field, with a
    did-you-mean; ``Task(...)`` itself raises pydantic's raw errors.

    Args:
        data: The task, as a task file would hold it.
        base_dir: The folder its relative paths (a ``function`` module, a ``command``'s
            files, a SQLite storage) are resolved against; default: the working directory.
        source: The task file it came from, if any.
        label: What the messages start with.

    Raises:
        TaskError: The task is not valid.

    Example:
        >>> task = task_from_dict({"name": "demo", "function": "train:objective",
        ...     "objective": {"metric": "loss", "direction": "minimize"},
        ...     "space": {"lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True}}})
        >>> task.space.names
        ['lr']
        >>> task_from_dict({"name": "demo", "n_trial": 3})
        Traceback (most recent call last):
        ...
        agenthpo.errors.TaskError: task: objective: required field is missing; add it
        task: space: required field is missing; add it
        task: n_trial: unknown field; did you mean 'n_trials'?
    """
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        lines = _errors_from(exc)
        raise TaskError("\n".join(f"{label}: {line}" for line in lines)) from None
    return task.with_base_dir(base_dir or Path.cwd(), source)
