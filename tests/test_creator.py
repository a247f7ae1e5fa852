"""The Creator: parsing, validation, the repair round, duplicates, fallbacks."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from typing import Any

import optuna
import pytest

from agenthpo.agent.creator import (
    Creator,
    NearCopy,
    Proposal,
    ProposalFailed,
    describe_change,
    find_duplicate,
    is_vacuous,
    nearest_copy,
    parse_answer,
)
from agenthpo.agent.prompts import TaskContext, answer_schema
from agenthpo.agent.proposer import Proposer
from agenthpo.errors import LLMError
from agenthpo.llm import LLMResponse, Message, ScriptedLLM
from agenthpo.policy import LLMPolicy
from agenthpo.space import Space
from tests.conftest import answer

CTX = TaskContext(name="quad", metric="loss", direction="minimize", dataset={"rows": 10})


def test_parse_answer_accepts_fences_prose_and_missing_wrapper(small_space: Space) -> None:
    fenced = 'Sure!\n```json\n{"config": {"x": 1.0, "kind": "a"}, "rationale": "ok"}\n```'
    assert parse_answer(fenced, small_space) == ({"x": 1.0, "kind": "a"}, "ok")
    prose = 'I propose {"config": {"x": 2, "kind": "b"}, "rationale": "two"} as next.'
    assert parse_answer(prose, small_space)[0] == {"x": 2, "kind": "b"}
    bare = '{"x": 3.0, "kind": "a", "rationale": "no wrapper"}'
    assert parse_answer(bare, small_space) == ({"x": 3.0, "kind": "a"}, "no wrapper")


@pytest.mark.parametrize(
    "text",
    ["not json at all", "[1, 2, 3]", '{"rationale": "no config"}', '{"config": 5}', ""],
)
def test_parse_answer_rejects_unusable_text(small_space: Space, text: str) -> None:
    with pytest.raises(ValueError, match=r"JSON|config"):
        parse_answer(text, small_space)


def test_rationale_is_one_capped_line(small_space: Space) -> None:
    text = json.dumps({"config": {"x": 1.0, "kind": "a"}, "rationale": "a\nb\n" + "c" * 500})
    _, rationale = parse_answer(text, small_space)
    assert "\n" not in rationale
    assert len(rationale) <= 240


def test_valid_first_answer_is_used(small_space: Space) -> None:
    llm = ScriptedLLM([answer({"x": 1.5, "kind": "b"}, "move toward the optimum at 2")])
    creator = Creator(llm=llm, space=small_space, context=CTX)
    proposal = creator.propose("History: none")
    assert proposal.config == {"x": 1.5, "kind": "b"}
    assert proposal.rationale == "move toward the optimum at 2"
    assert proposal.repaired == []
    assert len(llm.calls) == 1
    # The request carries the schema, the space, the task background and the history.
    call = llm.calls[0]
    assert call.schema == answer_schema(small_space)
    user = call.messages[-1].content
    assert "x (float, -5 to 5)" in user
    assert "rows: 10" in user
    assert "minimize loss" in user
    assert "History: none" in user


def test_lossless_coercions_do_not_cost_a_repair_round(small_space: Space) -> None:
    llm = ScriptedLLM([answer({"x": "1.5", "kind": " B "}, "string numbers and case")])
    proposal = Creator(llm=llm, space=small_space, context=CTX).propose("")
    assert proposal.config == {"x": 1.5, "kind": "b"}
    assert len(llm.calls) == 1
    assert proposal.normalized


def test_out_of_range_answer_gets_one_repair_round(small_space: Space) -> None:
    llm = ScriptedLLM(
        [
            answer({"x": 9.0, "kind": "AdamW"}, "too far"),
            answer({"x": 4.0, "kind": "a"}, "fixed"),
        ]
    )
    creator = Creator(llm=llm, space=small_space, context=CTX)
    proposal = creator.propose("")
    assert proposal.config == {"x": 4.0, "kind": "a"}
    assert len(llm.calls) == 2
    # The violations went back to the LLM with its own answer.
    follow_up = llm.calls[1].messages
    assert follow_up[-2].role == "assistant"
    assert "x: 9.0 is above the maximum 5.0" in follow_up[-1].content
    assert "kind" in follow_up[-1].content
    assert any("x" in p for p in proposal.repaired)
    assert proposal.prompt_tokens > 0


def test_still_invalid_after_repair_raises(small_space: Space) -> None:
    llm = ScriptedLLM([answer({"x": 9.0, "kind": "a"}), answer({"x": -9.0, "kind": "a"})])
    with pytest.raises(ProposalFailed) as info:
        Creator(llm=llm, space=small_space, context=CTX).propose("")
    assert info.value.kind == "invalid"
    assert "below the minimum" in info.value.detail
    assert len(info.value.calls) == 2


def test_non_json_twice_raises_not_json(small_space: Space) -> None:
    llm = ScriptedLLM(["model.fit(X, y)  # keras code", "still not json"])
    with pytest.raises(ProposalFailed) as info:
        Creator(llm=llm, space=small_space, context=CTX).propose("")
    assert info.value.kind == "not_json"


class _CutOnce:
    """Answers first with JSON cut off at the length limit, then whole."""

    name = "cut:model"

    def __init__(self, whole: str) -> None:
        self.whole = whole
        self.messages: list[Sequence[Message]] = []

    def complete(self, messages: Sequence[Message], **kwargs: Any) -> LLMResponse:
        self.messages.append(list(messages))
        if len(self.messages) == 1:
            cut = self.whole[: len(self.whole) // 2]
            return LLMResponse(cut, "m", "p", extra={"finish_reason": "length"})
        return LLMResponse(self.whole, "m", "p")


def test_an_answer_cut_at_the_length_limit_is_asked_shorter(small_space: Space) -> None:
    """A cut-off answer was reported as "not JSON" and its repair asked for JSON (LLM
    probe): the model needs to say less."""
    llm = _CutOnce(answer({"x": 2.0, "kind": "a"}, "a long rationale " * 20))
    proposal = Creator(llm=llm, space=small_space, context=CTX).propose("")
    assert proposal.config == {"x": 2.0, "kind": "a"}
    follow_up = llm.messages[1][-1].content
    assert "cut off at the length limit" in follow_up
    assert "one short sentence" in follow_up
    assert "answer with one JSON object" not in follow_up
    assert any("cut off" in p for p in proposal.repaired)


def test_duplicate_of_tried_config_is_refused(small_space: Space) -> None:
    tried = [(0, {"x": 1.0, "kind": "a"})]
    llm = ScriptedLLM([answer({"x": 1.0, "kind": "a"}), answer({"x": 1.00000001, "kind": "a"})])
    with pytest.raises(ProposalFailed) as info:
        Creator(llm=llm, space=small_space, context=CTX).propose("", tried=tried)
    assert info.value.kind == "duplicate"
    assert "#0" in info.value.detail


def test_duplicate_then_new_config_succeeds(small_space: Space) -> None:
    tried = [(3, {"x": 1.0, "kind": "a"})]
    llm = ScriptedLLM([answer({"x": 1.0, "kind": "a"}), answer({"x": 1.0, "kind": "b"})])
    proposal = Creator(llm=llm, space=small_space, context=CTX).propose("", tried=tried)
    assert proposal.config == {"x": 1.0, "kind": "b"}
    assert "already tried" in llm.calls[1].messages[-1].content


def test_llm_error_becomes_proposal_failed(small_space: Space) -> None:
    llm = ScriptedLLM([LLMError("cannot reach http://127.0.0.1:9/v1")])
    with pytest.raises(ProposalFailed) as info:
        Creator(llm=llm, space=small_space, context=CTX).propose("")
    assert info.value.kind == "llm_error"
    assert "cannot reach" in info.value.detail


def test_find_duplicate_uses_unit_distance(small_space: Space) -> None:
    others = [(0, {"x": 0.0, "kind": "a"}), (1, {"x": 3.0, "kind": "b"})]
    assert find_duplicate({"x": 0.0, "kind": "a"}, others, small_space) == 0
    assert find_duplicate({"x": 0.001, "kind": "a"}, others, small_space) == 0
    assert find_duplicate({"x": 0.5, "kind": "a"}, others, small_space) is None
    assert find_duplicate({"x": 3.0, "kind": "a"}, others, small_space) is None


def test_vacuous_rationale_is_replaced_by_the_change(small_space: Space) -> None:
    assert is_vacuous("1")
    assert is_vacuous("0.962")
    assert not is_vacuous("lower the learning rate to stop divergence")
    llm = ScriptedLLM([answer({"x": 2.0, "kind": "a"}, "...")])
    proposal = Creator(llm=llm, space=small_space, context=CTX).propose(
        "", reference=(4, {"x": 1.0, "kind": "a"})
    )
    assert proposal.rationale == ("the model gave no reason; changes from best trial #4: x 1 -> 2")
    # No completed trial yet need not mean the first proposal (all failed, or prefetched).
    no_reference = describe_change(small_space, {"x": 1.0}, None)
    assert no_reference == "no completed trial to compare with yet; the model gave no reason"
    assert "first" not in no_reference


def test_batch_drops_invalid_and_duplicate_candidates(small_space: Space) -> None:
    from agenthpo.agent.creator import propose_batch

    candidates = [
        {"config": {"x": 1.0, "kind": "a"}, "rationale": "tried before"},
        {"config": {"x": 9.0, "kind": "a"}, "rationale": "out of range"},
        {"config": {"x": -2.0, "kind": "b"}, "rationale": "explore the left side"},
        {"config": {"x": -2.0000001, "kind": "b"}, "rationale": "near copy of the previous"},
        {"config": {"x": 4.0, "kind": "a"}, "rationale": "explore the right side"},
    ]
    llm = ScriptedLLM([json.dumps({"candidates": candidates})])
    creator = Creator(llm=llm, space=small_space, context=CTX)
    proposals = propose_batch(creator, "", 5, tried=[(0, {"x": 1.0, "kind": "a"})])
    assert [p.config for p in proposals] == [{"x": -2.0, "kind": "b"}, {"x": 4.0, "kind": "a"}]
    assert [len(p.calls) for p in proposals] == [1, 0]  # tokens booked once
    schema = llm.calls[0].schema
    assert schema is not None
    assert schema["properties"]["candidates"]["minItems"] == 5
    assert "Propose 5 different configurations" in llm.calls[0].messages[-1].content


def test_batch_with_nothing_usable_fails(small_space: Space) -> None:
    from agenthpo.agent.creator import propose_batch

    llm = ScriptedLLM([json.dumps({"candidates": [{"config": {"x": 99.0, "kind": "a"}}]})])
    with pytest.raises(ProposalFailed) as info:
        propose_batch(Creator(llm=llm, space=small_space, context=CTX), "", 2)
    assert info.value.kind == "invalid"


# ------------------------------------------------- near copies (issue 22, item 6)

SVC = Space.from_dict(
    {
        "C": {"type": "float", "low": 0.01, "high": 1000.0, "log": True},
        "gamma": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
        "tol": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
        "max_iter": {"type": "int", "low": 100, "high": 2000},
        "kernel": ["rbf", "poly"],
    }
)
TRIED = {"C": 57.55, "gamma": 0.01, "tol": 1e-3, "max_iter": 500, "kernel": "rbf"}


@pytest.mark.parametrize(
    ("change", "near"),
    [
        ({"C": 58.55}, True),  # the 1.5B model's move: 0.15% of C's log range
        ({"C": 57.55 * 1.5}, True),  # 3.5% of the log range
        ({"C": 57.55 * 3}, False),  # 9.5%: a real move
        ({"max_iter": 550}, True),  # an int within 5% of its range (2.6%)
        ({"max_iter": 700}, False),  # 10.5% of the range
        ({"kernel": "poly"}, False),  # a categorical must be equal
        ({"C": 58.55, "gamma": 0.04}, False),  # one parameter moving far enough suffices
    ],
)
def test_a_near_copy_is_judged_on_each_parameters_scaled_range(
    change: dict[str, object], near: bool
) -> None:
    config = {**TRIED, **change}
    found = nearest_copy(config, [(10, TRIED)], SVC, tolerance=0.05)
    assert (found is not None) is near
    # The old absolute tolerance let every one of them through.
    assert find_duplicate(config, [(10, TRIED)], SVC, tolerance=1e-3) is None


def test_a_near_copy_goes_back_for_repair_with_the_trial_it_copies() -> None:
    moved = {**TRIED, "C": 300.0}
    llm = ScriptedLLM(
        [answer({**TRIED, "C": 58.55}, "raise C a bit"), answer(moved, "raise C further")]
    )
    creator = Creator(llm=llm, space=SVC, context=CTX)
    assert creator.duplicate_tolerance == 0.05  # the policy's default
    proposal = creator.propose("", tried=[(10, TRIED)])
    assert proposal.config == moved
    assert proposal.near_copy == NearCopy(of=10, distance=0.0015)
    repair = llm.calls[1].messages[-1].content
    assert "near copy of trial #10" in repair
    assert "change at least one parameter by more than 5%" in repair
    # The rule is in the first request already.
    assert "within 5% of its range" in llm.calls[0].messages[-1].content


def test_near_copies_to_the_end_fail_as_duplicates() -> None:
    llm = ScriptedLLM([answer({**TRIED, "C": 58.55}), answer({**TRIED, "tol": 1.1e-3})])
    with pytest.raises(ProposalFailed) as info:
        Creator(llm=llm, space=SVC, context=CTX).propose("", tried=[(10, TRIED)])
    assert info.value.kind == "duplicate"
    assert info.value.near_copy is not None
    assert info.value.near_copy.of == 10


# The proposer's prefetch (agenthpo.agent.proposer): a proposal prepared while a trial runs is
# speculative, so neither the end of a run nor the process waits for it.

_PREFETCH_CHILD = textwrap.dedent(
    """
    import sys
    import optuna
    from agenthpo.agent.proposer import Proposer
    from agenthpo.llm import OpenAICompatibleClient
    from agenthpo.policy import LLMPolicy
    from agenthpo.space import Space

    llm = OpenAICompatibleClient(model="m", base_url=sys.argv[1], timeout=30, max_retries=0)
    study = optuna.create_study()
    space = Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
    proposer = Proposer(context=None, hidden_metrics=())
    proposer.prefetch(study, 0, space, LLMPolicy(), llm=llm, seed=0)
    sys.stdin.readline()  # the test says when the request is in flight
    if sys.argv[2] == "shutdown":
        proposer.shutdown()
    print("work done", flush=True)
    """
)


@pytest.mark.parametrize("end", ["exit", "shutdown"])
def test_a_prefetch_in_flight_never_holds_the_process_up(end: str) -> None:
    # The endpoint takes the request and never answers; the client would wait 30 s for it.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        server.settimeout(30)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/v1"
        child = subprocess.Popen(
            [sys.executable, "-c", _PREFETCH_CHILD, url, end],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None
        assert child.stdout is not None
        try:
            conn, _ = server.accept()
            with conn:
                conn.recv(1)  # the prefetched request is in flight
                child.stdin.write("go\n")
                child.stdin.flush()
                assert child.stdout.readline().strip() == "work done"
                done = time.monotonic()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=25)
                elapsed = time.monotonic() - done
        finally:
            if child.poll() is None:
                child.kill()
            _, stderr = child.communicate()
    assert elapsed < 10, f"the process outlived its work by {elapsed:.1f} s"
    assert child.returncode == 0, stderr


class _BlockingLLM:
    """Answers well; its first call waits until released (a slow endpoint)."""

    name = "blocking:m"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def complete(self, messages: Sequence[Message], **kwargs: Any) -> LLMResponse:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(30)
        return LLMResponse(text=answer({"x": 0.5}), model="m", provider="p")


def test_shutdown_abandons_a_prefetch_in_flight_without_waiting() -> None:
    space = Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
    study = optuna.create_study()
    llm = _BlockingLLM()
    proposer = Proposer(context=None, hidden_metrics=())
    policy = LLMPolicy()
    try:
        proposer.prefetch(study, 0, space, policy, llm=llm, seed=0)
        start = time.monotonic()
        proposer.shutdown()
        assert time.monotonic() - start < 1.0
        # A later run asks afresh instead of waiting for the abandoned call.
        outcome, prepared = proposer.ask_or_take(
            study, 0, space, policy, llm=llm, seed=0, extra_note=None
        )
        assert not prepared
        assert isinstance(outcome, Proposal)
        assert outcome.config == {"x": 0.5}
        assert llm.calls == 2
    finally:
        llm.release.set()


class _BlockingCandidates(_BlockingLLM):
    """Offers three candidates per turn; its first call waits until released."""

    def complete(self, messages: Sequence[Message], **kwargs: Any) -> LLMResponse:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(30)
        text = json.dumps(
            {"candidates": [{"config": {"x": x}, "rationale": "idea"} for x in (0.1, 0.5, 0.9)]}
        )
        return LLMResponse(text=text, model="m", provider="p")


def test_an_abandoned_prefetch_keeps_its_candidates_from_a_later_run() -> None:
    # One sampler reused for a second study: the first run's abandoned ask, answering late,
    # must not leave its rivals where the second run's trial 0 would take them.
    space = Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
    llm = _BlockingCandidates()
    proposer = Proposer(context=None, hidden_metrics=())
    policy = LLMPolicy(candidates=3)
    proposer.prefetch(optuna.create_study(), 0, space, policy, llm=llm, seed=0)
    (thread,) = [t for t in threading.enumerate() if t.name == "agenthpo-llm-prefetch"]
    proposer.shutdown()
    llm.release.set()
    thread.join(10)
    assert not thread.is_alive()
    assert proposer.pop_candidates(0) == []
    # The proposer's own asks still keep theirs.
    proposer.ask(optuna.create_study(), 0, space, policy, llm=llm, seed=0)
    assert [p.config for p in proposer.pop_candidates(0)] == [{"x": 0.5}, {"x": 0.9}]


@pytest.mark.parametrize("remote", [False, True])
def test_only_a_request_to_a_server_is_left_behind_at_exit(remote: bool) -> None:
    # A daemon thread cut off at exit inside PyTorch or llama.cpp meets torn-down native
    # state; a remote call is only a socket, and may hang, so its thread is a daemon. A
    # client that does not say it is remote (a wrapper, an in-process model) is waited for.
    space = Space.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
    llm = _BlockingLLM()
    if remote:
        llm.remote = True  # type: ignore[attr-defined]
    proposer = Proposer(context=None, hidden_metrics=())
    proposer.prefetch(optuna.create_study(), 0, space, LLMPolicy(), llm=llm, seed=0)
    try:
        (thread,) = [t for t in threading.enumerate() if t.name == "agenthpo-llm-prefetch"]
        assert thread.daemon is remote
    finally:
        llm.release.set()
        proposer.shutdown()
    thread.join(10)


def test_the_providers_say_which_calls_are_requests_to_a_server() -> None:
    from agenthpo.llm import AnthropicClient, LocalClient, OpenAICompatibleClient

    assert OpenAICompatibleClient.remote is True
    assert AnthropicClient.remote is True
    assert not hasattr(LocalClient, "remote")
