"""Shortening text for display without cutting a word, a name or a quoted command.

Every place that bounds a message (an error line, a rationale, a config in a status line, a
report's hover text) shortens it here, so that a reader never sees ``val_ac`` for
``val_accuracy`` or a command cut at ``-DGGML_AMX_TILE=OFF -``: text is cut between words,
a span in backticks counts as one word, and a marker says that something was left out.

Example:
    >>> clip("the run never reported 'val_accuracy' (it reported loss)", 40)
    "the run never reported 'val_accuracy' …"
    >>> clip("fix it with `pip install optuna-dashboard` please", 30)
    'fix it with …'
    >>> one_line("Traceback:\\n  line 1\\n\\n  boom", 100)
    'Traceback: line 1 boom'
"""

from __future__ import annotations

__all__ = ["MARKER", "clip", "one_line", "single_line", "tail_lines"]

MARKER = "…"
"""What stands for the text left out."""


def _cut_points(text: str, end: int, *, spans: bool = True) -> list[int]:
    """Indices up to ``end`` of whitespace (outside backtick spans, with ``spans``): where
    a cut may fall."""
    points: list[int] = []
    quoted = False
    for index, char in enumerate(text[: end + 1]):
        if char == "`" and spans:
            quoted = not quoted
        elif char.isspace() and not quoted:
            points.append(index)
    return points


def _longest_body(text: str, points: list[int]) -> str:
    return next((body for p in reversed(points) if (body := text[:p].rstrip())), "")


def clip(text: str, limit: int) -> str:
    """``text`` whole if it has at most ``limit`` characters, else cut between words.

    The result keeps the longest run of whole words (a span in backticks is one word) that
    fits with `` …`` after it; when the backticks do not pair up, or a span would leave less
    than a quarter of the limit (a long fenced block), words alone. Only when the first
    word alone is longer than the limit is it cut inside, as ``first-part…``. The result
    never exceeds ``limit`` characters.

    Args:
        text: The text; its whitespace is kept as it is (see :func:`one_line`).
        limit: The most characters the result may have (at least 1).

    Returns:
        The text, or its shortened form ending in :data:`MARKER`.

    Example:
        >>> clip("lr=0.001 batch_size=64 optimizer=adam", 30)
        'lr=0.001 batch_size=64 …'
        >>> clip("supercalifragilistic", 10)
        'supercali…'
        >>> clip("raise `lr by half, keep the batch size and the momentum", 30)
        'raise `lr by half, keep the …'
    """
    if len(text) <= limit:
        return text
    if limit <= len(MARKER):
        return MARKER[:limit]
    room = limit - len(MARKER) - 1  # the body, then a space, then the marker
    body = _longest_body(text, _cut_points(text, room))
    if text.count("`") % 2 or len(body) < room // 4:
        # A stray backtick, or a long fenced block, leaves no cut outside a span: keeping
        # spans whole would keep next to nothing, so cut between words alone.
        body = max(body, _longest_body(text, _cut_points(text, room, spans=False)), key=len)
    if body:
        return f"{body} {MARKER}"
    return text[: limit - len(MARKER)] + MARKER


def single_line(text: object) -> str:
    """``text`` as one printable line: control characters (escape sequences' ESC, bells,
    bidi overrides) become spaces and every run of whitespace one space; nothing cut.

    Example:
        >>> single_line("  ValueError:\\n  lr must be positive  ")
        'ValueError: lr must be positive'
        >>> single_line("two\\nlines\\x1b[31m and a bell\\x07")
        'two lines [31m and a bell'
    """
    raw = str(text)
    if not raw.isprintable():
        raw = "".join(c if c.isprintable() else " " for c in raw)
    return " ".join(raw.split())


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` on a single line (:func:`single_line`), then clipped to ``limit`` if given.

    Example:
        >>> one_line("ValueError:\\n  lr must be positive", 20)
        'ValueError: lr …'
    """
    line = single_line(text)
    return line if limit is None else clip(line, limit)


def tail_lines(text: str, limit: int) -> str:
    """The end of ``text`` in at most ``limit`` characters, starting at a whole line.

    For stored output tails: the first line kept is whole, or marked ``…`` where a single
    line is longer than the limit.

    Example:
        >>> tail_lines("first line\\nsecond line\\nlast\\n", 20)
        'second line\\nlast\\n'
    """
    if len(text) <= limit:
        return text
    window = text[len(text) - limit :]
    if text[len(text) - limit - 1] == "\n":
        return window  # the window starts a line
    newline = window.find("\n")
    if 0 <= newline < len(window) - 1:
        return window[newline + 1 :]
    return MARKER + window[len(MARKER) :]
