"""The MCP server driven by the SDK's own client: over stdio (a subprocess, as a coding
agent starts it) and over streamable HTTP; a whole study, the client as the proposer,
path confinement, and bad input to every tool."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import QUADRATIC

REPO = Path(__file__).resolve().parents[1]
SECRET = "sk-test-very-secret-0123456789"

TRAIN = '''"""Trains nothing: a bowl in x and log10(lr), for the MCP tests."""
import argparse
import math

from agenthpo.reporter import report


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--x", type=float, default=0.5, help="the point")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate")
    args = parser.parse_args()
    val_loss = (args.x - 2) ** 2 + (math.log10(args.lr) + 2) ** 2
    report(step=0, val_loss=val_loss + 1.0)
    report(val_loss=val_loss)


if __name__ == "__main__":
    main()
'''

QUAD_TASK = """\
name: quad
description: a quadratic bowl, key {secret}
objective: {{metric: loss, direction: minimize}}
hidden_metrics: [test_loss]
space:
  x: {{type: float, low: -5.0, high: 5.0}}
  kind: [a, b]
n_trials: {n_trials}
function: quad:objective
strategy: tpe
"""

SLOW = """
import time

def objective(config, report):
    report(step=0, loss=1.0)
    time.sleep(60)
    return {"loss": 0.0}
