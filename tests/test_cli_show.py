"""``agenthpo show`` in a pipe, a file or a program: plain, JSON and CSV (issue 17, item 5).

Text that trials carry (rationale, errors, analysis) is printed literally: a rationale
holding ``[/]`` is rich markup's closing tag and must neither crash nor vanish.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial
from rich.console import Console
from typer.testing import CliRunner

from agenthpo import _keys
from agenthpo.cli import app
from agenthpo.cli import run as cli_run
from agenthpo.cli import show as cli_show
from agenthpo.llm import RandomLLM
from agenthpo.task import Task
from agenthpo.tuner import RunSummary, TrialEvent, Tuner

MARKUP_RATIONALE = "lower lr: [/] closes nothing, [bold]x[/bold] is not bold, [red]"
LONG_ERROR = (
    "the run finished but never reported 'val_accuracy' (it reported loss, train_loss,"
    " val_accuracy_top5); call agenthpo.report(val_accuracy=...) in the training script"
)
DISTRIBUTIONS = {
    "lr": FloatDistribution(1e-5, 1.0, log=True),
    "optimizer": CategoricalDistribution(["adam", "sgd"]),
    "momentum": FloatDistribution(0.0, 0.99),
}


TRACEBACK = (
    'Traceback (most recent call last):\n  File "train.py", line 12, in <module>\n'
    "ValueError: lr too big"
)


def trial(
    state: TrialState, params: dict[str, Any], attrs: dict[str, Any], value: float | None = None
) -> optuna.trial.FrozenTrial:
    return create_trial(
        state=state,
        value=value,
        params=params,
        distributions={name: DISTRIBUTIONS[name] for name in params},
        user_attrs=attrs,
    )


@pytest.fixture
def storage(tmp_path: Path) -> str:
    """A study of three trials: complete (markup in its rationale), failed, pruned."""
    url = f"sqlite:///{tmp_path / 'show.db'}"
    study = optuna.create_study(study_name="demo", storage=url, direction="maximize")
    study.set_user_attr(_keys.STUDY_METRIC, "val_accuracy")
    study.add_trial(
        trial(
            TrialState.COMPLETE,
            {"lr": 0.001, "optimizer": "sgd", "momentum": 0.9},
            {
                _keys.PROPOSED_BY: "llm",
                _keys.RATIONALE: MARKUP_RATIONALE,
                _keys.ANALYSIS: "still improving at the last step",
            },
            value=0.9123456789,
        )
    )
    study.add_trial(
        trial(
            TrialState.FAIL,
            {"lr": 0.5, "optimizer": "adam"},
            {
                _keys.PROPOSED_BY: "tpe",
                _keys.RATIONALE: 'a rationale\nover two lines, with a comma and "quotes"',
                _keys.ERROR: LONG_ERROR,
                _keys.ANALYSIS: f"crashed: {LONG_ERROR}",
                _keys.STDERR_TAIL: TRACEBACK,
            },
        )
    )
    study.add_trial(
        trial(
            TrialState.PRUNED,
            {"lr": 0.01, "optimizer": "adam"},
            {_keys.PROPOSED_BY: "tpe", _keys.ANALYSIS: "pruned by MedianPruner at step 3"},
        )
    )
    return url


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def show(runner: CliRunner, storage: str, *extra: str) -> str:
    result = runner.invoke(app, ["show", "--storage", storage, *extra])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


EXPECTED = [
    {
        "number": 0,
        "state": "complete",
        "values": {"val_accuracy": 0.9123456789},
        "params": {"lr": 0.001, "optimizer": "sgd", "momentum": 0.9},
        "proposed_by": "llm",
        "rationale": MARKUP_RATIONALE,
        "analysis": "still improving at the last step",
        "error": None,
        "stderr_tail": None,
    },
    {
        "number": 1,
        "state": "fail",
        "values": {"val_accuracy": None},
        "params": {"lr": 0.5, "optimizer": "adam"},
        "proposed_by": "tpe",
        "rationale": 'a rationale\nover two lines, with a comma and "quotes"',
        "analysis": f"crashed: {LONG_ERROR}",
        "error": LONG_ERROR,
        # where it raised: the error line alone names no file (executor probe)
        "stderr_tail": TRACEBACK,
    },
    {
        "number": 2,
        "state": "pruned",
        "values": {"val_accuracy": None},
        "params": {"lr": 0.01, "optimizer": "adam"},
        "proposed_by": "tpe",
        "rationale": None,
        "analysis": "pruned by MedianPruner at step 3",
        "error": None,
        "stderr_tail": None,
    },
]


def test_show_json_is_a_list_of_trial_records(runner: CliRunner, storage: str) -> None:
    assert json.loads(show(runner, storage, "--format", "json")) == EXPECTED


def test_show_csv_has_the_same_columns_flattened(runner: CliRunner, storage: str) -> None:
    reader = csv.DictReader(io.StringIO(show(runner, storage, "--format", "csv")))
    assert reader.fieldnames == [
        "number",
        "state",
        "values.val_accuracy",
        "params.lr",
        "params.optimizer",
        "params.momentum",
        "proposed_by",
        "rationale",
        "analysis",
        "error",
    ]
    rows = list(reader)
    assert len(rows) == 3
    assert rows[0]["values.val_accuracy"] == "0.9123456789"
    assert rows[0]["params.momentum"] == "0.9"
    assert rows[0]["rationale"] == MARKUP_RATIONALE
    assert rows[1]["values.val_accuracy"] == ""
    assert rows[1]["params.momentum"] == ""  # not a parameter of this trial
    assert rows[1]["rationale"] == EXPECTED[1]["rationale"]  # newline, comma, quotes kept
    assert rows[1]["error"] == LONG_ERROR
    assert rows[2]["state"] == "pruned"


def test_show_in_a_pipe_is_plain_one_line_per_trial(runner: CliRunner, storage: str) -> None:
    out = show(runner, storage)  # CliRunner's stdout is not a terminal
    assert out == show(runner, storage, "--format", "plain")
    lines = out.splitlines()
    assert lines[0] == "demo (maximize val_accuracy)"
    assert lines[1].split()[:3] == ["trial", "state", "val_accuracy"]
    trials = lines[2 : lines.index("")]  # what the LLM added follows a blank line
    assert [line.split()[:2] for line in trials] == [
        ["0", "complete"],
        ["1", "fail"],
        ["2", "pruned"],
    ]
    assert "│" not in out  # no table borders
    assert "┃" not in out
    assert MARKUP_RATIONALE in trials[0]  # literal, whole
    assert "0.91235" in trials[0]
    assert "lr=0.001 optimizer=sgd momentum=0.9" in trials[0]
    assert "a rationale over two lines" in trials[1]  # one line per trial
    assert f"error: {LONG_ERROR}" in trials[1]  # whole, however long
    assert trials[1].count("never reported") == 1  # the analysis does not repeat it
    assert "pruned by MedianPruner at step 3" in trials[2]


def test_show_table_prints_markup_literally(
    runner: CliRunner, storage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A console wide enough that no cell folds (it writes to the runner's stdout).
    monkeypatch.setattr(cli_show, "console", Console(width=1000))
    out = show(runner, storage, "--format", "table")
    assert "┃" in out  # a rich table
    assert MARKUP_RATIONALE in out
    assert f"error: {LONG_ERROR}" in out


def test_show_rejects_an_unknown_format(runner: CliRunner, storage: str) -> None:
    result = runner.invoke(app, ["show", "--storage", storage, "--format", "yaml"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fmt", ["plain", "json", "csv", "table"])
def test_show_an_empty_study(runner: CliRunner, tmp_path: Path, fmt: str) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    optuna.create_study(study_name="empty", storage=url)
    out = show(runner, url, "--format", fmt)
    if fmt == "json":
        assert json.loads(out) == []
    elif fmt == "csv":
        assert out.splitlines() == [
            "number,state,values.value,proposed_by,rationale,analysis,error"
        ]
    else:
        assert "empty (minimize value)" in out


@pytest.mark.parametrize(("n_run", "words"), [(1, "1 trial run now"), (2, "2 trials run now")])
def test_the_run_summary_counts_trials_in_words(
    monkeypatch: pytest.MonkeyPatch, n_run: int, words: str
) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(cli_run, "console", Console(file=buffer, width=200, no_color=True))
    summary = RunSummary("demo", "sqlite://", n_run=n_run, n_complete=n_run, n_total=n_run)
    cli_run._print_summary(summary, "task.yaml")
    assert f"demo: {words} ({n_run} complete, 0 failed), {n_run} in the study." in (
        buffer.getvalue()
    )


def test_a_run_whose_llm_got_no_turn_says_so(
    monkeypatch: pytest.MonkeyPatch, quadratic_task: Task, tmp_path: Path
) -> None:
    """The quick start's embedded model got no turn in its 12 trials and the closing lines
    said nothing of the LLM (docs probe): they say it got none, and why."""
    task = quadratic_task.model_copy(update={"strategy": "hybrid-tpe", "n_trials": 3})
    summary = Tuner(task, llm=RandomLLM(), storage=f"sqlite:///{tmp_path / 's.db'}").run()
    assert summary.asks_llm
    assert summary.llm_turns == 0
    for asks, shown in ((True, True), (False, False)):
        buffer = io.StringIO()
        monkeypatch.setattr(cli_run, "console", Console(file=buffer, width=200, no_color=True))
        cli_run._print_summary(dataclasses.replace(summary, asks_llm=asks), "task.yaml")
        said = "LLM turns: 0; the schedule gave the 3 trials run now to the backbone"
        assert (said in buffer.getvalue()) is shown, buffer.getvalue()


def test_run_log_line_prints_markup_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(cli_run, "console", Console(file=buffer, width=80, no_color=True))
    table = cli_run._LiveTable("val_accuracy")
    table.end(
        TrialEvent(
            number=4,
            config={"optimizer": "[adam]"},
            attrs={_keys.PROPOSED_BY: "llm", _keys.RATIONALE: MARKUP_RATIONALE},
            state="fail",
            error="KeyError: '[/]'",
        )
    )
    line = buffer.getvalue().strip()
    assert "optimizer=[adam]" in line
    assert MARKUP_RATIONALE in line
    assert line.endswith("(KeyError: '[/]')")
    # ... and in the live table of a terminal.
    wide = Console(file=io.StringIO(), width=400, no_color=True)
    wide.print(table.table())
    drawn = wide.file.getvalue()  # type: ignore[attr-defined]
    for word in MARKUP_RATIONALE.split():  # the column folds between words
        assert word in drawn, word


# -------------------------------------- what the LLM added (issue 22, item 7)


@pytest.fixture
def mixed(tmp_path: Path) -> str:
    """A study of the LLM, the backbone and the default configuration; one rationale
    misreads the history, one answer nearly repeated a trial."""
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    study = optuna.create_study(study_name="mixed", storage=url, direction="maximize")
    study.set_user_attr(_keys.STUDY_METRIC, "acc")
    rows: list[tuple[float | None, str, dict[str, Any]]] = [
        (0.91, "default_config", {}),
        (0.93, "llm", {}),
        (0.92, "backbone", {}),
        (0.941, "llm", {_keys.LLM_NEAR_COPY: {"of": 1, "distance": 0.01, "repaired": True}}),
        (0.934, "backbone", {}),
        (0.932, "llm", {_keys.RATIONALE_CHECK: "claims #4 is the best; the best is #3"}),
        (None, "backbone", {}),
    ]
    for i, (value, by, extra) in enumerate(rows):
        study.add_trial(
            trial(
                TrialState.COMPLETE if value is not None else TrialState.FAIL,
                {"momentum": i / 10},
                {_keys.PROPOSED_BY: by, _keys.RATIONALE: "why", **extra},
                value=value,
            )
        )
    return url


def test_show_says_what_the_llm_added(runner: CliRunner, mixed: str) -> None:
    out = show(runner, mixed)
    lines = out.splitlines()
    start = lines.index(
        "What the LLM added (mean rank: percentile among finished trials, 100% = best):"
    )
    table = [line.split() for line in lines[start + 1 : start + 5]]
    assert table[0][:3] == ["proposed", "by", "trials"]
    # LLM: trials 1, 3, 5 rank 50%, 100%, 67% among the 7 finished; each beat the median of
    # the results before it. The backbone's failure ranks last and beats nothing.
    assert table[1] == ["LLM", "3", "3", "72%", "3", "of", "3", "0.941", "3"]
    assert table[2] == ["backbone", "3", "3", "39%", "1", "of", "3", "0.934", "4"]
    assert table[3] == ["given", "1", "1", "17%", "—", "0.91", "0"]
    assert "Best found by the LLM (trial 3, acc=0.941)." in lines
    assert (
        "LLM answers that (nearly) repeated a trial: 1; rationales that contradict the stored"
        " numbers: 1 (trial 5)." in lines
    )
    flagged = next(line for line in lines if line.split()[:2] == ["5", "complete"])
    assert "[rationale check: claims #4 is the best; the best is #3]" in flagged


def test_show_table_says_what_the_llm_added(
    runner: CliRunner, mixed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_show, "console", Console(width=1000))
    out = show(runner, mixed, "--format", "table")
    assert "What the LLM added" in out
    assert "beat running median" in out
    assert "Best found by the LLM (trial 3, acc=0.941)." in out


def test_a_study_without_llm_trials_says_so_in_one_line(runner: CliRunner, storage: str) -> None:
    url = storage.replace("show.db", "plain.db")
    study = optuna.create_study(study_name="plain", storage=url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    out = show(runner, url)
    assert out.splitlines()[-1] == "No trial of this study was proposed by an LLM."
    assert "What the LLM added" not in out


ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED\nsecond line"


@pytest.fixture
def hostile(tmp_path: Path) -> str:
    """Terminal escapes and newlines in a parameter value, a name and proposed_by; an
    infinite value; a formula-like text."""
    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    study = optuna.create_study(study_name="hostile", storage=url)
    study.add_trial(
        create_trial(
            state=TrialState.COMPLETE,
            value=float("-inf"),
            params={"opt": ESCAPES, "n\x1b[5mblink": "a"},
            distributions={
                "opt": CategoricalDistribution([ESCAPES, "b"]),
                "n\x1b[5mblink": CategoricalDistribution(["a"]),
            },
            user_attrs={_keys.PROPOSED_BY: "llm\x1b[41m", _keys.RATIONALE: "=HYPERLINK(1)"},
        )
    )
    return url


@pytest.mark.parametrize("fmt", ["plain", "table"])
def test_show_never_prints_stored_escape_sequences_or_newlines(
    runner: CliRunner, hostile: str, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_show, "console", Console(width=1000))
    out = show(runner, hostile, "--format", fmt)
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "RED second line" in out  # one line, the text kept
    if fmt == "plain":  # the trial's whole record on one line
        assert any("RED second line" in line and "=HYPERLINK" in line for line in out.splitlines())


def test_show_and_best_write_json_every_parser_reads(runner: CliRunner, hostile: str) -> None:
    text = show(runner, hostile, "--format", "json")
    records = json.loads(text, parse_constant=lambda name: pytest.fail(f"non-JSON {name}"))
    assert records[0]["values"] == {"value": "-inf"}
    result = runner.invoke(app, ["best", "--storage", hostile, "--format", "json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"non-JSON {name}"))


def test_show_csv_keeps_a_spreadsheet_from_running_stored_text(
    runner: CliRunner, hostile: str
) -> None:
    (row,) = csv.DictReader(io.StringIO(show(runner, hostile, "--format", "csv")))
    assert row["rationale"] == "'=HYPERLINK(1)"
    assert row["values.value"] == "-inf"  # a number stays a number


def test_best_text_with_several_objectives_is_for_a_person(
    runner: CliRunner, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    study = optuna.create_study(study_name="mo", storage=url, directions=["maximize", "minimize"])
    study.set_metric_names(["acc", "seconds"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.params["x"] * 2), n_trials=3)
    result = runner.invoke(app, ["best", "--storage", url, "--format", "text"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Pareto front: ")
    assert "acc " in result.stdout
    assert "seconds " in result.stdout
    assert "config: {" in result.stdout


def test_a_queued_trial_shows_the_configuration_it_will_run(
    runner: CliRunner, tmp_path: Path
) -> None:
    # A rerun queued after an interruption listed an empty configuration beside its
    # rationale ("drew x 1.236") until it started.
    url = f"sqlite:///{tmp_path / 'queued.db'}"
    study = optuna.create_study(study_name="queued", storage=url)
    study.enqueue_trial({"lr": 0.02, "optimizer": "adam"}, user_attrs={_keys.RATIONALE: "again"})
    (record,) = json.loads(show(runner, url, "--format", "json"))
    assert record["state"] == "waiting"
    assert record["params"] == {"lr": 0.02, "optimizer": "adam"}
    assert "lr=0.02" in show(runner, url)


def test_a_spent_budget_names_its_re_evaluation_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task of n_trials 12 read 'already holds its budget of 8 trials' (docs probe): the
    re-evaluation runs that spent the rest are named."""
    buffer = io.StringIO()
    monkeypatch.setattr(cli_run, "console", Console(file=buffer, width=300, no_color=True))
    summary = RunSummary("demo", "sqlite://", n_run=0, n_total=8, n_reevaluations=4)
    cli_run._print_summary(summary, "task.yaml")
    assert "already holds its budget: 8 trials and 4 re-evaluation runs (runs of" in (
        buffer.getvalue()
    )


