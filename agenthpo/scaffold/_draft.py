"""A draft task from a script: its options, the objective, the ranges and the command.

Example:
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "train.py").write_text('''
    ... import argparse
    ... from agenthpo import report
    ... p = argparse.ArgumentParser()
    ... p.add_argument("--lr", type=float, default=0.01)
    ... p.add_argument("--out", default="model.pt")
    ... report(val_loss=0.5)
    ... ''')
    >>> draft = draft_task(d / "train.py", llm=None)
    >>> draft.objective.metric, draft.objective.direction, [p.option.name for p in draft.params]
    ('val_loss', 'minimize', ['lr'])
    >>> draft.command
    ['python', 'train.py']
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agenthpo.errors import TaskError
from agenthpo.llm import LLMClient
from agenthpo.scaffold._ranges import ParamDraft, Skipped, propose_ranges, skip_reason
from agenthpo.scaffold._read import ScriptInfo, read_target

__all__ = ["Draft", "ObjectiveGuess", "direction_of", "draft_task", "pick_objective"]

Direction = Literal["maximize", "minimize"]

_MAXIMIZE = re.compile(
    r"(acc|accuracy|auc|auroc|roc|f1|f_score|fscore|r2|precision|recall|score|map|iou|dice"
    r"|bleu|rouge|reward|return|ndcg|mcc|kappa|sharpe)"
)
_MINIMIZE = re.compile(
    r"(loss|error|err|rmse|mse|mae|mape|nll|perplexity|ppl|regret|cost|wer|cer|logloss"
    r"|deviance|distance|time)"
)
_VALIDATION = re.compile(r"^(val|valid|validation|dev|eval|cv|holdout)(_|$)|_(val|valid|cv)$")
_HIDDEN = re.compile(r"^test(_|$)|_test$")
_TRAIN = re.compile(r"^(train|training)(_|$)")
_RUNNER = "agenthpo.scaffold.call"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")
_SEED_NAME = re.compile(r"^(seed|random_seed|random_state|rng_seed)$")


def direction_of(metric: str) -> Direction | None:
    """The direction a metric's name implies, or ``None`` if it says nothing.

    Example:
        >>> direction_of("val_accuracy"), direction_of("val_rmse"), direction_of("epochs_run")
        ('maximize', 'minimize', None)
    """
    name = metric.lower()
    tokens = re.split(r"[_\-.]", name)
    for token in reversed(tokens):  # "val_loss_acc" is rare; the last word decides
        if _MINIMIZE.fullmatch(token) or token.endswith("loss") or token.endswith("error"):
            return "minimize"
        if _MAXIMIZE.fullmatch(token) or token.endswith("accuracy"):
            return "maximize"
    if _MINIMIZE.search(name):
        return "minimize"
    if _MAXIMIZE.search(name):
        return "maximize"
    return None


@dataclass(frozen=True)
class ObjectiveGuess:
    """The objective proposed for the draft, and how it was chosen."""

    metric: str
    direction: Direction
    how: str
    found: bool
    hidden: tuple[str, ...] = ()


def pick_objective(
    metrics: tuple[str, ...],
    *,
    metric: str | None = None,
    direction: Direction | None = None,
    script: str = "the script",
) -> ObjectiveGuess:
    """The metric to optimize: the given one, else a validation metric with a direction.

    Metrics named ``test_*`` are proposed as hidden metrics (stored, never shown to the
    agent) unless one of them is the objective.

    Example:
        >>> guess = pick_objective(("train_loss", "val_accuracy", "test_accuracy"))
        >>> guess.metric, guess.direction, guess.hidden
        ('val_accuracy', 'maximize', ('test_accuracy',))
    """
    hidden = tuple(m for m in metrics if _HIDDEN.search(m.lower()))
    if metric is not None:
        chosen_dir = direction or direction_of(metric)
        how = "given with --metric"
        if chosen_dir is None:
            chosen_dir = "minimize"
            how += "; direction guessed (minimize): give --direction to be sure"
        elif direction is None:
            how += f"; direction {chosen_dir} from its name"
        if metrics and metric not in metrics:
            how += f"; {script} does not seem to report it (it reports {', '.join(metrics)})"
        return ObjectiveGuess(
            metric, chosen_dir, how, metric in metrics, tuple(h for h in hidden if h != metric)
        )

    def rank(name: str) -> tuple[int, int]:
        low = name.lower()
        has_dir = direction_of(name) is not None
        if _HIDDEN.search(low):
            group = 4
        elif _VALIDATION.search(low) and has_dir:
            group = 0
        elif has_dir and not _TRAIN.search(low) and not low.endswith("time") and "time" not in low:
            group = 1
        elif has_dir and _TRAIN.search(low) and "time" not in low:
            group = 2
        else:
            group = 3 if name == "value" else 5
        return group, metrics.index(name)

    candidates = sorted(metrics, key=rank)
    if candidates and rank(candidates[0])[0] <= 3:
        best = candidates[0]
        guessed = direction_of(best)
        chosen_dir = direction or guessed or "minimize"
        how = f"reported by {script}"
        if direction is not None:
            how += "; direction given with --direction"
        elif guessed is not None:
            how += f"; direction {chosen_dir} from its name"
        else:
            how += "; direction guessed (minimize): give --direction to be sure"
        return ObjectiveGuess(best, chosen_dir, how, True, tuple(h for h in hidden if h != best))
    return ObjectiveGuess(
        "value",
        direction or "minimize",
        f"NOT FOUND in {script}: set the metric it reports (or give --metric NAME)",
        False,
        hidden,
    )


@dataclass(frozen=True)
class Draft:
    """Everything a draft task holds, before it is written.

    Attributes:
        info: What was read from the script.
        params: The hyperparameters with their ranges.
        skipped: The options left out, with why.
        objective: The objective proposed.
        command: The argv of one trial, relative to the task file's directory (for a
            kwargs function, a runner that calls it), or ``None`` for ``function``.
        function: ``module:function`` for a function that takes a config mapping.
        name: The task's name.
        n_trials: The budget.
        llm: The model asked for the ranges, if one was.
        llm_problem: Why its answer could not be used, if so.
        out: Where the task file will be written.
    """

    info: ScriptInfo
    params: list[ParamDraft]
    skipped: list[Skipped]
    objective: ObjectiveGuess
    command: list[str] | None
    function: str | None
    name: str
    n_trials: int
    out: Path
    llm: str | None = None
    llm_problem: str | None = None
    llm_tokens: int = 0
    warnings: list[str] = field(default_factory=list)
    seed_param: str | None = None
    """The script's seed option, which the task's ``noise:`` section varies (``None``: it
    takes none, or it cannot be passed; ``seed_note`` says why)."""
    seed_note: str = ""


def _task_name(script: Path) -> str:
    stem = script.stem
    if (
        stem in ("train", "main", "run", "objective", "fit", "script")
        and script.resolve().parent.name
    ):
        stem = script.resolve().parent.name
    name = _NAME_CHARS.sub("-", stem).strip("-_.") or "task"
    return name if name[0].isalnum() else f"task-{name}"


def _seed_setup(
    info: ScriptInfo, command: list[str] | None
) -> tuple[str | None, str, list[str] | None]:
    """The script's seed option, if the task's runs can vary it; why not; the command
    (with a ``{seed}`` placeholder added where the others are placeholders too)."""
    option = next(
        (
            o
            for o in info.options
            if _SEED_NAME.match(o.name.replace("-", "_")) and skip_reason(o) is not None
        ),
        None,
    )
    if option is None:
        return None, "", command
    if command is None or info.style in ("function", "config"):
        return option.name, "", command  # the config (or the keyword arguments) holds it
    flag = option.flag or f"--{option.name}"
    if any("{" in arg for arg in command):
        return option.name, "", [*command, flag, "{" + option.name + "}"]
    if flag == f"--{option.name}":
        return option.name, "", command  # the tuner appends --seed N
    note = (
        f"{flag} is the seed option, but the tuner would pass it as --{option.name}; to"
        f" re-evaluate on further seeds add `{flag}={{{option.name}}}` to the command and"
        f" `noise: {{seed_param: {option.name}}}`"
    )
    return None, note, command


def _command(
    info: ScriptInfo, params: list[ParamDraft], out: Path
) -> tuple[list[str] | None, str | None]:
    """The trial's argv (or function target), relative to the task file's directory."""
    relative = Path(os.path.relpath(info.path.resolve(), out.resolve().parent)).as_posix()
    # Commands run in the task file's directory; a script outside it is named in full.
    script = relative if not relative.startswith("..") else info.path.resolve().as_posix()
    if info.style in ("function", "config"):
        target = f"{info.path.stem}:{info.function}"
        folder = Path(script).parent.as_posix()
        if info.style == "config" and folder == ".":
            return None, target  # the function executor finds modules beside the task file
        argv = ["python", "-m", _RUNNER]
        if folder != ".":
            argv += ["--search-path", folder]
        if info.style == "config":
            argv.append("--config")
        return [*argv, target], None
    argv = ["python", script]
    if info.subcommand:
        argv.append(info.subcommand)
    # Required options left out of the space still need a value: a visible stand-in.
    tuned = {p.option.name for p in params}
    for option in info.options:
        if option.required and option.name not in tuned:
            if option.flag is not None:
                argv.append(option.flag)
            argv.append(f"<{option.name}>")
    if all(p.option.flag == f"--{p.option.name}" for p in params):
        return argv, None
    # A flag that differs from the name (a short one, or click's own): placeholders.
    for p in params:
        argv += [p.option.flag or f"--{p.option.name}", "{" + p.option.name + "}"]
    return argv, None


def draft_task(
    target: str | Path,
    *,
    llm: LLMClient | None,
    metric: str | None = None,
    direction: Direction | None = None,
    out: str | Path | None = None,
    n_trials: int = 20,
    seed: int | None = 0,
) -> Draft:
    """Reads ``SCRIPT.py`` or ``SCRIPT.py:FUNCTION`` and drafts a task for it; writes nothing.

    The script is parsed, never run. Options that are not hyperparameters (paths, seeds,
    devices, logging, on/off flags) are left out with the reason; the LLM proposes the
    ranges of the others (see :func:`agenthpo.scaffold.propose_ranges`).

    Args:
        target: The script, or ``script.py:function`` to read a function's parameters.
        llm: The model that proposes ranges; ``None`` for heuristics only.
        metric: The metric to optimize (default: found in the script).
        direction: ``maximize`` or ``minimize`` (default: from the metric's name).
        out: Where the task file will go (default: ``task.yaml`` beside the script).
        n_trials: The study's budget.
        seed: Sampling seed for the LLM.

    Raises:
        TaskError: The script is missing or unreadable, has a syntax error, the function
            does not exist, or no option was found.

    Example:
        >>> import pathlib, tempfile
        >>> script = pathlib.Path(tempfile.mkdtemp()) / "fit.py"
        >>> _ = script.write_text("def fit(lr: float = 0.1, seed: int = 0): ...")
        >>> draft = draft_task(f"{script}:fit", llm=None)
        >>> [p.option.name for p in draft.params], [s.name for s in draft.skipped]
        (['lr'], ['seed'])
    """
    info = read_target(target)
    out_path = Path(out) if out is not None else info.path.parent / "task.yaml"
    tuned = []
    skipped: list[Skipped] = []
    for option in info.options:
        why = skip_reason(option)
        if why is None:
            tuned.append(option)
        else:
            skipped.append(Skipped(option.name, option.flag, why, option.required))
    if not tuned:
        listed = "; ".join(f"{s.name}: {s.reason}" for s in skipped)
        raise TaskError(
            f"{info.path}: none of its options looks like a hyperparameter ({listed}); write"
            " the task by hand (see docs/task-files.md)"
        )
    objective = pick_objective(
        info.metrics, metric=metric, direction=direction, script=info.path.name
    )
    goal = f"{objective.direction} {objective.metric}" if objective.found else ""
    ranges = propose_ranges(
        tuned,
        llm=llm,
        script=info.path.name,
        description=info.description,
        goal=goal,
        seed=seed,
    )
    command, function = _command(info, ranges.params, out_path)
    seed_param, seed_note, command = _seed_setup(info, command)
    warnings = [
        f"{s.flag or s.name} is required by {info.path.name} but left out ({s.reason});"
        + (
            f" replace <{s.name}> in the command with its value"
            if info.style not in ("function", "config")
            else " give it a default in the function, or tune it"
        )
        for s in skipped
        if s.required
    ]
    return Draft(
        info=info,
        params=ranges.params,
        skipped=skipped,
        objective=objective,
        command=command,
        function=function,
        name=_task_name(info.path),
        n_trials=n_trials,
        out=out_path,
        llm=ranges.llm,
        llm_problem=ranges.problem,
        llm_tokens=ranges.tokens,
        warnings=warnings,
        seed_param=seed_param,
        seed_note=seed_note,
    )
