"""``agenthpo init``: reading scripts, the LLM's ranges and their checks, the draft's YAML."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from agenthpo.errors import LLMError, TaskError
from agenthpo.executor import CommandExecutor
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.scaffold import (
    Option,
    direction_of,
    draft_task,
    heuristic_range,
    pick_objective,
    propose_ranges,
    read_source,
    read_target,
    render_draft,
    write_draft,
)
from agenthpo.scaffold._ranges import check_llm_range
from agenthpo.task import load_task

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent / "scaffold_scripts"


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    """A copy of the fixture scripts, so drafts are written beside them in a temp dir."""
    target = tmp_path / "scripts"
    shutil.copytree(SCRIPTS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def valid_answer(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
    """A well-formed answer to any ranges request: built from the request's schema."""
    assert schema is not None
    answer: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if "choices" in prop["properties"]:
            answer[name] = {"choices": ["a", "b"], "reason": f"values for {name}"}
        elif prop["properties"]["low"]["type"] == "integer":
            answer[name] = {"low": 1, "high": 1000, "log": True, "reason": f"counts for {name}"}
        else:
            answer[name] = {"low": 1e-5, "high": 1.0, "log": True, "reason": f"scale of {name}"}
    return json.dumps(answer)


def by_name(draft: Any) -> dict[str, Any]:
    return {p.option.name: p for p in draft.params}


# ------------------------------------------------------------------ reading the script


def test_argparse_options_types_defaults_choices_help() -> None:
    info = read_target(SCRIPTS / "train_argparse.py")
    assert info.style == "argparse"
    opts = {o.name: o for o in info.options}
    assert (opts["lr"].kind, opts["lr"].default, opts["lr"].help) == ("float", 0.01, "step size")
    assert opts["lr"].flag == "--lr"
    assert opts["weight-decay"].default == 1e-4  # a module constant
    assert opts["hidden"].kind == "int"
    assert opts["optimizer"].choices == ("adam", "sgd")
    assert opts["momentum"].kind == "float"
    assert "no type=" in opts["momentum"].type_guess
    assert opts["use-bn"].skip is not None
    assert "flag" in opts["use-bn"].skip
    assert "several values" in (opts["layers"].skip or "")
    assert "positional" in (opts["dataset_name"].skip or "")
    assert info.metrics[:3] == ("train_loss", "val_loss", "test_loss")


def test_argparse_options_added_in_a_loop_over_a_defaults_dict() -> None:
    source = """
import argparse
from typing import Any
DEFAULTS: dict[str, Any] = {"lr": 0.1, "depth": 3, "shrink": True, "kind": "a"}
KINDS = ("a", "b")

def _bool(text): return text == "true"

def parse():
    parser = argparse.ArgumentParser()
    choices = {"kind": KINDS}
    for name, default in DEFAULTS.items():
        conv = _bool if isinstance(default, bool) else type(default)
        parser.add_argument(f"--{name}", type=conv, default=default, choices=choices.get(name))
    parser.add_argument("--seed", type=int, default=0)
"""
    info = read_source(source, path="loop.py")
    opts = {o.name: o for o in info.options}
    assert list(opts) == ["lr", "depth", "shrink", "kind", "seed"]
    assert (opts["lr"].kind, opts["lr"].default) == ("float", 0.1)
    assert (opts["depth"].kind, opts["depth"].default) == ("int", 3)
    assert opts["shrink"].kind == "bool"
    assert opts["shrink"].skip is None
    assert opts["kind"].choices == ("a", "b")


