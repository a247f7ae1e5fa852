"""The LLM's proposals for the sampler: asked now or prepared while a trial runs, batches
of candidates enqueued for any worker, and claims that keep two workers off one config.

Example:
    >>> from agenthpo.agent.proposer import Proposer
    >>> proposer = Proposer(context=None, hidden_metrics=())
    >>> proposer.pop_batch(3)
    []
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import optuna
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from agenthpo import _keys, _optuna
from agenthpo._text import one_line
from agenthpo.agent.claims import check_rationale
from agenthpo.agent.creator import (
    CallRecord,
    Creator,
    Proposal,
    ProposalFailed,
    find_duplicate,
    propose_batch,
)
from agenthpo.agent.failures import failure_regions
from agenthpo.agent.history import pareto_ranks, render_history, taken_configs, trial_views
from agenthpo.agent.prompts import TaskContext, candidates_request, noise_note
from agenthpo.llm import LLMClient
from agenthpo.policy import LLMPolicy
from agenthpo.space import Space

__all__ = ["Proposer"]

_logger = logging.getLogger("agenthpo")

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Prefetched:
    number: int
    future: Future[Proposal | ProposalFailed]
    watched: tuple[int, ...]


class Proposer:
    """Asks the LLM (the paper's Creator) for trial configurations from the study's history.

    Args:
        context: The task's background; ``None`` describes the study from its directions.
        hidden_metrics: Stored metrics never shown to the LLM.
    """

    def __init__(
        self,
        *,
        context: TaskContext | None,
        hidden_metrics: Sequence[str],
    ) -> None:
        self._context = context
        self._hidden_metrics = tuple(hidden_metrics)
        self._prefetched: _Prefetched | None = None
        self._carried: list[CallRecord] = []
        self._batches: dict[int, list[Proposal]] = {}
        self._candidates: dict[int, list[Proposal]] = {}
        # Bumped when a run abandons its prefetch: an ask begun before keeps its batch to
        # itself, so a later run on this proposer never meets another run's candidates.
        self._generation = 0
        self._keep_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_prefetched"] = None  # threads and pending work stay with the original
        state["_carried"] = []
        state["_batches"] = {}
        state["_candidates"] = {}
        state["_keep_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._keep_lock = threading.Lock()

    def context_for(self, study: Study) -> TaskContext:
        """The given context with the study's directions, or one read from the study.

        The study's directions are the truth (Optuna ranks the trials by them); a context's
        own ``direction`` is its default, ``minimize``, unless the caller set it, so a context
        given without it would otherwise tell the LLM the opposite goal.
        """
        directions: list[Literal["maximize", "minimize"]] = [
            "maximize" if d == optuna.study.StudyDirection.MAXIMIZE else "minimize"
            for d in study.directions
        ]
        if self._context is not None and len(self._context.all_objectives) == len(directions):
            goals = self._context.all_objectives
            if [d for _, d in goals] == directions:
                return self._context
            return self._context.with_objectives(
                zip([m for m, _ in goals], directions, strict=True)
            )
        names = study.metric_names
        if names is None or len(names) != len(directions):
            names = (
                ["value"]
                if len(directions) == 1
                else [f"value_{i}" for i in range(len(directions))]
            )
        base = self._context or TaskContext(name=study.study_name)
        return base.with_objectives(zip(names, directions, strict=True))

    def _creator(
        self,
        study: Study,
        number: int,
        space: Space,
        policy: LLMPolicy,
        llm: LLMClient,
        extra_note: str | None,
    ) -> _Asking:
        """What a request for trial ``number`` is made of, from the history stored now."""
        context = self.context_for(study)
        trials = [t for t in study.get_trials(deepcopy=False) if t.number != number]
        objectives = context.all_objectives
        metrics = [m for m, _ in objectives]
        views = trial_views(trials, hidden_metrics=self._hidden_metrics, metric=metrics)
        history = render_history(
            views,
            metric=metrics,
            direction=[d for _, d in objectives],
            space=space,
            hidden_metrics=self._hidden_metrics,
        )
        noise_note = "" if context.is_multi_objective else _noise_note(study, context.metric)
        if noise_note:
            history = f"{history}\n{noise_note}" if history else noise_note
        if extra_note:
            history = f"{history}\n{extra_note}" if history else extra_note
        creator = Creator(
            llm=llm,
            space=space,
            context=context,
            repair_rounds=policy.repair_rounds,
            temperature=policy.temperature,
            duplicate_tolerance=policy.duplicate_tolerance,
            failure_regions=failure_regions(views, space) if policy.avoid_failures else (),
        )
        results: dict[int, float] = {}
        if not context.is_multi_objective:
            results = {
                v.number: float(v.value)
                for v in views
                if v.state == "complete" and v.value is not None
            }
        return _Asking(
            creator=creator,
            history=history,
            tried=taken_configs(trials),
            reference=_best(trials, [d for _, d in objectives]),
            results=results,
        )

    def ask(
        self,
        study: Study,
        number: int,
        space: Space,
        policy: LLMPolicy,
        *,
        llm: LLMClient,
        seed: int | None,
        extra_note: str | None = None,
        generation: int | None = None,
    ) -> Proposal | ProposalFailed:
        """One proposal for trial ``number`` from the history stored now (with a batch
        policy, the first of a batch whose others wait in :meth:`pop_batch`; with several
        candidates per turn, the first, whose rivals wait in :meth:`pop_candidates`).
        ``generation``: the run's, as its caller saw it (a prefetch, read before its thread
        starts); the batch is kept only while it is still the proposer's."""
        if generation is None:
            generation = self._generation
        asking = self._creator(study, number, space, policy, llm, extra_note)
        creator, history, tried = asking.creator, asking.history, asking.tried
        context = creator.context
        call_seed = None if seed is None else seed + number
        try:
            judged = policy.candidates > 1
            if judged or (policy.batch_size > 1 and not extra_note):
                k = policy.candidates if judged else policy.batch_size
                first, *others = propose_batch(
                    creator,
                    history,
                    k,
                    tried=tried,
                    seed=call_seed,
                    request=candidates_request(k) if judged else None,
                )
                # candidates are judged with the first (pop_candidates); a batch's others are
                # enqueued when trial ``number`` starts (pop_batch)
                with self._keep_lock:
                    if generation == self._generation:
                        (self._candidates if judged else self._batches)[number] = others
                for proposal in (first, *others):
                    _check(proposal, asking.results, context)
                return first
            proposal = creator.propose(
                history, tried=tried, seed=call_seed, reference=asking.reference
            )
            return _check(proposal, asking.results, context)
        except ProposalFailed as failed:
            return failed
        except Exception as exc:
            return _unexpected(number, exc)

    def ask_many(
        self,
        study: Study,
        number: int,
        space: Space,
        policy: LLMPolicy,
        *,
        llm: LLMClient,
        seed: int | None,
        k: int,
        request: str,
        repair: bool = False,
        extra_note: str | None = None,
    ) -> list[Proposal] | ProposalFailed:
        """``k`` configurations for trial ``number`` in one call, closing the request with
        ``request`` (an initial design, a turn's candidates): the usable ones, checked and
        de-duplicated against the trials and each other (:func:`propose_batch`)."""
        asking = self._creator(study, number, space, policy, llm, extra_note)
        call_seed = None if seed is None else seed + number
        try:
            proposals = propose_batch(
                asking.creator,
                asking.history,
                k,
                tried=asking.tried,
                seed=call_seed,
                request=request,
                repair=repair,
            )
        except ProposalFailed as failed:
            return failed
        except Exception as exc:
            return _unexpected(number, exc)
        return [_check(p, asking.results, asking.creator.context) for p in proposals]

    def ask_or_take(
        self,
        study: Study,
        number: int,
        space: Space,
        policy: LLMPolicy,
        *,
        llm: LLMClient,
        seed: int | None,
        extra_note: str | None,
    ) -> tuple[Proposal | ProposalFailed, bool]:
        """The prepared proposal for trial ``number`` if it still holds, else a fresh one;
        and whether it was prepared. Calls of dropped proposals count on this one."""
        outcome = self._take_prefetched(study, number, space, policy.duplicate_tolerance)
        if outcome is not None:
            return outcome, True
        outcome = self.ask(study, number, space, policy, llm=llm, seed=seed, extra_note=extra_note)
        carried, self._carried = self._carried, []
        outcome.calls[:0] = carried
        return outcome, False

    def prefetch(
        self,
        study: Study,
        number: int,
        space: Space,
        policy: LLMPolicy,
        *,
        llm: LLMClient,
        seed: int | None,
    ) -> None:
        """Starts preparing the proposal for trial ``number`` in a background thread.

        The thread is a daemon: the work is speculative, so it never keeps the process alive
        once the run is over (:meth:`shutdown`). One is prepared at a time: a new prefetch
        first waits for the previous one.
        """
        trials = study.get_trials(deepcopy=False)
        self._discard_prefetched()
        running = tuple(t.number for t in trials if t.state == TrialState.RUNNING)
        generation = self._generation  # now, not when the thread gets to it
        future = _in_background(
            lambda: self.ask(
                study, number, space, policy, llm=llm, seed=seed, generation=generation
            ),
            # Only a call that is a request to a server (it may hang) is left behind at
            # exit; any other may compute in this process (PyTorch, llama.cpp, a wrapper of
            # them), where a thread cut off by the interpreter's exit meets torn-down native
            # state: the exit waits for it.
            daemon=bool(getattr(llm, "remote", False)),
        )
        self._prefetched = _Prefetched(number=number, future=future, watched=running)

    def shutdown(self) -> None:
        """Ends the speculative work of a run that is over, without waiting for it.

        A proposal still being asked is abandoned: its thread finishes (or, a request to a
        server, dies with the process) on its own, and its answer is dropped with the tokens
        its calls spent and the other candidates it brings.
        A proposal already prepared stays for the trial it was asked for, should another run
        in this process start it (it is checked then, as always). For the end of a run.
        """
        pending = self._prefetched
        if pending is None or pending.future.done():
            return
        self._prefetched = None
        with self._keep_lock:
            self._generation += 1
        pending.future.cancel()  # stops it only if its thread has not started it yet
        _logger.debug(
            "the run is over: the proposal being prepared for trial %d is abandoned",
            pending.number,
        )

    def _discard_prefetched(self) -> list[CallRecord]:
        pending, self._prefetched = self._prefetched, None
        if pending is None:
            return []
        return list(pending.future.result().calls)

    def _take_prefetched(
        self, study: Study, number: int, space: Space, tolerance: float
    ) -> Proposal | ProposalFailed | None:
        """The prepared outcome for trial ``number`` if it still holds, else ``None``.

        A prepared proposal is dropped if a trial that was running meanwhile failed (its
        error is news the LLM should see), or if it now duplicates a configuration another
        worker started. The calls of a dropped proposal are carried into the next one, so
        their tokens count.
        """
        pending = self._prefetched
        if pending is None:
            return None
        if pending.number != number:
            self._carried.extend(self._discard_prefetched())
            return None
        self._prefetched = None
        outcome = pending.future.result()
        carried, self._carried = self._carried, []
        trials = {t.number: t for t in study.get_trials(deepcopy=False)}
        stale = any(trials[n].state == TrialState.FAIL for n in pending.watched if n in trials)
        if isinstance(outcome, Proposal) and not stale:
            others = [(n, t.params) for n, t in trials.items() if n != number and t.params]
            if find_duplicate(outcome.config, others, space, tolerance=tolerance):
                stale = True
        if stale:
            self._carried = carried + list(outcome.calls)
            _logger.info("trial %d: the prepared proposal is out of date; asking again", number)
            return None
        outcome.calls[:0] = carried
        return outcome

    def pop_batch(self, number: int) -> list[Proposal]:
        """The other candidates of the batch asked for trial ``number`` (older ones dropped:
        their proposal was out of date and asked again)."""
        for stale in [n for n in self._batches if n < number]:
            del self._batches[stale]
        return self._batches.pop(number, [])

    def pop_candidates(self, number: int) -> list[Proposal]:
        """The other candidates asked with the proposal for trial ``number``
        (``LLMPolicy.candidates``; older ones dropped, as in :meth:`pop_batch`)."""
        for stale in [n for n in self._candidates if n < number]:
            del self._candidates[stale]
        return self._candidates.pop(number, [])

    @staticmethod
    def claim(
        study: Study,
        trial: FrozenTrial,
        config: dict[str, Any],
        space: Space,
        *,
        tolerance: float,
    ) -> int | None:
        """Claims ``config`` for this trial; the number of a rival trial holding it, if any.

        Workers write their claim first and then look at everyone else's, so of two workers
        racing for the same configuration at least one sees the other and yields.
        """
        _optuna.set_trial_system_attr(study, trial, _keys.SYS_CLAIM, config)
        others: list[tuple[int, dict[str, Any]]] = []
        for t in study.get_trials(deepcopy=False):
            if t.number == trial.number:
                continue
            # The claim first: a running trial's params may be half stored (Optuna writes
            # them one by one), and a partial config never matches a whole one.
            claimed = t.system_attrs.get(_keys.SYS_CLAIM) or t.params
            if isinstance(claimed, dict) and claimed:
                others.append((t.number, claimed))
        return find_duplicate(config, others, space, tolerance=tolerance)


