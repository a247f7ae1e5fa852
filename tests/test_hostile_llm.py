"""Hostile LLM answers (issue 19): whatever an endpoint sends, the tuner stores a fallback
reason and goes on; it never crashes and never leaks the API key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from agenthpo import _keys
from agenthpo.agent.creator import Creator, ProposalFailed, parse_answer
from agenthpo.agent.prompts import TaskContext
from agenthpo.errors import LLMError
from agenthpo.llm import Message, OpenAICompatibleClient, ScriptedLLM, extract_json
from agenthpo.space import Space
from agenthpo.task import Task
from agenthpo.tuner import Tuner
from tests.fake_openai import FakeOpenAI, Reply, completion

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