def test_a_flag_named_by_an_unknown_loop_variable_is_left_out() -> None:
    source = """
import argparse
parser = argparse.ArgumentParser()
for n, v in zip(["lr", "wd"], [0.1, 0.01]):
    parser.add_argument(f"--{n}", type=float, default=v)
parser.add_argument("--epochs", type=int, default=5)
"""
    info = read_source(source, path="zip.py")
    names = [o.name for o in info.options]
    assert names == ["epochs"]  # never an option called "_Ref(name='n')"


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        (
            "import argparse\np = argparse.ArgumentParser()\n"
            "p.add_argument('--a', type=int)\n"  # argparse's own default: None
            "p.add_argument('--b', type=int, default=None)\n"
            "p.add_argument('--c', type=int, required=True)\n"
            "p.add_argument('--d', type=int, default=3)\n"
            "p.add_argument('--e', type=int, default=compute())\n",  # unknown, not None
            "s.py",
            {"a": True, "b": True, "c": False, "d": False, "e": False},
        ),
        (
            "import click\n@click.command()\n@click.option('--a', type=int)\n"
            "@click.option('--b', type=int, required=True)\n"
            "@click.option('--c', type=int, default=3)\ndef main(a, b, c): ...\n",
            "s.py",
            {"a": True, "b": False, "c": False},
        ),
        (
            "def fit(a: int | None = None, b: int = 3, c: float = 0.1): ...\n",
            "s.py:fit",
            {"a": True, "b": False, "c": False},
        ),
        (
            "def objective(config, report):\n"
            "    return config.get('a') or 0 + config['b'] + config.get('c', 2)"
            " + config.get('d') + config['d']\n",
            "s.py:objective",
            {"a": True, "b": False, "c": False, "d": False},
        ),
    ],
    ids=["argparse", "click", "signature", "config"],
)
def test_which_options_the_script_runs_without(
    tmp_path: Path, source: str, target: str, expected: dict[str, bool]
) -> None:
    (tmp_path / "s.py").write_text(source)
    info = read_target(f"{tmp_path}/{target}")
    assert {o.name: o.default_none for o in info.options} == expected
    assert not any(o.has_default and o.default_none for o in info.options)


def test_a_none_default_cannot_be_left_out_of_a_command_with_placeholders(
    tmp_path: Path,
) -> None:
    (tmp_path / "s.py").write_text(
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('-k', type=int)\np.add_argument('--lr', type=float, default=0.1)\n"
    )
    draft = draft_task(tmp_path / "s.py", llm=None)
    assert draft.command == ["python", "s.py", "-k", "{k}", "--lr", "{lr}"]
    assert load_task(write_draft(draft)).default_config is None  # "{k}" would stay as text


def test_typer_option_with_a_keyword_default() -> None:
    source = """
import typer
app = typer.Typer()

@app.command()
def train(lr: float = typer.Option(default=0.05), depth: int = typer.Option(...)) -> None:
    pass
"""
    opts = {o.name: o for o in read_source(source, path="t.py").options}
    assert (opts["lr"].default, opts["lr"].required) == (0.05, False)
    assert opts["depth"].required


def test_click_options() -> None:
    info = read_target(SCRIPTS / "train_click.py")
    assert (info.style, info.function) == ("click", "main")
    opts = {o.name: o for o in info.options}
    assert opts["learning-rate"].flag == "--learning-rate"
    assert (opts["learning-rate"].kind, opts["learning-rate"].default) == ("float", 0.001)
    assert (opts["epochs"].low, opts["epochs"].high) == (1, 50)
    assert opts["activation"].choices == ("relu", "gelu")
    assert "flag" in (opts["shuffle"].skip or "")
    assert opts["log-dir"].skip == "a path"
    assert info.metrics == ("val_f1", "train_f1")


def test_typer_command() -> None:
    info = read_target(SCRIPTS / "train_typer.py")
    assert (info.style, info.function) == ("typer", "train")
    opts = {o.name: o for o in info.options}
    assert set(opts) >= {"max-depth", "eta", "subsample", "booster", "n-estimators"}
    assert (opts["max-depth"].kind, opts["max-depth"].default) == ("int", 6)
    assert opts["max-depth"].help == "tree depth"
    assert opts["booster"].choices == ("gbtree", "dart")
    assert opts["booster"].default == "gbtree"  # an enum member, read as its value
    assert opts["n-estimators"].default == 100  # typer.Option(100, ...)
    assert opts["data-path"].required
    assert "positional" in (opts["data-path"].skip or "")
    assert "flag" in (opts["early-stop"].skip or "")
    assert info.metrics == ("valid_rmse",)


