"""Writing a draft task as YAML, with a comment on every guess.

Example:
    >>> import pathlib, tempfile, yaml
    >>> from agenthpo.scaffold._draft import draft_task
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "fit.py").write_text("def fit(lr: float = 0.1, depth: int = 3): ...")
    >>> text = render_draft(draft_task(d / "fit.py:fit", llm=None))
    >>> yaml.safe_load(text)["space"]["depth"]
    {'type': 'int', 'low': 1, 'high': 6, 'log': False}
    >>> print(text.splitlines()[0])  # doctest: +ELLIPSIS
    # DRAFT task for fit.py:fit, written by `agenthpo init` on ...
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import yaml

from agenthpo.errors import TaskError
from agenthpo.scaffold._draft import Draft
from agenthpo.scaffold._ranges import ParamDraft, clean_text
from agenthpo.task import task_from_dict

__all__ = ["llm_unavailable", "range_text", "render_draft", "source_text", "write_draft"]


def llm_unavailable(problem: str) -> str:
    """The one line that says the LLM's ranges could not be used at all, and why.

    Example:
        >>> llm_unavailable("the LLM call failed (timed out)")
        'LLM review unavailable: the LLM call failed (timed out); the draft uses the static heuristics only'
    """  # noqa: E501
    return f"LLM review unavailable: {problem}; the draft uses the static heuristics only"


def _flow(value: Any) -> str:
    """One YAML flow value (a scalar, a list or a mapping), on one line."""
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def range_text(param: ParamDraft) -> str:
    """The range in a few characters: ``16..512 (log)`` or ``relu | tanh``.

    Example:
        >>> from agenthpo.scaffold._read import Option
        >>> opt = Option(name="x", flag="--x", kind="int")
        >>> range_text(ParamDraft(opt, {"type": "int", "low": 1, "high": 8, "log": True},
        ...                       "llm", "r"))
        '1..8 (log)'
    """
    spec = param.spec
    if spec["type"] == "categorical":
        return " | ".join(_flow(c) for c in spec["choices"])
    low, high = spec["low"], spec["high"]
    fmt = (lambda x: format(x, ".4g")) if spec["type"] == "float" else str
    return f"{fmt(low)}..{fmt(high)}" + (" (log)" if spec.get("log") else "")


def source_text(param: ParamDraft, llm: str | None) -> str:
    """Where the range came from, as the comment and the review table say it."""
    if param.source == "llm":
        return f"guessed by the LLM ({llm})"
    if param.source == "heuristic":
        return "guessed by a heuristic"
    return "read from the script"


def _param_comments(param: ParamDraft, draft: Draft) -> list[str]:
    option = param.option
    script = draft.info.path.name
    where = f"{script}, line {option.line}" if option.line else script
    type_note = f"; type {option.type_guess}" if option.type_guess else ""
    if option.has_default:
        read = f"default {_flow(option.default)} read from {where}{type_note}"
    elif option.default_none:
        read = f"default None read from {where}{type_note}"
    else:
        read = f"no default in {where}{type_note}"
    if param.source == "script":
        return [f"{param.reason} and {read}"]
    lines = [f"range {source_text(param, draft.llm)}: {param.reason}"]
    lines.extend(f"  {clean_text(fix, 200)}" for fix in param.fixes)
    return [*lines, read]


def _baseline(draft: Draft) -> dict[str, Any]:
    """The script's defaults; ``None`` for a parameter the baseline leaves out (its default
    is ``None``, and the trial's command can go without it: no ``{name}`` placeholder)."""
    command = draft.command or []
    out: dict[str, Any] = {}
    for p in draft.params:
        option = p.option
        if option.has_default:
            out[option.name] = option.default
        elif option.default_none and not any("{" + option.name + "}" in a for a in command):
            out[option.name] = None
    return out


