"""The MCP server: AgentHPO's tools and resources over the official ``mcp`` SDK.

Thin: each tool validates its arguments (by its JSON schema, which admits no other
argument), calls :class:`Service` in a worker thread and returns its data. A user's mistake
becomes a structured error result (``is_error``, with ``{"error": {"tool", "type",
"message", "problems"}}``), or a resource error carrying AgentHPO's message; nothing is
stored by a call that fails. No result holds a secret: URLs are shown without their
passwords and query values, and the environment's keys and tokens are masked. Long runs
happen in background threads, so the protocol keeps answering while trials run.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
import time
import warnings
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import CallToolResult, InputRequiredResult, TextContent
from mcp_types import Tool as MCPTool
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field, ValidationError

from agenthpo._version import __version__
from agenthpo.errors import AgentHPOError
from agenthpo.llm._mask import mask, redact_text
from agenthpo.mcp._jobs import Job
from agenthpo.mcp._service import Service, dumps
from agenthpo.task import STRATEGY_NAMES

__all__ = ["build_server", "serve"]

_logger = logging.getLogger("agenthpo")

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
_POLL_S = 0.2

INSTRUCTIONS = """\
AgentHPO tunes hyperparameters of a training script. Paths are relative to the server's root.
Typical study: draft_task (read a script, review the draft, write=true) -> validate_task ->
run_trials (background; follow with run_status) or ask/tell (you run each trial) or
proposer_view/propose (you are the proposer) -> best / trials / importance -> report."""

TaskFile = Annotated[str, Field(description="The task YAML file, relative to the server's root.")]
LLMSpec = Annotated[
    str | None,
    Field(
        description="The server's LLM for proposals: e.g. 'openai:gpt-4o-mini',"
        " 'ollama:qwen2.5:7b', 'random' (no LLM); default: the task's llm, else the server's"
        " environment."
    ),
]


def _secrets() -> list[str]:
    """Values of the environment's keys and tokens, which no result may show."""
    return sorted(
        (v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8),
        key=len,
        reverse=True,
    )


def scrub(text: str) -> str:
    """``text`` with the secrets of its URLs (a database's password in a storage URL, a
    key in a query) and every secret of the environment replaced by ``***``."""
    return redact_text(text, _secrets())


