"""The MCP server's checks and answers that a probe found wanting: run_trials's budget with
asked trials outstanding, tell's checks and words, resource errors, unknown and boolean
arguments, one log notification per change, secrets in storage URLs, and one name for a
failed trial (the service directly, or the server in-process, except where the protocol
era matters)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.shared.exceptions import MCPError

from agenthpo.errors import AgentHPOError
from agenthpo.mcp import PathOutsideRootError, Root, Service, build_server
from agenthpo.task import task_from_dict
from agenthpo.tuner import RunSummary
from tests.test_mcp import QUAD_TASK, _write_quad, _write_steady, call, stdio_session

PASSWORD = "Sup3rS3cretPw"
PG_URL = f"postgresql://alice:{PASSWORD}@127.0.0.1:9/optuna"


def _finish(service: Service, job_id: str) -> dict[str, Any]:
    job = service.job(job_id)
    assert job.thread is not None
    job.thread.join(120)
    return job.status()


def test_run_trials_adds_its_trials_whatever_asked_trials_are_outstanding(
    tmp_path: Path,
) -> None:
    """Trials asked and not told hold budget slots until told; run_trials(3) still runs 3
    (it ran none when its target was the trials counted plus 3), and says nothing is short."""
    _write_quad(tmp_path, n_trials=12)
    service = Service(tmp_path)
    asked = [service.ask("quad.yaml")["trial"] for _ in range(3)]
    status = _finish(service, service.run_trials("quad.yaml", n_trials=3, strategy="random").id)
    assert status["state"] == "finished"
    assert status["done"] == 3
    assert status["summary"]["n_run"] == 3
    assert status["note"] is None
    budget = service.study_status("quad.yaml")["budget"]
    assert budget == {"n_trials": 12, "counted": 3, "running": 3}
    service.tell("quad.yaml", trial=asked[0], value=1.0)  # the asked ones are still told
    status = _finish(service, service.run_trials("quad.yaml", n_trials=2, strategy="random").id)
    assert status["done"] == 2


def test_a_run_short_of_its_trials_says_why() -> None:
    """The result names what stopped a run before its trials were all run."""
    from agenthpo.mcp._jobs import _shortfall

    assert _shortfall(RunSummary("s", "sqlite://", n_run=3), 3) is None
    timed = _shortfall(RunSummary("s", "sqlite://", n_run=1, stopped_by_time_limit=True), 3)
    assert timed == "ran 1 of 3 trials: the task's time_limit stopped the run"
    noisy = _shortfall(RunSummary("s", "sqlite://", n_run=2, n_reevaluations=1), 3)
    assert noisy is not None
    assert "re-evaluated" in noisy


def test_tell_checks_as_agenthpo_tell_does_in_the_tools_words(tmp_path: Path) -> None:
    """A value that disagrees with the metrics and a blank failure reason are refused, as
    `agenthpo tell` refuses them, with messages naming the tool's arguments (no CLI flag);
    the trial still runs after each refusal. A pruned trial's value is its last seen."""
    _write_quad(tmp_path)
    service = Service(tmp_path)
    trial = service.ask("quad.yaml")["trial"]
    refusals: tuple[tuple[dict[str, Any], str], ...] = (
        ({"value": 0.1, "metrics": {"loss": 0.9}}, "value 0.1 and metrics' loss 0.9 disagree"),
        ({"failed": ""}, "failed '': say why the run failed"),
        ({"failed": "   "}, "failed '': say why the run failed"),
        ({}, "give value or metrics with 'loss' (or failed with the reason)"),
        ({"value": 1.0, "step": 2}, "step describes a run stopped early; add pruned"),
    )
    for args, expected in refusals:
        with pytest.raises(AgentHPOError) as refused:
            service.tell("quad.yaml", trial=trial, **args)
        assert expected in str(refused.value), (args, str(refused.value))
        assert "--" not in str(refused.value)
    record = service.trial_record("quad.yaml", trial)
    assert record["state"] == "running"
    pruned = service.tell("quad.yaml", trial=trial, pruned="flat curve", value=2.5, step=3)
    assert pruned["state"] == "pruned"
    assert service.trial_record("quad.yaml", trial)["intermediate"] == {"3": 2.5}


def test_tell_names_the_tools_arguments_for_every_cli_option() -> None:
    """Every option of `agenthpo tell` its messages may name becomes the tool's argument."""
    from agenthpo.mcp._service import _tool_words

    said = _tool_words(
        "--value 'x': give a number; --intermediate nan: ..., or tell it --failed REASON;"
        " --metrics: a mapping; --pruned: why; --step -1; not started by `agenthpo ask`"
    )
    assert "--" not in said
    assert "value 'x'" in said
    assert "value nan" in said
    assert "failed with the reason" in said
    assert "started by ask" in said


