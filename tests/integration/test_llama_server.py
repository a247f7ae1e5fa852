"""A real OpenAI-compatible server: llama-cpp-python's, with the embedded GGUF, on loopback.

The fixture starts ``python -m llama_cpp.server`` on 127.0.0.1 and a free port with one
thread, and the tests drive the OpenAI-compatible provider and a whole study through it.
"""

from __future__ import annotations

import json

import optuna
import pytest

from agenthpo import _keys
from agenthpo.agent.prompts import answer_schema
from agenthpo.llm import Message, OpenAICompatibleClient, parse_llm_spec
from agenthpo.space import Space
from agenthpo.task import Task
from agenthpo.tuner import Tuner

pytestmark = pytest.mark.integration


def test_structured_output_falls_back_to_what_the_server_accepts(llama_server: str) -> None:
    space = Space.from_dict(
        {
            "lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
            "act": ["relu", "tanh"],
        }
    )
    client = OpenAICompatibleClient(model="smollm2", base_url=llama_server, max_retries=1)
    response = client.complete(
        [
            Message("system", "You tune hyperparameters. Answer in JSON."),
            Message("user", "Propose lr (1e-4 to 0.1) and act (relu or tanh)."),
        ],
        schema=answer_schema(space),
        max_tokens=120,
        temperature=0.7,
        seed=1,
    )
    # llama-cpp-python's server refuses OpenAI's json_schema format with HTTP 500.
    assert client.resolved_mode == "json_object_schema"
    data = json.loads(response.text)
    assert set(data) == {"config", "rationale"}
    assert data["config"]["act"] in ("relu", "tanh")
    assert response.usage.prompt_tokens > 0
    assert response.usage.completion_tokens > 0


def test_a_study_runs_through_the_server(llama_server: str, quadratic_task: Task) -> None:
    storage = f"sqlite:///{quadratic_task.base_dir / 'server.db'}"
    llm = parse_llm_spec(f"openai-compatible:{llama_server}#smollm2", environ={})
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
    assert any(t.user_attrs[_keys.PROPOSED_BY] == "llm" for t in trials)
