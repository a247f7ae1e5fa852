"""Hostile task files (issue 19, items 8, 9, 11, 12): each is refused with the usual
one-line error naming the field, never a traceback, a hang or a silent surprise."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenthpo.cli import app
from agenthpo.errors import TaskError
from agenthpo.task import MAX_TASK_FILE_BYTES, load_task

GOOD = """\
name: t
objective: {metric: loss, direction: minimize}
space:
  x: {type: float, low: -5.0, high: 5.0}
n_trials: 3
command: [python, train.py]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(text)
    return path


def _bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines)


@pytest.mark.parametrize("levels", [6, 9])
def test_an_alias_bomb_is_refused_quickly(tmp_path: Path, levels: int) -> None:
    bomb = "\n".join("  " + line for line in _bomb(levels).splitlines())
    path = _write(tmp_path, GOOD + "dataset:\n" + bomb + "\n")
    with pytest.raises(TaskError) as info:
        load_task(path)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert "dataset" in message
    assert "alias" in message


@pytest.mark.timeout(20)
@pytest.mark.parametrize("value", ["&a [*a]", "&a {b: [1, *a]}", "[&a [x, [*a]]]"])
def test_a_recursive_alias_is_refused_not_expanded_forever(tmp_path: Path, value: str) -> None:
    """A value that holds itself stands for infinitely many values: it is refused like a
    bomb, naming its field (it once spun at full CPU with growing memory)."""
    path = _write(tmp_path, GOOD + f"dataset: {value}\n")
    with pytest.raises(TaskError) as info:
        load_task(path)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert "dataset" in message
    assert "an alias inside the value it names" in message


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "dataset:\n  a: &r [1, 2]\n  b: *r\n")
    assert load_task(path).dataset == {"a": [1, 2], "b": [1, 2]}


def test_an_oversize_task_file_is_refused(tmp_path: Path) -> None:
    filler = "# " + "x" * 100 + "\n"
    path = _write(tmp_path, GOOD + filler * (MAX_TASK_FILE_BYTES // len(filler) + 1))
    with pytest.raises(TaskError) as info:
        load_task(path)
    assert len(str(info.value).splitlines()) == 1
    assert "larger than" in str(info.value)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output  # stdout and stderr


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize("depth", [100, 5000])
def test_deeply_nested_yaml_is_one_line_exit_2(tmp_path: Path, depth: int) -> None:
    path = _write(tmp_path, GOOD + "dataset: {a: " + "[" * depth + "]" * depth + "}\n")
    code, output = _run("run", str(path))
    assert code == 2
    line = _one_error_line(output)
    assert "nest" in line


def test_an_unwritable_sqlite_storage_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    path = _write(tmp_path, GOOD + "strategy: random\nstorage: sqlite:////proc/agenthpo.db\n")
    code, output = _run("run", str(path))
    assert code == 2
    assert "/proc" in _one_error_line(output)


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_numpy_cannot_take_is_refused_before_the_study_opens(
    tmp_path: Path, seed: str
) -> None:
    """Optuna's samplers seed NumPy, which takes 0..2**32 - 1: a seed outside once crashed
    the run with a traceback and left a trial RUNNING."""
    (tmp_path / "train.py").write_text("")
    path = _write(tmp_path, GOOD + "strategy: random\n")
    for command in ("run", "worker", "ask"):
        code, output = _run(command, str(path), "--seed", seed)
        assert code == 2, output
        assert "--seed" in output
        assert "Traceback" not in output
    code, output = _run("run", str(_write(tmp_path, GOOD + f"seed: {seed}\n")))
    assert code == 2
    assert _one_error_line(output).startswith("error: ")
    assert "seed" in output
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("sqlite:///rel.db", "sqlite:///{base}/rel.db"),
        ("sqlite:///sub/rel.db", "sqlite:///{base}/sub/rel.db"),
        ("journal:rel.log", "journal:{base}/rel.log"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
    ],
)
def test_a_relative_storage_resolves_against_the_task_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str, expected: str
) -> None:
    """Issue 19, item 11: run from another folder, a relative storage silently started a
    new study there."""
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / "task.yaml"
    path.write_text(GOOD + f"storage: '{storage}'\n")
    monkeypatch.chdir(tmp_path)
    task = load_task(Path("project") / "task.yaml")
    assert task.default_storage() == expected.format(base=folder.resolve())


# -- issue 19, item 12: silently accepted before -------------------------------------------
def _refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(TaskError) as info:
        load_task(_write(tmp_path, text))
    lines = str(info.value).splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    line = _refusal(tmp_path, GOOD.replace("n_trials: 3", "n_trials: 3\nn_trials: 30"))
    assert "n_trials" in line
    assert "twice" in line
    nested = GOOD.replace("low: -5.0,", "low: -5.0, low: -4.0,")
    assert "space.x.low" in _refusal(tmp_path, nested)


