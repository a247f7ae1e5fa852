"""``agenthpo init``: the script is checked first, read as Python reads it, and a
learning rate without a default still gets a learning rate's range."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agenthpo.cli import app
from agenthpo.errors import TaskError
from agenthpo.scaffold import draft_task, read_target, render_draft
from agenthpo.task import load_task

ARGPARSE = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--lr', type=float, default=0.1, help='{help}')\n"
    "p.add_argument('--epochs', type=int, default=10)\n"
)


# ------------------------------------------------------------------ the script, then the output


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nosuch.py", "nosuch.py: no such file"),
        ("nosuch.py:fit", "nosuch.py: no such file"),
        (".", ".: give a Python script (SCRIPT.py or SCRIPT.py:FUNCTION)"),
        ("bad.yaml", "bad.yaml: give a Python script (SCRIPT.py or SCRIPT.py:FUNCTION)"),
        ("pkg.py", "pkg.py: is a directory; give the training script"),
    ],
)
def test_a_bad_script_is_reported_before_an_existing_task_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    """--force cannot fix a typo in the script's name, so that error comes first."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "task.yaml").write_text("mine\n")
    (tmp_path / "bad.yaml").write_text("x: 1\n")
    (tmp_path / "pkg.py").mkdir()
    result = CliRunner().invoke(app, ["init", target, "--no-llm"])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {message}"
    assert "Traceback" not in result.output
    assert (tmp_path / "task.yaml").read_text() == "mine\n"


def test_a_good_script_still_meets_the_existing_task_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "task.yaml").write_text("mine\n")
    (tmp_path / "train.py").write_text(ARGPARSE.format(help="step size"))
    result = CliRunner().invoke(app, ["init", "train.py", "--no-llm"])
    assert result.exit_code == 2
    assert "task.yaml: already exists; give --force" in result.output
    assert (tmp_path / "task.yaml").read_text() == "mine\n"


# ------------------------------------------------------------------ encodings


def test_a_script_with_a_latin1_coding_line_is_read(tmp_path: Path) -> None:
    """PEP 263: Python runs this script, so init reads it (and its non-ASCII help)."""
    script = tmp_path / "latin.py"
    source = "# -*- coding: latin-1 -*-\n" + ARGPARSE.format(help="pas de modèle élevé")
    script.write_bytes(source.encode("latin-1"))
    info = read_target(script)
    assert [(o.name, o.help) for o in info.options] == [
        ("lr", "pas de modèle élevé"),
        ("epochs", ""),
    ]


def test_a_latin1_script_drafts_a_task_that_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = "# coding: latin-1\n" + ARGPARSE.format(help="taux élevé")
    (tmp_path / "latin.py").write_bytes(source.encode("latin-1"))
    result = CliRunner().invoke(app, ["init", "latin.py", "--no-llm"])
    assert result.exit_code == 0, result.output
    assert sorted(load_task(tmp_path / "task.yaml").space.names) == ["epochs", "lr"]


def test_a_utf8_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    script = tmp_path / "bom.py"
    script.write_bytes(b"\xef\xbb\xbf" + ARGPARSE.format(help="café").encode())
    assert read_target(script).options[0].help == "café"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"# -*- coding: nosuch -*-\n" + ARGPARSE.encode(), r"unknown encoding: nosuch"),
        (ARGPARSE.format(help="caf\xe9").encode("latin-1"), r"'utf-8' codec can't decode"),
    ],
)
def test_an_unreadable_encoding_is_one_clear_error(
    tmp_path: Path, data: bytes, message: str
) -> None:
    script = tmp_path / "enc.py"
    script.write_bytes(data)
    with pytest.raises(TaskError, match=rf"^{tmp_path}/enc.py: cannot read the file \({message}"):
        read_target(script)


# ------------------------------------------------------------------ a default-less learning rate


@pytest.mark.parametrize(
    ("source", "target", "name"),
    [
        (
            "def fit(config, report):\n    lr = config['lr']\n"
            "    depth = config.get('depth', 3)\n    report(val_loss=lr * depth)\n",
            "fit.py:fit",
            "lr",
        ),
        (
            "def fit(learning_rate: float, depth: int = 3):\n"
            "    return {'val_loss': learning_rate * depth}\n",
            "fit.py:fit",
            "learning_rate",
        ),
    ],
)
def test_a_learning_rate_without_a_default_gets_a_log_range(
    tmp_path: Path, source: str, target: str, name: str
) -> None:
    (tmp_path / "fit.py").write_text(source)
    draft = draft_task(f"{tmp_path}/{target}", llm=None)
    param = next(p for p in draft.params if p.option.name == name)
    assert param.source == "heuristic"
    assert param.spec == {"type": "float", "low": 1e-5, "high": 0.1, "log": True}
    assert "learning rate" in param.reason
    text = render_draft(draft)
    assert yaml.safe_load(text)["space"][name] == param.spec
    line = text.splitlines().index(next(t for t in text.splitlines() if t.startswith(f"  {name}:")))
    assert "range guessed by a heuristic" in "\n".join(text.splitlines()[line - 2 : line])


def test_a_plain_float_without_a_default_keeps_the_unit_range(tmp_path: Path) -> None:
    """Only the name makes a learning rate; any other float without a default stays 0 to 1."""
    (tmp_path / "fit.py").write_text("def fit(config):\n    return config['scale']\n")
    draft = draft_task(f"{tmp_path}/fit.py:fit", llm=None)
    assert draft.params[0].spec == {"type": "float", "low": 0.0, "high": 1.0, "log": False}
