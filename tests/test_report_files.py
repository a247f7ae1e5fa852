"""Where reports go: one folder per study and storage, and plain names keep their folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenthpo.report_files import default_report_dir, report_dir_for

STORAGE = "sqlite:////x/other.db"


def test_plain_study_names_keep_their_folder() -> None:
    # The folders existing users have: these names must not move.
    assert default_report_dir(None, "quad", storage=STORAGE).as_posix() == (
        "quad-other-22c8fe-report"
    )
    assert default_report_dir(Path("t/task.yaml"), "quad", storage=STORAGE).as_posix() == (
        "t/task-report-quad-other-22c8fe"
    )
    assert default_report_dir(Path("t/task.yaml"), "digits-mlp").as_posix() == "t/task-report"
    for name in ("quad", "digits-mlp", "a_b", "run.2", "Study_1"):
        assert default_report_dir(None, name, storage=STORAGE).name.startswith(f"{name}-other-")


@pytest.mark.parametrize("task_file", [None, Path("t/task.yaml")])
def test_study_names_that_slug_alike_get_their_own_folders(task_file: Path | None) -> None:
    names = ["a b", "a/b", "a_b", "a__b", "日本", "中文", "study", "Ünï", "_a_b_", ".a_b"]
    folders = [default_report_dir(task_file, n, storage=STORAGE) for n in names]
    assert len(set(folders)) == len(names), dict(zip(names, folders, strict=True))
    # report_dir_for (what `agenthpo report` and `agenthpo run` use) agrees.
    if task_file is None:
        assert [report_dir_for(None, n, STORAGE) for n in names] == folders


def test_a_very_long_study_name_gives_a_usable_folder_name(tmp_path: Path) -> None:
    names = ["x" * 300, "x" * 299 + "y"]
    folders = [default_report_dir(None, n, storage=STORAGE) for n in names]
    assert folders[0] != folders[1]
    for folder in folders:
        assert len(folder.name.encode("utf-8")) < 200
        (tmp_path / folder).mkdir()


def test_the_embedded_model_writes_no_summary_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Picked by default (no key, no --llm), the embedded model spent 5 minutes on a summary
    that then failed its checks (docs probe): the report writes the data-only summary and
    says why; named with --llm, it is used."""
    from agenthpo.llm import is_embedded
    from agenthpo.report_files import summary_llm

    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AGENTHPO_LLM", "OLLAMA_HOST"):
        monkeypatch.delenv(name, raising=False)
    client, note = summary_llm(None, None, no_llm=False)
    assert client is None
    assert note is not None
    assert "embedded model is too small" in note
    asked, _ = summary_llm(None, "local", no_llm=False)
    assert is_embedded(asked)
    monkeypatch.setenv("AGENTHPO_LLM", "local")  # asked for too (review)
    chosen, _ = summary_llm(None, None, no_llm=False)
    assert is_embedded(chosen)
