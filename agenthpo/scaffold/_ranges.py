"""Ranges for the hyperparameters read from a script: asked of the LLM, checked, or guessed.

The LLM is asked once, for every parameter at a time, with a JSON schema for the answer:
``low``/``high``/``log`` (or ``choices`` for free text) and a one-line ``reason``. Its answer
is data: it is parsed as JSON and checked (numbers, ``low < high``, integers for ``int``
parameters, the default inside the range, log scale only above zero) and never executed.
It must then be plausible, whatever reason the LLM gave: each end within a window around
the script's default (a learning rate at most 1, nothing thousands of times the default),
rate- and scale-like parameters (learning rates, weight decay, regularization strengths,
widths) on a log scale spanning at least a decade (widths a factor of four), and the
default never at an edge of the range unless the script bounds it there or the edge is the
value's natural end (0, a fraction's 1, a count's 1).
Whatever is missing or unusable falls back to a heuristic, and each range says where it came
from.

Example:
    >>> from agenthpo.scaffold._read import Option
    >>> lr = Option(name="lr", flag="--lr", kind="float", default=0.01, has_default=True)
    >>> result = propose_ranges([lr], llm=None)
    >>> result.params[0].spec, result.params[0].source
    ({'type': 'float', 'low': 0.001, 'high': 0.1, 'log': True}, 'heuristic')
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agenthpo.errors import LLMError
from agenthpo.llm import LLMClient, Message, extract_json
from agenthpo.scaffold._read import Option

__all__ = [
    "ParamDraft",
    "RangeResult",
    "Skipped",
    "heuristic_range",
    "propose_ranges",
    "ranges_schema",
    "skip_reason",
]

_logger = logging.getLogger("agenthpo")

Source = Literal["script", "llm", "heuristic"]

REASON_MAX_CHARS = 100
_MAX_CHOICES = 8
_CHOICE_RE = re.compile(r"^[A-Za-z0-9_.+\-]{1,40}$")

SYSTEM_PROMPT = """\
You are an expert machine-learning engineer setting up a hyperparameter search. For each
hyperparameter of a training script you propose the range to search: wide enough to hold the
best value, narrow enough to search in a few dozen trials, on a log scale when good values span
orders of magnitude (learning rates, regularization strengths, layer widths). Every range must
contain the script's default. Answer with one JSON object and nothing else."""

# Names that are clearly not hyperparameters, with the reason shown in the review.
_SKIP_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"(^|_)(seed|random_state|rng)($|_)"),
        "a random seed: it changes the noise, not the model (the task's noise section varies it)",
    ),
    (
        re.compile(
            r"(^|_)(device|devices|gpu|gpus|cuda|cpu|mps|accelerator|cudnn|amp|fp16|bf16)($|_)"
        ),
        "hardware or numeric precision, not a hyperparameter",
    ),
    (
        re.compile(
            r"(^|_)(workers|n_jobs|jobs|threads|world_size|rank|local_rank|nproc|processes)($|_)"
        ),
        "parallelism, not a hyperparameter",
    ),
    (
        re.compile(
            r"(^|_)(verbose|verbosity|quiet|debug|silent|progress|log_level|loglevel"
            r"|log_interval|log_every|print_every|print_freq|eval_every|save_every)($|_)"
        ),
        "logging or bookkeeping, not a hyperparameter",
    ),
    (
        re.compile(
            r"(^|_)(dir|path|paths|file|files|filename|ckpt|checkpoint|root|cache|url|uri)($|_)"
            r"|^(out|output|outdir|save|resume|data|dataset|config|cfg|conf|load|export|weights"
            r"|logdir|metrics|db|storage)$"
        ),
        "a path or input/output setting, not a hyperparameter",
    ),
    (
        re.compile(
            r"^(name|run_name|exp_name|experiment|project|tag|tags|entity|host|port|notes"
            r"|comment|wandb\w*|mlflow\w*|tensorboard)$"
        ),
        "bookkeeping, not a hyperparameter",
    ),
    (
        re.compile(
            r"^(dry_run|eval_only|test_only|smoke_test|fast_dev_run|profile|benchmark"
            r"|deterministic|evaluate|eval|test|train|version|help|overwrite|force)$"
        ),
        "a run mode, not a hyperparameter",
    ),
]
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")  # agenthpo.space's rule for names
_PATH_LIKE = re.compile(r"[/\\]|\.(csv|json|ya?ml|txt|pt|pth|ckpt|pkl|npz?|h5|parquet|db|log)$")
_PROB_LIKE = re.compile(
    r"(^|_)(dropout|drop|momentum|beta\d?|subsample|colsample\w*|fraction|frac|ratio|prob"
    r"|keep_prob|smoothing|label_smoothing|p|mixup|cutmix)($|_)|(?<!learning_)rate$"
)
# Float options that are fractions when their default is in (0, 1] (scikit-learn's
# max_features=1.0, max_df=1.0, max_samples=0.8).
_FRACTION_HINT = re.compile(r"(^|_)(features|samples|df|fraction|portion|share)($|_)")
_LR_LIKE = re.compile(r"(^|_)(lr|learning_rate\w*|eta|step_size)($|_)|^lr")
# A learning rate's range when the script gives no default to centre it on.
_LR_LOW, _LR_HIGH = 1e-5, 0.1
_REG_LIKE = re.compile(
    r"(^|_)(alpha|lambda|lam|reg\w*|weight_decay|wd|l1|l2|c|gamma|penalty|eps|epsilon|tol)($|_)"
)
# Scale-like parameters whose good values span decades (checked on LLM ranges).
_DECAY_LIKE = re.compile(r"(^|_)(weight_decay|wd|decay|l2)($|_)")
_REG_SCALE = re.compile(r"(^|_)(alpha|lambda|lam|reg\w*|l1|l2|c|penalty)($|_)")
_WIDTH_LIKE = re.compile(
    r"(^|_)(units|hidden\w*|width|channels|filters|dim|dims|neurons|embed\w*|d_model|ff)($|_)"
)
_COUNT_LIKE = re.compile(
    r"(^|_)(units|hidden\w*|width|channels|filters|dim|dims|size|neurons|estimators|trees"
    r"|features|heads|epochs|iter|iters|iterations|steps|leaves|embed\w*|d_model|ff)($|_)"
)