"""

TOOLS = {
    "draft_task",
    "validate_task",
    "ask",
    "tell",
    "run_trials",
    "run_status",
    "cancel_run",
    "study_status",
    "best",
    "trials",
    "get_trial",
    "importance",
    "llm_usage",
    "report",
    "proposer_view",
    "propose",
}


def _env() -> dict[str, str]:
    return {
        "PYTHONPATH": str(REPO),
        "OPENAI_API_KEY": SECRET,
        "AGENTHPO_LLM": "random",
        "AGENTHPO_LLAMA_THREADS": "1",
    }


def _server_argv(root: Path, *extra: str) -> list[str]:
    return ["-c", "from agenthpo.cli import main; main()", "mcp", "--root", str(root), *extra]


@asynccontextmanager
async def stdio_session(
    root: Path, *, modern: bool = False, **callbacks: Any
) -> AsyncIterator[ClientSession]:
    """A client on the server over stdio: the handshake era (initialize), or with
    ``modern`` the 2026-07-28 protocol (discover, subscriptions/listen)."""
    params = StdioServerParameters(
        command=sys.executable, args=_server_argv(root), env=_env(), cwd=str(root)
    )
    with open(os.devnull, "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, **callbacks) as session,
        ):
            if modern:
                await session.discover()
            else:
                await session.initialize()
            yield session


async def call(session: ClientSession, tool: str, **args: Any) -> dict[str, Any]:
    """Calls a tool that must succeed; returns its structured result."""
    result = await session.call_tool(tool, args)
    assert not result.is_error, (tool, result.content)
    assert result.structured_content is not None
    assert SECRET not in json.dumps(result.structured_content)
    return result.structured_content


async def fails(session: ClientSession, tool: str, **args: Any) -> dict[str, Any]:
    """Calls a tool that must fail with a structured error; returns the error."""
    result = await session.call_tool(tool, args)
    assert result.is_error, (tool, args, result.content)
    assert result.structured_content is not None, (tool, result.content)
    error = result.structured_content["error"]
    assert error["tool"] == tool
    assert error["message"]
    assert error["problems"]
    assert SECRET not in json.dumps(error)
    return dict(error)


def _write_quad(root: Path, n_trials: int = 12) -> None:
    (root / "quad.py").write_text(QUADRATIC)
    (root / "quad.yaml").write_text(QUAD_TASK.format(secret=SECRET, n_trials=n_trials))


def test_stdio_whole_study_draft_validate_run_best_report(tmp_path: Path) -> None:
    """A complete study through MCP alone: draft, write, validate, run in the background
    with progress, then status, best, trials, importance, usage, report and resources."""
    (tmp_path / "train.py").write_text(TRAIN)

    async def main() -> None:
        async with stdio_session(tmp_path) as s:
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert set(tools) == TOOLS
            assert all(t.description and t.input_schema for t in tools.values())
            strategy_help = tools["run_trials"].input_schema["properties"]["strategy"]
            assert "backbone, auto" in json.dumps(strategy_help)

            draft = await call(s, "draft_task", script="train.py", metric="val_loss")
            assert draft["written"] is False
            assert not (tmp_path / "task.yaml").exists()
            assert {p["name"] for p in draft["review"]} == {"x", "lr"}
            assert "val_loss" in draft["yaml"]
            written = await call(
                s, "draft_task", script="train.py", metric="val_loss", n_trials=3, write=True
            )
            assert written["written"]
            assert (tmp_path / "task.yaml").exists()
            valid = await call(s, "validate_task", task_file="task.yaml")
            assert valid["valid"]
            assert set(valid["space"]) == {"x", "lr"}

            progress: list[tuple[float, float | None, str | None]] = []

            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                progress.append((done, total, message))

            started = await s.call_tool(
                "run_trials",
                {"task_file": "task.yaml", "n_trials": 3, "strategy": "tpe", "wait_seconds": 0},
            )
            job = started.structured_content
            assert job is not None
            assert job["state"] == "running"
            # the protocol answers while trials run
            status = await call(s, "run_status", job=job["job"])
            assert status["job"] == job["job"]
            followed = await s.call_tool(
                "run_status",
                {"job": job["job"], "wait_seconds": 120},
                progress_callback=on_progress,
            )
            final = followed.structured_content
            assert final is not None
            assert final["state"] == "finished", final
            assert final["done"] == 3
            assert final["summary"]["n_complete"] == 3
            assert progress
            assert progress[-1][0] == 3
            assert progress[-1][1] == 3

            state = await call(s, "study_status", task_file="task.yaml")
            assert state["states"] == {"complete": 3}
            assert state["budget"]["counted"] == 3
            best = await call(s, "best", task_file="task.yaml")
            assert best["metric"] == "val_loss"
            assert set(best["config"]) == {"x", "lr"}
            page = await call(s, "trials", task_file="task.yaml", limit=2)
            assert page["total"] == 3
            assert page["next_offset"] == 2
            assert all(t["analysis"] and t["proposed_by"] for t in page["trials"])
            rest = await call(s, "trials", task_file="task.yaml", offset=2)
            assert [t["trial"] for t in rest["trials"]] == [2]
            record = await call(s, "get_trial", task_file="task.yaml", trial=0)
            assert record["metrics"]["val_loss"] == record["values"][0]
            assert record["curve"]
            imp = await call(s, "importance", task_file="task.yaml", evaluator="ped-anova")
            assert "evaluator" in imp
            usage = await call(s, "llm_usage", task_file="task.yaml")
            assert usage["calls"] == 0
            rep = await call(s, "report", task_file="task.yaml")
            assert (tmp_path / rep["html"]).exists()
            assert (tmp_path / rep["markdown"]).exists()
            assert rep["facts"]["n_trials"] == 3
            assert rep["summary"]["sections"]

            text = await s.read_resource("agenthpo://task/task.yaml")
            assert "val_loss" in text.contents[0].text  # type: ignore[union-attr]
            md = await s.read_resource("agenthpo://report/task.yaml")
            assert "#" in md.contents[0].text  # type: ignore[union-attr]
            one = await s.read_resource("agenthpo://trial/1/task.yaml")
            assert json.loads(one.contents[0].text)["trial"] == 1  # type: ignore[union-attr]

    asyncio.run(main())


def test_stdio_ask_tell_and_client_as_creator(tmp_path: Path) -> None:
    """ask/tell (result, failure, pruning) and the client proposing: validated, de-duplicated,
    stored as normal trials with proposed_by naming the client; hidden metrics never shown."""
    _write_quad(tmp_path)

    async def main() -> None:
        async with stdio_session(tmp_path) as s:
            asked = await call(s, "ask", task_file="quad.yaml")
            assert set(asked["config"]) == {"x", "kind"}
            told = await call(s, "tell", task_file="quad.yaml", trial=asked["trial"], value=1.5)
            assert told["state"] == "complete"
            assert told["values"] == [1.5]
            second = await call(s, "ask", task_file="quad.yaml")
            await call(s, "tell", task_file="quad.yaml", trial=second["trial"], failed="OOM")
            third = await call(s, "ask", task_file="quad.yaml")
            pruned = await call(
                s,
                "tell",
                task_file="quad.yaml",
                trial=third["trial"],
                pruned="flat curve",
                metrics={"loss": 9.0},
                step=4,
            )
            assert pruned["state"] == "pruned"
            assert "flat curve" in pruned["analysis"]
            kept = await call(s, "get_trial", task_file="quad.yaml", trial=third["trial"])
            assert kept["intermediate"] == {"4": 9.0}

            view = await call(s, "proposer_view", task_file="quad.yaml")
            assert set(view["space"]) == {"x", "kind"}
            assert view["answer_schema"]
            assert "History" in view["history"]
            assert view["failures"][0]["error"] == "OOM"
            assert "test_loss" not in json.dumps(view)
            assert "***" in view["task"]["description"]  # the key, masked

            before = (await call(s, "trials", task_file="quad.yaml"))["total"]
            bad = await fails(
                s,
                "propose",
                task_file="quad.yaml",
                config={"x": 99, "kind": "z"},
                rationale="the far corner was never tried",
            )
            assert any("x" in p for p in bad["problems"])
            assert any("kind" in p for p in bad["problems"])
            await fails(
                s, "propose", task_file="quad.yaml", config={"x": 1.0, "kind": "a"}, rationale="ok"
            )
            twin = await fails(
                s,
                "propose",
                task_file="quad.yaml",
                config=asked["config"],
                rationale="repeat the first trial exactly",
            )
            assert "already" in twin["message"]
            assert (await call(s, "trials", task_file="quad.yaml"))["total"] == before

            mine = await call(
                s,
                "propose",
                task_file="quad.yaml",
                config={"x": 2.0, "kind": "a"},
                rationale="x=2 sits at the bowl's centre by the trend so far",
                client="test-agent",
            )
            assert mine["started"]["trial"] == mine["trial"]
            assert mine["started"]["proposed_by"] == "client:test-agent"
            assert mine["screened"] is False
            assert mine["screen"]["applied"] is False  # tpe: no LLM turns, nothing screens
            await call(s, "tell", task_file="quad.yaml", trial=mine["trial"], metrics={"loss": 0.0})
            ran = await call(
                s,
                "propose",
                task_file="quad.yaml",
                config={"x": 2.5, "kind": "a"},
                rationale="probe just right of the best to see the slope",
                client="test-agent",
                start="run",
            )
            done = await call(s, "run_status", job=ran["job"], wait_seconds=60)
            assert done["state"] == "finished", done
            assert done["done"] == 1
            record = await call(s, "get_trial", task_file="quad.yaml", trial=ran["trial"])
            assert record["state"] == "complete"
            assert record["proposed_by"] == "client:test-agent"
            assert record["values"] == [0.25]
            best = await call(s, "best", task_file="quad.yaml")
            assert best["trial"] == mine["trial"]

    asyncio.run(main())


SCREEN_TASK = """\
name: screened
objective: {metric: loss, direction: minimize}
space:
  x: {type: float, low: -5.0, high: 5.0}
  kind: [a, b]
