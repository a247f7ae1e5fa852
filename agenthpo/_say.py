"""One problem said once where the user looks: as a warning, and on the ``agenthpo`` logger
when logging is set up."""

from __future__ import annotations

import logging
import warnings

_logger = logging.getLogger("agenthpo")


def warn(text: str, category: type[Warning] = UserWarning, *, stacklevel: int = 1) -> None:
    """Warns ``text`` (``stacklevel`` counted from the caller, as ``warnings.warn`` counts
    it) and logs it at WARNING when a handler would show the record. Without any logging
    set up (a library user's script), Python's last-resort handler would print the log
    record beside the warning: the same line twice.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn("the LLM could not run")
        >>> [str(w.message) for w in caught]
        ['the LLM could not run']
    """
    if _logger.hasHandlers():
        _logger.warning(text)
    warnings.warn(category(text), stacklevel=stacklevel + 1)
