"""MkDocs hooks (mkdocs.yml ``hooks:``): pages made from the project's own sources.

- ``cli.md``: the marker ``<!-- cli-reference -->`` becomes every ``agenthpo`` command with its
  help text and options, read from the typer app, so the reference cannot drift from the CLI.
- ``benchmarks.md``: BENCHMARKS.md (which ``python -m benchmarks report`` generates at the
  root) becomes a page of the site, with its plots. The pages link it as ``../BENCHMARKS.md``,
  which works where they are read as files (GitHub); the hook points those links at the page.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import typer.main
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
CLI_MARKER = "<!-- cli-reference -->"
# The CLI reference documents this tree's code, whatever else is installed.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
_PLOT = re.compile(r"\]\((benchmarks/results/plots/[^)]+)\)")
_BENCHMARKS_LINK = re.compile(r"\]\(\.\./BENCHMARKS\.md(#[^)]*)?\)")


def on_files(files: Files, config: Any) -> Files:
    """Adds BENCHMARKS.md as ``benchmarks.md`` and the plots it shows."""
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    files.append(File.generated(config, "benchmarks.md", content=text))
    for plot in sorted(set(_PLOT.findall(text))):
        path = ROOT / plot
        if path.exists():
            files.append(File.generated(config, plot, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Points links to the root's BENCHMARKS.md at its page; fills the CLI reference."""
    markdown = _BENCHMARKS_LINK.sub(lambda m: f"](benchmarks.md{m.group(1) or ''})", markdown)
    if CLI_MARKER not in markdown:
        return markdown
    return markdown.replace(CLI_MARKER, cli_reference())


def cli_reference() -> str:
    """Markdown for every ``agenthpo`` command: its help and a table of its options."""
    from agenthpo.cli import app

    # Duck-typed: typer ships its own copy of click, so click's classes would not match.
    group: Any = typer.main.get_command(app)
    parts: list[str] = []
    for name, command in group.commands.items():
        if command.hidden:
            continue
        parts.append(f"## `agenthpo {name}`\n")
        parts.append(_usage(name, command) + "\n")
        if command.help:
            parts.append(_plain(command.help) + "\n")
        rows = [_row(param) for param in command.params]
        rows = [row for row in rows if row]
        if rows:
            parts.append("| argument or option | what |\n| --- | --- |")
            parts.extend(rows)
            parts.append("")
    return "\n".join(parts)


def _usage(name: str, command: Any) -> str:
    args = [
        p.name.upper() if p.required else f"[{p.name.upper()}]"
        for p in command.params
        if p.param_type_name == "argument" and p.name
    ]
    return "```text\nagenthpo " + " ".join([name, "[OPTIONS]", *args]) + "\n```"


def _row(param: Any) -> str:
    if param.param_type_name == "option":
        if param.hidden or param.name == "help":
            return ""
        names = " / ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        text = param.help or ""
        if param.default not in (None, False, "", ()) and not param.is_flag:
            text += f" Default: `{param.default}`."
    elif param.param_type_name == "argument":
        names = f"`{(param.name or '').upper()}`"
        text = getattr(param, "help", None) or ""
    else:
        return ""
    return f"| {names} | {_cell(text)} |"


def _plain(text: str) -> str:
    """Help text as Markdown: typer's ``\\b`` markers removed, paragraphs kept."""
    return _escape(text.replace("\b\n", "").replace("\b", "").strip())


def _cell(text: str) -> str:
    return _escape(" ".join(text.split())).replace("|", "\\|")


def _escape(text: str) -> str:
    """``<`` and ``>`` outside code spans as entities (``<task stem>`` is not a tag)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # the even parts lie outside backticks
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)