n_trials: 30
function: quad:objective
strategy: hybrid-tpe
seed: 0
"""


def _loss(config: dict[str, Any]) -> float:
    return float((config["x"] - 2) ** 2 + (1.0 if config["kind"] == "b" else 0.0))


def test_stdio_client_proposals_are_screened_like_the_llms(tmp_path: Path) -> None:
    """With llm_screen on, TPE judges the client's proposal as it judges the LLM's: not
    during its random start-up; then a proposal next to the worst trial is screened out,
    the trial runs TPE's own configuration, and the client's is kept in its record."""
    (tmp_path / "quad.py").write_text(QUADRATIC)
    (tmp_path / "quad.yaml").write_text(SCREEN_TASK + "llm_screen: true\n")

    async def main() -> None:
        async with stdio_session(tmp_path) as s:
            for i in range(10):
                config = {"x": -4.5 + 0.9 * i, "kind": "ab"[i % 2]}
                early = await call(
                    s,
                    "propose",
                    task_file="quad.yaml",
                    config=config,
                    rationale=f"spread point {i} over the range to map the bowl",
                    client="test-agent",
                )
                assert early["screened"] is False
                assert early["screen"]["applied"] is True
                assert early["screen"]["judged"] is False  # TPE's start-up: no model yet
                assert early["started"]["config"] == config
                told = _loss(config)
                await call(s, "tell", task_file="quad.yaml", trial=early["trial"], value=told)

            near_worst = {"x": -4.4, "kind": "a"}  # trial 0, x=-4.5, is the worst
            out = await call(
                s,
                "propose",
                task_file="quad.yaml",
                config=near_worst,
                rationale="check the wall right next to the worst point",
                client="test-agent",
            )
            assert out["screened"] is True, out
            screen = out["screen"]
            assert screen["applied"] is True
            assert screen["judged"] is True
            assert screen["passed"] is False
            assert screen["tpe_log_ratio"] > screen["proposal_log_ratio"]
            assert screen["judge"] == "TPE"  # named in the data, not assumed by the client
            assert screen["note"].startswith("TPE rates the backbone's configuration higher")
            assert out["config"] == screen["tpe_config"] != near_worst
            assert out["proposed_by"] == "backbone"
            assert out["proposal"]["config"] == near_worst
            assert out["started"]["trial"] == out["trial"]
            assert out["started"]["config"] == out["config"]  # the trial runs TPE's config
            assert "screened out client:test-agent's proposal" in out["rationale"]
            ran = _loss(out["config"])
            await call(s, "tell", task_file="quad.yaml", trial=out["trial"], value=ran)

            record = await call(s, "get_trial", task_file="quad.yaml", trial=out["trial"])
            assert record["state"] == "complete"
            assert record["config"] == out["config"]
            assert record["values"] == [_loss(out["config"])]
            assert record["fallback_reason"].startswith('screened: {"x": -4.4, "kind": "a"}')
            assert "check the wall" in record["fallback_reason"]
            kept = record["screened_proposal"]
            assert kept["proposed_by"] == "client:test-agent"
            assert kept["config"] == near_worst
            assert kept["rationale"] == "check the wall right next to the worst point"
            assert kept["log_ratio"] == screen["proposal_log_ratio"]
            assert kept["backbone_log_ratio"] == screen["tpe_log_ratio"]
            usage = await call(s, "llm_usage", task_file="quad.yaml")
            assert usage["fallback_reasons"] == {"screened": 1}

    asyncio.run(main())


def test_the_screen_follows_the_task_and_the_stored_schedule(tmp_path: Path) -> None:
    """Without llm_screen, hybrid-tpe screens the client as the study's stored schedule
    screens its model (a capable model's with a margin, the embedded model's without);
    llm_screen: false never screens; a screened-out proposal queued for later waits with
    TPE's configuration (the service, no transport)."""
    import optuna

    from agenthpo.mcp import Service

    (tmp_path / "quad.py").write_text(QUADRATIC)
    (tmp_path / "quad.yaml").write_text(SCREEN_TASK)
    (tmp_path / "off.yaml").write_text(
        SCREEN_TASK.replace("name: screened", "name: unscreened") + "llm_screen: false\n"
    )
    service = Service(tmp_path)
    for name in ("quad.yaml", "off.yaml"):
        for i in range(10):
            config = {"x": -4.5 + 0.9 * i, "kind": "ab"[i % 2]}
            out = service.propose(name, config=config, rationale=f"spread point {i} over x")
            # screened by default, but nothing judges during the backbone's start-up
            assert out["screen"]["applied"] is (name == "quad.yaml")
            assert out["config"] == config
            service.tell(name, trial=out["trial"], value=_loss(config))
    near_worst = {"x": -4.4, "kind": "a"}
    out = service.propose("off.yaml", config=near_worst, rationale="the wall by the worst")
    assert out["screen"]["applied"] is False
    assert out["config"] == near_worst

    study = service.study(service.task("quad.yaml"))
    study.set_user_attr("agenthpo_schedule", {"warmup": 10, "startup": 0, "embedded": True})
    out = service.propose(
        "quad.yaml", config=near_worst, rationale="the wall by the worst", start="queue"
    )
    assert out["screened"] is True
    assert out["screen"]["passed"] is False
    assert out["screen"]["margin"] == 0.0  # the embedded model's plain screen
    waiting = optuna.load_study(study_name="screened", storage=study._storage).trials[-1]
    assert waiting.state == optuna.trial.TrialState.WAITING
    assert waiting.system_attrs["fixed_params"] == out["config"] != near_worst
    assert waiting.user_attrs["screened_proposal"]["config"] == near_worst
    # the proposal screened out is not a duplicate of the queued trial: it may come again
    again = service.propose(
        "quad.yaml", config={"x": -4.3, "kind": "a"}, rationale="the wall, a bit further"
    )
    assert again["screened"] is True
    assert again["config"] != out["config"]