@dataclass(frozen=True)
class Skipped:
    """An option left out of the draft, and why."""

    name: str
    flag: str | None
    reason: str
    required: bool = False


@dataclass(frozen=True)
class ParamDraft:
    """One hyperparameter of the draft: its space entry and where the range came from.

    Attributes:
        option: What the script says about it.
        spec: The space entry (``type``, ``low``, ``high``, ``log`` or ``choices``).
        source: ``script`` (choices or a boolean read from it), ``llm`` or ``heuristic``.
        reason: One line on why this range.
        fixes: What the checks changed in the LLM's range, or why the heuristic was used.
    """

    option: Option
    spec: dict[str, Any]
    source: Source
    reason: str
    fixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RangeResult:
    """The ranges of every parameter, and how the LLM call went.

    Attributes:
        params: One entry per parameter, in the script's order.
        llm: The model asked (``None`` if none was).
        problem: Why the LLM's answer could not be used at all, if so.
        tokens: Prompt plus completion tokens of the call.
    """

    params: list[ParamDraft]
    llm: str | None = None
    problem: str | None = None
    tokens: int = 0
    messages: list[Message] = field(default_factory=list)


def _norm(name: str) -> str:
    return name.lower().replace("-", "_")


def _is_fraction(name: str, default: float | None) -> bool:
    """A float in [0, 1] by its name (and its default, when there is one)."""
    if default is not None and not 0 <= default <= 1:
        return False
    if _PROB_LIKE.search(name):
        return True
    return default is not None and default > 0 and bool(_FRACTION_HINT.search(name))


def skip_reason(option: Option) -> str | None:
    """Why ``option`` is not a hyperparameter to tune, or ``None`` if it is one.

    Example:
        >>> skip_reason(Option(name="output-dir", flag="--output-dir", kind="str"))
        'a path or input/output setting, not a hyperparameter'
        >>> skip_reason(Option(name="lr", flag="--lr", kind="float")) is None
        True
    """
    if option.skip:
        return option.skip
    if not _KEY_RE.fullmatch(option.name):
        return (
            f"{clean_text(option.name, 40)!r} cannot be a search-space key (letters, digits,"
            " '_', '.', '-'; not starting with a digit)"
        )
    name = _norm(option.name)
    for pattern, why in _SKIP_RULES:
        if pattern.search(name):
            return why
    if (
        option.kind == "str"
        and isinstance(option.default, str)
        and _PATH_LIKE.search(option.default)
    ):
        return f"its default {option.default!r} looks like a path"
    if option.kind == "str" and option.choices is None and not option.has_default:
        return "free text with no default and no choices: add choices to tune it"
    return None


