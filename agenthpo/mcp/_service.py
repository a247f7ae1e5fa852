"""What the MCP server's tools do, as plain Python over AgentHPO's API.

Every method takes JSON-like arguments, confines each path to the server's root, and returns
JSON-able data; a user's mistake raises an :mod:`agenthpo.errors` exception whose message
says what to fix (the server turns it into a structured tool error). Nothing here knows MCP,
so it is tested directly too.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys
from agenthpo._lifecycle import budget
from agenthpo.agent.history import TrialView, render_history, trial_views
from agenthpo.agent.prompts import answer_schema, goal_text
from agenthpo.agent.screen import OutsideScreen
from agenthpo.errors import AgentHPOError, NoResultError
from agenthpo.llm import LLMClient, resolve_llm
from agenthpo.mcp._jobs import Job, state_name
from agenthpo.mcp._paths import Root
from agenthpo.reporting import build_report, collect_data, make_report, measure_importance
from agenthpo.reporting._data import read_selection
from agenthpo.reporting._markdown import render_markdown
from agenthpo.scaffold import draft_task, render_draft, write_draft
from agenthpo.scaffold._read import split_target
from agenthpo.studies import asked_record, open_study, propose_trial, queue_tuner, tell_trial
from agenthpo.task import Task, load_task, task_from_dict
from agenthpo.tuner import (
    TrialEvent,
    Tuner,
    build_executor,
    reevaluation_runs,
)

__all__ = ["Service"]

_logger = logging.getLogger("agenthpo")

_STATES = {
    "complete": TrialState.COMPLETE,
    "failed": TrialState.FAIL,
    "pruned": TrialState.PRUNED,
    "running": TrialState.RUNNING,
    "waiting": TrialState.WAITING,
}
_STATE_NAMES = {v: k for k, v in _STATES.items()}
_SUMMARY_ATTRS = (
    _keys.PROPOSED_BY,
    _keys.RATIONALE,
    _keys.ANALYSIS,
    _keys.ERROR,
    _keys.FALLBACK_REASON,
    _keys.NOT_COUNTED,
    _keys.DURATION_S,
    _keys.LLM_MODEL,
    _keys.SCREENED,
)
_RECORD_ATTRS = (
    *_SUMMARY_ATTRS,
    _keys.METRICS,
    _keys.CURVE,
    _keys.STDERR_TAIL,
    _keys.EXIT_CODE,
    _keys.STRATEGY,
    _keys.LLM_PROMPT_TOKENS,
    _keys.LLM_COMPLETION_TOKENS,
    _keys.LLM_CALLS,
    _keys.LLM_COST,
    _keys.LLM_LATENCY_S,
    _keys.LLM_REPAIRED,
    _keys.WARM_START,
    _keys.RERUN_OF,
)
MAX_PAGE = 200
"""Most trials one page of ``trials`` holds."""


_CLI_PHRASES = (
    ("--intermediate and --step describe", "step describes"),
    ("a metrics JSON", "metrics"),
    ("`agenthpo ask`", "ask"),
    ("`ask` printed", "ask gave"),
)
_CLI_FLAG = re.compile(r"--(value|metrics|failed|pruned|intermediate|step)\b( REASON)?")


def _tool_words(message: str) -> str:
    """``agenthpo tell``'s message in the words of the ``tell`` tool: its arguments
    (``value``, ``metrics``, ``failed``, ...) instead of the CLI's options (``--value``,
    ``--failed REASON``; ``--intermediate`` is the tool's ``value`` of a pruned trial).

    Example:
        >>> _tool_words("give --value or a metrics JSON with 'loss' (or --failed REASON)")
        "give value or metrics with 'loss' (or failed with the reason)"
    """
    for cli, tool in _CLI_PHRASES:
        message = message.replace(cli, tool)
    return _CLI_FLAG.sub(
        lambda m: (
            ("value" if m[1] == "intermediate" else m[1]) + (" with the reason" if m[2] else "")
        ),
        message,
    )


def _client_name(client: str) -> str:
    name = "".join(c for c in client.strip() if c.isalnum() or c in "-_.:")[:40]
    if not name:
        raise AgentHPOError(
            "client: give a short name such as 'claude-code' (letters, digits, -_.)"
        )
    return name


class Service:
    """The tools of ``agenthpo mcp``, confined to ``root``.

    Args:
        root: The only folder the server reads, writes and runs trials in.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Root(root)
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    # -- tasks -------------------------------------------------------------------------
    def task(self, task_file: str) -> Task:
        """Loads a task file inside the root and checks that the task stays inside it."""
        path = self.root.path(task_file, what="task_file")
        task = load_task(path)
        self.root.check_task(task)
        return task

    def draft_task(
        self,
        script: str,
        *,
        function: str | None = None,
        metric: str | None = None,
        direction: Literal["maximize", "minimize"] | None = None,
        n_trials: int = 20,
        out: str | None = None,
        write: bool = False,
        force: bool = False,
        llm: str | None = None,
    ) -> dict[str, Any]:
        """Drafts a task from a script (read, never run), as ``agenthpo init`` does."""
        path = self.root.path(script, what="script")
        if not path.is_file() or path.suffix != ".py":
            raise AgentHPOError(f"script {script!r}: give a Python file (.py) inside the root")
        if function is not None and not function.isidentifier():
            raise AgentHPOError(f"function {function!r}: give the name of a function in the script")
        target = f"{path}:{function}" if function else str(path)
        split_target(target)  # the same checks as init
        destination = (
            self.root.path(out, what="out", must_exist=False)
            if out is not None
            else path.parent / "task.yaml"
        )
        if write and destination.exists() and not force:
            raise AgentHPOError(
                f"{self.root.relative(destination)} already exists; give force=true to replace"
                " it, or another out"
            )
        client: LLMClient | None = None
        if llm is not None:
            client, _ = resolve_llm(llm)
        draft = draft_task(
            target,
            llm=client,
            metric=metric,
            direction=direction,
            out=destination,
            n_trials=n_trials,
        )
        text = render_draft(draft)
        written = write_draft(draft, force=force) if write else None
        return {
            "task_file": self.root.relative(destination),
            "written": written is not None,
            "yaml": text,
            "review": [
                {
                    "name": p.option.name,
                    "kind": p.option.kind,
                    "default": p.option.default if p.option.has_default else None,
                    "spec": p.spec,
                    "source": p.source,
                    "reason": p.reason,
                    "fixes": list(p.fixes),
                }
                for p in draft.params
            ],
            "skipped": [
                {"name": s.name, "flag": s.flag, "reason": s.reason, "required": s.required}
                for s in draft.skipped
            ],
            "objective": dataclasses.asdict(draft.objective),
            "warnings": list(draft.warnings),
            "llm": draft.llm,
            "llm_problem": draft.llm_problem,
            "next": "review the draft, then call draft_task with write=true (or edit and"
            " validate_task), then run_trials or ask/tell",
        }

    def validate_task(self, task_file: str) -> dict[str, Any]:
        """Loads a task file and says what it declares (or raises with every problem)."""
        task = self.task(task_file)
        return {
            "valid": True,
            "task_file": task_file,
            "name": task.name,
            "objectives": [{"metric": o.metric, "direction": o.direction} for o in task.objectives],
            "hidden_metrics": list(task.hidden_metrics),
            "space": task.space.to_dict(),
            "n_trials": task.n_trials,
            "strategy": task.strategy,
            "runs": {"command": task.command}
            if task.command is not None
            else {"function": task.function},
            "storage": self.root.relative(Path(task.default_storage().removeprefix("sqlite:///")))
            if task.default_storage().startswith("sqlite:///")
            else "(a database server)",
        }

    def validate_task_text(self, yaml_text: str, task_file: str) -> dict[str, Any]:
        """Validates a task given as YAML text, as if written at ``task_file``; writes nothing."""
        path = self.root.path(task_file, what="task_file", must_exist=False)
        try:
            data = yaml.safe_load(yaml_text)
        except yaml.YAMLError as exc:
            raise AgentHPOError(f"invalid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise AgentHPOError("a task must be a YAML mapping")
        task = task_from_dict(data, base_dir=path.parent, label=task_file)
        self.root.check_task(task)
        return {"valid": True, "name": task.name, "space": task.space.to_dict()}

    # -- studies -----------------------------------------------------------------------
    def _llm(self, task: Task, llm: str | None) -> LLMClient | None:
        return None if llm is None else resolve_llm(llm, settings=task.llm_settings())[0]

    def study(self, task: Task) -> optuna.Study:
        """The task's stored study; raises when nothing ran yet."""
        url = task.default_storage()
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            raise AgentHPOError(
                f"no study stored yet for task {task.name!r}; start one with run_trials, ask"
                " or propose"
            )
        return open_study(task)

    def ask(
        self,
        task_file: str,
        *,
        llm: str | None = None,
        seed: int | None = None,
        n_trials: int | None = None,
    ) -> dict[str, Any]:
        """Starts a trial to run outside (``agenthpo ask``)."""
        task = self.task(task_file)
        tuner = Tuner(task, seed=seed, llm=self._llm(task, llm), n_trials=n_trials)
        return _asked(task, tuner.ask())

    def tell(
        self,
        task_file: str,
        *,
        trial: int,
        value: float | None = None,
        metrics: Mapping[str, float] | None = None,
        failed: str | None = None,
        pruned: str | None = None,
        step: int | None = None,
    ) -> dict[str, Any]:
        """Stores a result, a failure or a pruning of a trial started with ``ask``.

        The checks are ``agenthpo tell``'s (:func:`agenthpo.studies.tell_trial`: a value
        that disagrees with the metrics, a blank reason, ...); with ``pruned``, ``value`` is
        the last value seen (the CLI's ``--intermediate``). Its messages name the tool's
        arguments instead of the CLI's options.
        """
        task = self.task(task_file)
        try:
            frozen = tell_trial(
                task,
                trial,
                value=value if pruned is None else None,
                intermediate=value if pruned is not None else None,
                metrics=metrics,
                failed=failed,
                pruned=pruned,
                step=step,
            )
        except AgentHPOError as exc:
            raise AgentHPOError(_tool_words(str(exc))) from None
        return self._trial_summary(frozen)

    def run_trials(
        self,
        task_file: str,
        *,
        n_trials: int,
        llm: str | None = None,
        seed: int | None = None,
        strategy: str | None = None,
    ) -> Job:
        """Starts ``n_trials`` more trials of the task in the background."""
        task = self.task(task_file)
        if strategy is not None:
            from agenthpo.task import task_with

            task = task_with(task, strategy=strategy)
        key = str(task.source)
        with self._lock:
            busy = [j for j in self.jobs.values() if j.state == "running" and j.task_file == key]
            if busy:
                raise AgentHPOError(
                    f"run {busy[0].id} of this task is still running; wait for it"
                    " (run_status) or cancel it (cancel_run) first"
                )
            job = Job(task_file=key, n_trials=n_trials, target=self._target(task, n_trials))
            client = self._llm(task, llm)

            def make_tuner(**hooks: Any) -> Tuner:
                return Tuner(task, llm=client, seed=seed, n_trials=job.target, **hooks)

            job.start(make_tuner, build_executor(task))
            self.jobs[job.id] = job
        return job

    def _target(self, task: Task, n_trials: int) -> int:
        """The study-wide budget that lets a run add ``n_trials`` trials of its own.

        The tuner runs until the trials counted, plus those running, reach its budget (less
        the re-evaluation runs spent). Trials in flight (asked and not yet told, or run by a
        worker) hold slots until they end, so they are added to the target as well:
        otherwise they would take this run's trials, and asked trials that are never told
        would leave it none at all.
        """
        try:
            study = self.study(task)
        except AgentHPOError:
            return n_trials
        spent = budget(study)
        return spent.counted + spent.active + reevaluation_runs(study) + n_trials

    def stop_runs(self, wait: float = 30.0) -> None:
        """Stops every background run still going and waits up to ``wait`` seconds in all
        for them to store their running trials as interrupted (for the server's exit)."""
        running = [j for j in self.jobs.values() if j.state == "running"]
        for job in running:
            job.stop()
        deadline = time.monotonic() + wait
        for job in running:
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))

    def job(self, job_id: str) -> Job:
        """A run started by ``run_trials``."""
        found = self.jobs.get(job_id)
        if found is None:
            known = ", ".join(self.jobs) or "none"
            raise AgentHPOError(f"no run {job_id!r} (runs: {known})")
        return found

    def study_status(self, task_file: str) -> dict[str, Any]:
        """Counts, budget, best, runs in progress (a run just started may not have stored
        its study yet: its progress is shown all the same)."""
        task = self.task(task_file)
        key = str(task.source)
        runs = [j.status(recent=0) for j in self.jobs.values() if j.task_file == key]
        try:
            study = self.study(task)
        except AgentHPOError:
            if not runs:
                raise
            return {
                "study": task.name,
                "trials": 0,
                "states": {},
                "budget": {"n_trials": task.n_trials, "counted": 0, "running": 0},
                "best": None,
                "runs": runs,
            }
        trials = study.get_trials(deepcopy=False)
        counts: dict[str, int] = {}
        for t in trials:
            state = _STATE_NAMES.get(t.state, t.state.name.lower())
            counts[state] = counts.get(state, 0) + 1
        spent = budget(study)
        return {
            "study": study.study_name,
            "trials": len(trials),
            "states": counts,
            "budget": {
                "n_trials": task.n_trials,
                "counted": spent.counted,
                "running": spent.active,
            },
            "best": self._best(study, task),
            "runs": runs,
        }

    def best(self, task_file: str) -> dict[str, Any]:
        """The best trial (several objectives: the Pareto front)."""
        task = self.task(task_file)
        best = self._best(self.study(task), task)
        if best is None:
            raise NoResultError(f"study {task.name!r} has no completed trial yet")
        return best

    def _best(self, study: optuna.Study, task: Task) -> dict[str, Any] | None:
        if len(study.directions) > 1:
            front = sorted(study.best_trials, key=lambda t: t.number)
            if not front:
                return None
            return {
                "pareto_front": [
                    {
                        "trial": t.number,
                        "values": dict(zip(task.metric_names, t.values, strict=True)),
                        "config": t.params,
                    }
                    for t in front
                ]
            }
        try:
            trial = study.best_trial
        except ValueError:
            return None
        # With noise-robust selection, the recommended trial (maybe the default) is "best".
        selection, note = read_selection(study)
        if selection is not None:
            trial = next((t for t in study.trials if t.number == selection.recommended), trial)
        raw = study.user_attrs.get(_keys.STUDY_SELECTION)
        return {
            "trial": trial.number,
            "metric": task.objective.metric,
            "value": trial.value,
            "config": trial.params,
            "metrics": trial.user_attrs.get(_keys.METRICS, {}),
            "proposed_by": trial.user_attrs.get(_keys.PROPOSED_BY),
            "rationale": trial.user_attrs.get(_keys.RATIONALE),
            "selection": (
                {**raw, "verdict": selection.verdict()}
                if selection is not None and isinstance(raw, dict)
                else None
            ),
            "selection_note": note or None,
        }

    def trials(
        self,
        task_file: str,
        *,
        offset: int = 0,
        limit: int = 20,
        state: str | None = None,
    ) -> dict[str, Any]:
        """One page of trials, with rationale, analysis and failure."""
        if state is not None and state not in _STATES:
            raise AgentHPOError(f"state {state!r}: give one of {', '.join(_STATES)}")
        task = self.task(task_file)
        study = self.study(task)
        chosen = [
            t
            for t in study.get_trials(deepcopy=False)
            if state is None or t.state == _STATES[state]
        ]
        page = chosen[offset : offset + limit]
        return {
            "total": len(chosen),
            "offset": offset,
            "limit": limit,
            "next_offset": offset + limit if offset + limit < len(chosen) else None,
            "trials": [self._trial_summary(t) for t in page],
        }

    def trial_record(self, task_file: str, number: int) -> dict[str, Any]:
        """One trial's whole record (metrics, curve, stderr tail, LLM usage)."""
        task = self.task(task_file)
        study = self.study(task)
        found = [t for t in study.get_trials(deepcopy=False) if t.number == number]
        if not found:
            raise AgentHPOError(f"no trial {number} in study {task.name!r}")
        t = found[0]
        record = self._trial_summary(t, attrs=_RECORD_ATTRS)
        record["intermediate"] = {str(k): v for k, v in t.intermediate_values.items()}
        return record

    def _trial_summary(
        self, t: FrozenTrial, *, attrs: tuple[str, ...] = _SUMMARY_ATTRS
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "trial": t.number,
            "state": _STATE_NAMES.get(t.state, t.state.name.lower()),
            "values": list(t.values) if t.values else None,
            "config": t.params or t.system_attrs.get("fixed_params") or {},
        }
        for key in attrs:
            if key in t.user_attrs:
                out[key] = t.user_attrs[key]
        return out

    def importance(self, task_file: str, *, evaluator: str = "fanova") -> dict[str, Any]:
        """How much each parameter explains of the objective's variation."""
        task = self.task(task_file)
        try:
            measured = measure_importance(self.study(task), evaluator=evaluator)
        except ValueError as exc:
            raise AgentHPOError(str(exc)) from None
        return {
            "evaluator": measured.evaluator,
            "importance": measured.values,
            "important": measured.important(),
            "n_trials": measured.n_trials,
            "note": measured.note,
            "single_valued": list(measured.single_valued),
            "not_measured": list(measured.not_measured),
        }

    def llm_usage(self, task_file: str) -> dict[str, Any]:
        """The LLM's calls, tokens, cost and fallbacks over the study."""
        task = self.task(task_file)
        usage = collect_data(self.study(task)).llm
        data = dataclasses.asdict(usage)
        data["models"] = list(usage.models)
        data["total_tokens"] = usage.total_tokens
        return data

    def report(
        self,
        task_file: str,
        *,
        out_dir: str | None = None,
        llm: str | None = None,
        evaluator: str = "fanova",
    ) -> dict[str, Any]:
        """Writes the study's report (HTML and Markdown) and returns its summary as data."""
        task = self.task(task_file)
        study = self.study(task)
        path = self.root.path(task_file, what="task_file")
        directory = (
            self.root.path(out_dir, what="out_dir", must_exist=False)
            if out_dir is not None
            else path.parent / f"{path.stem}-report"
        )
        if evaluator not in ("fanova", "ped-anova", "mean-decrease-impurity"):
            raise AgentHPOError(
                f"evaluator {evaluator!r}: give fanova, ped-anova or mean-decrease-impurity"
            )
        paths = build_report(
            study, out_dir=directory, llm=self._llm(task, llm), evaluator=evaluator
        )
        report = paths.report
        summary = report.summary
        facts = report.facts()
        facts["states"] = {state_name(k): v for k, v in facts["states"].items()}
        return {
            "facts": facts,
            "summary": {
                "source": summary.source,
                "author": summary.author,
                "sections": [dataclasses.asdict(s) for s in summary.sections],
                "important_params": summary.important_params,
                "note": summary.note,
            },
            "html": self.root.relative(paths.html),
            "markdown": self.root.relative(paths.markdown),
        }

    def report_markdown(self, task_file: str) -> str:
        """The report in Markdown, built in memory from the stored study (no LLM)."""
        task = self.task(task_file)
        return render_markdown(make_report(self.study(task)))

    def task_text(self, task_file: str) -> str:
        """The task file's text."""
        self.task(task_file)
        return self.root.path(task_file, what="task_file").read_text(encoding="utf-8")

    # -- the client as the Creator -----------------------------------------------------
    def proposer_view(
        self, task_file: str, *, n_best: int = 5, n_recent: int = 5
    ) -> dict[str, Any]:
        """What the agent's own prompt would hold, hidden metrics removed."""
        task = self.task(task_file)
        try:
            study = self.study(task)
            stored = study.get_trials(deepcopy=False)
        except AgentHPOError:
            stored = []
        views = trial_views(stored, hidden_metrics=task.hidden_metrics, metric=task.metric_names)
        history = render_history(
            views,
            metric=task.metric_names,
            direction=task.directions,
            space=task.space,
            n_best=n_best,
            n_recent=n_recent,
            hidden_metrics=task.hidden_metrics,
        )
        context = task.context()
        finished = [v for v in views if v.state != "running"]
        complete = [v for v in finished if v.state == "complete" and v.value is not None]
        sign = -1.0 if task.directions[0] == "maximize" else 1.0
        best = sorted(complete, key=lambda v: (sign * float(v.value or 0.0), v.number))[:n_best]
        failures: dict[str, TrialView] = {}
        for v in finished:
            if v.state == "failed" and v.error:
                failures.setdefault(v.error.split(":", 1)[0][:60], v)
        waiting = [t for t in stored if t.state == TrialState.WAITING]
        spent = budget(study) if stored else None
        return {
            "task": {
                "name": context.name,
                "description": context.description,
                "dataset": context.dataset,
                "model": context.model,
                "goal": goal_text(context),
            },
            "space": task.space.to_dict(),
            "answer_schema": answer_schema(task.space),
            "history": history,
            "best": [_view(v) for v in best],
            "recent": [_view(v) for v in finished[-n_recent:]],
            "running": [_view(v) for v in views if v.state == "running"],
            "failures": [_view(v) for v in failures.values()],
            "waiting": [
                {"trial": t.number, "config": t.system_attrs.get("fixed_params") or {}}
                for t in waiting
            ],
            "budget": {
                "n_trials": task.n_trials,
                "counted": spent.counted if spent else 0,
                "running": spent.active if spent else 0,
            },
            "how_to_answer": "call propose with a config that fits the space and a one-line"
            " rationale that cites the history",
        }

    def propose(
        self,
        task_file: str,
        *,
        config: Mapping[str, Any],
        rationale: str,
        client: str = "client",
        start: Literal["ask", "queue", "run"] = "ask",
        n_trials: int | None = None,
    ) -> dict[str, Any]:
        """Takes the client's configuration as the next trial (validated, de-duplicated).

        The trial is an ordinary Optuna trial (enqueued, then asked), stored with
        ``proposed_by: client:<name>`` and the client's rationale.
        """
        task = self.task(task_file)
        proposed = propose_trial(
            task,
            config,
            rationale=rationale,
            proposer=f"client:{_client_name(client)}",
            n_trials=n_trials,
            check_budget=start != "queue",
        )
        number, attrs = proposed.number, proposed.attrs
        out: dict[str, Any] = {
            "trial": number,
            "config": proposed.config,
            "proposed_by": attrs[_keys.PROPOSED_BY],
            "screened": proposed.screened,
            "screen": _screen_data(proposed.screen),
            "proposal": {"config": proposed.proposal, "rationale": proposed.rationale},
            "normalized": list(proposed.changes),
            "queued_before": list(proposed.queued_before),
        }
        if proposed.screened:
            out["rationale"] = attrs[_keys.RATIONALE]
            verdict = proposed.screen.verdict if proposed.screen else None
            judge, backbone = (verdict.judge, verdict.backbone) if verdict else ("TPE", "TPE")
            theirs = "its own" if backbone == judge else f"{backbone}'s"
            out["screen"]["note"] = (
                f"{judge} rates {theirs} configuration higher than yours, so trial {number}"
                f" runs {backbone}'s (config); yours is kept in the trial's record"
                " (screened_proposal)"
            )
        if start == "queue":
            out["state"] = "waiting"
            out["next"] = "run it with run_trials, or take it with ask and report with tell"
        elif start == "ask":
            # the study's own strategy is not asked (an enqueued trial needs no proposer), so
            # this mode needs no LLM and no API key
            asked = _asked(task, queue_tuner(task, n_trials=n_trials).ask())
            if asked["trial"] != number:
                out["note"] = (
                    f"trial {asked['trial']} was queued before yours and was started instead;"
                    f" yours (trial {number}) waits its turn"
                )
            out["started"] = asked
        else:
            job = self.run_trials(
                task_file, n_trials=len(proposed.queued_before) + 1, strategy="random"
            )
            out["job"] = job.id
            out["next"] = "follow it with run_status"
        return out