STEADY = """
import time

def objective(config, report):
    time.sleep(0.6)
    return {"loss": (config["x"] - 2) ** 2 + (1.0 if config["kind"] == "b" else 0.0)}
"""


def _write_steady(root: Path) -> None:
    (root / "steady.py").write_text(STEADY)
    (root / "steady.yaml").write_text(
        QUAD_TASK.format(secret="s", n_trials=3)
        .replace("name: quad", "name: steady")
        .replace("quad:objective", "steady:objective")
    )


def test_a_background_run_reports_progress_with_no_request_open(tmp_path: Path) -> None:
    """Handshake-era client: run_trials returns at once, and with no request open the
    server pushes log notifications (done / budget, best so far) as trials finish;
    polling run_status, study_status or the run's resource shows the same progress."""
    _write_steady(tmp_path)
    logs: list[Any] = []
    finished = asyncio.Event()

    async def on_log(params: Any) -> None:
        logs.append(params)
        if params.data["state"] != "running":
            finished.set()

    async def main() -> None:
        async with stdio_session(tmp_path, logging_callback=on_log) as s:
            job = await call(s, "run_trials", task_file="steady.yaml", n_trials=3)
            assert job["state"] == "running"
            polled = await call(s, "study_status", task_file="steady.yaml")
            assert polled["runs"][0]["progress"]["n_trials"] == 3
            await asyncio.wait_for(finished.wait(), 120)  # no request open meanwhile

            pushed = [p.data for p in logs]
            assert all(p.logger == "agenthpo.run" for p in logs)
            assert all(d["job"] == job["job"] and d["n_trials"] == 3 for d in pushed)
            done = [d["done"] for d in pushed]
            assert done == sorted(done)
            assert {1, 2, 3} <= set(done)  # one notification per finished trial at least
            last = pushed[-1]
            assert last["state"] == "finished"
            assert last["done"] == 3
            assert last["best_value"] is not None
            assert "3/3 trials done, best" in last["message"]

            status = await call(s, "run_status", job=job["job"])
            assert status["progress"]["best_value"] == last["best_value"]
            best = await call(s, "best", task_file="steady.yaml")
            assert best["value"] == last["best_value"]
            resource = await s.read_resource(f"agenthpo://run/{job['job']}")
            record = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
            assert record["progress"]["done"] == 3
            assert record["state"] == "finished"

    asyncio.run(main())


