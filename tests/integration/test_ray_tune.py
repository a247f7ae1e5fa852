"""Ray Tune driving ``AgentSampler`` through ``OptunaSearch``, on a local two-CPU Ray.

The searcher (and so the sampler and its LLM) lives in the Tune driver; Tune pickles it into
its experiment checkpoints, and trials run in Ray worker processes. Needs ``ray[tune]``
(``pip install 'agenthpo[ray]'``); skipped without it.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import ray
from optuna.samplers import TPESampler
from ray import tune
from ray.tune.search.optuna import OptunaSearch

from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.llm import AnthropicClient, ScriptedLLM
from agenthpo.sampler import AgentSampler
from agenthpo.space import Space

pytestmark = pytest.mark.integration


N_TRIALS = 8
SPACE = {
    "x": optuna.distributions.FloatDistribution(-5.0, 5.0),
    "width": optuna.distributions.IntDistribution(8, 256, log=True),
    "act": optuna.distributions.CategoricalDistribution(["relu", "tanh"]),
}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def _answers() -> list[dict[str, Any]]:
    return [
        {
            "config": {"x": -4.0 + i, "width": 8 * (i + 1), "act": ("relu", "tanh")[i % 2]},
            "rationale": f"step {i}: move x right by one and widen the layer to {8 * (i + 1)}",
        }
        for i in range(N_TRIALS)
    ]


def test_ray_tune_runs_agent_sampler_proposals(local_ray: None, tmp_path: Path) -> None:
    answers = _answers()
    llm = ScriptedLLM([json.dumps(a) for a in answers], model="ray-test")
    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(seed=0),
        llm=llm,
        space=Space.from_optuna(SPACE),
        context=TaskContext(name="ray", metric="loss", direction="minimize"),
        seed=0,
    )
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'ray.db'}")
    search = OptunaSearch(
        space=SPACE,
        sampler=sampler,
        metric="loss",
        mode="min",
        storage=storage,
        study_name="agenthpo-ray",
    )

    def trainable(config: dict[str, Any]) -> None:
        # Defined here so Ray's workers get it by value, not by importing this test module.
        from ray import tune as worker_tune

        penalty = 0.0 if config["act"] == "relu" else 0.5
        worker_tune.report({"loss": (config["x"] - 2) ** 2 + penalty, "width": config["width"]})

    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(search_alg=search, num_samples=N_TRIALS),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray_results"), name="agent"),
    )
    results = tuner.fit()

    assert len(results) == N_TRIALS
    assert not results.errors
    ran = sorted((round(r.config["x"], 6), r.config["width"], r.config["act"]) for r in results)
    proposed = sorted((a["config"]["x"], a["config"]["width"], a["config"]["act"]) for a in answers)
    assert ran == proposed  # every trial ran the LLM's configuration

    best = results.get_best_result(metric="loss", mode="min")
    assert best.config["x"] == 2.0
    assert best.metrics["loss"] == 0.0

    study = optuna.load_study(study_name="agenthpo-ray", storage=storage)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == N_TRIALS
    rationales = {a["rationale"] for a in answers}
    for trial in trials:
        assert trial.user_attrs[_keys.PROPOSED_BY] == "llm"
        assert trial.user_attrs[_keys.RATIONALE] in rationales
        assert trial.user_attrs[_keys.LLM_MODEL] == "scripted:ray-test"


def test_the_searcher_pickles_with_its_sampler_and_rebuilds_the_llm_client(
    tmp_path: Path,
) -> None:
    # Tune pickles the searcher into experiment checkpoints (OptunaSearch.save); a client
    # that was used holds an HTTP connection pool, which must not travel.
    client = AnthropicClient(model="claude-haiku-4-5", api_key="k", base_url="http://127.0.0.1:9")
    client._sdk()  # as after a first call
    assert client._client is not None
    sampler = AgentSampler(
        policy="agent",
        backbone=TPESampler(seed=0),
        llm=client,
        space=Space.from_optuna(SPACE),
        seed=0,
    )
    search = OptunaSearch(space=SPACE, sampler=sampler, metric="loss", mode="min")
    search.save(str(tmp_path / "searcher.pkl"))
    restored = OptunaSearch()
    restored.restore(str(tmp_path / "searcher.pkl"))
    clone = restored._sampler
    assert isinstance(clone, AgentSampler)
    assert isinstance(clone.llm, AnthropicClient)
    assert clone.llm._client is None  # rebuilt lazily on the next call
    assert clone.llm.name == "anthropic:claude-haiku-4-5"
    assert pickle.loads(pickle.dumps(clone)).llm.name == "anthropic:claude-haiku-4-5"