def test_function_signature() -> None:
    info = read_target(f"{SCRIPTS / 'fit_function.py'}:fit")
    assert info.style == "function"
    opts = {o.name: o for o in info.options}
    assert (opts["lr"].kind, opts["lr"].default) == ("float", 0.05)
    assert opts["norm"].choices == ("batch", "layer")
    assert (opts["use_bias"].kind, opts["use_bias"].default) == ("bool", True)
    assert opts["max_iter"].default == 100  # keyword-only
    assert opts["lr"].flag is None
    assert info.metrics == ("value",)


def test_function_reading_a_config_mapping() -> None:
    info = read_target(f"{SCRIPTS / 'fit_function.py'}:objective")
    assert info.style == "config"
    opts = {o.name: o for o in info.options}
    assert list(opts) == ["x", "width", "kind"]
    assert opts["x"].kind == "float"
    assert opts["x"].type_guess == "from float(...)"
    assert (opts["width"].kind, opts["width"].default) == ("int", 32)
    assert opts["kind"].type_guess == "assumed"
    assert info.metrics == ("loss", "val_mae")


def test_the_script_is_never_run(tmp_path: Path) -> None:
    script = tmp_path / "boom.py"
    marker = tmp_path / "ran"
    script.write_text(
        "import argparse, pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('ran')\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--lr', type=float, default=0.1)\n"
    )
    draft_task(script, llm=None)
    assert not marker.exists()


# ------------------------------------------------------------------ errors users cause


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        (None, "missing.py", "no such file"),
        ("def f(:\n", "bad.py", "syntax error at line 1"),
        ("print('hello')\n", "plain.py", "found no command-line options"),
        ("def fit(lr=0.1):\n    return lr\n", "fit.py:nope", "no function named 'nope'"),
        ("x = 1\n", "notes.txt", "give a Python script"),
        ("def fit():\n    return 1\n", "fit.py:fit", "found no parameter to tune"),
    ],
)
def test_user_errors_are_task_errors(
    tmp_path: Path, source: str | None, target: str, message: str
) -> None:
    path = tmp_path / target.partition(":")[0]
    if source is not None:
        path.write_text(source)
    with pytest.raises(TaskError, match=message):
        draft_task(f"{tmp_path}/{target}", llm=None)


def test_several_commands_ask_which_one(tmp_path: Path) -> None:
    (tmp_path / "cli.py").write_text(
        "import typer\napp = typer.Typer()\n"
        "@app.command()\ndef train(lr: float = 0.1): ...\n"
        "@app.command()\ndef evaluate(k: int = 3): ...\n"
    )
    with pytest.raises(TaskError, match=r"several commands \(train, evaluate\).*cli.py:train"):
        draft_task(tmp_path / "cli.py", llm=None)
    draft = draft_task(f"{tmp_path / 'cli.py'}:train", llm=None)
    assert draft.command is not None
    assert draft.command[-1] == "train"


def test_nothing_tunable(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('--seed', type=int, default=0)\np.add_argument('--out', default='x')\n"
    )
    with pytest.raises(TaskError, match="none of its options looks like a hyperparameter"):
        draft_task(tmp_path / "s.py", llm=None)


# ------------------------------------------------------------------ the LLM's ranges


def test_llm_ranges_are_used_with_their_reasons(scripts: Path) -> None:
    llm = ScriptedLLM([valid_answer], model="test")
    draft = draft_task(scripts / "train_argparse.py", llm=llm)
    params = by_name(draft)
    assert len(llm.calls) == 1  # once, for every parameter at a time
    schema = llm.calls[0].schema
    assert schema is not None
    # The script's own choices are not asked; free text is asked for choices.
    assert set(schema["properties"]) == {
        "lr",
        "weight-decay",
        "hidden",
        "dropout",
        "momentum",
        "scheduler",
    }
    assert params["lr"].source == "llm"
    assert params["lr"].reason == "scale of lr"
    assert params["lr"].spec == {"type": "float", "low": 1e-5, "high": 1.0, "log": True}
    assert params["optimizer"].source == "script"
    assert params["scheduler"].spec["choices"] == ["cosine", "a", "b"]  # the default first
    assert draft.llm == "scripted:test"
    prompt = llm.calls[0].messages[-1].content
    assert "lr: float, default 0.01 (step size)" in prompt
    assert "Goal: minimize val_loss" in prompt


