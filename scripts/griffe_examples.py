"""A griffe extension for the API reference: the package's docstrings as Markdown.

The docstrings are Google style with a few reStructuredText habits that griffe would render
as prose; this extension rewrites them before griffe parses them:

- ``Example:`` sections (which Google's guide and Sphinx's napoleon accept) become
  ``Examples:``, the only title griffe parses as doctest examples;
- Sphinx roles (``:func:`~agenthpo.llm.is_embedded```) become cross-references to the API
  pages, shown as plain code where the target has no page (a private module);
- reStructuredText simple tables (``====  ====`` borders, two columns) become Markdown tables.
"""

from __future__ import annotations

import html
import re
from typing import Any

from griffe import Extension, Object

_SECTION = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):`(~?)([\w.]+)(?:\(\))?`")
_BORDER = re.compile(r"^(=+)( +)(=+)\s*$")


class ExampleSections(Extension):
    """Rewrites each docstring's sections, roles and tables to what griffe renders."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is None:
            return
        text = _SECTION.sub(r"\1Examples:", obj.docstring.value)
        text = _ROLE.sub(_reference, text)
        obj.docstring.value = _tables(text)


def _reference(match: re.Match[str]) -> str:
    short, target = match.groups()
    shown = target.rsplit(".", 1)[-1] if short else target
    return (
        f'<autoref identifier="{html.escape(target)}" optional>'
        f"<code>{html.escape(shown)}</code></autoref>"
    )


def _tables(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        border = _BORDER.match(lines[i])
        end = _closing(lines, i) if border else None
        if border is None or end is None:
            out.append(lines[i])
            i += 1
            continue
        split = len(border.group(1)) + len(border.group(2))
        rows: list[list[str]] = []
        for line in lines[i + 1 : end]:
            key, value = line[:split].strip(), line[split:].strip()
            if key or not rows:
                rows.append([key, value])
            else:
                rows[-1][1] = f"{rows[-1][1]} {value}".strip()
        out.append("| | |\n| --- | --- |")
        out.extend(f"| {k} | {v.replace('|', '&#124;')} |" for k, v in rows)
        i = end + 1
    return "\n".join(out)


def _closing(lines: list[str], start: int) -> int | None:
    for j in range(start + 1, len(lines)):
        if _BORDER.match(lines[j]):
            return j
        if not lines[j].strip():
            return None
    return None
