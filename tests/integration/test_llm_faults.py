"""LLM faults: a fault-injecting proxy on loopback in front of a real OpenAI-compatible server.

On at least 30% of calls it answers 429 with Retry-After, 500, drops the connection, cuts
the body short, answers prose instead of JSON, proposes values out of range, or hangs past
the client's timeout; otherwise it forwards to the real server. The study must still spend
its whole budget, store every trial, and record each fallback with its cause.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from agenthpo import _keys
from agenthpo.llm import OpenAICompatibleClient
from agenthpo.task import Task, task_with
from agenthpo.tuner import Tuner
from tests.integration.fault_proxy import CLIENT_TIMEOUT_S, FaultProxy

pytestmark = pytest.mark.integration


def test_study_survives_injected_llm_faults(
    proxy: FaultProxy, quadratic_task: Task, tmp_path: Path
) -> None:
    llm = OpenAICompatibleClient(
        model="smollm2",
        base_url=proxy.url,
        structured_output="json_object_schema",
        timeout=CLIENT_TIMEOUT_S,
        max_retries=1,
    )
    task = task_with(quadratic_task, n_trials=10)
    storage = f"sqlite:///{tmp_path / 'faults.db'}"
    summary = Tuner(task, llm=llm, storage=storage, seed=0).run()

    assert proxy.calls >= 10
    share = sum(proxy.injected.values()) / proxy.calls
    assert share >= 0.3, (share, proxy.injected, proxy.calls)
    assert len(proxy.injected) >= 4  # several kinds of fault were exercised

    trials = optuna.load_study(study_name="quad", storage=storage).trials
    assert len(trials) == 10
    assert summary.n_complete == 10
    fallbacks = [t for t in trials if t.user_attrs.get(_keys.FALLBACK_REASON)]
    for t in trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert t.user_attrs[_keys.RATIONALE]
        assert -5.0 <= t.params["x"] <= 5.0
        if t.user_attrs[_keys.PROPOSED_BY] == "backbone":
            cause = t.user_attrs[_keys.FALLBACK_REASON]
            assert cause.split(":")[0] in ("llm_error", "not_json", "invalid", "duplicate")
    assert fallbacks, "with 45% faults some proposal must have fallen back"
    assert summary.fallbacks == len(fallbacks)
    assert sum(summary.fallback_reasons.values()) == summary.fallbacks