def render_draft(draft: Draft) -> str:
    """The task file's text: a header, every field with comments, the options left out."""
    script = draft.info.path.name
    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    target = script + (
        f":{draft.info.function}" if draft.info.style in ("function", "config") else ""
    )
    lines = [
        f"# DRAFT task for {target}, written by `agenthpo init` on {today}.",
        "# Review it before running: the ranges, types and objective below are guesses, and",
        "# each says where it came from. Nothing has run yet. When it looks right:",
        f"#   agenthpo run {_flow(str(draft.out))}",
    ]
    if draft.llm_problem:
        lines.append(f"# {clean_text(llm_unavailable(draft.llm_problem), 400)}.")
    lines.append(f"name: {_flow(draft.name)}")
    if draft.info.description:
        lines.append(f"description: {_flow(clean_text(draft.info.description, 600))}")
    else:
        lines.append("description: ''   # say what is trained and on what; the agent reads it")
    lines += [
        "# Facts the agent reads (add what you know: size, classes, features; model type).",
        "dataset: {}",
        "model: {}",
        "objective:",
        f"  metric: {_flow(draft.objective.metric)}   # {clean_text(draft.objective.how, 200)}",
        f"  direction: {draft.objective.direction}",
    ]
    if draft.objective.hidden:
        lines.append(
            f"hidden_metrics: {_flow(list(draft.objective.hidden))}"
            "   # reported by the script; stored, never shown to the agent"
        )
    if draft.info.metrics:
        lines.append(f"# Metrics {script} reports: {', '.join(draft.info.metrics)}")
    lines.append("space:")
    for param in draft.params:
        for comment in _param_comments(param, draft):
            lines.append(f"  # {comment}")
        spec = dict(param.spec)
        if param.option.help:
            spec["description"] = clean_text(param.option.help, 200)
        lines.append(f"  {_flow(param.option.name)}: {_flow(spec)}")
    baseline = _baseline(draft)
    if len(baseline) == len(draft.params):
        lines.append(f"# {script}'s defaults, run first as the baseline to beat.")
        lines.append("default_config:")
        for key, value in baseline.items():
            line = f"  {_flow(key)}: {_flow(value)}"
            if value is None:
                line += f"   # left out of the baseline's run: {script}'s own default (None)"
            lines.append(line)
    else:
        lines.append("# No default_config: some parameters have no default in the script.")
    lines.append(f"n_trials: {draft.n_trials}")
    lines.append("# timeout: 600                  # seconds a trial may run (optional)")
    if draft.function is not None:
        lines.append(f"# {script}'s function is called with the config and a reporter.")
        lines.append(f"function: {_flow(draft.function)}")
    else:
        assert draft.command is not None
        if draft.info.style == "function":
            lines.append(f"# Calls {draft.info.function}(**config) and reports what it returns.")
        else:
            lines.append("# Each trial runs this command with --name value for every parameter.")
        lines.extend(f"# FILL IN: {clean_text(w, 300)}" for w in draft.warnings)
        lines.append(f"command: {_flow(draft.command)}")
    if draft.seed_param is not None:
        lines += [
            f"# {script} takes a seed ({draft.seed_param}): the best trials and the default are"
            " re-run on seeds",
            "# 1..repeats (within n_trials), and the default is recommended unless a candidate"
            " beats it",
            "# beyond the noise band (docs/task-files.md, 'Noise-robust selection'). `noise: false`"
            " turns this off.",
            f"noise: {_flow({'seed_param': draft.seed_param, 'repeats': 2, 'top': 3})}",
        ]
    elif draft.seed_note:
        lines.append(f"# noise: not set up: {clean_text(draft.seed_note, 300)}")
    if draft.skipped:
        lines.append(f"# Left out of the space ({script}'s own default is used):")
        for s in draft.skipped:
            lines.append(f"#   {clean_text(s.flag or s.name, 60)}: {clean_text(s.reason, 200)}")
    return "\n".join(lines) + "\n"


def write_draft(draft: Draft, *, force: bool = False) -> Path:
    """Writes the draft to ``draft.out``; refuses to replace a file unless ``force``, and
    any file but a YAML one (``.yaml``, ``.yml``) even then.

    The text is checked with the task loader first, so a draft that is written loads.

    Raises:
        TaskError: The file exists (and ``force`` is false), cannot be written, or (a bug)
            the draft is not a valid task.
    """
    path = draft.out
    if path.is_dir():
        raise TaskError(f"{path}: is a directory; give the task file's path with --out")
    if path.exists() and not force:
        raise TaskError(
            f"{path}: already exists; give --force to replace it, or --out another file"
        )
    if path.exists() and path.suffix.lower() not in (".yaml", ".yml"):
        # --force is for an earlier draft; a study database or a script (an agent passing
        # --force readily) is never replaced by a task file.
        raise TaskError(
            f"{path}: already exists and is not a YAML file; --force replaces only a task file"
            " (.yaml or .yml): give --out another file"
        )
    text = render_draft(draft)
    task_from_dict(yaml.safe_load(text), base_dir=path.parent.resolve(), label=f"draft of {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TaskError(f"{path}: cannot write the task file ({exc.strerror})") from None
    return path