def test_a_word_yaml_reads_as_a_boolean_is_refused_in_the_space(tmp_path: Path) -> None:
    """YAML 1.1 reads unquoted yes/no/on/off as booleans: a script expecting the words would
    get true/false and refuse every trial, so the file is refused with the fix."""
    line = _refusal(
        tmp_path,
        GOOD.replace("n_trials: 3", "n_trials: 3\n").replace(
            "  x: {type: float, low: -5.0, high: 5.0}",
            "  x: {type: float, low: -5.0, high: 5.0}\n  amp: [Yes, 'no']",
        ),
    )
    assert "task.yaml: space.amp[0]: YAML reads the unquoted Yes as the boolean true" in line
    assert "quote it ('Yes')" in line
    quoted = GOOD.replace(
        "  x: {type: float, low: -5.0, high: 5.0}",
        "  x: {type: float, low: -5.0, high: 5.0}\n  amp: ['yes', 'no']\n  flag: [true, false]",
    )
    task = load_task(_write(tmp_path, quoted))
    assert list(task.space["amp"].choices) == ["yes", "no"]
    assert list(task.space["flag"].choices) == [True, False]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("n_trials: true", "n_trials"),
        ("timeout: true", "timeout"),
        ("seed: false", "seed"),
        ("policy: {warmup: yes}", "policy.warmup"),
        ("noise: {repeats: true}", "noise.repeats"),
    ],
)
def test_true_or_false_is_no_number(tmp_path: Path, line: str, field: str) -> None:
    """pydantic read true as 1: n_trials: true ran one trial, timeout: true gave a second
    (task probe). A boolean field, or noise: true, keeps its meaning."""
    text = GOOD.replace(
        "n_trials: 3", line if line.startswith("n_trials") else f"n_trials: 3\n{line}"
    )
    refusal = _refusal(tmp_path, text)
    assert f"{field}: must be a number, not true/false" in refusal
    kept = GOOD.replace("n_trials: 3", "n_trials: 3\nnoise: true\nrequire_llm: true")
    assert load_task(_write(tmp_path, kept)).require_llm is True


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (
            "direction: minimize",
            "direction: minimise",
            "(got 'minimise'; did you mean 'minimize'?)",
        ),
        ("n_trials: 3", "n_trials: three", "(got 'three')"),
        (
            "n_trials: 3",
            "n_trials: 3\ntimeout: -1",
            "timeout: Input should be greater than 0 (got -1)",
        ),
        ("space:", "serach_space:", "serach_space: unknown field; did you mean 'space'?"),
        ("[python, train.py]", "[python, train.py, '{lr}']", "(x; the tuner also fills {seed})"),
    ],
)
def test_a_refusal_says_what_it_got_and_what_was_meant(
    tmp_path: Path, old: str, new: str, said: str
) -> None:
    """Messages that left out the value they refused, or a did-you-mean (task probe)."""
    with pytest.raises(TaskError) as info:
        load_task(_write(tmp_path, GOOD.replace(old, new)))
    assert said in str(info.value)


def test_an_empty_file_and_two_documents_say_so(tmp_path: Path) -> None:
    assert "the file is empty" in _refusal(tmp_path, "")
    two = _refusal(tmp_path, GOOD + "---\nname: u\n")
    assert "expected a single document in the stream, but found another document" in two


@pytest.mark.parametrize(
    ("condition", "said"),
    [
        ("{}", "space.y.condition: names no parameter"),
        ("{y: a}", "space.y.condition.y: a parameter cannot depend on itself"),
    ],
)
def test_a_condition_that_names_nothing_or_itself_is_refused(
    tmp_path: Path, condition: str, said: str
) -> None:
    text = GOOD.replace(
        "  x: {type: float, low: -5.0, high: 5.0}",
        f"  x: {{type: float, low: -5.0, high: 5.0}}\n  y: {{type: categorical, choices: [a, b],"
        f" condition: {condition}}}",
    )
    assert said in _refusal(tmp_path, text)


