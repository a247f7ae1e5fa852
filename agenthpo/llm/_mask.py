"""Masking secrets in everything a provider hands back, says or logs.

An endpoint may echo the key: in an error message, but also in a successful answer's
content or model field (a misconfigured proxy, a hostile server, a model told the key). The
providers mask it at their boundary, so the text that is stored, logged, reported or sent
back to the model in a repair prompt never holds it.

An endpoint URL may carry secrets too: a password in its userinfo
(``http://user:sk-...@host/v1``, which the HTTP client sends as Basic auth) or a key in its
query (``?api-key=sk-...``). :func:`redact_url` renders such a URL for display, and every
message that names an endpoint uses it; the URL the requests go to stays whole. The HTTP
client and the SDKs log request URLs themselves, so a client whose URL carries secrets calls
:func:`guard_logs`, which redacts them in those loggers' records too.

Example:
    >>> mask("key sk-abcdefgh12 echoed", ["sk-abcdefgh12"])
    'key *** echoed'
    >>> redact_url("http://user:sk-abcdefgh12@127.0.0.1:8000/v1?api-key=sk-x&v=2")
    'http://user:***@127.0.0.1:8000/v1?api-key=***&v=***'
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable
from urllib.parse import unquote

from agenthpo.llm._base import LLMResponse

__all__ = [
    "MASK",
    "MIN_SECRET_CHARS",
    "guard_logs",
    "key_problem",
    "mask",
    "mask_response",
    "redact_text",
    "redact_url",
    "redact_urls",
    "split_query",
    "url_secrets",
]

MASK = "***"
MIN_SECRET_CHARS = 8
"""Shorter "keys" (placeholders such as ``x`` for local servers) are not secrets; masking
them would mangle ordinary text. (:func:`redact_url` masks a URL's secrets of any length:
it knows where they are.)"""

GUARDED_LOGGERS = (
    "agenthpo",
    "httpx",
    "httpx2",
    *(
        f"{package}.{part}"
        for package in ("httpcore", "httpcore2")
        for part in ("connection", "http11", "http2", "proxy", "socks")
    ),
    "openai",
    "openai._base_client",
    "anthropic",
    "anthropic._base_client",
)
"""Loggers whose records may name a request URL: AgentHPO's own, the HTTP clients' (httpcore
logs on its modules' loggers) and the SDKs'. (A logger's filter sees only the records logged
on that very logger, not its children's, so each is named.)"""

_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_SECRET_NAME = re.compile(r"key|token|secret|pass|pwd|sig|auth|cred|session|code", re.I)
"""Query parameters whose values are masked wherever they appear (:func:`url_secrets`);
:func:`redact_url` masks every value in a URL, whatever its name."""


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


def _split(url: str) -> tuple[str, str, str, str, str]:
    """``url`` as (scheme and ``://``, userinfo, host and path, query, ``#`` and fragment).

    Written by hand rather than with :func:`urllib.parse.urlsplit`, which raises on some
    malformed URLs: a URL that cannot be parsed must still be shown safely.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    else:
        scheme += sep
    rest, hash_, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    userinfo = ""
    slash = rest.find("/")
    authority = rest if slash < 0 else rest[:slash]
    if "@" in authority:  # with or without a scheme: ``user:pw@host/v1`` is shown safely too
        userinfo, _, _host = authority.rpartition("@")
        rest = rest[len(userinfo) + 1 :]
    return scheme, userinfo, rest, query, hash_ + fragment


def redact_url(url: str) -> str:
    """``url`` for display: its userinfo's password and every query value as ``***``.

    A user name without a password is masked whole (a token sent as the user name, as in
    ``https://TOKEN@host``). Query values are all masked, whatever their names: a key may
    hide under any name (``key``, ``api-key``, ``code``, ``sig``, ...).

    Example:
        >>> redact_url("https://tok3n@example.com/v1?api_key=abc&x")
        'https://***@example.com/v1?api_key=***&***'
        >>> redact_url("http://127.0.0.1:8000/v1")
        'http://127.0.0.1:8000/v1'
    """
    scheme, userinfo, rest, query, fragment = _split(url)
    if userinfo:
        user, colon, _password = userinfo.partition(":")
        userinfo = f"{user}:{MASK}@" if colon else f"{MASK}@"
    if query:
        items = []
        for item in query.split("&"):
            name, eq, value = item.partition("=")
            items.append(f"{name}={MASK}" if eq and value else item if eq else MASK)
        query = "?" + "&".join(items)
    return f"{scheme}{userinfo}{rest}{query}{fragment}"


def url_secrets(url: str | None) -> list[str]:
    """The secrets ``url`` carries, as written and decoded, to mask in free text: the
    userinfo's password (or lone user name), the ``Authorization: Basic`` value the HTTP
    client makes of the userinfo (a server may echo it), and the values of query parameters
    named like secrets (``key``, ``api-key``, ``token``, ``sig``, ...; not ``api-version``,
    whose value masked in every answer and log line would only mangle them).

    Example:
        >>> url_secrets("http://127.0.0.1:8000/v1?api-version=2024-06-01&api_key=sk-1")
        ['sk-1']
    """
    if not url:
        return []
    _scheme, userinfo, _rest, query, _fragment = _split(url)
    found: list[str] = []
    if userinfo:
        user, colon, password = userinfo.partition(":")
        found += [password, unquote(password)] if colon else [user, unquote(user)]
        basic = f"{unquote(user)}:{unquote(password)}".encode()
        found.append(base64.b64encode(basic).decode("ascii"))
    for item in query.split("&") if query else []:
        name, eq, value = item.partition("=")
        if not eq:  # a bare item (``?TOKEN``) may be a key itself
            found += [name, unquote(name)]
        elif _SECRET_NAME.search(unquote(name)):
            found += [value, unquote(value.replace("+", " "))]
    return [s for s in dict.fromkeys(found) if s]


def redact_urls(text: str) -> str:
    """``text`` with every URL in it redacted (:func:`redact_url`)."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text) if "://" in text else text


def redact_text(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with its URLs redacted and the secrets masked (an SDK error, a log line)."""
    return mask(redact_urls(text), secrets)


class _RedactingFilter(logging.Filter):
    """Redacts URLs and masks the registered secrets in the records of a logger."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.secrets: tuple[str, ...] = ()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self.secrets = tuple(dict.fromkeys((*self.secrets, *secrets)))

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted is the handler's to report
            return True
        clean = redact_text(message, secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_text is None:
            text = logging.Formatter().formatException(record.exc_info)
            clean = redact_text(text, secrets)
            if clean != text:
                record.exc_text = clean
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, secrets)
        return True


_FILTER = _RedactingFilter()
_installed = False
_install_lock = threading.Lock()


def guard_logs(secrets: Iterable[str]) -> None:
    """Keeps ``secrets`` (and the secrets of any URL) out of the records of
    :data:`GUARDED_LOGGERS`, from now on and for the whole process.

    A client whose endpoint URL carries secrets calls this before its first request: the
    HTTP client logs every request's URL (``httpx``: ``HTTP Request: POST http://...``),
    and no option of the SDK keeps it from doing so.
    """
    global _installed
    _FILTER.add(_secrets(secrets))
    with _install_lock:
        if _installed:
            return
        for name in GUARDED_LOGGERS:
            logging.getLogger(name).addFilter(_FILTER)
        _installed = True


def key_problem(key: str, where: str) -> str | None:
    """Why ``key`` cannot be sent in an HTTP header, or ``None`` when it can.

    A key pasted from a web page or a chat may carry a typographic dash or quote, and one
    read from a file or a CRLF ``.env`` a trailing newline. Sent as is, the first makes the
    HTTP client raise ``UnicodeEncodeError`` and the second a protocol error that reads as a
    dead server. Nothing is stripped or guessed: the user re-copies the key. The message
    names where the key came from (``where``) and the position of the offending character,
    never the key.

    Example:
        >>> key_problem("sk-abc\u2013", "OPENAI_API_KEY")  # doctest: +ELLIPSIS
        'the API key in OPENAI_API_KEY holds a character that cannot be sent (position 7: ...
        >>> key_problem("sk-abc", "OPENAI_API_KEY") is None
        True
    """
    for index, char in enumerate(key):
        edge = index == 0 or index == len(key) - 1
        if " " < char < "\x7f" or (char == " " and not edge):
            continue
        if char == "\n":
            what = "a newline"
        elif char == "\r":
            what = "a carriage return"
        elif char in " \t":
            what = "a space or tab at its start or end" if char == " " else "a tab"
        elif char.isascii():
            what = f"the control character U+{ord(char):04X}"
        else:
            what = f"the non-ASCII character U+{ord(char):04X}"
        return (
            f"the API key in {where} holds a character that cannot be sent (position"
            f" {index + 1}: {what}); check for a pasted dash or quote, a space or a newline"
            " and copy the key again"
        )
    return None


def split_query(url: str | None) -> tuple[str | None, dict[str, str] | None]:
    """The base URL without its query, and the query as parameters for every request.

    The SDKs append each request's path to the base URL's text, so a query left in it would
    end up before the path (``/v1?api-key=K/chat/completions``).

    Example:
        >>> split_query("http://127.0.0.1:8000/v1?api-key=K")
        ('http://127.0.0.1:8000/v1', {'api-key': 'K'})
    """
    if url is None or "?" not in url:
        return url, None
    base, _, query = url.partition("?")
    return base, dict(urllib.parse.parse_qsl(query, keep_blank_values=True)) or None
