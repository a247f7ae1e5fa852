"""Tests of agenthpo.task: loading the task file and a clear TaskError for every mistake."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenthpo.errors import AgentHPOError, TaskError
from agenthpo.space import Space
from agenthpo.task import LLMSection, Objective, Task, load_task, task_from_dict

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "digits_mlp" / "task.yaml"
TASK_FIELDS = frozenset(Task.model_fields)


def example_dict() -> dict[str, Any]:
    """The example task file as a fresh, mutable mapping."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def small_dict() -> dict[str, Any]:
    """A minimal valid task with a float, an int and a categorical parameter."""
    return {
        "name": "small",
        "objective": {"metric": "loss", "direction": "minimize"},
        "space": {
            "lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
            "units": {"type": "int", "low": 16, "high": 256, "step": 16},
            "opt": {"type": "categorical", "choices": ["adam", "sgd"]},
        },
        "n_trials": 5,
        "command": ["python", "train.py"],
    }


def error_of(data: dict[str, Any]) -> str:
    """The message of the TaskError that ``data`` must raise."""
    with pytest.raises(TaskError) as info:
        task_from_dict(data)
    message = str(info.value)
    assert message.strip()
    return message


def write(tmp_path: Path, text: str, name: str = "task.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------- the valid example


def test_the_quick_start_asks_the_embedded_model() -> None:
    """The quick start's budget, less the most its re-evaluations may take, leaves the
    embedded model's schedule at least one turn: at 20 runs (12 trials) it had none and
    the quick start never showed the agent at work (docs probe)."""
    import math

    from agenthpo.agent.schedule import llm_turn
    from agenthpo.policy import EMBEDDED, get_preset
    from agenthpo.strategies import STRATEGY_PRESETS

    task = load_task(EXAMPLE)
    noise = task.noise_setup()
    assert noise is not None
    trials = task.n_trials - math.floor(noise.max_share * task.n_trials)
    policy = get_preset(STRATEGY_PRESETS[task.strategy]).for_model(EMBEDDED)
    turns = trials - 1  # the default configuration takes no turn
    assert any(llm_turn(policy, t) for t in range(turns))


def test_example_loads() -> None:
    task = load_task(EXAMPLE)
    assert isinstance(task, Task)
    assert task.name == "digits-mlp"
    assert "handwritten digits" in task.description
    assert isinstance(task.dataset, dict)
    assert task.dataset["name"] == "scikit-learn digits"
    assert isinstance(task.model, dict)
    assert "MLPClassifier" in task.model["type"]
    assert task.objective == Objective(metric="val_accuracy", direction="maximize")
    assert task.hidden_metrics == ["test_accuracy"]
    assert isinstance(task.space, Space)
    assert task.space.names == [
        "hidden_units",
        "n_layers",
        "activation",
        "alpha",
        "learning_rate_init",
        "batch_size",
        "epochs",
    ]
    assert task.space["alpha"].log is True
    assert task.n_trials == 30
    assert task.timeout == 300
    assert task.command == ["python", "train.py"]
    assert task.function is None
    assert task.llm is None
    assert task.llm_settings() is None
    assert task.storage is None


def test_example_paths_and_default_storage() -> None:
    task = load_task(EXAMPLE)
    assert task.base_dir == EXAMPLE.parent
    assert task.source == EXAMPLE
    expected_db = EXAMPLE.parent / "task.agenthpo.db"
    assert task.default_storage() == f"sqlite:///{expected_db}"
    assert task.default_storage().startswith("sqlite:///")


def test_relative_path_resolves_against_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    write(sub, EXAMPLE.read_text(encoding="utf-8"), "my_task.yaml")
    monkeypatch.chdir(tmp_path)
    task = load_task("sub/my_task.yaml")
    assert task.base_dir == sub.resolve()
    assert task.source == (sub / "my_task.yaml").resolve()
    assert task.default_storage() == f"sqlite:///{sub.resolve() / 'my_task.agenthpo.db'}"


def test_explicit_storage_wins() -> None:
    data = example_dict()
    data["storage"] = "sqlite:///elsewhere.db"
    # a relative path is relative to the task's folder (here, without a file: the cwd)
    expected = f"sqlite:///{(Path.cwd() / 'elsewhere.db').resolve()}"
    assert task_from_dict(data).default_storage() == expected


def test_default_storage_without_file_uses_name(tmp_path: Path) -> None:
    task = task_from_dict(small_dict(), base_dir=tmp_path)
    assert task.source is None
    assert task.default_storage() == f"sqlite:///{(tmp_path / 'small.agenthpo.db').resolve()}"


def test_example_default_config_validated() -> None:
    task = load_task(EXAMPLE)
    assert task.default_config == {
        "hidden_units": 100,
        "n_layers": 1,
        "activation": "relu",
        "alpha": 1e-4,
        "learning_rate_init": 1e-3,
        "batch_size": 200,
        "epochs": 200,
    }
    assert task.default_config is not None
    assert task.validate_config(task.default_config) == []


def test_default_config_is_normalized(tmp_path: Path) -> None:
    data = example_dict()
    # PyYAML reads 1e-4 (no dot) as a string; the space turns it into a float.
    data["default_config"].update(
        {"alpha": "1e-4", "epochs": 150.0, "hidden_units": "64", "activation": "ReLU"}
    )
    task = task_from_dict(data)
    config = task.default_config
    assert config is not None
    assert config["alpha"] == pytest.approx(1e-4)
    assert isinstance(config["alpha"], float)
    assert config["epochs"] == 150
    assert type(config["epochs"]) is int
    assert config["hidden_units"] == 64
    assert type(config["hidden_units"]) is int
    assert config["activation"] == "relu"
    assert task.validate_config(config) == []


def test_yaml_scientific_notation_without_dot(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "alpha: {type: float, low: 1.0e-6, high: 1.0e-1",
        "alpha: {type: float, low: 1e-6, high: 1e-1",
    )
    assert "low: 1e-6" in text
    task = load_task(write(tmp_path, text))
    assert task.space["alpha"].low == pytest.approx(1e-6)


def test_function_task() -> None:
    data = small_dict()
    del data["command"]
    data["function"] = "my_pkg.train:objective"
    task = task_from_dict(data)
    assert task.function == "my_pkg.train:objective"
    assert task.command is None


def test_command_numbers_become_strings() -> None:
    data = small_dict()
    data["command"] = ["python", "train.py", "--epochs", 3, "--frac", 0.5]
    assert task_from_dict(data).command == ["python", "train.py", "--epochs", "3", "--frac", "0.5"]


def test_dataset_and_model_may_be_text() -> None:
    data = small_dict()
    data["dataset"] = "CIFAR-10, 50k train images"
    data["model"] = "ResNet-18"
    task = task_from_dict(data)
    assert task.dataset == "CIFAR-10, 50k train images"
    assert task.model == "ResNet-18"


# ---------------------------------------------------------------------- llm section


def test_llm_shorthand_string() -> None:
    data = small_dict()
    data["llm"] = "openai:gpt-4o-mini"
    task = task_from_dict(data)
    assert task.llm == LLMSection(spec="openai:gpt-4o-mini")
    assert task.llm.timeout == 120.0
    settings_ = task.llm_settings()
    assert settings_ is not None
    assert settings_.structured_output == "auto"


def test_llm_full_section() -> None:
    data = small_dict()
    data["llm"] = {
        "spec": "ollama:qwen2.5:7b",
        "structured_output": "json_object",
        "timeout": 30,
        "max_retries": 1,
        "temperature": 0.2,
    }
    task = task_from_dict(data)
    assert task.llm == LLMSection(
        spec="ollama:qwen2.5:7b",
        structured_output="json_object",
        timeout=30.0,
        max_retries=1,
        temperature=0.2,
    )
    settings_ = task.llm_settings()
    assert settings_ is not None
    assert (settings_.structured_output, settings_.timeout, settings_.max_retries) == (
        "json_object",
        30.0,
        1,
    )


@pytest.mark.parametrize(
    ("llm", "path", "words"),
    [
        ({"spec": "local", "temprature": 0.1}, "llm.temprature", "did you mean 'temperature'"),
        ({"temperature": 5}, "llm.temperature", "less than or equal to 2"),
        ({"timeout": 0}, "llm.timeout", "greater than 0"),
        ({"max_retries": 99}, "llm.max_retries", "10"),
        ({"structured_output": "xml"}, "llm.structured_output", "json_schema"),
        ({"spec": 5}, "llm.spec", "string"),
        (5, "llm", "mapping"),
        (["openai:gpt-4o-mini"], "llm", "mapping"),
    ],
)
def test_bad_llm_section(llm: Any, path: str, words: str) -> None:
    data = small_dict()
    data["llm"] = llm
    message = error_of(data)
    assert f"task: {path}:" in message
    assert words in message


# ---------------------------------------------------------------------- one test per mistake


@pytest.mark.parametrize("field", ["name", "objective", "space"])
def test_missing_required_field(field: str) -> None:
    data = small_dict()
    del data[field]
    message = error_of(data)
    assert f"task: {field}: required field is missing" in message


def test_missing_nested_field() -> None:
    data = small_dict()
    del data["objective"]["direction"]
    assert "task: objective.direction: required field is missing" in error_of(data)


def test_bad_bound_low_above_high() -> None:
    data = small_dict()
    data["space"]["lr"] = {"type": "float", "low": 1.0, "high": 0.1}
    message = error_of(data)
    assert "space.lr.low" in message
    assert "lower than high" in message
    assert "swap" in message


def test_bad_bound_log_with_zero_low() -> None:
    data = small_dict()
    data["space"]["lr"] = {"type": "float", "low": 0.0, "high": 0.1, "log": True}
    message = error_of(data)
    assert "space.lr.low" in message
    assert "log" in message


def test_bad_bound_not_a_number() -> None:
    data = small_dict()
    data["space"]["units"]["high"] = "lots"
    assert "space.units.high" in error_of(data)


def test_unknown_param_type_with_hint() -> None:
    data = small_dict()
    data["space"]["lr"]["type"] = "floot"
    message = error_of(data)
    assert "space.lr.type" in message
    assert "unknown type 'floot'" in message
    assert "did you mean 'float'" in message


def test_missing_param_type() -> None:
    data = small_dict()
    del data["space"]["opt"]["type"]
    message = error_of(data)
    assert "space.opt.type" in message
    assert "categorical" in message


def test_empty_choices() -> None:
    data = small_dict()
    data["space"]["opt"]["choices"] = []
    message = error_of(data)
    assert "space.opt.choices" in message
    assert "empty" in message


def test_unknown_key_in_param() -> None:
    data = small_dict()
    data["space"]["lr"]["hihg"] = 1.0
    message = error_of(data)
    assert "space.lr.hihg" in message
    assert "high" in message


def test_space_not_a_mapping() -> None:
    data = small_dict()
    data["space"] = ["lr", "units"]
    message = error_of(data)
    assert "task: space:" in message
    assert "mapping" in message


def test_space_empty() -> None:
    data = small_dict()
    data["space"] = {}
    message = error_of(data)
    assert "task: space:" in message
    assert "empty" in message


def test_space_reports_every_problem() -> None:
    data = small_dict()
    data["space"]["lr"] = {"type": "float", "low": 1.0, "high": 0.1}
    data["space"]["opt"]["choices"] = []
    message = error_of(data)
    assert "space.lr.low" in message
    assert "space.opt.choices" in message
    assert all(line.startswith("task: ") for line in message.splitlines())


def test_command_as_one_string() -> None:
    data = small_dict()
    data["command"] = "python train.py --epochs 3"
    message = error_of(data)
    assert "task: command:" in message
    assert "list" in message
    assert "[python, train.py, --epochs, 3]" in message


def test_command_empty_list() -> None:
    data = small_dict()
    data["command"] = []
    message = error_of(data)
    assert "task: command:" in message
    assert "empty" in message


def test_both_command_and_function() -> None:
    data = small_dict()
    data["function"] = "train:objective"
    message = error_of(data)
    assert "`command`" in message
    assert "`function`" in message
    assert "not both" in message
    assert re.search(r"^task: (command|function):", message, re.MULTILINE)


def test_neither_command_nor_function() -> None:
    data = small_dict()
    del data["command"]
    message = error_of(data)
    assert "`command`" in message
    assert "`function`" in message
    assert re.search(r"^task: (command|function):", message, re.MULTILINE)


def test_function_bad_target() -> None:
    data = small_dict()
    del data["command"]
    data["function"] = "train.objective"
    message = error_of(data)
    assert "task: function:" in message
    assert "module:callable" in message


def test_default_config_outside_space() -> None:
    data = small_dict()
    data["default_config"] = {"lr": 0.5, "units": 64, "opt": "adam"}
    message = error_of(data)
    assert "default_config.lr" in message
    assert "above the maximum 0.1" in message


def test_default_config_each_problem_named() -> None:
    data = small_dict()
    data["default_config"] = {"lr": 0.01, "units": 70, "opt": "AdamW", "seed": 1}
    message = error_of(data)
    assert "default_config.units" in message
    assert "default_config.opt" in message
    assert "did you mean 'adam'" in message
    assert "default_config.seed" in message
    assert "not a parameter" in message


def test_default_config_missing_param() -> None:
    data = small_dict()
    data["default_config"] = {"lr": 0.01, "units": 64}
    message = error_of(data)
    assert "default_config.opt" in message
    assert "missing" in message


def test_default_config_null_leaves_a_parameter_to_the_script() -> None:
    data = small_dict()
    data["default_config"] = {"lr": 0.01, "units": None, "opt": "adam"}
    assert Task.model_validate(data).default_config == {"lr": 0.01, "units": None, "opt": "adam"}
    data["default_config"] = {"lr": 0.01, "units": None, "opt": "adam", "seed": None}
    message = error_of(data)
    assert "default_config.seed" in message  # null does not excuse an unknown name
    assert "default_config.units" not in message


def test_default_config_not_a_mapping() -> None:
    data = small_dict()
    data["default_config"] = [0.01, 64, "adam"]
    assert "task: default_config:" in error_of(data)


def test_unknown_top_level_field_did_you_mean() -> None:
    data = small_dict()
    data["n_trails"] = 10
    message = error_of(data)
    assert "task: n_trails: unknown field" in message
    assert "did you mean 'n_trials'?" in message


def test_unknown_top_level_field_lists_allowed() -> None:
    data = small_dict()
    data["zzzzzz"] = 1
    message = error_of(data)
    assert "task: zzzzzz: unknown field" in message
    assert "allowed fields:" in message
    assert "n_trials" in message


def test_unknown_nested_field_did_you_mean() -> None:
    data = small_dict()
    data["objective"]["directon"] = "maximize"
    message = error_of(data)
    assert "task: objective.directon: unknown field" in message
    assert "did you mean 'direction'?" in message


def test_bad_direction() -> None:
    data = small_dict()
    data["objective"]["direction"] = "max"
    message = error_of(data)
    assert "task: objective.direction:" in message
    assert "'maximize'" in message
    assert "'minimize'" in message


def test_objective_not_a_mapping() -> None:
    data = small_dict()
    data["objective"] = "loss"
    message = error_of(data)
    assert "task: objective:" in message
    assert "mapping" in message


def test_empty_metric() -> None:
    data = small_dict()
    data["objective"]["metric"] = ""
    assert "task: objective.metric:" in error_of(data)


@pytest.mark.parametrize("n_trials", [0, -3, 1.5, "many", float("inf")])
def test_bad_n_trials(n_trials: Any) -> None:
    data = small_dict()
    data["n_trials"] = n_trials
    assert "task: n_trials:" in error_of(data)


@pytest.mark.parametrize("name", ["has space", "", "-dash", "semi;colon"])
def test_bad_name(name: str) -> None:
    data = small_dict()
    data["name"] = name
    assert "task: name:" in error_of(data)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "soon"])
