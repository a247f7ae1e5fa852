"""Every strategy and preset reproduces, trial for trial, the studies recorded at defc439.

The fixture (``tests/fixtures/policy_studies.json``) was written by ``python -m
tests.policy_cases`` on the code before the policy redesign; see :mod:`tests.policy_cases`.
Cases whose behaviour a later change meant to change were re-recorded, each saying why
(``rerecorded``). Floats are compared with a relative tolerance: the recorded studies'
parameters differ between machines in their last digits (BLAS, CPU), while a change of
behaviour moves them far more (or changes who proposed, an integer or a categorical).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.policy_cases import FIXTURE, has_torch, run_case

_RECORDED: dict[str, Any] = json.loads(FIXTURE.read_text())
REL_TOL = 1e-4


def _same(want: Any, got: Any) -> bool:
    """Equal, floats within :data:`REL_TOL` of each other."""
    if isinstance(want, float) or isinstance(got, float):
        numbers = (int, float)
        return (
            isinstance(want, numbers)
            and isinstance(got, numbers)
            and not isinstance(want, bool)
            and not isinstance(got, bool)
            and math.isclose(want, got, rel_tol=REL_TOL, abs_tol=1e-12)
        )
    if isinstance(want, dict) and isinstance(got, dict):
        return want.keys() == got.keys() and all(_same(want[k], got[k]) for k in want)
    if isinstance(want, list) and isinstance(got, list):
        return len(want) == len(got) and all(_same(a, b) for a, b in zip(want, got, strict=True))
    return bool(want == got)


def test_same_tolerates_only_float_noise() -> None:
    assert _same({"x": 2.202294725563859, "n": 3}, {"x": 2.202294725563858, "n": 3})
    assert not _same({"x": 2.202, "n": 3}, {"x": 2.203, "n": 3})
    assert not _same({"x": 2.0, "n": 3}, {"x": 2.0, "n": 4})
    assert not _same({"by": "llm"}, {"by": "backbone"})


@pytest.mark.parametrize("name", sorted(_RECORDED["cases"]))
def test_the_recorded_study_is_reproduced(name: str) -> None:
    if _RECORDED["torch"] != has_torch():
        pytest.skip("recorded with torch installed (GP): the backbone differs without it")
    recorded = _RECORDED["cases"][name]
    replayed = json.loads(json.dumps(run_case(recorded["case"])))
    for number, (want, got) in enumerate(zip(recorded["trials"], replayed["trials"], strict=True)):
        assert _same(want, got), f"{name}: trial {number} differs: {got} != {want}"
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
    assert _same(
        {"schedule": recorded["schedule"], "trials": recorded["trials"]},
        json.loads(json.dumps(replayed)),
    )
