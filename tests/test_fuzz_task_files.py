"""Generative: broken task files through the CLI (issue 19, "Done when").

Each example starts from a valid task and breaks exactly one thing: a field of the wrong
type or out of its range, a missing field, an unknown key, a bad parameter range, a
command or placeholder that cannot work, a duplicate key, broken YAML, an alias bomb, a
deep nesting, bytes that are not UTF-8. `agenthpo run` must exit 2 with one line, without
a traceback, and that line must name the field (or the line of the YAML error).

The default run checks 60 files; ``-m slow`` runs at least 2,000.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agenthpo.cli import app
from agenthpo.task import STRATEGY_NAMES

BASE: dict[str, Any] = {
    "name": "fuzz",
    "objective": {"metric": "loss", "direction": "minimize"},
    "space": {
        "x": {"type": "float", "low": -5.0, "high": 5.0},
        "n": {"type": "int", "low": 1, "high": 64, "log": True},
        "k": {"type": "categorical", "choices": ["a", "b"]},
    },
    "n_trials": 3,
    "command": ["python", "train.py"],
    "strategy": "random",
}

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
_junk = st.one_of(
    st.lists(st.integers(), min_size=1, max_size=3),
    st.dictionaries(_word, st.integers(), min_size=1, max_size=3),
)
_not_int_text = _word.filter(lambda s: not s.strip("_").isdigit())
_fraction = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: not float(f).is_integer()
)


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _delete(data: dict[str, Any], path: tuple[str, ...]) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


@st.composite
def _broken(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """(file bytes, what was broken, a text the error line must contain)."""
    data = copy.deepcopy(BASE)
    kind = draw(
        st.sampled_from(
            [
                "name",
                "n_trials",
                "direction",
                "metric",
                "missing",
                "unknown_key",
                "range",
                "param_type",
                "log_low",
                "choices",
                "command",
                "placeholder",
                "both_runners",
                "number_field",
                "strategy",
                "default_config",
                "int_bound",
                "duplicate",
                "syntax",
                "bomb",
                "deep",
                "not_utf8",
                "not_mapping",
                "space_type",
            ]
        )
    )
    field = kind
    if kind == "name":
        value = draw(
            st.one_of(
                _junk,
                st.just(""),
                st.text(min_size=1, max_size=20).filter(
                    lambda s: not s[:1].isalnum() or any(not (c.isalnum() or c in "_.-") for c in s)
                ),
                st.integers(201, 600).map(lambda n: "n" * n),
            )
        )
        _set(data, ("name",), value)
        field = "name"
    elif kind == "n_trials":
        value = draw(
            st.one_of(
                st.integers(max_value=0),
                st.integers(min_value=100_001),
                _not_int_text,
                _fraction,
                _junk,
            )
        )
        _set(data, ("n_trials",), value)
        field = "n_trials"
    elif kind == "direction":
        value = draw(st.one_of(_word.filter(lambda w: w not in ("minimize", "maximize")), _junk))
        _set(data, ("objective", "direction"), value)
        field = "direction"
    elif kind == "metric":
        _set(data, ("objective", "metric"), draw(_junk))
        field = "metric"
    elif kind == "missing":
        field = draw(st.sampled_from(["name", "objective", "space", "n_trials", "command"]))
        _delete(data, (field,))
    elif kind == "unknown_key":
        field = "zz_" + draw(_word)
        _set(data, (field,), draw(st.integers()))
    elif kind == "range":
        low = draw(st.floats(-1e6, 1e6))
        high = draw(st.floats(-1e6, low))
        _set(data, ("space", "x"), {"type": "float", "low": low, "high": high})
        field = "space.x"
    elif kind == "param_type":
        bad = draw(_word.filter(lambda w: w not in ("float", "int", "categorical")))
        _set(data, ("space", "x", "type"), bad)
        field = "space.x"
    elif kind == "log_low":
        _set(
            data,
            ("space", "x"),
            {"type": "float", "low": -draw(st.floats(0, 10)), "high": 5.0, "log": True},
        )
        field = "space.x"
    elif kind == "choices":
        _set(data, ("space", "k", "choices"), draw(st.one_of(st.just([]), st.just(["a", "a"]))))
        field = "space.k"
    elif kind == "space_type":
        _set(
            data,
            ("space",),
            draw(st.one_of(st.lists(st.integers(), max_size=3), _word, st.integers())),
        )
        field = "space"
    elif kind == "command":
        value = draw(
            st.one_of(
                st.just([]),
                _word.map(lambda w: f"python {w}.py"),
                _junk.map(lambda j: ["python", j]),
            )
        )
        _set(data, ("command",), value)
        field = "command"
    elif kind == "placeholder":
        name = "zz" + draw(_word)
        _set(data, ("command",), ["python", "train.py", f"--{name}={{{name}}}"])
        field = "{" + name + "}"
    elif kind == "both_runners":
        _set(data, ("function",), "train:objective")
        field = "function"
    elif kind == "number_field":
        field = draw(st.sampled_from(["timeout", "time_limit", "llm_share", "llm_batch_size"]))
        bad: Any = draw(
            st.one_of(
                st.integers(max_value=0) if field != "llm_share" else st.integers(min_value=2),
                _junk,
                _not_int_text,
            )
        )
        _set(data, (field,), bad)
    elif kind == "strategy":
        _set(data, ("strategy",), draw(_word.filter(lambda w: w not in _STRATEGIES)))
        field = "strategy"
    elif kind == "default_config":
        x = draw(st.one_of(st.floats(5.001, 1e9), st.floats(-1e9, -5.001)))
        _set(data, ("default_config",), {"x": x, "n": 2, "k": "a"})
        field = "default_config.x"
    elif kind == "int_bound":
        _set(
            data,
            ("space", "n"),
            {"type": "int", "low": 0, "high": draw(st.integers(2**53 + 1, 10**30))},
        )
        field = "space.n"
    if kind in ("duplicate", "syntax", "bomb", "deep", "not_utf8", "not_mapping"):
        text = yaml.safe_dump(data, sort_keys=False)
        if kind == "duplicate":
            key = draw(st.sampled_from(["name", "n_trials", "strategy"]))
            return (
                (text + f"{key}: {yaml.safe_dump(data[key]).splitlines()[0]}\n").encode(),
                kind,
                key,
            )
        if kind == "syntax":
            junk = draw(
                st.sampled_from(["key: [unclosed", "- a\nb: c: d", "\tkey: tab", "key: 'open"])
            )
            return (text + junk + "\n").encode(), kind, "line"
        if kind == "bomb":
            levels = draw(st.integers(6, 9))
            lines = ['  a0: &a0 ["l", "l", "l", "l", "l", "l", "l", "l", "l"]']
            lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
            return (text + "dataset:\n" + "\n".join(lines) + "\n").encode(), kind, "dataset"
        if kind == "deep":
            depth = draw(st.integers(60, 6000))
            return (
                (text + "model: {a: " + "[" * depth + "]" * depth + "}\n").encode(),
                kind,
                "nests",
            )
        if kind == "not_utf8":
            return text.encode() + b"description: \xff\xfe\n", kind, "cannot read"
        return draw(st.sampled_from([b"- a\n- b\n", b"42\n", b"just text\n"])), kind, "mapping"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode(), kind, field


_STRATEGIES = STRATEGY_NAMES


def _check(folder: Path, content: bytes, kind: str, field: str) -> None:
    path = folder / "task.yaml"
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["run", str(path), "--no-report"])
    output = result.output
    assert result.exit_code == 2, (kind, output, result.exception)
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, (kind, lines)
    assert lines[0].startswith("error: ")
    assert field in lines[0], (kind, field, lines[0])


def _run(examples: int) -> int:
    count = {"n": 0}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "train.py").write_text("")

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=_broken())
        def check(case: tuple[bytes, str, str]) -> None:
            count["n"] += 1
            _check(folder, *case)

        check()
    return count["n"]


def test_broken_task_files_are_one_line_exit_2() -> None:
    assert _run(60) >= 60


@pytest.mark.slow
def test_two_thousand_broken_task_files_are_one_line_exit_2() -> None:
    assert _run(2_100) >= 2_000
