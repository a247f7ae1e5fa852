"""Text from an LLM or a training script is printed literally, never read as Rich markup
(issue 19, item 2): ``[/]`` in an error crashed the live table and every later ``show``, and
balanced tags were silently eaten."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from agenthpo import _keys
from agenthpo._text import one_line
from agenthpo.cli import _common, app
from agenthpo.cli.run import _LiveTable
from agenthpo.tuner import TrialEvent
from tests.fake_openai import FakeOpenAI, Reply, completion

HOSTILE = "bad [bold]markup[/bold] and [/] [link=x]y[/link] \x1b[31mred"
SCRIPT = """
def objective(config, report):
    if config["x"] > 0:
        raise RuntimeError("cuda said [/] unexpectedly [red]x[/red]")
    return {"loss": (config["x"] - 2) ** 2}
"""


def _task(tmp_path: Path, url: str) -> Path:
    (tmp_path / "quad.py").write_text(SCRIPT)
    task = {
        "name": "markup",
        "objective": {"metric": "loss", "direction": "minimize"},
        "space": {"x": {"type": "float", "low": -5.0, "high": 5.0}},
        "n_trials": 3,
        "function": "quad:objective",
        "strategy": "agent",
        "llm": {"spec": f"openai-compatible:{url}#m", "max_retries": 0},
    }
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    return path


def test_run_show_and_best_print_llm_and_script_text_literally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_common.console, "_width", 400)
    xs = iter([3.0, -1.0, -2.0, -3.0, -4.0])

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return completion(json.dumps({"config": {"x": next(xs)}, "rationale": HOSTILE}))

    runner = CliRunner()
    with FakeOpenAI(handler) as server:
        task = _task(tmp_path, server.url)
        result = runner.invoke(app, ["run", str(task), "--no-report"])
    assert result.exit_code == 0, result.output
    assert "bad [bold]markup[/bold] and [/]" in result.output
    assert "cuda said [/] unexpectedly [red]x[/red]" in result.output
    assert "\x1b[31m" not in result.output
    shown = runner.invoke(app, ["show", str(task)])
    assert shown.exit_code == 0, shown.output
    flat = " ".join(shown.output.split())
    assert "cuda said [/] unexpectedly [red]x[/red]" in flat
    assert "bad [bold]markup[/bold]" in flat
    assert runner.invoke(app, ["best", str(task)]).exit_code == 0


def _rendered(table: _LiveTable) -> str:
    out = io.StringIO()
    Console(file=out, width=400, color_system=None).print(table.table())
    return out.getvalue()


_BRACKETY = st.text(alphabet=st.sampled_from(list("[]/=#abc ,:\\\x1b\x07\n\t")), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rationale=_BRACKETY, error=_BRACKETY, config_value=_BRACKETY)
def test_the_live_table_shows_any_text_as_written(
    rationale: str, error: str, config_value: str
) -> None:
    table = _LiveTable("loss [/]")
    event = TrialEvent(
        number=0,
        config={"opt": config_value},
        attrs={_keys.PROPOSED_BY: "llm", _keys.RATIONALE: rationale},
        state="fail",
        error=error or None,
    )
    table.start(event)
    table.end(event)
    rendered = _rendered(table)  # must not raise MarkupError
    assert "\x1b" not in rendered
    assert "\x07" not in rendered
    cells = table.rows[-1].cells()
    for text in (rationale, error):
        visible = " ".join("".join(c if c.isprintable() else " " for c in text).split())
        assert visible in cells[5].plain
    assert cells[1].plain == one_line(f"opt={config_value}", 70)


def test_emoji_codes_in_outside_text_are_printed_as_written() -> None:
    """An LLM spec's "ollama:x:" and "#m:" read as the emoji codes :x: and :m: (the dead
    endpoint's line read "ollama❌ cannot reach ...")."""
    for out in (_common.console, _common.err_console):
        with out.capture() as captured:
            out.print("ollama:x: cannot reach; openai-compatible:m: too :smile:")
        assert captured.get().strip() == "ollama:x: cannot reach; openai-compatible:m: too :smile:"
    with _common.err_console.capture() as captured:
        _common.print_error("the LLM (ollama:x:) could not run")
    assert "ollama:x:" in captured.get()


def test_a_logged_warning_stays_one_line_in_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    """Rich's log handler wrapped a warning at 80 columns into a CI log, so grep found half
    the cause (LLM probe); into a pipe each record is one plain line."""
    import logging

    from agenthpo.cli._common import setup_logging

    setup_logging(verbose=False)
    cause = "openai-compatible:m: cannot reach http://127.0.0.1:9/v1 " + "x" * 200
    logging.getLogger("agenthpo").warning("the LLM could not run: %s", cause)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines == [f"WARNING  the LLM could not run: {cause}"]
