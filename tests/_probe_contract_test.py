from __future__ import annotations
from collections.abc import Callable
import pytest
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase, MultiObjectiveSamplerTestCase
from agenthpo.llm import RandomLLM
from agenthpo.sampler import AgentSampler
from agenthpo.strategies import make_sampler

class TestAgent(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: AgentSampler(llm=RandomLLM(seed=0), seed=0)

class TestHybrid(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: make_sampler("hybrid-tpe", llm=RandomLLM(seed=0), seed=0)

class TestCentaur(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: make_sampler("centaur", llm=RandomLLM(seed=0), seed=0)

class TestAgentMO(MultiObjectiveSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: AgentSampler(llm=RandomLLM(seed=0), seed=0)
