"""Fixed-seed studies of every strategy and preset, recorded before the policy redesign.

Each case runs a short study (15 trials on a cheap function) with a scripted LLM whose
answers depend only on how many calls it received: most are valid, every fifth is out of
range (a repair round, or a fallback for the embedded model, which gets none) and every
seventh repeats its first proposal (a duplicate). :func:`run_case` returns, per trial, the
parameters and the attributes that say who proposed it and why; ``tests/fixtures/
policy_studies.json`` holds what the code at commit defc439 produced, and
``tests/test_policy_fixtures.py`` checks that the code today reproduces it trial for trial.

Run ``python -m tests.policy_cases`` to (re)write the fixture file, or ``python -m
tests.policy_cases NAME... --why "REASON"`` to re-record only the named cases (the others keep
what they recorded), each noting why it was re-recorded (``rerecorded``). Recorded floats
differ between machines in their last digits (BLAS, CPU), so the test compares them with a
relative tolerance.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna

from agenthpo import _keys
from agenthpo.agent.prompts import TaskContext
from agenthpo.llm import Message, ScriptedLLM
from agenthpo.space import Space

FIXTURE = Path(__file__).parent / "fixtures" / "policy_studies.json"
N_TRIALS = 15

SPACES: dict[str, dict[str, Any]] = {
    "mixed": {
        "x": {"type": "float", "low": -5.0, "high": 5.0},
        "kind": {"type": "categorical", "choices": ["a", "b"]},
    },
    "numeric": {
        "x": {"type": "float", "low": -5.0, "high": 5.0},
        "n": {"type": "int", "low": 1, "high": 64, "log": True},
    },
}
SPACES["fragile"] = SPACES["mixed"]  # the mixed bowl whose runs crash where x > 3
FRAGILE_ABOVE = 3.0


def _value(space: str, config: dict[str, Any]) -> float:
    x = float(config["x"])
    if space == "mixed":
        return (x - 2) ** 2 + (0.0 if config["kind"] == "a" else 1.0)
    return (x - 2) ** 2 + abs(math.log2(int(config["n"])) - 3)


def _objective(space: str) -> Callable[[optuna.Trial], float]:
    def objective(trial: optuna.Trial) -> float:
        config: dict[str, Any] = {"x": trial.suggest_float("x", -5.0, 5.0)}
        if space in ("mixed", "fragile"):
            config["kind"] = trial.suggest_categorical("kind", ["a", "b"])
        else:
            config["n"] = trial.suggest_int("n", 1, 64, log=True)
        if space == "fragile" and config["x"] > FRAGILE_ABOVE:
            raise RuntimeError("the run crashed")
        return _value("mixed" if space == "fragile" else space, config)

    return objective


class _Embedded(ScriptedLLM):
    """The scripted model, saying it is the embedded one (as ``LocalClient`` does)."""

    embedded = True


def fake_llm(space: str, *, embedded: bool) -> ScriptedLLM:
    """The scripted model of the cases: answers depend only on the call count."""
    count = [0]
    first: list[dict[str, Any]] = []

    def config_of(i: int) -> dict[str, Any]:
        if i % 5 == 4:
            x = 50.0  # out of range: a repair round (or a fallback without one)
        elif i % 7 == 6 and first:
            return dict(first[0])  # a duplicate of the first proposal
        else:
            x = round(((i * 37) % 100) / 10 - 5, 3)
        if space in ("mixed", "fragile"):
            return {"x": x, "kind": "ab"[i % 2]}
        return {"x": x, "n": 2 ** (i % 7)}

    def propose(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        i = count[0]
        count[0] += 1
        if schema is not None and "candidates" in schema.get("properties", {}):
            k = int(schema["properties"]["candidates"]["minItems"])
            items = [
                {"config": config_of(i * 10 + j), "rationale": f"candidate {j}"} for j in range(k)
            ]
            return json.dumps({"candidates": items})
        config = config_of(i)
        if not first and config["x"] != 50.0:
            first.append(config)
        return json.dumps({"config": config, "rationale": f"idea {i}"})

    cls = _Embedded if embedded else ScriptedLLM
    return cls([propose], model="fixture")


def _case(name: str, **spec: Any) -> dict[str, Any]:
    return {"name": name, **spec}


def cases() -> list[dict[str, Any]]:
    """Every recorded case: ``name``, ``via`` (``make_sampler`` or ``benchmarks``),
    ``strategy``, ``space``, ``llm`` (``capable``, ``embedded`` or ``None``),
    ``options`` (the sampler options of the code at defc439) and, for the policy's later
    fields, ``policy`` (:class:`agenthpo.policy.LLMPolicy` overrides)."""
    out: list[dict[str, Any]] = []
    for strategy in ("backbone", "auto", "tpe", "random", "cmaes", "gp"):
        for space in ("mixed", "numeric"):
            out.append(
                _case(
                    f"{strategy}-{space}",
                    via="make_sampler",
                    strategy=strategy,
                    space=space,
                    llm=None,
                    options={},
                )
            )
    for strategy in ("agent", "hybrid-tpe", "centaur"):
        for llm in ("capable", "embedded"):
            for space in ("mixed", "numeric"):
                out.append(
                    _case(
                        f"{strategy}-{llm}-{space}",
                        via="make_sampler",
                        strategy=strategy,
                        space=space,
                        llm=llm,
                        options={},
                    )
                )
    for strategy in ("agent", "hybrid-tpe"):
        for llm in ("capable", "embedded"):
            out.append(
                _case(
                    f"{strategy}-tpe-{llm}",
                    via="make_sampler",
                    strategy=strategy,
                    space="mixed",
                    llm=llm,
                    options={"backbone": "tpe"},
                )
            )
    # The capable model's schedule these cases were recorded with (3 unscreened start-up
    # turns), pinned so that they keep exercising their mechanism whatever the default is.
    unscreened = {"llm_warmup_trials": 0, "llm_startup_trials": 3, "screen_llm": False}
    extra: list[tuple[str, str, str, dict[str, Any]]] = [
        ("hybrid-tpe-batch", "hybrid-tpe", "capable", {"llm_batch_size": 3, **unscreened}),
        ("hybrid-tpe-tokens", "hybrid-tpe", "capable", {"max_llm_tokens": 600, **unscreened}),
        ("hybrid-tpe-share", "hybrid-tpe", "capable", {"llm_share": 0.5, "adaptive_share": False}),
        ("hybrid-tpe-screen-capable", "hybrid-tpe", "capable", {"screen_llm": True}),
        ("hybrid-tpe-noscreen-embedded", "hybrid-tpe", "embedded", {"screen_llm": False}),
        ("hybrid-tpe-startup-embedded", "hybrid-tpe", "embedded", {"llm_startup_trials": 2}),
        (
            "hybrid-tpe-warmup-capable",
            "hybrid-tpe",
            "capable",
            {"llm_warmup_trials": 4, "llm_startup_trials": 1},
        ),
        ("agent-screen", "agent", "capable", {"screen_llm": True, "backbone": "tpe"}),
        ("agent-repairs", "agent", "embedded", {"repair_rounds": 1}),
        ("centaur-share", "centaur", "capable", {"llm_share": 0.6, "adaptive_share": False}),
    ]
    for name, strategy, llm, options in extra:
        out.append(
            _case(
                name, via="make_sampler", strategy=strategy, space="mixed", llm=llm, options=options
            )
        )
    # Policy fields added after the redesign: given as policy overrides (no old keyword).
    old = {"warmup": 0, "startup": 3, "screen": False, "screen_margin": 0.0}
    for name, llm, fields in (
        ("hybrid-design-capable", "capable", {**old, "initial_design": 4}),
        ("hybrid-candidates-capable", "capable", {**old, "candidates": 3, "screen": True}),
        ("hybrid-avoid-capable", "capable", dict(old)),
        ("hybrid-no-avoid-capable", "capable", {**old, "avoid_failures": False}),
    ):
        out.append(
            _case(
                name,
                via="make_sampler",
                strategy="hybrid-tpe",
                space="fragile" if "avoid" in name else "mixed",
                llm=llm,
                options={},
                policy=fields,
            )
        )
    for label in (
        "hybrid",
        "hybrid-screen",
        "hybrid-tpe",
        "centaur",
        "agent",
        "hybrid-tpe-fixed",
        "hybrid-tpe-late",
        "hybrid-tpe-screen",
    ):
        for llm in ("capable", "embedded"):
            out.append(
                _case(
                    f"bench-{label}-{llm}",
                    via="benchmarks",
                    strategy=label,
                    space="numeric",
                    llm=llm,
                    options={},
                )
            )
    return out


def build_sampler(case: dict[str, Any], *, legacy: bool = False) -> optuna.samplers.BaseSampler:
    """The case's sampler, built through the public way the case names.

    The options are the sampler options of defc439; they are given as policy overrides
    (:mod:`agenthpo.policy`), or with ``legacy`` as the old keyword arguments.
    """
    space = Space.from_dict(SPACES[case["space"]])
    context = TaskContext(
        name="fixture", metric="loss", direction="minimize", description="a cheap bowl"
    )
    llm = (
        None if case["llm"] is None else fake_llm(case["space"], embedded=case["llm"] == "embedded")
    )
    if case["via"] == "benchmarks":
        from benchmarks.optimizers import optuna_sampler
        from benchmarks.tasks import Task

        task = Task(
            name="fixture",
            suite="test",
            space=space,
            direction="minimize",
            context=context,
            build=lambda seed: None,  # type: ignore[arg-type,return-value]
        )
        return optuna_sampler(case["strategy"], task=task, seed=0, llm=llm)
    from agenthpo.policy import LEGACY_OPTIONS, STRATEGY_PRESETS, preset
    from agenthpo.strategies import make_sampler

    options = dict(case["options"])
    backbone = options.pop("backbone", "backbone")
    common: dict[str, Any] = {
        "llm": llm,
        "space": space,
        "context": context,
        "seed": 0,
        "backbone": backbone,
    }
    if legacy:
        return make_sampler(case["strategy"], **common, **options)
    policy = None
    if case["strategy"] in STRATEGY_PRESETS:
        overrides = {LEGACY_OPTIONS[k]: v for k, v in options.items()}
        overrides.update(case.get("policy", {}))
        policy = preset(STRATEGY_PRESETS[case["strategy"]], **overrides)
    return make_sampler(case["strategy"], policy=policy, **common)


_ATTRS = (
    _keys.PROPOSED_BY,
    _keys.BACKBONE_MEMBER,
    _keys.LLM_TRUST,
    _keys.LLM_CALLS,
    _keys.LLM_BATCH,
    _keys.LLM_REPAIRED,
    _keys.INITIAL_DESIGN,
    _keys.LLM_CANDIDATES,
    _keys.LLM_FAILURE_REGION,
    _keys.FAILURE_STEP,
)


def run_case(case: dict[str, Any], *, legacy: bool = False) -> dict[str, Any]:
    """The case's study: per trial the params and the attributes that matter."""
    sampler = build_sampler(case, legacy=legacy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(sampler=sampler)
        study.optimize(_objective(case["space"]), n_trials=N_TRIALS, catch=(RuntimeError,))
    trials = []
    for t in study.trials:
        row: dict[str, Any] = {"params": t.params}
        for key in _ATTRS:
            if key in t.user_attrs:
                row[key] = t.user_attrs[key]
        reason = t.user_attrs.get(_keys.FALLBACK_REASON)
        if isinstance(reason, str):
            row["fallback"] = reason.split(":", 1)[0]
        if _keys.SCREENED in t.user_attrs:
            row["screened"] = t.user_attrs[_keys.SCREENED]["config"]
        trials.append(row)
    return {"schedule": study.user_attrs.get(_keys.STUDY_SCHEDULE), "trials": trials}


def has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def record(names: Sequence[str] = (), why: str = "") -> None:
    """Writes the fixture file from the code checked out now: every case, or only the cases
    ``names`` (each noting ``why`` it was re-recorded), keeping the others as recorded."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out: dict[str, Any] = {"torch": has_torch(), "n_trials": N_TRIALS, "cases": {}}
    if names:
        out = json.loads(FIXTURE.read_text())
        unknown = sorted(set(names) - {c["name"] for c in cases()})
        if unknown or not why:
            raise SystemExit(f"unknown cases {unknown}" if unknown else "say --why")
    for case in cases():
        if case["strategy"] == "gp" and not has_torch():
            continue
        if names and case["name"] not in names:
            continue
        entry: dict[str, Any] = {"case": case, **run_case(case)}
        if why:
            entry["rerecorded"] = why
        out["cases"][case["name"]] = entry
        print(case["name"], file=sys.stderr)
    FIXTURE.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("names", nargs="*", help="re-record only these cases")
    parser.add_argument("--why", default="", help="why the named cases are re-recorded")
    args = parser.parse_args()
    record(args.names, args.why)