def clean(data: Any) -> Any:
    """JSON-like ``data`` with :func:`scrub` applied to every string in it (keys included):
    done on the data rather than its JSON text, whose escapes a URL's end would swallow."""
    secrets = _secrets()

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return redact_text(value, secrets)
        if isinstance(value, Mapping):
            return {walk(k): walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        return value

    return walk(data)


def _schema_types(schema: Mapping[str, Any]) -> set[str]:
    """The JSON types ``schema`` admits (through ``anyOf``, as pydantic writes ``X | None``)."""
    kind = schema.get("type")
    found = {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()
    for alternative in schema.get("anyOf", ()):
        found |= _schema_types(alternative)
    return found


def _bool_problems(schema: Mapping[str, Any], value: Any, where: str) -> list[str]:
    """A boolean where ``schema`` wants a number (pydantic would read ``true`` as 1), in
    ``value`` or in the values of a mapping in it (``metrics``)."""
    if isinstance(value, bool):
        types = _schema_types(schema)
        if "boolean" in types or not types & {"integer", "number"}:
            return []
        kind = "a number" if "number" in types else "an integer"
        return [f"{where}: give {kind}, not {str(value).lower()}"]
    if not isinstance(value, dict):
        return []
    problems: list[str] = []
    for alternative in (schema, *schema.get("anyOf", ())):
        items = alternative.get("additionalProperties")
        if isinstance(items, dict):
            for key, item in value.items():
                problems += _bool_problems(items, item, f"{where}.{key}")
    return problems


def argument_problems(
    tool: str, schema: Mapping[str, Any], arguments: Mapping[str, Any]
) -> list[str]:
    """What in ``arguments`` the tool's schema refuses and the SDK's validation lets
    through: an argument the tool does not have (a typo such as ``n_trial`` would be
    dropped, and the default used, in silence), and a boolean where a number is expected.

    Example:
        >>> schema = {"properties": {"trial": {"type": "integer"}}}
        >>> for problem in argument_problems("get_trial", schema, {"trial": True, "n": 1}):
        ...     print(problem)
        n: get_trial has no argument n (its arguments: trial)
        trial: give an integer, not true
    """
    known = schema.get("properties", {})
    problems = [
        f"{key}: {tool} has no argument {key} (its arguments: {', '.join(known)})"
        for key in arguments
        if key not in known
    ]
    for key, value in arguments.items():
        if key in known:
            problems += _bool_problems(known[key], value, key)
    return problems


def _error(tool: str, kind: str, message: str, problems: list[str]) -> CallToolResult:
    """A tool's structured error result."""
    error = {
        "error": {
            "tool": tool,
            "type": kind,
            "message": scrub(message),
            "problems": [scrub(p) for p in problems],
            "stored": "nothing: a call that fails changes no study",
        }
    }
    return CallToolResult(
        content=[TextContent(type="text", text=dumps(error))],
        structured_content=error,
        is_error=True,
    )


def _invalid(tool: str, problems: list[str]) -> CallToolResult:
    return _error(
        tool, "invalid_arguments", f"{tool}: the arguments do not fit the tool's schema", problems
    )


def _error_result(tool: str, exc: BaseException) -> CallToolResult:
    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        return _invalid(
            tool,
            [
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in cause.errors()
            ],
        )
    if isinstance(cause, AgentHPOError):
        kind = type(cause).__name__
        problems = str(cause).splitlines() or [kind]
        message = problems[0]
    elif cause is None:
        kind = "tool_error"
        message = str(exc)
        problems = [message]
    else:
        kind = "internal_error"
        message = f"{type(cause).__name__}: {cause}"
        problems = [message]
        _logger.error("tool %s failed", tool, exc_info=cause)
    return _error(tool, kind, message, problems)


class _Server(MCPServer[Any]):
    """:class:`MCPServer` whose tools take only the arguments their schemas declare, whose
    tool errors are structured data, and whose results never hold a secret."""

    async def list_tools(self) -> list[MCPTool]:
        """The tools, each schema saying that it admits no other argument."""
        return [
            tool.model_copy(
                update={"input_schema": {**tool.input_schema, "additionalProperties": False}}
            )
            for tool in await super().list_tools()
        ]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        schema = next((t.input_schema for t in await self.list_tools() if t.name == name), None)
        problems = [] if schema is None else argument_problems(name, schema, arguments)
        if problems:
            return _invalid(name, problems)
        try:
            result = await super().call_tool(name, arguments, context)
        except ToolError as exc:
            return _error_result(name, exc)
        if not isinstance(result, CallToolResult):
            return result
        if result.structured_content is not None:
            data = clean(result.structured_content)
            if data != result.structured_content:
                result = CallToolResult(
                    content=[TextContent(type="text", text=dumps(data))],
                    structured_content=data,
                    is_error=result.is_error,
                )
        else:  # no data to clean: mask the environment's secrets in the text as sent
            text = result.model_dump_json(by_alias=True)
            masked = mask(text, _secrets())
            if masked != text:
                result = CallToolResult.model_validate_json(masked)
        return result


async def _follow(job: Job, ctx: Context[Any, Any], wait_seconds: float) -> dict[str, Any]:
    """Waits up to ``wait_seconds`` for the run to end, sending a progress notification
    each time a trial finishes; returns the run's status."""
    deadline = time.monotonic() + wait_seconds
    seen = -1
    while True:
        if job.done != seen:
            seen = job.done
            last = job.finished[-1] if job.finished else None
            message = (
                f"trial {last['trial']}: {last['state']} {last['value']}"
                f" (best {last['best_value']})"
                if last
                else "started"
            )
            await ctx.report_progress(seen, job.n_trials, scrub(message))
        if job.state != "running" or time.monotonic() >= deadline:
            return job.status()
        await anyio.sleep(_POLL_S)


def run_uri(job_id: str) -> str:
    """The resource of a background run's progress."""
    return f"agenthpo://run/{job_id}"


class _Notifier:
    """Tells clients how background runs go while no request of theirs is open.

    One task on the server's loop (started by the lifespan) polls the runs as ``_follow``
    does and, whenever a run's progress changes (a trial started or finished, the run
    ended), notifies in each protocol era's own way:

    - 2026-07-28 clients: a resource-updated event for ``agenthpo://run/{job}`` on the
      server's subscription bus, delivered to ``subscriptions/listen`` streams that
      subscribed to it; the client then reads the resource.
    - earlier (handshake) clients that started or followed the run: a log message
      (``notifications/message``, logger ``agenthpo.run``, the progress as data) on the
      connection's standalone channel, the only server-initiated channel those versions
      have outside a request.
    """

    def __init__(self, service: Service) -> None:
        self.service = service
        self.bus = InMemorySubscriptionBus()
        self._sessions: dict[str, dict[object, ServerSession]] = {}

    def follow(self, job: Job, session: ServerSession) -> None:
        """Sends ``job``'s progress to ``session``'s client too (handshake-era clients),
        once however often it asks: the SDK makes a new session object per request, so
        followers are told apart by their connection."""
        if session.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return  # these clients listen on the bus
        # the connection is not public; without it, the session (as before) stands for it
        client = getattr(session, "_connection", session)
        self._sessions.setdefault(job.id, {})[client] = session

    @asynccontextmanager
    async def lifespan(self, _: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        """Runs the polling task for as long as the server serves."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._watch)
            try:
                yield {}
            finally:
                group.cancel_scope.cancel()

    async def _watch(self) -> None:
        seen: dict[str, tuple[Any, ...]] = {}
        while True:
            for job in list(self.service.jobs.values()):
                key = (job.state, job.done, job.running and job.running.get("trial"))
                if seen.get(job.id) != key:
                    seen[job.id] = key
                    await self.publish(job)
            await anyio.sleep(_POLL_S)

    async def publish(self, job: Job) -> None:
        """Notifies every listener of ``job``'s progress now."""
        await self.bus.publish(ResourceUpdated(uri=run_uri(job.id)))
        data = clean(job.progress())
        followers = self._sessions.get(job.id, {})
        for client, session in list(followers.items()):
            try:
                with warnings.catch_warnings():
                    # deprecated only from the 2026-07-28 protocol on; these clients predate it
                    warnings.simplefilter("ignore", MCPDeprecationWarning)
                    await session.send_log_message("info", data, logger="agenthpo.run")
            except Exception as exc:  # a client that went away: stop telling it
                _logger.debug("run %s: a client stopped listening (%s)", job.id, exc)
                followers.pop(client, None)


def build_server(root: str | Path, *, service: Service | None = None) -> MCPServer[Any]:
    """The MCP server of AgentHPO, confined to ``root`` (``service``: its state, to reach
    the background runs from outside, as :func:`serve` does at exit).

    Example:
        >>> import tempfile
        >>> server = build_server(tempfile.mkdtemp())  # doctest: +SKIP
    """
    service = service if service is not None else Service(root)
    notifier = _Notifier(service)
    server = _Server(
        name="agenthpo",
        title="AgentHPO",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        lifespan=notifier.lifespan,
        subscriptions=notifier.bus,
    )

    def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    async def read(fn: Any, *args: Any) -> Any:
        """``fn(*args)`` for a resource: a user's mistake reaches the client as AgentHPO's
        message, on one line (the SDK shows any other exception only as "Error creating
        resource", with a traceback on stderr)."""
        try:
            return await run(fn, *args)
        except AgentHPOError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            raise ResourceError(scrub("; ".join(lines) or type(exc).__name__)) from None

    @server.tool()
    async def draft_task(
        script: Annotated[str, Field(description="The training script (.py), read, never run.")],
        function: Annotated[
            str | None, Field(description="Read this function's parameters instead of its CLI.")
        ] = None,
        metric: Annotated[str | None, Field(description="The metric to optimize.")] = None,
        direction: Literal["maximize", "minimize"] | None = None,
        n_trials: Annotated[int, Field(ge=1, le=100_000)] = 20,
        out: Annotated[
            str | None, Field(description="The task file to write (default: task.yaml beside).")
        ] = None,
        write: Annotated[
            bool, Field(description="Write the draft (default: only return it).")
        ] = False,
        force: Annotated[bool, Field(description="Replace an existing task file.")] = False,
        llm: LLMSpec = None,
    ) -> dict[str, Any]:
        """Draft a task file from a training script: hyperparameters, ranges with reasons,
        objective; returns the YAML and its review, and writes it only with write=true."""
        result: dict[str, Any] = await run(
            service.draft_task,
            script,
            function=function,
            metric=metric,
            direction=direction,
            n_trials=n_trials,
            out=out,
            write=write,
            force=force,
            llm=llm,
        )
        return result

    @server.tool()
    async def validate_task(
        task_file: TaskFile,
        yaml_text: Annotated[
            str | None,
            Field(description="Validate this YAML as if written at task_file (nothing written)."),
        ] = None,
    ) -> dict[str, Any]:
        """Check a task file (or YAML text) as agenthpo run would; every problem is listed."""
        if yaml_text is not None:
            text_result: dict[str, Any] = await run(
                service.validate_task_text, yaml_text, task_file
            )
            return text_result
        result: dict[str, Any] = await run(service.validate_task, task_file)
        return result

    @server.tool()
    async def ask(
        task_file: TaskFile,
        llm: LLMSpec = None,
        seed: int | None = None,
        n_trials: Annotated[
            int | None, Field(ge=1, description="The study's total budget (default: the task's).")
        ] = None,
    ) -> dict[str, Any]:
        """Start the next trial, proposed by the study's strategy, for you to run; returns
        its number, config, rationale and command. Report it with tell."""
        result: dict[str, Any] = await run(
            service.ask, task_file, llm=llm, seed=seed, n_trials=n_trials
        )
        return result

    @server.tool()
    async def tell(
        task_file: TaskFile,
        trial: Annotated[int, Field(ge=0, description="The trial number ask or propose gave.")],
        value: Annotated[float | None, Field(description="The objective's value.")] = None,
        metrics: Annotated[
            dict[str, float] | None, Field(description="Final metrics, the objective's included.")
        ] = None,
        failed: Annotated[str | None, Field(description="The run failed: why.")] = None,
        pruned: Annotated[
            str | None,
            Field(
                description="You stopped the run early as not promising: why (value and"
                " metrics are then the last seen)."
            ),
        ] = None,
        step: Annotated[
            int | None,
            Field(ge=0, description="With pruned: the step of the last value seen."),
        ] = None,
    ) -> dict[str, Any]:
        """Report a trial's result (value or metrics), its failure, or its pruning."""
        result: dict[str, Any] = await run(
            service.tell,
            task_file,
            trial=trial,
            value=value,
            metrics=metrics,
            failed=failed,
            pruned=pruned,
            step=step,
        )
        return result

    @server.tool()
    async def run_trials(
        task_file: TaskFile,
        ctx: Context[Any, Any],
        n_trials: Annotated[
            int,
            Field(
                ge=1,
                le=10_000,
                description="Trials to add now (trials asked and not yet told take none of them).",
            ),
        ] = 1,
        llm: LLMSpec = None,
        seed: int | None = None,
        strategy: Annotated[
            str | None,
            Field(description=f"One of {', '.join(STRATEGY_NAMES)}."),
        ] = None,
        wait_seconds: Annotated[
            float,
            Field(
                ge=0,
                le=3600,
                description="Wait this long for the run, with progress notifications (0: return"
                " at once; follow later with run_status).",
            ),
        ] = 0.0,
    ) -> dict[str, Any]:
        """Run N more trials of the task in the background (the task's own command or
        function); returns the run's id at once. Follow with run_status or the resource
        agenthpo://run/{job} (updates are notified as trials finish); stop with cancel_run."""
        job: Job = await run(
            service.run_trials, task_file, n_trials=n_trials, llm=llm, seed=seed, strategy=strategy
        )
        notifier.follow(job, ctx.session)
        return await _follow(job, ctx, wait_seconds)

    @server.tool()
    async def run_status(
        job: Annotated[str, Field(description="The run id run_trials returned.")],
        ctx: Context[Any, Any],
        wait_seconds: Annotated[
            float, Field(ge=0, le=3600, description="Wait for the run, with progress.")
        ] = 0.0,
    ) -> dict[str, Any]:
        """A background run's state: trials done, the one running, recent results, summary."""
        found = service.job(job)
        notifier.follow(found, ctx.session)
        return await _follow(found, ctx, wait_seconds)

    @server.tool()
    async def cancel_run(
        job: Annotated[str, Field(description="The run id run_trials returned.")],
    ) -> dict[str, Any]:
        """Stop a background run; its running trial is stored as interrupted and re-queued."""
        found = service.job(job)
        found.stop()
        if found.thread is not None:
            await run(found.thread.join, 30.0)
        return found.status()

    @server.tool()
    async def study_status(task_file: TaskFile) -> dict[str, Any]:
        """The study's trial counts, budget, best so far, and runs in progress."""
        result: dict[str, Any] = await run(service.study_status, task_file)
        return result

    @server.tool()
    async def best(task_file: TaskFile) -> dict[str, Any]:
        """The best trial's config, value and metrics (several objectives: the Pareto front)."""
        result: dict[str, Any] = await run(service.best, task_file)
        return result

    @server.tool()
    async def trials(
        task_file: TaskFile,
        offset: Annotated[int, Field(ge=0)] = 0,
        limit: Annotated[int, Field(ge=1, le=200)] = 20,
        state: Literal["complete", "failed", "pruned", "running", "waiting"] | None = None,
    ) -> dict[str, Any]:
        """One page of trials with config, values, who proposed and why, analysis, error."""
        result: dict[str, Any] = await run(
            service.trials, task_file, offset=offset, limit=limit, state=state
        )
        return result

    @server.tool()
    async def get_trial(task_file: TaskFile, trial: Annotated[int, Field(ge=0)]) -> dict[str, Any]:
        """One trial's whole record: metrics, learning curve, stderr tail, LLM usage."""
        result: dict[str, Any] = await run(service.trial_record, task_file, trial)
        return result

    @server.tool()
    async def importance(
        task_file: TaskFile,
        evaluator: Literal["fanova", "ped-anova", "mean-decrease-impurity"] = "fanova",
    ) -> dict[str, Any]:
        """How much each hyperparameter explains of the objective (shares summing to 1)."""
        result: dict[str, Any] = await run(service.importance, task_file, evaluator=evaluator)
        return result

    @server.tool()
    async def llm_usage(task_file: TaskFile) -> dict[str, Any]:
        """The LLM's calls, tokens, cost in dollars and fallbacks over the whole study."""
        result: dict[str, Any] = await run(service.llm_usage, task_file)
        return result

    @server.tool()
    async def report(
        task_file: TaskFile,
        out_dir: Annotated[
            str | None, Field(description="Folder for report.html/md (default: beside the task).")
        ] = None,
        llm: LLMSpec = None,
        evaluator: Literal["fanova", "ped-anova", "mean-decrease-impurity"] = "fanova",
    ) -> dict[str, Any]:
        """Write the study's report (HTML and Markdown); returns its summary as data and
        the paths."""
        result: dict[str, Any] = await run(
            service.report, task_file, out_dir=out_dir, llm=llm, evaluator=evaluator
        )
        return result

    @server.tool()
    async def proposer_view(task_file: TaskFile) -> dict[str, Any]:
        """What a proposer should read to choose the next config: the task, the space, a
        bounded history with analyses and failures (hidden metrics removed). Answer with propose."""
        result: dict[str, Any] = await run(service.proposer_view, task_file)
        return result

    @server.tool()
    async def propose(
        task_file: TaskFile,
        ctx: Context[Any, Any],
        config: Annotated[dict[str, Any], Field(description="A value for every parameter.")],
        rationale: Annotated[
            str, Field(description="One line: why this config, from the history.")
        ],
        client: Annotated[
            str, Field(description="Your name, stored as proposed_by 'client:NAME'.")
        ] = "client",
        start: Annotated[
            Literal["ask", "queue", "run"],
            Field(
                description="ask: start it for you to run and tell; run: the server runs it in"
                " the background; queue: only enqueue it."
            ),
        ] = "ask",
        n_trials: Annotated[
            int | None, Field(ge=1, description="The study's total budget.")
        ] = None,
    ) -> dict[str, Any]:
        """Propose the next trial yourself: the config is checked against the space and
        against every earlier trial (duplicates refused), then stored as a normal trial."""
        result: dict[str, Any] = await run(
            service.propose,
            task_file,
            config=config,
            rationale=rationale,
            client=client,
            start=start,
            n_trials=n_trials,
        )
        if "job" in result:
            notifier.follow(service.job(result["job"]), ctx.session)
        return result

    @server.resource("agenthpo://task/{+task_file}", mime_type="text/yaml")
    async def task_resource(task_file: str) -> str:
        """The task file (a storage URL's password masked)."""
        text: str = await read(service.task_text, task_file)
        return scrub(text)

    @server.resource("agenthpo://report/{+task_file}", mime_type="text/markdown")
    async def report_resource(task_file: str) -> str:
        """The study's report in Markdown, built from the stored study."""
        text: str = await read(service.report_markdown, task_file)
        return scrub(text)

    @server.resource("agenthpo://run/{job}", mime_type="application/json")
    async def run_resource(job: str) -> str:
        """A background run's progress and status as JSON (updated as trials finish)."""
        found: Job = await read(service.job, job)
        return dumps(clean(found.status()))

    @server.resource("agenthpo://trial/{number}/{+task_file}", mime_type="application/json")
    async def trial_resource(number: str, task_file: str) -> str:
        """One trial's record as JSON."""
        if not number.isdigit():
            raise ResourceError(f"trial {number!r}: give a trial number")
        record = await read(service.trial_record, task_file, int(number))
        return dumps(clean(record))

    return server


SHARED_MODULES = ("scipy.stats", "torch")
"""Modules the backbone loads on first use, which a background run's thread and a
request's thread could both import first."""


def import_shared_modules() -> None:
    """Imports :data:`SHARED_MODULES` (those installed) before any thread runs: two threads
    importing SciPy's QMC at once (a background run and an ``ask``) saw it half initialized,
    and the ``ask`` failed with an ImportError and left a failed trial behind."""
    for name in SHARED_MODULES:
        if importlib.util.find_spec(name.split(".")[0]) is not None:
            try:
                importlib.import_module(name)
            except Exception:  # a broken install shows where it is used, as before
                _logger.debug("could not import %s ahead", name, exc_info=True)


def serve(*, root: str | Path, http: int | None = None) -> None:
    """Serves until the client disconnects (stdio) or the process is stopped (HTTP).

    Args:
        root: The only folder the server reads, writes and runs trials in.
        http: Serve streamable HTTP on ``127.0.0.1:PORT`` (path ``/mcp``) instead of stdio.
    """
    import_shared_modules()
    service = Service(root)
    server = build_server(root, service=service)
    try:
        if http is None:
            anyio.run(server.run_stdio_async)
        else:
            anyio.run(lambda: server.run_streamable_http_async(host="127.0.0.1", port=http))
    finally:
        # The client went away, or Ctrl-C / SIGTERM: a background run's trial in flight is
        # stored as interrupted and queued again, not left running for a grace period.
        service.stop_runs()