def _in_background(call: Callable[[], _T], *, daemon: bool) -> Future[_T]:
    """Runs ``call`` in a new thread; the future of its result.

    Not a :class:`~concurrent.futures.ThreadPoolExecutor`: the interpreter joins its
    threads at exit, so a call to a slow endpoint would hold the process up after the run;
    a ``daemon`` thread does not.
    """
    future: Future[_T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = call()
        except BaseException as exc:  # handed to whoever reads the future
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=run, name="agenthpo-llm-prefetch", daemon=daemon).start()
    return future


@dataclass(frozen=True)
class _Asking:
    """A request's parts: the Creator, the rendered history, the configurations tried or
    running, the best trial and the results shown (for :func:`_check`)."""

    creator: Creator
    history: str
    tried: list[tuple[int, Mapping[str, Any]]]
    reference: tuple[int, dict[str, Any]] | None
    results: dict[int, float]


def _unexpected(number: int, exc: Exception) -> ProposalFailed:
    """The failure of an LLM turn whose answer's handling raised ``exc``: the LLM's answer
    is outside input, so whatever a provider or the parsing raises costs this trial its
    LLM proposal, not the run."""
    _logger.warning(
        "trial %d: handling the LLM's answer failed (%s: %s)",
        number,
        type(exc).__name__,
        one_line(str(exc), 200),
        exc_info=_logger.isEnabledFor(logging.DEBUG),
    )
    detail = one_line(str(exc), 200)
    return ProposalFailed("llm_error", f"unexpected {type(exc).__name__}: {detail}")