def test_a_study_whose_llm_answers_all_went_to_the_backbone_says_how(
    runner: CliRunner, storage: str
) -> None:
    """The quick start's study, whose 2 LLM turns were both screened out, read 'No trial of
    this study was proposed by an LLM', as if the model had never been asked."""
    url = storage.replace("show.db", "screened.db")
    study = optuna.create_study(study_name="screened", storage=url)
    reasons = {1: "screened: GP rates it below", 3: "duplicate: trial #1"}
    for number in range(4):
        attrs = {_keys.PROPOSED_BY: "backbone"}
        if number in reasons:
            attrs[_keys.FALLBACK_REASON] = reasons[number]
        study.add_trial(
            create_trial(
                params={"x": number / 4},
                distributions={"x": FloatDistribution(0, 1)},
                value=number / 4,
                user_attrs=attrs,
            )
        )
    out = show(runner, url)
    assert out.splitlines()[-1] == (
        "No trial of this study ran an LLM proposal: the LLM was asked on 2 trials, and the"
        " backbone proposed instead (duplicate 1, screened 1)."
    )


def test_show_plain_aligns_what_the_llm_added(runner: CliRunner, mixed: str) -> None:
    """Into a pipe the table's columns were joined by single spaces, its header words
    running into one another (docs probe): they are aligned like the trials'."""
    out = show(runner, mixed, "--format", "plain")
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("proposed by"))
    header, first = lines[at], lines[at + 1]
    assert "proposed by  trials  finished" in header
    assert first.startswith("LLM  ")
    assert first.index(first.split()[1]) == header.index("trials")  # columns line up
