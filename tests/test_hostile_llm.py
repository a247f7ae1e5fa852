"""Hostile LLM answers (issue 19): whatever an endpoint sends, the tuner stores a fallback
reason and goes on; it never crashes and never leaks the API key."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import optuna
import pytest

from agenthpo import _keys
from agenthpo.agent.creator import Creator, ProposalFailed, parse_answer
from agenthpo.agent.prompts import TaskContext
from agenthpo.errors import LLMError
from agenthpo.llm import Message, OpenAICompatibleClient, ScriptedLLM, extract_json
from agenthpo.sampler import MAX_STORED_ANSWER_CHARS
from agenthpo.space import Space
from agenthpo.task import Task
from agenthpo.tuner import Tuner
from tests.fake_openai import FakeOpenAI, Reply, completion, error

MSGS = [Message("user", "propose x")]


def _space() -> Space:
    return Space.from_dict(
        {
            "x": {"type": "float", "low": -5.0, "high": 5.0},
            "kind": {"type": "categorical", "choices": ["a", "b"]},
        }
    )


@pytest.mark.parametrize("text", ["[" * 1000, "{" + '"a":[' * 3000, "[" * 100_000 + "]"])
def test_deeply_nested_json_is_not_json(text: str) -> None:
    with pytest.raises(ValueError, match="nest"):
        extract_json(text)
    with pytest.raises(ValueError):
        parse_answer(text, _space())


def test_moderate_nesting_still_parses() -> None:
    assert extract_json("[" * 30 + "]" * 30) is not None
    assert extract_json('{"s": "' + "[" * 5000 + '"}') == {"s": "[" * 5000}


def test_a_deeply_nested_answer_is_a_failed_proposal() -> None:
    creator = Creator(llm=ScriptedLLM(["[" * 1000] * 2), space=_space(), context=TaskContext())
    with pytest.raises(ProposalFailed) as info:
        creator.propose("")
    assert info.value.kind == "not_json"


def test_a_deeply_nested_http_body_is_an_llm_error() -> None:
    with FakeOpenAI(lambda req, h: Reply(raw=b"[" * 5000)) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=0)
        with pytest.raises(LLMError, match="unusable response"):
            client.complete(MSGS)


@pytest.mark.parametrize(
    "body",
    [
        {"choices": "nope"},
        {"choices": [{"message": {"content": {"nested": 1}}}]},
        {"choices": [{"message": None}]},
        {"choices": [{"message": {"content": "{}"}}], "usage": {"prompt_tokens": "many"}},
        {"choices": [{"message": {"content": "{}"}}], "model": ["m"]},
    ],
)
def test_a_body_of_the_wrong_shape_is_an_llm_error(body: dict[str, Any]) -> None:
    with FakeOpenAI(lambda req, h: Reply(body=body)) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=0)
        with pytest.raises(LLMError):
            client.complete(MSGS)


@pytest.mark.parametrize("raw", [b"[" * 5000, None])
def test_the_tuner_stores_a_fallback_reason_for_a_deeply_nested_answer(
    quadratic_task: Task, tmp_path: Path, raw: bytes | None
) -> None:
    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        return Reply(raw=raw) if raw is not None else completion("[" * 1000)

    storage = f"sqlite:///{tmp_path / 's.db'}"
    with FakeOpenAI(handler) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=0)
        summary = Tuner(quadratic_task, llm=client, storage=storage, n_trials=2).run()
    assert summary.n_complete == 2
    for trial in optuna.load_study(study_name="quad", storage=storage).trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert trial.user_attrs[_keys.PROPOSED_BY] == "backbone"
        assert trial.user_attrs[_keys.FALLBACK_REASON]


class _Exploding:
    """A client whose provider code fails in a way no provider should (a bug, not a fault)."""

    name = "exploding:m"

    def complete(self, messages: Any, **kwargs: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded while decoding")


def test_any_exception_of_a_client_is_a_stored_fallback(
    quadratic_task: Task, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    summary = Tuner(quadratic_task, llm=_Exploding(), storage=storage, n_trials=2).run()
    assert summary.n_complete == 2
    for trial in optuna.load_study(study_name="quad", storage=storage).trials:
        assert "RecursionError" in trial.user_attrs[_keys.FALLBACK_REASON]


# -- issue 19, item 13 ------------------------------------------------------------------------
SCHEMA = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}


def test_transient_500s_while_probing_do_not_drop_json_schema() -> None:
    """Two HTTP 500s while probing permanently dropped json_schema for the process."""
    calls = {"n": 0}

    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        calls["n"] += 1
        if calls["n"] <= 2:
            return error(500, "internal error: the GPU is busy")
        return completion('{"x": 1}')

    with FakeOpenAI(handler) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=0)
        for _ in range(3):
            with contextlib.suppress(LLMError):
                client.complete(MSGS, schema=SCHEMA)
        assert client.resolved_mode == "json_schema"
        formats = [r.get("response_format", {}).get("type") for r in server.requests]
    assert formats[-1] == "json_schema"


def test_an_answer_that_says_the_mode_is_unsupported_still_downgrades() -> None:
    def handler(req: dict[str, Any], headers: dict[str, str]) -> Reply:
        if req.get("response_format", {}).get("type") == "json_schema":
            return error(400, "json_schema is not supported by this server")
        return completion('{"x": 1}')

    with FakeOpenAI(handler) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=0)
        client.complete(MSGS, schema=SCHEMA)
    assert client.resolved_mode == "json_object_schema"


def test_a_huge_answer_is_stored_cut_and_marked(quadratic_task: Task, tmp_path: Path) -> None:
    """5 MB answers were stored verbatim (10 MB of database after 24 trials)."""
    huge = json.dumps({"config": {"x": 1.0, "kind": "a"}, "rationale": "r" * 5_000_000})
    storage = f"sqlite:///{tmp_path / 's.db'}"
    with FakeOpenAI(lambda req, h: completion(huge)) as server:
        client = OpenAICompatibleClient(model="m", base_url=server.url, max_retries=0)
        Tuner(quadratic_task, llm=client, storage=storage, n_trials=1).run()
    (trial,) = optuna.load_study(study_name="quad", storage=storage).trials
    (call,) = trial.system_attrs[_keys.SYS_LLM_CALLS]
    assert len(call["text"]) <= MAX_STORED_ANSWER_CHARS + 100
    assert "characters cut" in call["text"]
    assert (tmp_path / "s.db").stat().st_size < 1_000_000
