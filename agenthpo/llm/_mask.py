"""Masking the API key in everything a provider hands back.

An endpoint may echo the key: in an error message, but also in a successful answer's
content or model field (a misconfigured proxy, a hostile server, a model told the key). The
providers mask it at their boundary, so the text that is stored, logged, reported or sent
back to the model in a repair prompt never holds it.

Example:
    >>> mask("key sk-abcdefgh12 echoed", ["sk-abcdefgh12"])
    'key *** echoed'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from agenthpo.llm._base import LLMResponse

__all__ = ["MASK", "MIN_SECRET_CHARS", "mask", "mask_response"]

MASK = "***"
MIN_SECRET_CHARS = 8
"""Shorter "keys" (placeholders such as ``x`` for local servers) are not secrets; masking
them would mangle ordinary text."""


def _secrets(secrets: Iterable[str | None]) -> list[str]:
    return sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in _secrets(secrets):
        text = text.replace(secret, MASK)
    return text


def mask_response(response: LLMResponse, secrets: Iterable[str | None]) -> LLMResponse:
    """The response with the secrets masked in its text, model and string extras."""
    found = _secrets(secrets)
    if not found:
        return response
    extra = {k: mask(v, found) if isinstance(v, str) else v for k, v in response.extra.items()}
    return dataclasses.replace(
        response, text=mask(response.text, found), model=mask(response.model, found), extra=extra
    )