def test_a_conditional_placeholder_apart_from_its_option_is_refused(tmp_path: Path) -> None:
    """--momentum {momentum}: the element is left out while momentum is inactive, and the
    option left behind would take the next argument as its value (executor probe)."""
    space = (
        "  x: {type: float, low: -5.0, high: 5.0}\n  opt: [sgd, adam]\n"
        "  momentum: {type: float, low: 0.0, high: 0.99, condition: {opt: sgd}}"
    )
    base = GOOD.replace("  x: {type: float, low: -5.0, high: 5.0}", space)
    apart = base.replace("[python, train.py]", "[python, train.py, --momentum, '{momentum}']")
    line = _refusal(tmp_path, apart)
    assert "write them as one element, --momentum={momentum}" in line
    joined = base.replace("[python, train.py]", "[python, train.py, '--momentum={momentum}']")
    task = load_task(_write(tmp_path, joined))
    from agenthpo.tuner import build_executor

    executor = build_executor(task)  # the element is left out while momentum is inactive
    line = executor.command_line({"x": 1.0, "opt": "adam"})  # type: ignore[attr-defined]
    assert line[1:] == ["train.py"]  # nothing placed, nothing appended for the others either
    shared = base.replace("[python, train.py]", "[python, train.py, '--o={opt}:{momentum}']")
    assert "shares the element '--o={opt}:{momentum}'" in _refusal(tmp_path, shared)
    # a negative number before it is a value, not an option (review)
    after_value = base.replace(
        "[python, train.py]", "[python, train.py, --shift, '-1', '--momentum={momentum}']"
    )
    assert load_task(_write(tmp_path, after_value)).command is not None


def test_an_unknown_placeholder_in_the_command_is_refused(tmp_path: Path) -> None:
    line = _refusal(tmp_path, GOOD.replace("[python, train.py]", "[python, train.py, '{nope}']"))
    assert line.count("command") == 1
    assert "{nope}" in line


def test_json_braces_in_the_command_are_not_placeholders(tmp_path: Path) -> None:
    text = GOOD.replace("[python, train.py]", """[python, train.py, '--cfg={"a": 1}', '{x}']""")
    assert load_task(_write(tmp_path, text)).command is not None


@pytest.mark.parametrize("bound", ["low: 0, high: 1.0e+26", "low: 0, high: 100000000000000000000"])
def test_int_bounds_beyond_exact_floats_are_refused(tmp_path: Path, bound: str) -> None:
    text = GOOD.replace("x: {type: float, low: -5.0, high: 5.0}", f"x: {{type: int, {bound}}}")
    assert "space.x" in _refusal(tmp_path, text)


def test_a_5000_character_name_is_refused(tmp_path: Path) -> None:
    line = _refusal(tmp_path, GOOD.replace("name: t", "name: " + "n" * 5000))
    assert line.count("n" * 200) == 0  # the message does not repeat the whole name
    assert "name:" in line


def test_a_choice_that_looks_like_an_option_is_passed_safely() -> None:
    from agenthpo.executor._command import _command_line

    argv = _command_line(["python", "t.py"], {"k": "--help", "x": -0.5}, pass_args=True)
    assert argv == ["python", "t.py", "--k=--help", "--x", "-0.5"]


def test_a_standalone_placeholder_of_an_option_like_choice_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("[python, train.py]", "[python, train.py, --k, '{k}']").replace(
        "space:\n", "space:\n  k: [a, --help]\n"
    )
    line = _refusal(tmp_path, text)
    assert "--help" in line


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("noise: {repeats: -1}", ["noise.repeats: Input should be greater than or equal to 1"]),
        ("noise: 7", ["noise: give true, false or a mapping of its settings (got 7)"]),
        (
            "pruner: medain",
            [
                "pruner: must be a mapping, or 'none', 'median', 'successive_halving',"
                " 'hyperband' or 'agent' (got 'medain')"
            ],
        ),
        (
            "pruner: {kind: median}",
            ["pruner.type: required field is missing; add it", "pruner.kind: unknown field; "],
        ),
    ],
)
def test_a_section_or_a_name_is_reported_once_without_pydantics_branch_names(
    tmp_path: Path, section: str, expected: list[str]
) -> None:
    """``noise`` and ``pruner`` take a mapping or a name; pydantic reports a mistake in every
    branch, named by its class (``noise.NoiseSection.repeats``, ``noise.literal[False]``):
    the user sees only the branch the value was meant for."""
    with pytest.raises(TaskError) as info:
        load_task(_write(tmp_path, GOOD + section + "\n"))
    lines = [line.split(": ", 1)[1] for line in str(info.value).splitlines()]
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), lines
    assert "Section" not in str(info.value)
    assert "literal[" not in str(info.value)


@pytest.mark.parametrize("llm", ['llm: ""', "llm: '  '", 'llm: {spec: ""}'])
def test_an_empty_llm_spec_is_refused_at_load_naming_the_field(tmp_path: Path, llm: str) -> None:
    # Leaving `llm` out takes the default chain; an empty spec is a mistake, caught at load.
    line = _refusal(tmp_path, GOOD + llm + "\n")
    assert "llm.spec" in line
    assert "empty" in line
