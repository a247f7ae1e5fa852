"""``RandomLLM``: schema-following random answers, and with a space, random search's draws."""

from __future__ import annotations

import json
import math
from typing import Any

from agenthpo.agent.prompts import answer_schema, batch_schema
from agenthpo.llm import Message, RandomLLM
from agenthpo.space import Space

MESSAGES = [Message("user", "propose")]

SPACE = Space.from_dict(
    {
        "lr": {"type": "float", "low": 1e-6, "high": 1.0, "log": True},
        "units": {"type": "int", "low": 16, "high": 256, "step": 16},
        "width": {"type": "int", "low": 1, "high": 1024, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        "optimizer": ["sgd", "adam"],
        "momentum": {
            "type": "float",
            "low": 0.0,
            "high": 0.99,
            "condition": {"optimizer": "sgd"},
        },
    }
)


def _configs(llm: RandomLLM, n: int) -> list[dict[str, Any]]:
    schema = answer_schema(SPACE)
    return [json.loads(llm.complete(MESSAGES, schema=schema).text)["config"] for _ in range(n)]


def test_without_a_space_numbers_are_uniform_between_the_schema_bounds() -> None:
    configs = _configs(RandomLLM(seed=0), 400)
    # Uniform on [1e-6, 1]: almost every draw is above 1e-3.
    assert sum(c["lr"] < 1e-3 for c in configs) < 10
    for c in configs:
        assert 1e-6 <= c["lr"] <= 1.0
        assert 16 <= c["units"] <= 256
        assert c["optimizer"] in ("sgd", "adam")


def test_with_a_space_log_scales_are_sampled_in_log_space() -> None:
    configs = _configs(RandomLLM(seed=0, space=SPACE), 400)
    # Log-uniform on [1e-6, 1]: half the draws below 1e-3, a sixth below 1e-5.
    below_mid = sum(c["lr"] < 1e-3 for c in configs) / len(configs)
    assert 0.4 < below_mid < 0.6
    assert 0.1 < sum(c["lr"] < 1e-5 for c in configs) / len(configs) < 0.25
    assert 0.4 < sum(c["width"] <= 32 for c in configs) / len(configs) < 0.6
    assert all(1e-6 <= c["lr"] <= 1.0 and 1 <= c["width"] <= 1024 for c in configs)


def test_with_a_space_steps_and_conditions_hold() -> None:
    configs = _configs(RandomLLM(seed=1, space=SPACE), 200)
    for c in configs:
        assert SPACE.validate({k: v for k, v in c.items() if v is not None}) == []
        assert c["units"] % 16 == 0
        assert math.isclose(c["dropout"] * 10, round(c["dropout"] * 10), abs_tol=1e-9)
        assert (c["momentum"] is None) == (c["optimizer"] != "sgd")
    assert {c["optimizer"] for c in configs} == {"sgd", "adam"}
    assert len({c["dropout"] for c in configs}) == 6  # every grid point, nothing between


def test_with_a_space_answers_repeat_for_a_seed_and_fill_batches() -> None:
    assert _configs(RandomLLM(seed=3, space=SPACE), 5) == _configs(
        RandomLLM(seed=3, space=SPACE), 5
    )
    llm = RandomLLM(seed=0, space=SPACE)
    answer = json.loads(llm.complete(MESSAGES, schema=batch_schema(SPACE, 3)).text)
    assert len(answer["candidates"]) == 3
    assert len({json.dumps(c["config"], sort_keys=True) for c in answer["candidates"]}) == 3
