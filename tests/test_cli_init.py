"""``agenthpo init`` end to end: the command, its errors, the examples, and drafts that run."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import pytest
from typer.testing import CliRunner

import agenthpo.cli.init
from agenthpo import _keys
from agenthpo.cli import app
from agenthpo.errors import LLMError
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.scaffold import draft_task, write_draft
from agenthpo.task import load_task
from agenthpo.tuner import Tuner

from .test_cli_errors import error_lines, run_cli

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent / "scaffold_scripts"
# Every example's training script (other examples may be added; each must draft cleanly).
EXAMPLE_SCRIPTS = sorted((ROOT / "examples").glob("*/train.py"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    target = tmp_path / "scripts"
    shutil.copytree(SCRIPTS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def schema_answer(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
    """A valid answer to any ranges request, built from its schema."""
    assert schema is not None
    answer: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if "choices" in prop["properties"]:
            answer[name] = {"choices": ["x"], "reason": "r"}
        elif prop["properties"]["low"]["type"] == "integer":
            answer[name] = {"low": 2, "high": 20, "log": False, "reason": f"{name} counts"}
        else:
            answer[name] = {"low": 1e-4, "high": 0.5, "log": True, "reason": f"{name} scale"}
    return json.dumps(answer)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> ScriptedLLM:
    """Makes ``--llm`` (and the automatic choice) resolve to a scripted model."""
    llm = ScriptedLLM([schema_answer], model="cli")
    calls: list[str | None] = []

    def fake_resolve(spec: str | None, **kwargs: Any) -> tuple[ScriptedLLM, str]:
        calls.append(spec)
        return llm, f"LLM: {llm.name}"

    monkeypatch.setattr(agenthpo.cli.init, "resolve_llm", fake_resolve)
    llm.resolved = calls  # type: ignore[attr-defined]
    return llm


# ------------------------------------------------------------------ the command


def test_init_writes_a_draft_and_prints_the_review(
    runner: CliRunner, scripts: Path, scripted: ScriptedLLM
) -> None:
    result = runner.invoke(
        app, ["init", str(scripts / "train_argparse.py"), "--llm", "x"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert scripted.resolved == ["x"]  # type: ignore[attr-defined]
    for column in ("parameter", "type", "default", "range", "range from", "reason"):
        assert column in out
    assert "LLM (scripted:cli)" in out
    assert "lr scale" in out
    assert "--seed: a random seed" in out
    assert "Objective: minimize val_loss" in out
    assert f"agenthpo run {scripts / 'task.yaml'}" in out
    task = load_task(scripts / "task.yaml")
    assert "lr" in task.space


def test_init_with_the_random_control_drafts_a_task(runner: CliRunner, scripts: Path) -> None:
    """``--llm random`` (the benchmarks' no-ideas control, a dry run's model) answers the
    ranges request, whose numbers have no bounds in the schema; it once crashed there."""
    out = scripts / "random.yaml"
    result = runner.invoke(
        app,
        ["init", str(scripts / "train_argparse.py"), "--llm", "random:3", "--out", str(out)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "lr" in load_task(out).space


def test_init_without_llm_and_with_the_objective_given(runner: CliRunner, scripts: Path) -> None:
    out = scripts / "drafts" / "t.yaml"
    result = runner.invoke(
        app,
        [
            "init",
            f"{scripts / 'fit_function.py'}:fit",
            "--no-llm",
            "--metric",
            "value",
            "--direction",
            "minimize",
            "--out",
            str(out),
            "--n-trials",
            "7",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    task = load_task(out)
    assert (task.objective.metric, task.objective.direction, task.n_trials) == (
        "value",
        "minimize",
        7,
    )
    assert "heuristic" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py"], "missing.py: no such file"),
        (["broken.py"], "syntax error at line 1"),
        (["plain.py"], "found no command-line options"),
        (["fit.py:nope"], "no function named 'nope'"),
        (["fit.py:fit", "--direction", "up"], "--direction 'up': give maximize or minimize"),
        (["fit.py:fit", "--no-llm", "--llm", "local"], "give --llm or --no-llm, not both"),
        (["fit.py:fit", "--llm", "bogus:thing"], "bogus"),
    ],
)
def test_init_user_errors(runner: CliRunner, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "plain.py").write_text("print('hi')\n")
    (tmp_path / "fit.py").write_text("def fit(lr: float = 0.1):\n    return lr\n")
    args = [str(tmp_path / args[0]), *args[1:]]
    result = runner.invoke(app, ["init", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "task.yaml").exists()


def test_init_refuses_to_overwrite(runner: CliRunner, scripts: Path) -> None:
    (scripts / "task.yaml").write_text("mine\n")
    result = runner.invoke(app, ["init", str(scripts / "train_click.py"), "--no-llm"])
    assert result.exit_code == 2
    assert "already exists; give --force" in result.output
    assert (scripts / "task.yaml").read_text() == "mine\n"
    forced = runner.invoke(app, ["init", str(scripts / "train_click.py"), "--no-llm", "--force"])
    assert forced.exit_code == 0, forced.output
    assert load_task(scripts / "task.yaml").objective.metric == "val_f1"


def test_init_errors_in_a_subprocess_have_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import argparse\ndef f(:\n")
    done = run_cli("init", "broken.py", "--no-llm", cwd=tmp_path)
    assert done.returncode == 2
    lines = error_lines(done.stderr)
    assert lines == [
        "error: broken.py: cannot be read, it has a syntax error at line 2: invalid syntax;"
        " fix the script"
    ]
    missing = run_cli("init", "nope.py:fit", "--no-llm", cwd=tmp_path)
    assert missing.returncode == 2
    assert error_lines(missing.stderr) == ["error: nope.py: no such file"]


# ------------------------------------------------------------------ the examples


def test_the_examples_are_found() -> None:
    assert ROOT / "examples" / "digits_mlp" / "train.py" in EXAMPLE_SCRIPTS


@pytest.mark.parametrize("script", EXAMPLE_SCRIPTS, ids=lambda p: p.parent.name)
@pytest.mark.parametrize("with_llm", [False, True], ids=["heuristics", "llm"])
def test_examples_draft_and_load(script: Path, with_llm: bool, tmp_path: Path) -> None:
    llm = ScriptedLLM([schema_answer]) if with_llm else None
    folder = tmp_path / script.parent.name
    shutil.copytree(script.parent, folder, ignore=shutil.ignore_patterns("*.db", "*-report"))
    draft = draft_task(folder / "train.py", llm=llm)
    task = load_task(write_draft(draft, force=True))
    assert task.command == ["python", "train.py"]
    assert draft.objective.found, draft.objective.how
    assert task.objective.metric.startswith("val_")
    assert "seed" not in task.space
    assert any(s.name == "seed" for s in draft.skipped)
    assert task.default_config is not None
    if with_llm:
        assert any(p.source == "llm" for p in draft.params)


def test_digits_mlp_draft_matches_the_hand_written_task(tmp_path: Path) -> None:
    script = ROOT / "examples" / "digits_mlp" / "train.py"
    draft = draft_task(script, llm=None, out=tmp_path / "task.yaml")
    hand = load_task(ROOT / "examples" / "digits_mlp" / "task.yaml")
    names = [p.option.name for p in draft.params]
    assert set(hand.space.names) <= set(names)
    assert set(names) - set(hand.space.names) == {"patience"}
    assert (draft.objective.metric, draft.objective.direction) == ("val_accuracy", "maximize")
    assert draft.objective.hidden == ("test_accuracy",)
    assert hand.default_config is not None
    defaults = {p.option.name: p.option.default for p in draft.params}
    assert {k: defaults[k] for k in hand.default_config} == hand.default_config


# ------------------------------------------------------------------ drafts that run


@pytest.mark.parametrize(
    ("target", "metric"),
    [
        ("train_argparse.py", "val_loss"),
        ("train_click.py", "val_f1"),
        ("fit_function.py:fit", "value"),
        ("fit_function.py:objective", "val_mae"),
    ],
)
def test_a_drafted_task_runs(scripts: Path, target: str, metric: str) -> None:
    draft = draft_task(f"{scripts}/{target}", llm=None, n_trials=2)
    task = load_task(write_draft(draft))
    assert task.objective.metric == metric
    summary = Tuner(task, strategy="random", seed=0).run()
    assert (summary.n_complete, summary.n_failed) == (2, 0)
    assert summary.best_value is not None


def test_an_option_defaulting_to_none_is_left_out_of_the_baseline(scripts: Path) -> None:
    draft = draft_task(scripts / "train_none_default.py", llm=None, n_trials=2)
    assert [p.option.name for p in draft.params] == ["learning_rate", "max_depth"]
    task = load_task(write_draft(draft))
    # The baseline is kept: the script's default, and max_depth left to the script.
    assert task.default_config == {"learning_rate": 0.1, "max_depth": None}
    storage = f"sqlite:///{scripts / 'none.db'}"
    summary = Tuner(task, strategy="random", seed=0, storage=storage).run()
    assert (summary.n_complete, summary.n_failed) == (2, 0)
    baseline, other = optuna.load_study(study_name=task.name, storage=storage).trials
    assert baseline.user_attrs[_keys.PROPOSED_BY] == "default_config"
    assert baseline.params == {"learning_rate": 0.1}  # no --max_depth on its command line
    assert baseline.user_attrs[_keys.METRICS]["script_default_depth"] == 1.0
    assert baseline.value == pytest.approx(0.05**2 + 0.4)
    assert set(other.params) == {"learning_rate", "max_depth"}
    assert other.user_attrs[_keys.METRICS]["script_default_depth"] == 0.0


def test_the_documented_init_command_runs(runner: CliRunner, tmp_path: Path) -> None:
    text = (ROOT / "docs" / "drafting.md").read_text(encoding="utf-8")
    start = text.index("# Drafting a task from your script: `agenthpo init`")
    block = text[
        text.index("```bash\n", start) + 8 : text.index("```", text.index("```bash\n", start) + 8)
    ]
    commands = [line.split("#")[0].split() for line in block.splitlines() if line.strip()]
    runnable = [c for c in commands if len(c) > 2 and c[2].startswith("examples/")]
    assert runnable, block
    for argv in runnable:
        assert argv[:2] == ["agenthpo", "init"]
        args = [str(ROOT / argv[2]), *argv[3:]]
        out_at = args.index("--out") + 1
        args[out_at] = str(tmp_path / Path(args[out_at]).name)
        result = runner.invoke(app, ["init", *args, "--no-llm"])
        assert result.exit_code == 0, result.output
        load_task(args[out_at])


def test_review_shows_the_llm_text_as_written_and_says_when_it_failed(
    runner: CliRunner, scripts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(['{"lr": {"low": 0.001, "high": 0.1, "log": true, "reason": "[red]x[/red]"}}'])
    llm = ScriptedLLM([lambda m, s: next(answers), "not json at all"], model="m")
    monkeypatch.setattr(agenthpo.cli.init, "resolve_llm", lambda spec, **kw: (llm, "LLM: m"))
    args = ["init", str(scripts / "train_argparse.py")]
    result = runner.invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "[red]x[/red]" in result.output
    again = runner.invoke(app, [*args, "--force"], env={"COLUMNS": "250"})
    assert again.exit_code == 0, again.output
    assert (
        "LLM review unavailable: the LLM's answer was not JSON; the draft uses the static"
        " heuristics only"
    ) in again.output


def test_review_says_when_no_llm_range_passed_the_checks(
    runner: CliRunner, scripts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def degenerate(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        assert schema is not None
        return json.dumps(
            {n: {"low": 1, "high": 1, "log": True, "reason": "same"} for n in schema["properties"]}
        )

    llm = ScriptedLLM([degenerate], model="tiny")
    monkeypatch.setattr(agenthpo.cli.init, "resolve_llm", lambda spec, **kw: (llm, "LLM: tiny"))
    result = runner.invoke(app, ["init", str(scripts / "train_click.py")], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "none of the 3 ranges scripted:tiny proposed passed the checks" in result.output
    text = (scripts / "task.yaml").read_text()
    assert "#   the LLM's range was unusable: low 1 is not below high 1" in text


def test_a_failed_llm_review_is_said_once(
    runner: CliRunner,
    scripts: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cause = "ECONNREFUSED at localhost:11434"
    llm = ScriptedLLM([LLMError(cause)], model="down")
    monkeypatch.setattr(agenthpo.cli.init, "resolve_llm", lambda spec, **kw: (llm, "LLM: down"))
    # an earlier in-process CLI call leaves its log handler on the logger: not this run's output
    monkeypatch.setattr(logging.getLogger("agenthpo"), "handlers", [])
    args = ["init", str(scripts / "train_argparse.py")]
    with caplog.at_level(logging.INFO, logger="agenthpo"):
        result = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert len(llm.calls) == 1
    # One line in the review: not a note on every row, nor a logged warning besides it.
    assert result.output.count("ECONNREFUSED") == 1, result.output
    assert (
        f"LLM review unavailable: the LLM call failed ({cause}); the draft uses the static"
        " heuristics only"
    ) in result.output
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    # At most one comment in the written file, at the top; none on the parameters.
    text = (scripts / "task.yaml").read_text()
    assert text.count("ECONNREFUSED") == 1, text
    assert f"the LLM call failed ({cause})" in text[: text.index("\nname:")]
    task = load_task(scripts / "task.yaml")
    assert "lr" in task.space


# ------------------------------------------------------------------ plausible drafts


def _issue18_answer(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
    """The ranges a small LLM proposed for the GCN script in issue 18, all 'looking good'."""
    return json.dumps(
        {
            "lr": {"low": 0.0, "high": 16.0, "log": False, "reason": "looks good"},
            "hidden": {"low": 1, "high": 16, "log": False, "reason": "looks good"},
            "weight_decay": {"low": 0.0005, "high": 0.05, "log": False, "reason": "looks good"},
            "dropout": {"low": 0.0, "high": 0.8, "log": False, "reason": "looks good"},
            "epochs": {"low": 20, "high": 200, "log": False, "reason": "looks good"},
        }
    )


@pytest.fixture
def issue18_draft(
    runner: CliRunner, scripts: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, str]:
    llm = ScriptedLLM([_issue18_answer], model="small")
    monkeypatch.setattr(agenthpo.cli.init, "resolve_llm", lambda spec, **kw: (llm, "LLM: s"))
    result = runner.invoke(
        app, ["init", str(scripts / "train_gcn_like.py")], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0, result.output
    return load_task(scripts / "task.yaml"), (scripts / "task.yaml").read_text()


def test_init_never_keeps_a_linear_learning_rate_up_to_16(issue18_draft: tuple[Any, str]) -> None:
    task, text = issue18_draft
    lr = task.space["lr"]
    assert lr.log is True
    assert 0 < lr.low < 0.01 < lr.high <= 1.0
    assert lr.high / lr.low >= 10
    assert "implausible" in text.split("lr:")[0]  # the comment above it says why


def test_init_moves_a_width_default_off_the_top_of_its_range(
    issue18_draft: tuple[Any, str],
) -> None:
    task, _ = issue18_draft
    hidden = task.space["hidden"]
    assert hidden.log is True
    assert hidden.low < 16 < hidden.high
    assert hidden.high >= 32


def test_init_puts_weight_decay_on_a_log_scale_around_its_default(
    issue18_draft: tuple[Any, str],
) -> None:
    task, text = issue18_draft
    wd = task.space["weight_decay"]
    assert wd.log is True
    assert wd.low < 5e-4 < wd.high
    assert wd.high / wd.low >= 100  # two decades or more
    assert "log scale" in text.split("weight_decay:")[0]


def test_init_keeps_no_default_at_a_range_edge_the_script_does_not_set(
    issue18_draft: tuple[Any, str],
) -> None:
    task, _ = issue18_draft
    defaults = task.default_config
    for name in ("lr", "hidden", "weight_decay", "dropout", "epochs"):
        param = task.space[name]
        assert param.low < defaults[name] < param.high, (name, param)


# ------------------------------------------ issue 18: init sets up noise-robust selection


@pytest.mark.parametrize(
    ("target", "seed_param"),
    [
        ("train_typer_seed.py", "seed"),  # typer: --seed
        ("train_click_seed.py", "random-state"),  # click: --random-state
        ("train_argparse.py", "seed"),  # argparse: --seed
        ("fit_seeded.py:fit", "seed"),  # a function's seed parameter
    ],
)
def test_init_adds_the_noise_section_when_the_script_takes_a_seed(
    scripts: Path, target: str, seed_param: str
) -> None:
    draft = draft_task(f"{scripts}/{target}", llm=None, n_trials=10)
    path = write_draft(draft)
    assert "noise: false` turns this off" in path.read_text()
    task = load_task(path)
    assert task.noise is not False
    assert task.noise is not None
    assert task.noise.seed_param == seed_param
    assert seed_param not in task.space
    assert task.noise_setup() == task.noise


@pytest.mark.parametrize(
    "target", ["train_typer_seed.py", "train_click_seed.py", "fit_seeded.py:fit"]
)
def test_a_drafted_seeded_task_re_evaluates_on_other_seeds(scripts: Path, target: str) -> None:
    task = load_task(write_draft(draft_task(f"{scripts}/{target}", llm=None, n_trials=10)))
    summary = Tuner(task, strategy="random", seed=0).run()
    assert summary.n_failed == 0
    assert summary.selection is not None, summary.reevaluation_note
    assert summary.n_total + summary.n_reevaluations == 10
    # The seed reached the script: its re-runs on seeds 1 and 2 gave other values.
    stats = summary.selection["candidates"][str(summary.selection["best_single_run"])]
    assert stats["n"] == 3
    assert stats["std"] > 0


def test_init_adds_no_noise_section_when_the_script_takes_no_seed(scripts: Path) -> None:
    path = write_draft(draft_task(scripts / "train_click.py", llm=None))
    assert "noise:" not in path.read_text()
    task = load_task(path)
    assert task.noise is None
    assert task.noise_setup() is None