def test_llm_answer_not_json_falls_back_to_heuristics(scripts: Path) -> None:
    draft = draft_task(scripts / "train_argparse.py", llm=ScriptedLLM(["I think 0.01 is good"]))
    params = by_name(draft)
    assert params["lr"].source == "heuristic"
    assert params["lr"].spec == {"type": "float", "low": 0.001, "high": 0.1, "log": True}
    assert params["lr"].fixes == ()  # the draft's one problem, not repeated on each range
    assert draft.llm_problem == "the LLM's answer was not JSON"


def test_llm_failure_falls_back_to_heuristics(scripts: Path) -> None:
    draft = draft_task(scripts / "train_argparse.py", llm=ScriptedLLM([LLMError("timed out")]))
    assert all(p.source in ("heuristic", "script") for p in draft.params)
    assert draft.llm_problem is not None
    assert "timed out" in draft.llm_problem


def test_llm_answer_not_an_object(scripts: Path) -> None:
    draft = draft_task(scripts / "train_argparse.py", llm=ScriptedLLM(["[1, 2]"]))
    assert draft.llm_problem == "the LLM's answer was a JSON list, not an object"


def test_each_llm_range_is_checked() -> None:
    options = [
        Option(name="lr", flag="--lr", kind="float", default=0.5, has_default=True),
        Option(name="units", flag="--units", kind="int", default=64, has_default=True),
        Option(name="dropout", flag="--dropout", kind="float", default=0.1, has_default=True),
        Option(name="shift", flag="--shift", kind="float", default=0.0, has_default=True),
        Option(name="depth", flag="--depth", kind="int", default=3, has_default=True),
        Option(name="momentum", flag="--momentum", kind="float", default=0.9, has_default=True),
        Option(name="gamma", flag="--gamma", kind="float", default=1.0, has_default=True),
    ]
    answer = {
        "lr": {"low": 1e-4, "high": 0.1, "log": True, "reason": "wide"},  # default outside
        "units": {"low": 15.5, "high": 300.2, "log": True, "reason": "sizes"},  # not integral
        "dropout": {"low": -0.5, "high": 2.0, "log": False, "reason": "x"},  # not a fraction
        "shift": {"low": -1.0, "high": 1.0, "log": True, "reason": "x"},  # log over zero
        "depth": {"low": 10, "high": 2, "log": False, "reason": "x"},  # low above high
        "momentum": {"low": "0.5", "high": "0.99", "log": False, "reason": "x"},  # strings
        # gamma: missing
    }
    result = propose_ranges(options, llm=ScriptedLLM([json.dumps(answer)]))
    params = {p.option.name: p for p in result.params}
    # Widened to hold the default, then off the edge (a learning rate stays at most 1).
    assert params["lr"].spec["high"] == 1.0
    assert "widened to include the default 0.5" in params["lr"].fixes
    assert (params["units"].spec["low"], params["units"].spec["high"]) == (15, 301)
    assert params["dropout"].spec["low"] == 0.0
    assert params["dropout"].spec["high"] == 1.0
    assert params["shift"].spec["log"] is False
    assert any("log scale dropped" in f for f in params["shift"].fixes)
    assert params["depth"].source == "heuristic"
    assert params["depth"].fixes == ("the LLM's range was unusable: low 10 is not below high 2",)
    assert params["momentum"].source == "llm"
    assert params["momentum"].spec["high"] == 0.99
    assert params["gamma"].source == "heuristic"
    assert params["gamma"].fixes == ("the LLM gave no range for it",)


@pytest.mark.parametrize(
    "entry",
    [
        None,
        "0.1 to 1",
        {"low": True, "high": 2},
        {"low": float("nan"), "high": 2},
        {"low": 1, "high": 1},
        {"low": "a", "high": "b"},
    ],
)
def test_unusable_llm_ranges(entry: Any) -> None:
    option = Option(name="x", flag="--x", kind="float", default=1.5, has_default=True)
    spec, _, problem = check_llm_range(option, entry)
    assert spec is None
    assert problem