def test_bad_timeout(timeout: Any) -> None:
    data = small_dict()
    data["timeout"] = timeout
    assert "task: timeout:" in error_of(data)


@pytest.mark.parametrize("field", ["dataset", "model"])
@pytest.mark.parametrize("value", [5, None, ["a", "b"]])
def test_bad_facts(field: str, value: Any) -> None:
    data = small_dict()
    data[field] = value
    message = error_of(data)
    assert message.startswith(f"task: {field}:")
    assert "mapping" in message
    assert "[" not in message.split(":")[1]  # no pydantic union tag in the path


def test_env_values_must_be_strings() -> None:
    data = small_dict()
    data["env"] = {"OMP_NUM_THREADS": 1}
    assert "task: env.OMP_NUM_THREADS:" in error_of(data)


def test_hidden_metrics_cannot_hide_objective() -> None:
    data = small_dict()
    data["hidden_metrics"] = ["accuracy", "loss"]
    message = error_of(data)
    assert "task: hidden_metrics:" in message
    assert "'loss'" in message


def test_task_error_is_agenthpo_error() -> None:
    data = small_dict()
    del data["name"]
    with pytest.raises(AgentHPOError):
        task_from_dict(data)


def test_label_prefixes_every_line(tmp_path: Path) -> None:
    data = small_dict()
    data["space"]["lr"]["low"] = 5.0
    data["n_trials"] = 0
    path = write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(TaskError) as info:
        load_task(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert any("space.lr.low" in line for line in lines)
    assert any("n_trials" in line for line in lines)


# ---------------------------------------------------------------------- the file itself


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    text = "name: demo\nobjective: {metric: loss, direction: minimize\nn_trials: 3\n"
    path = write(tmp_path, text)
    with pytest.raises(TaskError) as info:
        load_task(path)
    message = str(info.value)
    assert str(path) in message
    assert "invalid YAML" in message
    assert re.search(r"line \d+, column \d+", message)


def test_yaml_syntax_error_exact_position(tmp_path: Path) -> None:
    path = write(tmp_path, "name: demo\nspace:\n  lr: [1, 2\n  bad: : :\n")
    with pytest.raises(TaskError) as info:
        load_task(path)
    match = re.search(r"line (\d+), column (\d+)", str(info.value))
    assert match is not None
    assert int(match.group(1)) in (3, 4)


def test_yaml_tab_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, "name: demo\nobjective:\n\tmetric: loss\n")
    with pytest.raises(TaskError, match=r"invalid YAML at line 3, column 1"):
        load_task(path)