def _check(proposal: Proposal, results: dict[int, float], context: TaskContext) -> Proposal:
    """Notes on ``proposal`` what its rationale claims that the results it was shown
    contradict (:func:`~agenthpo.agent.claims.check_rationale`); it runs all the same."""
    if results:
        proposal.rationale_check = check_rationale(
            proposal.rationale, results, direction=context.direction, metric=context.metric
        )
        if proposal.rationale_check:
            _logger.info("the LLM's rationale misreads the history: %s", proposal.rationale_check)
    return proposal


def _noise_note(study: Study, metric: str) -> str:
    """What re-evaluating configurations on further seeds showed, for the LLM
    (:func:`~agenthpo.agent.prompts.noise_note`), from the study's stored re-runs.

    Re-evaluations are no trials (the backbone never sees them): the LLM reads them here,
    named as re-runs of earlier trials, never as proposals of their own. Scores on held-out
    folds (``noise.fold_param``) are left out: they judge the search's winner, so the
    search (a resumed one too) must not see them, and they are no seed noise.
    """
    stored = study.user_attrs.get(_keys.STUDY_NOISE)
    if not isinstance(stored, dict) or not stored:
        return ""
    entries: list[tuple[int, float, float, int]] = []
    for number, entry in stored.items():
        if not isinstance(entry, dict) or "folds" in entry:
            continue
        try:
            entries.append(
                (int(number), float(entry["mean"]), float(entry["std"]), int(entry["n"]))
            )
        except (KeyError, TypeError, ValueError):
            continue
    return noise_note(metric, sorted(entries))


def _best(
    trials: Sequence[FrozenTrial], directions: Sequence[str]
) -> tuple[int, dict[str, Any]] | None:
    """The best trial (of several objectives: the Pareto front's best on the first)."""
    done = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE and t.values and len(t.values) == len(directions)
    ]
    if not done:
        return None
    if len(directions) > 1:
        ranks = pareto_ranks([t.values for t in done], directions)
        done = [t for t, r in zip(done, ranks, strict=True) if r == 0]
    sign = -1.0 if directions[0] == "maximize" else 1.0
    best = min(done, key=lambda t: sign * t.values[0])
    return best.number, dict(best.params)