async def _in_process(root: Path, body: Any) -> None:
    async with Client(build_server(root)) as client:
        await body(client)


def test_resource_errors_reach_the_client_as_agenthpos_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A resource read that fails by the user's mistake answers with AgentHPO's one-line
    message (not "Error creating resource from template"), and logs no traceback."""
    _write_quad(tmp_path)
    Service(tmp_path).ask("quad.yaml")
    expected = {
        "agenthpo://run/nosuchjob": "no run 'nosuchjob'",
        "agenthpo://trial/x/quad.yaml": "trial 'x': give a trial number",
        "agenthpo://trial/999/quad.yaml": "no trial 999 in study 'quad'",
        "agenthpo://task/nope.yaml": "task_file 'nope.yaml': no such file",
    }

    async def body(client: Client) -> None:
        for uri, message in expected.items():
            with pytest.raises(MCPError) as failed:
                await client.read_resource(uri)
            assert message in failed.value.error.message, (uri, failed.value.error)
            assert "\n" not in failed.value.error.message

    with caplog.at_level(logging.INFO):
        asyncio.run(_in_process(tmp_path, body))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_unknown_and_boolean_arguments_are_refused(tmp_path: Path) -> None:
    """A typo of an argument (n_trial) is refused, naming it, rather than dropped with the
    default used; every schema says so (additionalProperties: false); true is no trial
    number and no value."""
    _write_quad(tmp_path)

    async def body(client: Client) -> None:
        tools = (await client.list_tools()).tools
        assert all(t.input_schema["additionalProperties"] is False for t in tools)
        typo = await client.call_tool("run_trials", {"task_file": "quad.yaml", "n_trial": 5})
        assert typo.is_error
        assert typo.structured_content is not None
        error = typo.structured_content["error"]
        assert error["type"] == "invalid_arguments"
        assert error["problems"] == [
            "n_trial: run_trials has no argument n_trial (its arguments: task_file, n_trials,"
            " llm, seed, strategy, wait_seconds)"
        ]
        asked = await client.call_tool("ask", {"task_file": "quad.yaml"})
        assert asked.structured_content is not None
        number = asked.structured_content["trial"]
        for tool, args, problem in (
            ("get_trial", {"trial": True}, "trial: give an integer, not true"),
            ("tell", {"trial": number, "value": True}, "value: give a number, not true"),
            ("tell", {"trial": number, "metrics": {"loss": False}}, "metrics.loss: give a"),
        ):
            result = await client.call_tool(tool, {"task_file": "quad.yaml", **args})
            assert result.is_error, (tool, args)
            assert result.structured_content is not None
            assert result.structured_content["error"]["problems"][0].startswith(problem)

    asyncio.run(_in_process(tmp_path, body))
    trials = Service(tmp_path).trials("quad.yaml")  # no run started, nothing told
    assert [t["state"] for t in trials["trials"]] == ["running"]


def test_each_progress_message_arrives_once_however_often_the_run_is_followed(
    tmp_path: Path,
) -> None:
    """A handshake-era client that calls run_status again and again gets each progress
    log notification once (the SDK makes a new session object per request)."""
    _write_steady(tmp_path)
    logs: list[Any] = []
    finished = asyncio.Event()

    async def on_log(params: Any) -> None:
        logs.append(params.data)
        if params.data["state"] != "running":
            finished.set()

    async def main() -> None:
        async with stdio_session(tmp_path, logging_callback=on_log) as s:
            job = await call(s, "run_trials", task_file="steady.yaml", n_trials=2)
            for _ in range(4):
                await call(s, "run_status", job=job["job"])
            await asyncio.wait_for(finished.wait(), 120)
            await asyncio.sleep(1.0)  # any duplicate of the last one arrives meanwhile

    asyncio.run(main())
    seen = Counter(json.dumps(d, sort_keys=True) for d in logs)
    assert seen
    assert max(seen.values()) == 1, seen


def test_no_result_shows_a_storage_urls_password(tmp_path: Path) -> None:
    """The task file resource and the tools' results show a storage URL without its
    password, and a run's summary stores it so (the server cleans every result, whatever
    the tuner's summary holds)."""
    from agenthpo.mcp._jobs import _summary
    from agenthpo.mcp._server import clean

    (tmp_path / "quad.py").write_text("")
    (tmp_path / "pg.yaml").write_text(
        QUAD_TASK.format(secret="s", n_trials=3).replace("a quadratic bowl", f"see {PG_URL}")
        + f"storage: {PG_URL}\n"
    )

    async def body(client: Client) -> None:
        read = await client.read_resource("agenthpo://task/pg.yaml")
        text = read.contents[0].text  # type: ignore[union-attr]
        assert PASSWORD not in text
        assert "storage: postgresql://alice:***@127.0.0.1:9/optuna" in text
        view = await client.call_tool("proposer_view", {"task_file": "pg.yaml"})
        assert not view.is_error, view.content
        assert PASSWORD not in json.dumps(view.structured_content)
        assert PASSWORD not in view.content[0].text  # type: ignore[union-attr]
        assert "alice:***@" in json.dumps(view.structured_content)

    asyncio.run(_in_process(tmp_path, body))
    summary = _summary(RunSummary("pg", PG_URL))
    assert summary["storage"] == "postgresql://alice:***@127.0.0.1:9/optuna"
    status = {"runs": [{"summary": {"storage": PG_URL}}], "note": 'he said "x"\n'}
    assert clean(status) == {
        "runs": [{"summary": {"storage": "postgresql://alice:***@127.0.0.1:9/optuna"}}],
        "note": 'he said "x"\n',
    }