def test_a_listening_client_is_told_each_time_the_run_resource_changes(tmp_path: Path) -> None:
    """2026-07-28 client: it listens to agenthpo://run/{job} (subscriptions/listen) and the
    server publishes an update per change; reading the resource then shows the progress."""
    from mcp.client.subscriptions import ResourceUpdated, listen

    _write_steady(tmp_path)

    async def main() -> None:
        async with stdio_session(tmp_path, modern=True) as s:
            job = await call(s, "run_trials", task_file="steady.yaml", n_trials=3)
            uri = f"agenthpo://run/{job['job']}"
            seen: list[dict[str, Any]] = []
            with anyio.fail_after(120):
                async with listen(s, resource_subscriptions=[uri]) as updates:
                    async for event in updates:
                        assert isinstance(event, ResourceUpdated)
                        assert event.uri == uri
                        read = await s.read_resource(uri)
                        status = json.loads(read.contents[0].text)  # type: ignore[union-attr]
                        seen.append(status["progress"])
                        if status["state"] != "running":
                            break
            assert seen[-1]["done"] == 3
            assert seen[-1]["state"] == "finished"
            assert seen[-1]["best_value"] is not None
            assert len(seen) >= 2  # told while the run went on, not only at its end

    asyncio.run(main())


def test_path_confinement_and_bad_input_to_every_tool(tmp_path: Path) -> None:
    """Every path leaves the root only to be refused, and every tool answers bad input with
    a structured error that changes nothing."""
    root = tmp_path / "root"
    root.mkdir()
    _write_quad(root, n_trials=2)
    (tmp_path / "outside.yaml").write_text((root / "quad.yaml").read_text())
    (tmp_path / "quad.py").write_text(QUADRATIC)
    (root / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    (root / "escape.yaml").write_text(
        (root / "quad.yaml").read_text() + f"storage: sqlite:///{tmp_path / 'x.db'}\n"
    )
    (root / "train.py").write_text(TRAIN)

    async def main() -> None:
        async with stdio_session(root) as s:
            for path in ("../outside.yaml", str(tmp_path / "outside.yaml"), "link.yaml"):
                error = await fails(s, "validate_task", task_file=path)
                assert error["type"] == "PathOutsideRootError", error
            error = await fails(s, "validate_task", task_file="escape.yaml")
            assert error["type"] == "PathOutsideRootError"
            await fails(s, "draft_task", script="../quad.py")
            await fails(s, "draft_task", script="train.py", out="../task.yaml", write=True)
            assert not (tmp_path / "task.yaml").exists()
            await fails(s, "run_trials", task_file="../outside.yaml")
            with pytest.raises(Exception):  # noqa: B017 - the SDK's own resource error
                await s.read_resource("agenthpo://task/../outside.yaml")

            asked = await call(s, "ask", task_file="quad.yaml")
            await fails(s, "report", task_file="quad.yaml", out_dir="../rep")
            assert not (tmp_path / "rep").exists()

            bad: dict[str, list[dict[str, Any]]] = {
                "draft_task": [{}, {"script": "missing.py"}, {"script": "train.py", "n_trials": 0}],
                "validate_task": [
                    {},
                    {"task_file": 3},
                    {"task_file": "missing.yaml"},
                    {"task_file": "quad.yaml", "yaml_text": "name: [unclosed"},
                ],
                "ask": [{}, {"task_file": "quad.yaml", "n_trials": -1}],
                "tell": [
                    {"task_file": "quad.yaml"},
                    {"task_file": "quad.yaml", "trial": 99, "value": 1.0},
                    {"task_file": "quad.yaml", "trial": asked["trial"], "metrics": {"a": "x"}},
                    {"task_file": "quad.yaml", "trial": asked["trial"]},
                ],
                "run_trials": [
                    {"task_file": "quad.yaml", "n_trials": 0},
                    {"task_file": "quad.yaml", "strategy": "nonsense"},
                ],
                "run_status": [{}, {"job": "nope"}],
                "cancel_run": [{}, {"job": "nope"}],
                "study_status": [{}, {"task_file": "missing.yaml"}],
                "best": [{}, {"task_file": "quad.yaml", "extra": [1]}],
                "trials": [
                    {"task_file": "quad.yaml", "limit": 0},
                    {"task_file": "quad.yaml", "state": "weird"},
                ],
                "get_trial": [{"task_file": "quad.yaml"}, {"task_file": "quad.yaml", "trial": 77}],
                "importance": [{"task_file": "quad.yaml", "evaluator": "magic"}],
                "llm_usage": [{}],
                "report": [{}, {"task_file": "quad.yaml", "evaluator": "magic"}],
                "proposer_view": [{}, {"task_file": "../outside.yaml"}],
                "propose": [
                    {"task_file": "quad.yaml"},
                    {
                        "task_file": "quad.yaml",
                        "config": {"x": "high", "kind": "a"},
                        "rationale": "strings are not numbers at all",
                    },
                    {
                        "task_file": "quad.yaml",
                        "config": {"x": 1.0, "kind": "a"},
                        "rationale": "a fine reason for this",
                        "client": "!!!",
                    },
                ],
            }
            assert set(bad) == TOOLS
            for tool, cases in bad.items():
                for args in cases:
                    await fails(s, tool, **args)
            # nothing was lost or added: the asked trial still runs, and can be told
            page = await call(s, "trials", task_file="quad.yaml")
            assert [(t["trial"], t["state"]) for t in page["trials"]] == [
                (asked["trial"], "running")
            ]
            await call(s, "tell", task_file="quad.yaml", trial=asked["trial"], value=3.0)

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_transport_runs_a_study(tmp_path: Path) -> None:
    """Streamable HTTP on 127.0.0.1: validate, run two trials with progress, best."""
    _write_quad(tmp_path, n_trials=2)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, *_server_argv(tmp_path, "--http", str(port))],
        env={**os.environ, **_env()},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server never listened"
                time.sleep(0.2)

        async def main() -> None:
            url = f"http://127.0.0.1:{port}/mcp"
            async with (
                streamable_http_client(url) as (read, write),
                ClientSession(read, write) as s,
            ):
                await s.initialize()
                await call(s, "validate_task", task_file="quad.yaml")
                seen: list[float] = []

                async def on_progress(done: float, total: float | None, _: str | None) -> None:
                    seen.append(done)

                result = await s.call_tool(
                    "run_trials",
                    {"task_file": "quad.yaml", "n_trials": 2, "wait_seconds": 120},
                    progress_callback=on_progress,
                )
                assert result.structured_content is not None
                assert result.structured_content["state"] == "finished"
                assert seen
                assert seen[-1] == 2
                best = await call(s, "best", task_file="quad.yaml")
                assert set(best["config"]) == {"x", "kind"}

        asyncio.run(main())
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_cancel_stops_the_running_trial_and_queues_it_again(tmp_path: Path) -> None:
    """cancel_run kills a running trial at once; it is stored as interrupted, outside the
    budget, and queued to run again (the service, without a transport)."""
    from agenthpo.mcp import Service

    (tmp_path / "slow.py").write_text(SLOW)
    (tmp_path / "slow.yaml").write_text(
        QUAD_TASK.format(secret="s", n_trials=3).replace("quad:objective", "slow:objective")
    )
    service = Service(tmp_path)
    job = service.run_trials("slow.yaml", n_trials=2, strategy="random")
    deadline = time.monotonic() + 30
    while job.running is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.running is not None
    time.sleep(1.5)  # the trial reported its first step
    start = time.monotonic()
    job.stop()
    assert job.thread is not None
    job.thread.join(20)
    assert time.monotonic() - start < 10
    assert job.status()["state"] == "cancelled"
    trials = service.trials("slow.yaml")["trials"]
    assert trials[0]["state"] == "failed"
    assert trials[0]["not_counted"] == "interrupted"
    assert trials[1]["state"] == "waiting"
    assert trials[1]["config"] == trials[0]["config"]
    assert service.study_status("slow.yaml")["budget"]["counted"] == 0