def _screen_data(screen: OutsideScreen | None) -> dict[str, Any]:
    """The backbone's screen of a client's proposal as data (``judge``: whose acquisition
    rated it, GP's log expected improvement or TPE's log density ratio)."""
    if screen is None:
        return {"applied": False, "note": "this study's strategy does not screen proposals"}
    verdict = screen.verdict
    if verdict is None:
        return {
            "applied": True,
            "judged": False,
            "note": (
                "the backbone cannot judge yet (its start-up trials, or several objectives);"
                " the proposal runs"
            ),
        }
    return {
        "applied": True,
        "judged": True,
        "judge": verdict.judge,
        "passed": verdict.passed,
        "proposal_log_ratio": round(verdict.llm, 4),
        "tpe_log_ratio": round(verdict.own, 4),
        "margin": verdict.margin,
        "tpe_config": screen.own,
        "verdict": verdict.describe(),
    }


def _asked(task: Task, event: TrialEvent) -> dict[str, Any]:
    """A trial started for the client to run, as ``agenthpo ask`` prints it."""
    out = asked_record(task, event)
    out["next"] = "run it, then report with tell (value or metrics, failed, or pruned)"
    return out


def _view(v: TrialView) -> dict[str, Any]:
    data: dict[str, Any] = {
        "trial": v.number,
        "state": v.state,
        "value": v.value,
        "config": dict(v.config),
        "metrics": dict(v.metrics),
        "proposed_by": v.proposed_by,
    }
    if v.values:
        data["values"] = list(v.values)
    if v.analysis:
        data["analysis"] = v.analysis
    if v.error:
        data["error"] = v.error
    return data


def dumps(data: Any) -> str:
    """JSON text of a tool's result (non-JSON values as text)."""
    return json.dumps(data, default=str, ensure_ascii=False)