def test_llm_reason_is_one_clean_line_and_cannot_inject_yaml(scripts: Path) -> None:
    evil = "ok\nspace: {evil: {type: float, low: 0, high: 1}}\n# [bold red]markup[/]"
    answer = {"lr": {"low": 1e-4, "high": 1.0, "log": True, "reason": evil}}
    draft = draft_task(scripts / "train_argparse.py", llm=ScriptedLLM([json.dumps(answer)]))
    lr = by_name(draft)["lr"]
    assert "\n" not in lr.reason
    text = render_draft(draft)
    data = yaml.safe_load(text)
    assert "evil" not in data["space"]
    write_draft(draft)
    assert "evil" not in load_task(draft.out).space


def test_llm_choices_for_free_text_are_checked() -> None:
    option = Option(name="sched", flag="--sched", kind="str", default="cosine", has_default=True)
    spec, _, _ = check_llm_range(
        option, {"choices": ["step", "rm -rf /", "cosine", "linear"], "reason": "r"}
    )
    assert spec == {"type": "categorical", "choices": ["cosine", "step", "linear"]}


# ------------------------------------------------------------------ heuristics


@pytest.mark.parametrize(
    ("name", "kind", "default", "expected"),
    [
        ("learning_rate", "float", 0.001, (0.0001, 0.01, True)),
        ("eta", "float", 0.3, (0.03, 1.0, True)),  # a learning rate stays at most 1
        ("weight_decay", "float", 1e-4, (1e-6, 1e-2, True)),
        ("dropout", "float", 0.2, (0.0, 0.5, False)),
        ("momentum", "float", 0.9, (0.5, 0.99, False)),
        ("max_features", "float", 1.0, (0.5, 1.0, False)),
        ("l2_regularization", "float", 0.0, (0.0, 0.1, False)),
        ("batch_size", "int", 64, (16, 256, True)),
        ("n_layers", "int", 2, (1, 4, False)),
        ("max_depth", "int", -1, (-1, 9, False)),
    ],
)
def test_heuristic_ranges(name: str, kind: Any, default: Any, expected: tuple[Any, ...]) -> None:
    spec, reason = heuristic_range(
        Option(name=name, flag=f"--{name}", kind=kind, default=default, has_default=True)
    )
    assert (spec["low"], spec["high"], spec["log"]) == expected
    assert reason


def test_heuristics_stay_within_the_scripts_bounds(scripts: Path) -> None:
    draft = draft_task(scripts / "train_click.py", llm=None)
    epochs = by_name(draft)["epochs"].spec
    assert epochs["low"] >= 1
    assert epochs["high"] <= 50
    answer = {"epochs": {"low": 1, "high": 500, "log": False, "reason": "longer"}}
    llm = ScriptedLLM([json.dumps(answer)])
    epochs_llm = by_name(draft_task(scripts / "train_click.py", llm=llm))["epochs"]
    assert epochs_llm.spec["high"] == 50
    assert "lowered to the script's maximum 50" in epochs_llm.fixes


# ------------------------------------------------------------------ objective


@pytest.mark.parametrize(
    ("metric", "direction"),
    [
        ("val_accuracy", "maximize"),
        ("val_auc", "maximize"),
        ("f1", "maximize"),
        ("r2", "maximize"),
        ("val_loss", "minimize"),
        ("val_log_loss", "minimize"),
        ("error_rate", "minimize"),
        ("rmse", "minimize"),
        ("val_mae", "minimize"),
        ("epochs_run", None),
    ],
)
def test_direction_from_the_name(metric: str, direction: str | None) -> None:
    assert direction_of(metric) == direction


def test_objective_prefers_validation_metrics_and_hides_test_ones() -> None:
    guess = pick_objective(("train_loss", "test_accuracy", "val_accuracy", "train_time_s"))
    assert (guess.metric, guess.direction, guess.hidden) == (
        "val_accuracy",
        "maximize",
        ("test_accuracy",),
    )
    given = pick_objective(("val_loss",), metric="val_loss", direction="maximize")
    assert (given.metric, given.direction) == ("val_loss", "maximize")
    missing = pick_objective(("epochs_run",))
    assert not missing.found
    assert "NOT FOUND" in missing.how


# ------------------------------------------------------------------ the YAML