def clean_text(text: Any, limit: int = REASON_MAX_CHARS) -> str:
    """One printable line of at most ``limit`` characters (for comments and the table).

    Example:
        >>> clean_text("two\\nlines\\x00")
        'two lines'
    """
    out = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _fmt(x: float) -> str:
    return format(x, ".4g")


def _round_sig(x: float) -> float:
    return float(format(x, ".3g")) if x != 0 else 0.0


def heuristic_range(option: Option) -> tuple[dict[str, Any], str]:
    """A range from the option's name, type and default, and one line saying how.

    Example:
        >>> heuristic_range(Option(name="dropout", flag=None, kind="float", default=0.1,
        ...                        has_default=True))
        ({'type': 'float', 'low': 0.0, 'high': 0.5, 'log': False}, 'a fraction: 0 to 0.5')
        >>> heuristic_range(Option(name="hidden_units", flag=None, kind="int", default=100,
        ...                        has_default=True))[0]
        {'type': 'int', 'low': 25, 'high': 400, 'log': True}
        >>> heuristic_range(Option(name="lr", flag=None, kind="float"))[0]
        {'type': 'float', 'low': 1e-05, 'high': 0.1, 'log': True}
    """
    name = _norm(option.name)
    d = option.default if option.has_default else None
    if option.kind == "bool":
        return {"type": "categorical", "choices": [True, False]}, "a boolean"
    if option.kind == "str":
        return (
            {"type": "categorical", "choices": [d]},
            "free text: fixed at its default; add the values the script accepts",
        )
    if option.kind == "float":
        x = None if d is None else float(d)
        if _is_fraction(name, x):
            if x is not None and x > 0.5:
                high = 1.0 if x >= 1 else max(x, 0.99)
                return _float(0.5, high, False), f"a fraction: 0.5 to {_fmt(high)}"
            return _float(0.0, 0.5, False), "a fraction: 0 to 0.5"
        if x is None and _LR_LIKE.search(name):
            # The name is enough: learning rates live on a log scale, far below 1.
            return (
                _float(_LR_LOW, _LR_HIGH, True),
                f"a learning rate with no default: log scale, {_fmt(_LR_LOW)} to {_fmt(_LR_HIGH)}",
            )
        if x is None:
            return _float(0.0, 1.0, False), "no default to start from: 0 to 1"
        if x > 0:
            lr_like = bool(_LR_LIKE.search(name))
            decades = 2 if _REG_LIKE.search(name) and not lr_like else 1
            f = 10.0**decades
            what = "a learning rate" if lr_like else "a positive value"
            high = min(x * f, 1.0) if lr_like and x < 1 else x * f
            return (
                _float(_round_sig(x / f), _round_sig(high), True),
                f"{what}: log scale, {'a decade' if decades == 1 else 'two decades'} either"
                f" side of the default {_fmt(x)}",
            )
        if x == 0:
            high = 0.1 if _REG_LIKE.search(name) else 1.0
            return _float(0.0, high, False), f"default 0: linear, 0 to {_fmt(high)}"
        return _float(2 * x, x / 2, False), f"a negative default: {_fmt(2 * x)} to {_fmt(x / 2)}"
    # int
    if d is None:
        return _int(1, 100, True), "no default to start from: 1 to 100, log scale"
    n = int(d)
    if n >= 1 and _COUNT_LIKE.search(name):
        low, high = max(1, n // 4), max(n * 4, 4)
        return _int(low, high, True), f"a size or count: log scale, a quarter to four times {n}"
    if n >= 1:
        low, high = max(1, n // 2), max(n * 2, n + 2)
        return _int(low, high, False), f"a count: half to twice the default {n}"
    if n == 0:
        return _int(0, 10, False), "default 0: 0 to 10"
    return _int(n, n + 10, False), f"a negative default (often 'off'): {n} to {n + 10}"


def _within_declared(
    option: Option, spec: dict[str, Any], reason: str
) -> tuple[dict[str, Any], str]:
    """Clips a heuristic range to the bounds the script declares (``click.IntRange``)."""
    if spec["type"] not in ("int", "float") or (option.low is None and option.high is None):
        return spec, reason
    low = spec["low"] if option.low is None else max(spec["low"], option.low)
    high = spec["high"] if option.high is None else min(spec["high"], option.high)
    if low >= high:
        low = spec["low"] if option.low is None else option.low
        high = spec["high"] if option.high is None else option.high
    if spec["type"] == "int":
        low, high = int(low), int(high)
    log = bool(spec.get("log")) and low > 0
    return {**spec, "low": low, "high": high, "log": log}, reason + "; within the script's bounds"


def _float(low: float, high: float, log: bool) -> dict[str, Any]:
    return {"type": "float", "low": low, "high": high, "log": log}


def _int(low: int, high: int, log: bool) -> dict[str, Any]:
    return {"type": "int", "low": low, "high": high, "log": log}


def _from_script(option: Option) -> ParamDraft | None:
    """The range the script itself gives: its choices, or a boolean's two values."""
    if option.choices:
        choices = list(dict.fromkeys(option.choices))
        if option.has_default and option.default not in choices:
            choices.insert(0, option.default)
        return ParamDraft(
            option, {"type": "categorical", "choices": choices}, "script", "the script's choices"
        )
    if option.kind == "bool":
        return ParamDraft(
            option, {"type": "categorical", "choices": [True, False]}, "script", "a boolean"
        )
    return None


def _asks(option: Option) -> bool:
    return option.kind in ("float", "int") or (option.kind == "str" and option.has_default)


def ranges_schema(options: Sequence[Option]) -> dict[str, Any]:
    """The JSON schema of the LLM's answer: one object per parameter, the reason last.

    Example:
        >>> lr = Option(name="lr", flag="--lr", kind="float", default=0.01, has_default=True)
        >>> ranges_schema([lr])["properties"]["lr"]["required"]
        ['low', 'high', 'log', 'reason']
    """
    reason = {
        "type": "string",
        "maxLength": REASON_MAX_CHARS,
        # No quotes, backslashes or control characters: a small model under a grammar
        # otherwise writes newlines until the token limit.
        "pattern": '^[^"\\\\\\x00-\\x1f]{1,' + str(REASON_MAX_CHARS) + "}$",
    }
    properties: dict[str, Any] = {}
    for option in options:
        if option.kind == "str":
            properties[option.name] = {
                "type": "object",
                "properties": {
                    "choices": {
                        "type": "array",
                        "items": {"type": "string", "pattern": "^[A-Za-z0-9_.+-]{1,40}$"},
                        "minItems": 1,
                        "maxItems": 6,
                    },
                    "reason": reason,
                },
                "required": ["choices", "reason"],
                "additionalProperties": False,
            }
        else:
            number = "integer" if option.kind == "int" else "number"
            properties[option.name] = {
                "type": "object",
                "properties": {
                    "low": {"type": number},
                    "high": {"type": number},
                    "log": {"type": "boolean"},
                    "reason": reason,
                },
                "required": ["low", "high", "log", "reason"],
                "additionalProperties": False,
            }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _describe(option: Option) -> str:
    kind = {"float": "float", "int": "integer", "str": "text"}.get(option.kind, option.kind)
    parts = [f"- {option.name}: {kind}"]
    if option.has_default:
        parts.append(f"default {json.dumps(option.default)}")
    elif option.default_none:
        parts.append("default None (unset)")
    else:
        parts.append("no default")
    if option.low is not None or option.high is not None:
        parts.append(
            f"allowed {option.low if option.low is not None else '-inf'} to"
            f" {option.high if option.high is not None else 'inf'}"
        )
    line = ", ".join(parts)
    if option.help:
        line += f" ({clean_text(option.help, 120)})"
    if option.kind == "str":
        line += "; propose up to 5 values the script likely accepts, the default first"
    return line


def ranges_messages(
    options: Sequence[Option], *, script: str, description: str = "", goal: str = ""
) -> list[Message]:
    """The request for the ranges of ``options`` (system and user message)."""
    lines = [f"Training script: {script}"]
    if description:
        lines.append(f"What it does: {clean_text(description, 600)}")
    if goal:
        lines.append(f"Goal: {goal}")
    lines.append("")
    lines.append("Hyperparameters:")
    lines.extend(_describe(o) for o in options)
    lines.append("")
    text = (
        'For each number answer {"low": <number below the default>, "high": <number above'
        ' the default>, "log": <true or false>, "reason": "<why, in one short sentence>"}'
    )
    if any(o.kind == "str" for o in options):
        text += '; for each text answer {"choices": [<values>], "reason": "<why>"}'
    lines.append(f"{text}. Answer one JSON object with a key for every hyperparameter above.")
    return [Message("system", SYSTEM_PROMPT), Message("user", "\n".join(lines))]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return None
        else:
            return None
    x = float(value)
    return x if math.isfinite(x) else None


def check_llm_range(option: Option, entry: Any) -> tuple[dict[str, Any] | None, list[str], str]:
    """Checks the LLM's range for one option; returns ``(spec or None, fixes, problem)``.

    Harmless slips are fixed and listed (a default outside the range widens it, a log scale
    over zero is dropped, ``16.0`` becomes ``16``, a learning rate gets its log scale, a
    default at an edge moves inside); an unusable or implausible range makes ``spec``
    ``None`` with ``problem`` saying why.

    Example:
        >>> opt = Option(name="lr", flag="--lr", kind="float", default=0.05, has_default=True)
        >>> spec, fixes, _ = check_llm_range(opt, {"low": 0.001, "high": 0.5, "log": False})
        >>> spec["log"], fixes[0].startswith("log scale")
        (True, True)
        >>> check_llm_range(opt, {"low": 0, "high": 16, "log": False})[2]
        'implausible for a learning rate (default 0.05): high 16 is above 1'
        >>> check_llm_range(opt, {"low": 1, "high": 0.1})[2]
        'low 1 is not below high 0.1'
    """
    if not isinstance(entry, Mapping):
        return None, [], "no range given"
    fixes: list[str] = []
    if option.kind == "str":
        raw = entry.get("choices")
        if not isinstance(raw, list):
            return None, [], "no list of choices"
        choices = [
            c
            for c in (clean_text(v, 40) for v in raw if isinstance(v, (str, int, float)))
            if _CHOICE_RE.match(c)
        ]
        if option.has_default:
            choices.insert(0, str(option.default))
        choices = list(dict.fromkeys(choices))[:_MAX_CHOICES]
        if len(choices) < 2:
            return None, [], "no choice besides the default"
        return {"type": "categorical", "choices": choices}, fixes, ""
    low, high = _number(entry.get("low")), _number(entry.get("high"))
    if low is None or high is None:
        return None, [], "low or high is missing or not a number"
    log = entry.get("log") is True
    if option.kind == "int":
        if low != int(low) or high != int(high):
            fixes.append(f"rounded {_fmt(low)}..{_fmt(high)} to integers")
        low, high = float(math.floor(low)), float(math.ceil(high))
    if low >= high:
        return None, [], f"low {_fmt(low)} is not below high {_fmt(high)}"
    name = _norm(option.name)
    d = float(option.default) if option.has_default and option.kind != "bool" else None
    if option.kind == "float" and _is_fraction(name, d) and (low < 0 or high > 1):
        low, high = max(low, 0.0), min(high, 1.0)
        fixes.append("clipped to 0..1 (a fraction)")
    if d is not None and d > 0 and low < 0 and option.kind == "float":
        low = 0.0
        fixes.append("raised the low end to 0 (a positive default)")
    if option.kind == "int" and d is not None and d >= 1 and low < 1:
        low = 1.0
        fixes.append("raised the low end to 1 (a count)")
    if option.low is not None and low < option.low:
        low = option.low
        fixes.append(f"raised to the script's minimum {_fmt(option.low)}")
    if option.high is not None and high > option.high:
        high = option.high
        fixes.append(f"lowered to the script's maximum {_fmt(option.high)}")
    if d is not None and d < low:
        low = d
        fixes.append(f"widened to include the default {_fmt(d)}")
    if d is not None and d > high:
        high = d
        fixes.append(f"widened to include the default {_fmt(d)}")
    if low >= high:
        return None, [], f"empty after the checks ({_fmt(low)} to {_fmt(high)})"
    if d is not None:
        checked = _plausible(option, name, d, low, high, log, fixes)
        if isinstance(checked, str):
            return None, [], checked
        low, high, log = checked
    if log and low <= 0:
        log = False
        fixes.append("log scale dropped (the range reaches 0 or below)")
    if option.kind == "int":
        return _int(int(low), int(high), log), fixes, ""
    return _float(low, high, log), fixes, ""


Scale = Literal["learning rate", "weight decay", "regularization strength", "width"]

PLAUSIBLE_DECADES = 4
"""A range reaching further than this many decades from the script's default (either way)
is implausible (ints: two decades above, a factor of 100 below)."""


def _scale_kind(option: Option, name: str) -> Scale | None:
    """Which rate- or scale-like parameter ``option`` is, if any (these get log scales)."""
    if option.kind == "float" and _LR_LIKE.search(name):
        return "learning rate"
    if option.kind == "float" and _DECAY_LIKE.search(name):
        return "weight decay"
    if option.kind == "float" and _REG_SCALE.search(name):
        return "regularization strength"
    if option.kind == "int" and _WIDTH_LIKE.search(name):
        return "width"
    return None


def _window(option: Option, kind: Scale | None, d: float) -> tuple[float, float]:
    """The plausible window of a parameter with positive default ``d``."""
    if kind == "learning rate":
        return d / 1e4, (1.0 if d < 1 else d * 10)
    if kind == "weight decay":
        return d / 1e4, (1.0 if d < 1 else d * 10)
    if kind == "regularization strength":
        return d / 1e4, d * 1e4
    if kind == "width":
        return max(1.0, d / 8), d * 16
    if option.kind == "int":
        return max(1.0, d / 100), d * 100
    return d / 10**PLAUSIBLE_DECADES, d * 10**PLAUSIBLE_DECADES


def _natural_edge(option: Option, name: str, d: float, at_low: bool) -> bool:
    """Whether the default sitting at this edge is the value's natural end."""
    if option.kind == "float" and _is_fraction(name, d) and d in (0.0, 1.0):
        return True
    if at_low:
        if d == 0 or (option.kind == "int" and d <= 1):
            return True  # nothing below 0, a count's 1, or a negative int meaning "off"
        if option.low is not None and d <= option.low:
            return True
    elif option.high is not None and d >= option.high:
        return True
    return False


def _plausible(
    option: Option,
    name: str,
    d: float,
    low: float,
    high: float,
    log: bool,
    fixes: list[str],
) -> tuple[float, float, bool] | str:
    """Plausibility checks on a type-checked range holding the default ``d``.

    Returns the range (possibly moved, each move appended to ``fixes``) or, for a range
    no fix could make sensible, why it is implausible.
    """
    kind = _scale_kind(option, name)
    is_int = option.kind == "int"
    floor = 0.0 if d >= 0 and not is_int else (1.0 if is_int and d >= 1 else -math.inf)
    if option.kind == "float" and _is_fraction(name, d):
        lo_cap, hi_cap = 0.0, 1.0
    elif d > 0:
        lo_cap, hi_cap = _window(option, kind, d)
        what = f"implausible for {f'a {kind}' if kind else 'this parameter'} (default {_fmt(d)})"
        if high > hi_cap * (1 + 1e-9):
            return f"{what}: high {_fmt(high)} is above {_fmt(hi_cap)}"
        if low > 0 and low < lo_cap * (1 - 1e-9):
            return f"{what}: low {_fmt(low)} is below {_fmt(lo_cap)}"
    else:
        lo_cap, hi_cap = -math.inf, math.inf
    if option.low is not None:
        lo_cap = max(lo_cap, option.low)
    if option.high is not None:
        hi_cap = min(hi_cap, option.high)
    if kind is not None and d > 0:
        if low <= 0:
            low = max(d / (10 if kind in ("learning rate", "width") else 100), lo_cap)
            if is_int:
                low = float(max(1, math.floor(low)))
            fixes.append(f"raised the low end to {_fmt(low)} for a log scale (a {kind})")
        if not log:
            log = True
            fixes.append(f"log scale: good values of a {kind} span orders of magnitude")
        f = {"learning rate": 3.0, "width": 2.0}.get(kind, 10.0)
        want_low, want_high = max(d / f, lo_cap), min(d * f, hi_cap)
        if is_int:
            want_low, want_high = float(math.floor(want_low)), float(math.ceil(want_high))
        if want_low < low or want_high > high:
            low, high = min(low, want_low), max(high, want_high)
            fixes.append(
                f"widened to {_fmt(low)}..{_fmt(high)}: the default {_fmt(d)} is a factor"
                f" of {_fmt(f)} or more from each end"
            )
        return low, high, log
    # Any other number: the default must not sit at an edge the script does not set.
    if d == low and not _natural_edge(option, name, d, at_low=True):
        new = d / math.sqrt(high / d) if log and d > 0 else d - (high - d) / 2
        new = max(new, floor, lo_cap)
        new = float(math.floor(new)) if is_int else _round_sig(new)
        if new < low:
            low = new
            fixes.append(f"lowered to {_fmt(low)}: the default {_fmt(d)} was the low end")
    if d == high and not _natural_edge(option, name, d, at_low=False):
        new = d * math.sqrt(d / low) if log and low > 0 else d + (d - low) / 2
        new = min(new, hi_cap)
        new = float(math.ceil(new)) if is_int else _round_sig(new)
        if new > high:
            high = new
            fixes.append(f"raised to {_fmt(high)}: the default {_fmt(d)} was the high end")
    return low, high, log


def propose_ranges(
    options: Sequence[Option],
    *,
    llm: LLMClient | None,
    script: str = "train.py",
    description: str = "",
    goal: str = "",
    seed: int | None = 0,
) -> RangeResult:
    """Ranges for ``options``: the script's own choices, else the LLM's, else heuristics.

    The LLM is asked once for every option that needs a range; a failed call or an
    unusable answer (for one option or all) falls back to :func:`heuristic_range`, and each
    range records its source and why. A failure of the whole call or answer is the
    result's one ``problem``; a range's ``fixes`` hold only what concerns that range.

    Args:
        options: The options to tune (see :func:`skip_reason` for the others).
        llm: The model to ask, or ``None`` to use heuristics only.
        script: The script's name, for the prompt.
        description: What the script does, for the prompt.
        goal: The objective (``maximize val_accuracy``), for the prompt.
        seed: Sampling seed passed to the model.

    Example:
        >>> from agenthpo.llm import ScriptedLLM
        >>> opt = Option(name="lr", flag="--lr", kind="float", default=0.01, has_default=True)
        >>> llm = ScriptedLLM(['{"lr": {"low": 1e-4, "high": 0.1, "log": true,'
        ...                    ' "reason": "step sizes span decades"}}'])
        >>> draft = propose_ranges([opt], llm=llm).params[0]
        >>> draft.spec["low"], draft.source, draft.reason
        (0.0001, 'llm', 'step sizes span decades')
    """
    fixed = {o.name: _from_script(o) for o in options}
    asked = [o for o in options if fixed[o.name] is None and _asks(o)]
    answer: Mapping[str, Any] = {}
    problem: str | None = None
    tokens = 0
    messages: list[Message] = []
    if asked and llm is not None:
        messages = ranges_messages(asked, script=script, description=description, goal=goal)
        try:
            response = llm.complete(
                messages,
                schema=ranges_schema(asked),
                max_tokens=min(4096, 80 * len(asked) + 64),
                temperature=0.2,
                seed=seed,
            )
        except LLMError as exc:
            problem = f"the LLM call failed ({clean_text(exc, 200)})"
        else:
            tokens = response.usage.total
            try:
                parsed = extract_json(response.text)
            except ValueError:
                problem = "the LLM's answer was not JSON"
            else:
                if isinstance(parsed, Mapping):
                    answer = parsed
                else:
                    problem = f"the LLM's answer was a JSON {type(parsed).__name__}, not an object"
        if problem:
            # Said once by whoever shows the draft (RangeResult.problem); not on every range.
            _logger.info("%s; using heuristic ranges", problem)
    llm_name = llm.name if llm is not None and asked else None
    params: list[ParamDraft] = []
    for option in options:
        ready = fixed[option.name]
        if ready is not None:
            params.append(ready)
            continue
        if option.name in answer and problem is None:
            spec, fixes, why = check_llm_range(option, answer[option.name])
            if spec is not None:
                entry = answer[option.name]
                reason = clean_text(entry.get("reason", ""))
                if sum(c.isalpha() for c in reason) < 3:
                    reason = "(the LLM gave no reason)"
                params.append(ParamDraft(option, spec, "llm", reason, tuple(fixes)))
                continue
            note = f"the LLM's range was unusable: {why}"
        elif llm_name is not None and problem is None:
            note = "the LLM gave no range for it"
        else:
            note = ""  # no LLM, or its whole answer failed: that is one note for the draft
        spec, reason = _within_declared(option, *heuristic_range(option))
        params.append(ParamDraft(option, spec, "heuristic", reason, (note,) if note else ()))
    return RangeResult(params, llm=llm_name, problem=problem, tokens=tokens, messages=messages)
