"""``agenthpo init --llm local``: the real embedded model drafting the digits example's ranges.

SmolLM2-135M answers in valid JSON (decoding follows the schema's grammar) but its ranges are
usually degenerate (``low == high == default``); the checks must catch every such range and
hand it to a marked heuristic, and the draft must load and be valid either way.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agenthpo.cli import app
from agenthpo.task import load_task

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_model_drafts_a_valid_task_for_digits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTHPO_LLAMA_THREADS", "1")
    folder = tmp_path / "digits_mlp"
    folder.mkdir()
    shutil.copy(ROOT / "examples" / "digits_mlp" / "train.py", folder / "train.py")
    result = CliRunner().invoke(
        app, ["init", str(folder / "train.py"), "--llm", "local"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "LLM: local:" in out
    # The answer was JSON with a range for every parameter (the schema's grammar held).
    assert "not JSON" not in out
    assert "gave no range" not in out
    assert "the LLM call failed" not in out
    text = (folder / "task.yaml").read_text()
    task = load_task(folder / "task.yaml")
    hand = load_task(ROOT / "examples" / "digits_mlp" / "task.yaml")
    assert set(hand.space.names) <= set(task.space.names)
    assert task.objective.metric == "val_accuracy"
    assert task.default_config is not None
    space = yaml.safe_load(text)["space"]
    for name, spec in space.items():
        default = task.default_config[name]
        if spec["type"] == "categorical":
            assert default in spec["choices"]
            continue
        assert spec["low"] < spec["high"], name
        assert spec["low"] <= default <= spec["high"], name
        assert not spec["log"] or spec["low"] > 0, name
        assert all(math.isfinite(x) for x in (spec["low"], spec["high"]))
        if spec["type"] == "int":
            assert isinstance(spec["low"], int)
            assert isinstance(spec["high"], int)
    # Every range that is not the script's says who guessed it; a heuristic says why.
    lines = text.splitlines()
    for name in ("hidden_units", "alpha", "learning_rate_init", "epochs"):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"  {name}:"))
        comments = "\n".join(lines[max(0, at - 4) : at])
        assert "# range guessed by the LLM (local:" in comments or (
            "# range guessed by a heuristic" in comments and "the LLM's range" in comments
        ), comments