FLAKY = """
def objective(config, report):
    if config["x"] < 0:
        raise RuntimeError("negative x")
    return {"loss": (config["x"] - 2) ** 2}
"""


def test_a_failed_trial_is_named_failed_in_every_result(tmp_path: Path) -> None:
    """run_status's recent trials and progress, and the report's facts, name a failed trial
    'failed', as trials, study_status and the trials filter do."""
    (tmp_path / "flaky.py").write_text(FLAKY)
    (tmp_path / "flaky.yaml").write_text(
        QUAD_TASK.format(secret="s", n_trials=5).replace("quad:objective", "flaky:objective")
    )
    service = Service(tmp_path)
    for x in (1.0, -1.0):
        service.propose(
            "flaky.yaml",
            config={"x": x, "kind": "a"},
            rationale=f"x at {x} shows which side of zero the objective fails on",
            start="queue",
        )
    status = _finish(service, service.run_trials("flaky.yaml", n_trials=2).id)
    assert [t["state"] for t in status["recent"]] == ["complete", "failed"]
    assert status["progress"]["last"]["state"] == "failed"
    assert service.study_status("flaky.yaml")["states"] == {"complete": 1, "failed": 1}
    assert service.trials("flaky.yaml", state="failed")["total"] == 1
    facts = service.report("flaky.yaml")["facts"]
    assert facts["states"]["failed"] == 1
    assert "fail" not in facts["states"]


def test_an_options_value_naming_a_file_outside_the_root_is_refused(tmp_path: Path) -> None:
    """`--script=../outside/evil.py` names a file as `../outside/evil.py` does; an option
    alone, a placeholder, or a value that is no file pass as before."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "train.py").write_text("")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "evil.py").write_text("")

    def task(*args: str) -> Any:
        return task_from_dict(
            {
                "name": "t",
                "objective": {"metric": "loss", "direction": "minimize"},
                "space": {"lr": {"type": "float", "low": 0.001, "high": 0.1}},
                "command": ["python", "train.py", *args],
                "n_trials": 2,
            },
            base_dir=root,
        )

    checked = Root(root)
    outside = tmp_path / "outside" / "evil.py"
    for bad in (
        "--script=../outside/evil.py",
        f"-s={outside}",
        "-s../outside/evil.py",  # a short option glued to its value
        "data.script=../outside/evil.py",  # a Hydra-style setting
    ):
        with pytest.raises(PathOutsideRootError, match=r"evil\.py"):
            checked.check_task(task(bad))
    checked.check_task(task("--verbose", "--lr={lr}", "--mode=fast", "--out=train.py"))


def test_a_trial_recovered_from_a_lost_runner_shows_why(tmp_path: Path) -> None:
    """A trial left running by a server that exited, and later failed as interrupted, says
    so in get_trial (the reason the library stores when it recovers the trial)."""
    import time

    from agenthpo._lifecycle import recover_stale

    _write_quad(tmp_path)
    service = Service(tmp_path)
    service.tell("quad.yaml", trial=service.ask("quad.yaml")["trial"], value=1.0)
    study = service.study(service.task("quad.yaml"))
    lost = study.ask()  # as a run's trial: no heartbeat from now on
    assert recover_stale(study, now=time.time() + 3600) == [lost.number]
    record = service.trial_record("quad.yaml", lost.number)
    assert record["state"] == "failed"
    assert record["not_counted"] == "interrupted"
    assert record["error"].startswith("interrupted: its runner was lost")


def test_the_server_imports_the_shared_modules_before_any_thread() -> None:
    """A background run and an ask importing SciPy's QMC at once saw it half initialized:
    the ask failed with ImportError and left a failed trial (workers probe). serve() imports
    those modules first; a fresh interpreter shows they are loaded by it."""
    code = (
        "import sys\n"
        "from agenthpo.mcp._server import SHARED_MODULES, import_shared_modules\n"
        "assert not any(m in sys.modules for m in SHARED_MODULES)\n"
        "import_shared_modules()\n"
        "print(sorted(m for m in SHARED_MODULES if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "scipy.stats" in done.stdout