def test_yaml_marks_every_guess_and_loads(scripts: Path) -> None:
    answer = {
        "lr": {"low": 1e-4, "high": 0.3, "log": True, "reason": "Adam-like step sizes"},
        "hidden": {"low": 16, "high": 32, "log": True, "reason": "small nets"},
    }
    llm = ScriptedLLM([json.dumps(answer)], model="m1")
    draft = draft_task(scripts / "train_argparse.py", llm=llm)
    path = write_draft(draft)
    assert path == scripts / "task.yaml"
    text = path.read_text()
    assert text.startswith("# DRAFT task for train_argparse.py")
    assert "agenthpo run" in text.splitlines()[3]
    assert "# range guessed by the LLM (scripted:m1): Adam-like step sizes" in text
    assert "# range guessed by a heuristic: a fraction: 0 to 0.5" in text
    assert "#   widened to include the default 64" in text  # hidden: 16..32 widened
    assert "# default 0.01 read from train_argparse.py, line 16" in text
    assert "# the script's choices and default adam read from train_argparse.py" in text
    assert "#   --seed: a random seed" in text
    task = load_task(path)
    assert task.command == ["python", "train_argparse.py"]
    assert task.objective.metric == "val_loss"
    assert task.objective.direction == "minimize"
    assert task.hidden_metrics == ["test_loss"]
    assert task.default_config == {
        "lr": 0.01,
        "weight-decay": 1e-4,
        "hidden": 64,
        "optimizer": "adam",
        "dropout": 0.1,
        "momentum": 0.9,
        "scheduler": "cosine",
    }
    # Widened to hold 64, then off the top edge: a width a factor of 2 from each end.
    assert task.space["hidden"].high == 128


def test_refuses_to_overwrite_without_force(scripts: Path) -> None:
    draft = draft_task(scripts / "train_argparse.py", llm=None)
    (scripts / "task.yaml").write_text("mine\n")
    with pytest.raises(TaskError, match="already exists; give --force"):
        write_draft(draft)
    assert (scripts / "task.yaml").read_text() == "mine\n"
    write_draft(draft, force=True)
    assert load_task(scripts / "task.yaml").name == "train_argparse"


@pytest.mark.parametrize("name", ["study.agenthpo.db", "train.py", "notes"])
def test_force_never_replaces_a_file_that_is_not_yaml(scripts: Path, name: str) -> None:
    target = scripts / name
    target.write_bytes(b"SQLite format 3\x00 precious")
    draft = draft_task(scripts / "train_argparse.py", llm=None, out=target)
    with pytest.raises(TaskError, match="is not a YAML file; --force replaces only a task file"):
        write_draft(draft, force=True)
    assert target.read_bytes() == b"SQLite format 3\x00 precious"


def test_out_elsewhere_names_the_script_in_full(scripts: Path, tmp_path: Path) -> None:
    draft = draft_task(scripts / "train_argparse.py", llm=None, out=tmp_path / "t" / "x.yaml")
    assert draft.command == ["python", (scripts / "train_argparse.py").resolve().as_posix()]
    inside = draft_task(scripts / "train_argparse.py", llm=None, out=scripts.parent / "x.yaml")
    assert inside.command == ["python", "scripts/train_argparse.py"]


def test_short_flags_use_placeholders(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('-k', type=int, default=5)\n"
        "p.add_argument('--lr', type=float, default=0.1)\n"
    )
    draft = draft_task(tmp_path / "s.py", llm=None)
    assert draft.command == ["python", "s.py", "-k", "{k}", "--lr", "{lr}"]
    task = load_task(write_draft(draft))
    argv = CommandExecutor(task.command or []).command_line({"k": 7, "lr": 0.5})
    assert argv[1:] == ["s.py", "-k", "7", "--lr", "0.5"]


def test_required_argument_is_left_for_the_user_to_fill(scripts: Path) -> None:
    draft = draft_task(scripts / "train_typer.py", llm=None)
    assert draft.command == ["python", "train_typer.py", "<data-path>"]
    assert draft.warnings
    assert "data-path is required" in draft.warnings[0]
    text = render_draft(draft)
    assert "# FILL IN: data-path is required by train_typer.py" in text
    load_task(write_draft(draft))


