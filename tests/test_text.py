"""No message is cut in the middle of a word, a name or a command (issue 17, item 3)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import optuna
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from rich.console import Console

from agenthpo import _keys
from agenthpo._text import MARKER, clip, one_line, tail_lines
from agenthpo.cli import run as cli_run
from agenthpo.executor._base import _one_line
from agenthpo.reporting._data import TrialRow
from agenthpo.reporting._figures import _hover
from agenthpo.reporting._summary import _trial_view
from agenthpo.task import task_from_dict
from agenthpo.tuner import TrialEvent, Tuner

# Words, spaces, newlines and backticks: enough to build any shape of message.
TEXT = st.text(alphabet=st.sampled_from("ab_=-.:' \n`"), max_size=80)
LIMITS = st.integers(min_value=1, max_value=90)


# A word: a run of non-space characters, where a span in backticks (which may hold spaces,
# and runs to the end if never closed) counts as part of the word around it.
WORD = re.compile(r"(?:`[^`]*(?:`|$)|[^\s`])+")


def words(text: str) -> list[tuple[int, int]]:
    """(start, end) of every word of ``text``."""
    return [m.span() for m in WORD.finditer(text)]


def clip_keeping_spans(text: str, room: int) -> str:
    """What the cut keeps when every backtick span stays whole."""
    spans = [end for _, end in words(text) if end <= room]
    return text[: spans[-1]].rstrip() if spans else ""


def test_a_stray_backtick_or_a_fence_does_not_swallow_the_rest() -> None:
    rationale = "Raise `lr " + "and keep the rest of the configuration as it was " * 12
    assert len(clip(rationale, 480)) > 400
    answer = "Here are my revisions: ```json\n" + '{"lr": [0.001, 0.1]}\n' * 200 + "```"
    assert len(one_line(answer, 2000)) > 1500


@given(TEXT, LIMITS)
@example("the run finished but never reported 'val_accuracy' (it reported loss)", 60)
@example("cmake -B build -DGGML_AMX_TILE=OFF -DGGML_AVX512=ON", 40)
@example("run `agenthpo run task.yaml --n-trials 5` again", 30)
def test_clip_never_ends_inside_a_word_that_fits(text: str, limit: int) -> None:
    out = clip(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text
        return
    assert out.endswith(MARKER)
    kept = out[: -len(MARKER)].rstrip()
    assert text.startswith(kept)
    cut = len(kept)
    room = limit - len(MARKER) - 1
    whole = clip_keeping_spans(text, room)
    if text.count("`") % 2 or len(whole) < room // 4:
        # Backticks that do not pair up, or a span that would leave next to nothing: the
        # cut falls between words, spans or not, and keeps at least as much.
        assert len(kept) >= len(whole)
        assert cut == len(text) or text[cut].isspace() or cut == limit - len(MARKER)
        return
    spans = words(text)
    ends = {end for _, end in spans}
    if cut == 0 or cut in ends:
        # Between words: and the next word would not have fitted with the marker.
        later = [end for _, end in spans if end > cut]
        if later:
            assert later[0] + 1 + len(MARKER) > limit, (text, limit, out)
        return
    # Inside a word: only the first one, and only because it alone is too long.
    first_start, first_end = spans[0]
    assert first_start < cut < first_end, (text, limit, out)
    assert first_end > limit - len(MARKER) - 1, (text, limit, out)


@given(TEXT, LIMITS)
def test_one_line_has_no_newline_and_respects_the_limit(text: str, limit: int) -> None:
    out = one_line(text, limit)
    assert "\n" not in out
    assert len(out) <= limit


@given(st.lists(st.text(alphabet="ab =", max_size=30), max_size=8), st.integers(5, 120))
def test_tail_lines_starts_at_a_whole_line(lines: list[str], limit: int) -> None:
    text = "".join(line + "\n" for line in lines)
    out = tail_lines(text, limit)
    assert len(out) <= limit
    assert text.endswith(out.removeprefix(MARKER))
    if out != text and not out.startswith(MARKER):
        assert text[len(text) - len(out) - 1] == "\n"


def test_names_in_a_long_error_line_stay_whole() -> None:
    names = ", ".join(f"val_accuracy_{i}" for i in range(60))
    line = _one_line(f"KeyError: the metrics were {names}")
    assert line.endswith(MARKER)
    assert re.search(r"val_accuracy_\d+, " + re.escape(MARKER) + "$", line), line


def test_live_log_line_cuts_a_long_rationale_between_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(cli_run, "console", Console(file=buffer, width=80, no_color=True))
    table = cli_run._LiveTable("val_accuracy")
    rationale = "raise the learning_rate_init " * 10 + "[/] and keep [bold] literal"
    table.end(
        TrialEvent(
            number=0,
            config={"learning_rate_init": 0.001},
            attrs={_keys.PROPOSED_BY: "llm", _keys.RATIONALE: rationale},
            state="fail",
            error="the run finished but never reported 'val_accuracy' (it reported loss,"
            " val_accuracy_top5, train_loss); call agenthpo.report(val_accuracy=...)",
        )
    )
    line = buffer.getvalue().strip()
    assert "\n" not in line
    notes = line.split(" | ", 1)[1]
    shown = notes.split(" (the run finished", 1)[0]
    assert shown.endswith(" " + MARKER), shown
    assert all(word in rationale.split() for word in shown[: -len(MARKER)].split()), shown
    # The error, names and fix included, is never cut.
    assert "val_accuracy_top5, train_loss); call agenthpo.report(val_accuracy=...))" in line


def test_report_hover_cuts_the_config_between_parameters() -> None:
    params = {f"a_rather_long_parameter_name_{i}": 0.5 for i in range(6)}
    hover = _hover(TrialRow(number=3, state="complete", values=(0.9,), params=params), "acc")
    config = hover.split("<br>")[-1]
    assert config.endswith(MARKER)
    for pair in config[: -len(MARKER)].rstrip(" ,").split(", "):
        assert re.fullmatch(r"a_rather_long_parameter_name_\d=0\.5", pair), config


def test_summary_digest_cuts_errors_and_analysis_between_words() -> None:
    error = "CalledProcessError: Command " + " ".join(f"-DGGML_FLAG_{i}=OFF" for i in range(40))
    row = TrialRow(
        number=1, state="fail", values=None, params={}, error=error, analysis="crashed: " + error
    )
    view = _trial_view(row)
    for key in ("error", "analysis"):
        text = view[key]
        assert text.endswith(" " + MARKER), text
        assert re.search(r"-DGGML_FLAG_\d+=OFF " + re.escape(MARKER) + "$", text), text


def test_stored_stderr_tail_starts_at_a_whole_line(tmp_path: Path) -> None:
    script = tmp_path / "noisy.py"
    script.write_text(
        "import sys\n"
        "for i in range(400):\n"
        "    sys.stderr.write(f'cmake -DGGML_AMX_TILE=OFF -DGGML_LINE={i}\\n')\n"
        "sys.exit(1)\n",
        encoding="utf-8",
    )
    task = task_from_dict(
        {
            "name": "noisy",
            "objective": {"metric": "acc", "direction": "maximize"},
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "n_trials": 1,
            "command": [sys.executable, str(script)],
            "strategy": "random",
        },
        base_dir=tmp_path,
    )
    storage = f"sqlite:///{tmp_path / 'n.db'}"
    Tuner(task, storage=storage).run()
    trial = optuna.load_study(study_name="noisy", storage=storage).trials[0]
    tail = trial.user_attrs[_keys.STDERR_TAIL]
    assert tail.startswith("cmake -DGGML_AMX_TILE=OFF -DGGML_LINE="), tail[:80]
    assert tail.endswith("-DGGML_LINE=399\n")
