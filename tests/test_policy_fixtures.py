"""Every strategy and preset reproduces, trial for trial, the studies recorded at defc439.

The fixture (``tests/fixtures/policy_studies.json``) was written by ``python -m
tests.policy_cases`` on the code before the policy redesign; see :mod:`tests.policy_cases`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.policy_cases import FIXTURE, has_torch, run_case

_RECORDED: dict[str, Any] = json.loads(FIXTURE.read_text())


@pytest.mark.parametrize("name", sorted(_RECORDED["cases"]))
def test_the_recorded_study_is_reproduced(name: str) -> None:
    if _RECORDED["torch"] != has_torch():
        pytest.skip("recorded with torch installed (GP): the backbone differs without it")
    recorded = _RECORDED["cases"][name]
    replayed = json.loads(json.dumps(run_case(recorded["case"])))
    for number, (want, got) in enumerate(zip(recorded["trials"], replayed["trials"], strict=True)):
        assert got == want, f"{name}: trial {number} differs"
    assert replayed["schedule"] == recorded["schedule"]


_WITH_OPTIONS = sorted(n for n, c in _RECORDED["cases"].items() if c["case"]["options"])


@pytest.mark.parametrize("name", _WITH_OPTIONS)
def test_the_old_keyword_arguments_still_reproduce_it_with_a_warning(name: str) -> None:
    if _RECORDED["torch"] != has_torch():
        pytest.skip("recorded with torch installed (GP): the backbone differs without it")
    recorded = _RECORDED["cases"][name]
    options = {k for k in recorded["case"]["options"] if k != "backbone"}
    if options:
        with pytest.warns(FutureWarning, match="deprecated"):
            replayed = run_case(recorded["case"], legacy=True)
    else:
        replayed = run_case(recorded["case"], legacy=True)
    assert json.loads(json.dumps(replayed)) == {
        "schedule": recorded["schedule"],
        "trials": recorded["trials"],
    }