@pytest.mark.parametrize(
    ("target", "command", "function"),
    [
        (
            "fit_function.py:fit",
            ["python", "-m", "agenthpo.scaffold.call", "fit_function:fit"],
            None,
        ),
        ("fit_function.py:objective", None, "fit_function:objective"),
    ],
)
def test_function_targets(
    scripts: Path, target: str, command: list[str] | None, function: str | None
) -> None:
    draft = draft_task(f"{scripts}/{target}", llm=None)
    assert (draft.command, draft.function) == (command, function)
    task = load_task(write_draft(draft))
    assert (task.command, task.function) == (command, function)


def test_an_option_whose_name_cannot_be_a_key_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('--1cycle', type=float, default=0.1)\n"
        "p.add_argument('--lr', type=float, default=0.1)\n"
    )
    draft = draft_task(tmp_path / "s.py", llm=None)
    assert [p.option.name for p in draft.params] == ["lr"]
    assert "cannot be a search-space key" in draft.skipped[0].reason
    load_task(write_draft(draft))


def test_a_given_metric_the_script_does_not_report_is_flagged() -> None:
    guess = pick_objective(("val_loss",), metric="val_acc", script="t.py")
    assert guess.direction == "maximize"
    assert "t.py does not seem to report it (it reports val_loss)" in guess.how


def test_a_command_of_a_click_group_is_named_in_the_command(tmp_path: Path) -> None:
    (tmp_path / "cli.py").write_text(
        "import click\n@click.group()\ndef cli(): ...\n"
        "@cli.command()\n@click.option('--lr', type=float, default=0.1)\n"
        "def train_model(lr): ...\n"
        "@cli.command()\ndef export(): ...\n"
    )
    draft = draft_task(tmp_path / "cli.py", llm=None)
    assert draft.command == ["python", "cli.py", "train-model"]


@pytest.mark.parametrize(
    ("option", "entry", "expected"),
    [
        # A script bound is an edge the default may sit at; so is a fraction's 1.
        (
            Option(
                name="epochs", flag="--epochs", kind="int", default=50, has_default=True, high=50
            ),
            {"low": 5, "high": 50, "log": False},
            (5, 50, False),
        ),
        (
            Option(
                name="subsample", flag="--subsample", kind="float", default=1.0, has_default=True
            ),
            {"low": 0.5, "high": 1.0, "log": False},
            (0.5, 1.0, False),
        ),
        # Any other default at an edge moves inside (half the span beyond it).
        (
            Option(name="epochs", flag="--epochs", kind="int", default=200, has_default=True),
            {"low": 20, "high": 200, "log": False},
            (20, 290, False),
        ),
        (
            Option(name="C", flag="--C", kind="float", default=1.0, has_default=True),
            {"low": 1.0, "high": 100.0, "log": True},
            (0.1, 100.0, True),
        ),
    ],
)
def test_llm_ranges_keep_the_default_off_edges_the_script_does_not_set(
    option: Option, entry: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    spec, _, problem = check_llm_range(option, entry)
    assert spec is not None, problem
    assert (spec["low"], spec["high"], spec["log"]) == expected


@pytest.mark.parametrize(
    ("option", "entry", "problem"),
    [
        (
            Option(name="lr", flag="--lr", kind="float", default=0.01, has_default=True),
            {"low": 0.0, "high": 16.0, "log": False},
            "implausible for a learning rate (default 0.01): high 16 is above 1",
        ),
        (
            Option(name="n_estimators", flag="--n", kind="int", default=100, has_default=True),
            {"low": 10, "high": 100000, "log": True},
            "implausible for this parameter (default 100): high 1e+05 is above 1e+04",
        ),
        (
            Option(name="hidden", flag="--hidden", kind="int", default=16, has_default=True),
            {"low": 1, "high": 16, "log": False},
            "implausible for a width (default 16): low 1 is below 2",
        ),
    ],
)
def test_implausible_llm_ranges_are_not_kept(
    option: Option, entry: dict[str, Any], problem: str
) -> None:
    spec, _, why = check_llm_range(option, entry)
    assert spec is None
    assert why == problem
