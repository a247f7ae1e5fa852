"""Outside text (an LLM's answer, a training script's error, a metric name) made safe to show.

Example:
    >>> one_line("two\\nlines\\x1b[31m and a bell\\x07")
    'two lines [31m and a bell'
    >>> one_line("x" * 10, limit=5)
    'xxxx…'
"""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(text: object, limit: int | None = None) -> str:
    """One printable line: control characters (escape sequences' ESC, bells, bidi overrides)
    become spaces, runs of whitespace one space; cut to ``limit`` characters with "…"."""
    raw = str(text)
    if not raw.isprintable():
        raw = "".join(c if c.isprintable() else " " for c in raw)
    out = " ".join(raw.split())
    if limit is not None and len(out) > limit:
        out = out[: max(0, limit - 1)] + "…"
    return out