@pytest.mark.parametrize(
    ("text", "kind"),
    [("- a\n- b\n", "list"), ("just a string\n", "str"), ("42\n", "int")],
)
def test_top_level_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TaskError) as info:
        load_task(path)
    message = str(info.value)
    assert "must be a YAML mapping" in message
    assert f"got {kind}" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(TaskError, match="no such task file"):
        load_task(path)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="is a directory"):
        load_task(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_bytes(b"name: \xff\xfe\x80\n")
    with pytest.raises(TaskError, match="cannot read"):
        load_task(path)


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "name: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(TaskError, match="invalid YAML"):
        load_task(path)


# ---------------------------------------------------------------------- validate_config


def test_validate_config_valid() -> None:
    task = task_from_dict(small_dict())
    assert task.validate_config({"lr": 0.01, "units": 64, "opt": "sgd"}) == []


def test_validate_config_lists_each_problem() -> None:
    task = task_from_dict(small_dict())
    problems = task.validate_config({"lr": 0.5, "units": 70, "opt": "AdamW", "epochs": 3})
    assert all(isinstance(p, str) for p in problems)
    assert len(problems) == 4
    assert problems[0].startswith("lr:")
    assert "above the maximum" in problems[0]
    assert problems[1].startswith("units:")
    assert "grid" in problems[1]
    assert problems[2].startswith("opt:")
    assert "did you mean 'adam'" in problems[2]
    assert problems[3].startswith("epochs:")
    assert "not a parameter" in problems[3]


def test_validate_config_missing_and_types() -> None:
    task = task_from_dict(small_dict())
    problems = task.validate_config({"lr": "0.01", "units": True})
    assert any(p.startswith("lr:") and "number" in p for p in problems)
    assert any(p.startswith("units:") and "integer" in p for p in problems)
    assert any(p.startswith("opt:") and "missing" in p for p in problems)


def test_validate_config_nan_and_inf() -> None:
    task = task_from_dict(small_dict())
    assert task.validate_config({"lr": math.nan, "units": 64, "opt": "adam"})
    assert task.validate_config({"lr": math.inf, "units": 64, "opt": "adam"})


# ---------------------------------------------------------------------- property-based

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["", "float", "int", "categorical", "maximize", "x:y", "1e-5", "nan"])
)
JUNK = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4)
    ),
    max_leaves=10,
)
NEW_KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True) | st.sampled_from(
    ["n_trails", "nmae", "comand", "fucntion", "typ", "lo", "hi", "choice", "directon"]
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a nested structure of dicts and lists."""
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        items: list[tuple[Any, Any]] = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return out
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for key in path[:-1]:
        node = node[key]
    return node


def _mutate(data: dict[str, Any], draw: st.DataObject) -> None:
    paths = _paths(data)
    op = draw.draw(st.sampled_from(["delete", "replace", "rename"]), label="op")
    if op == "replace" and draw.draw(st.booleans(), label="whole"):
        data[draw.draw(st.sampled_from(sorted(TASK_FIELDS)), label="field")] = draw.draw(JUNK)
        return
    if not paths:
        return
    path = draw.draw(st.sampled_from(paths), label="path")
    parent = _parent(data, path)
    key = path[-1]
    if op == "delete":
        del parent[key]
    elif op == "replace":
        parent[key] = draw.draw(JUNK, label="junk")
    elif isinstance(parent, dict):
        new_key = draw.draw(NEW_KEYS, label="new_key")
        parent[new_key] = parent.pop(key)
    else:
        parent[key] = draw.draw(JUNK, label="junk")


_LINE_RE = re.compile(r"^task: (?P<where>.+?): \S")


def _check_message(message: str, data: dict[str, Any]) -> None:
    assert message.strip(), "empty TaskError message"
    top_keys = TASK_FIELDS | {str(k) for k in data}
    for line in message.splitlines():
        match = _LINE_RE.match(line)
        assert match is not None, f"line does not name a field: {line!r}"
        where = match.group("where")
        first = re.split(r"[.\[:]", where, maxsplit=1)[0]
        assert where == "(top level)" or first in top_keys, f"line names no task field: {line!r}"


def _assert_baseline_fits(task: Task) -> None:
    """The default configuration fits the space, but for the parameters it leaves out."""
    baseline = task.baseline()
    if baseline is not None:
        config, left_out = baseline
        assert [v for v in task.space.validate(config) if v.name not in left_out] == []


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw=st.data(), base=st.sampled_from(["example", "small"]), n_mutations=st.integers(1, 3))
def test_mutated_task_dict_gives_task_or_task_error(
    draw: st.DataObject, base: str, n_mutations: int
) -> None:
    data = example_dict() if base == "example" else small_dict()
    for _ in range(n_mutations):
        _mutate(data, draw)
    snapshot = copy.deepcopy(data)
    try:
        task = task_from_dict(data)
    except TaskError as exc:
        _check_message(str(exc), snapshot)
    else:
        assert isinstance(task, Task)
        assert (task.command is None) != (task.function is None)
        _assert_baseline_fits(task)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    draw=st.data(),
    config=st.dictionaries(st.text(max_size=10), JUNK, max_size=5)
    | st.fixed_dictionaries(
        {"lr": JUNK, "units": JUNK, "opt": JUNK},
        optional={"extra": JUNK},
    ),
)
def test_random_default_config_gives_task_or_task_error(
    draw: st.DataObject, config: dict[str, Any]
) -> None:
    data = small_dict()
    data["default_config"] = config
    try:
        task = task_from_dict(data)
    except TaskError as exc:
        message = str(exc)
        _check_message(message, data)
        assert "default_config" in message
    else:
        assert task.default_config is not None
        _assert_baseline_fits(task)
        # validate_config on the raw junk must never raise either.
        assert all(isinstance(p, str) for p in task.validate_config(config))


def _yaml_fragments() -> st.SearchStrategy[str]:
    alphabet = st.sampled_from([*":-[]{}#&*!|>'\"%@`,?\n\t  abcxyz019.", "\u00e9", "\ufeff"])
    return st.text(alphabet=alphabet, max_size=80)


def _example_with_junk(draw: st.DataObject) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    cut = draw.draw(st.integers(0, len(text)), label="cut")
    action = draw.draw(st.sampled_from(["truncate", "insert", "delete"]), label="action")
    if action == "truncate":
        return text[:cut]
    if action == "insert":
        return text[:cut] + draw.draw(_yaml_fragments(), label="insert") + text[cut:]
    end = draw.draw(st.integers(cut, min(len(text), cut + 40)), label="end")
    return text[:cut] + text[end:]


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(draw=st.data(), kind=st.sampled_from(["bytes", "text", "yaml-ish", "example", "dump"]))
def test_random_file_gives_task_or_task_error(
    tmp_path: Path, draw: st.DataObject, kind: str
) -> None:
    path = tmp_path / "task.yaml"
    if kind == "bytes":
        path.write_bytes(draw.draw(st.binary(max_size=200), label="bytes"))
    else:
        if kind == "text":
            text = draw.draw(st.text(max_size=200), label="text")
        elif kind == "yaml-ish":
            text = draw.draw(_yaml_fragments(), label="yaml")
        elif kind == "example":
            text = _example_with_junk(draw)
        else:
            data = small_dict()
            _mutate(data, draw)
            text = yaml.safe_dump(data, allow_unicode=True)
        # Lone surrogates become invalid UTF-8, which load_task must report too.
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    try:
        task = load_task(path)
    except TaskError as exc:
        message = str(exc)
        assert message.strip()
        assert all(line.startswith(f"{path}: ") for line in message.splitlines())
    else:
        assert isinstance(task, Task)
        assert task.source == path.resolve()


def test_n_trials_may_be_left_to_the_caller() -> None:
    """A task without n_trials (or with null) loads; the Tuner asks for a budget then."""
    from agenthpo.errors import TaskError
    from agenthpo.tuner import Tuner

    for extra in ({}, {"n_trials": None}):
        data = small_dict()
        del data["n_trials"]
        task = task_from_dict({**data, **extra})
        assert task.n_trials is None
        with pytest.raises(TaskError, match="no budget: add n_trials to the task file"):
            Tuner(task)
        assert Tuner(task, n_trials=4).n_trials == 4
