"""A real OpenAI-compatible server on loopback: ``transformers serve`` with the embedded model.

The fixture (``conftest.py``) starts the server on 127.0.0.1 and a free port with one
thread; the tests drive the OpenAI-compatible provider and a whole study through it. The
server ignores ``response_format``, so the tiny model answers unconstrained: these tests
check the protocol and that every answer, usable or not, ends as a stored proposal or a
stored reason, never as a lost trial.
"""

from __future__ import annotations

import optuna
import pytest

from agenthpo import _keys
from agenthpo.agent.prompts import answer_schema
from agenthpo.llm import Message, OpenAICompatibleClient, parse_llm_spec
from agenthpo.space import Space
from agenthpo.task import Task
from agenthpo.tuner import Tuner
from tests.integration.fault_proxy import FaultProxy

pytestmark = pytest.mark.integration


def test_the_client_talks_to_a_real_server(openai_server: str) -> None:
    space = Space.from_dict(
        {
            "lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
            "act": ["relu", "tanh"],
        }
    )
    client = OpenAICompatibleClient(model="smollm2", base_url=openai_server, max_retries=1)
    # The start check reads a real server's model list (and, for a name it does not list,
    # confirms the model with one token) and passes for the model it serves.
    assert client.check() >= 0
    response = client.complete(
        [
            Message("system", "You tune hyperparameters. Answer in JSON."),
            Message("user", "Propose lr (1e-4 to 0.1) and act (relu or tanh)."),
        ],
        schema=answer_schema(space),
        max_tokens=40,
        temperature=0.7,
        seed=1,
    )
    # The server takes OpenAI's json_schema field without an error (and ignores it).
    assert client.resolved_mode == "json_schema"
    assert response.text.strip()
    assert response.provider == "openai-compatible"
    assert response.usage.prompt_tokens > 10
    assert 0 < response.usage.completion_tokens <= 40


def test_a_study_runs_through_the_server(clean_proxy: FaultProxy, quadratic_task: Task) -> None:
    # through a loopback proxy that only caps max_tokens, so each answer takes seconds
    storage = f"sqlite:///{quadratic_task.base_dir / 'server.db'}"
    llm = parse_llm_spec(f"openai-compatible:{clean_proxy.url}#smollm2", environ={})
    summary = Tuner(quadratic_task, llm=llm, storage=storage, n_trials=3, seed=0).run()
    assert summary.n_complete == 3
    assert summary.llm_calls >= 3
    trials = optuna.load_study(study_name="quad", storage=storage).trials
    assert len(trials) == 3
    for t in trials:
        attrs = t.user_attrs
        assert attrs[_keys.RATIONALE]
        assert attrs[_keys.LLM_MODEL] == "openai-compatible:smollm2"
        assert attrs[_keys.PROPOSED_BY] in ("llm", "backbone")
        if attrs[_keys.PROPOSED_BY] == "backbone":
            assert attrs[_keys.FALLBACK_REASON]
        # what the server answered is on the trial, whatever it was
        calls = t.system_attrs.get(_keys.SYS_LLM_CALLS) or []
        assert calls, t.number
