"""Anthropic's Messages API, through the official ``anthropic`` SDK.

System messages go to the request's ``system`` parameter. Structured output is a forced tool
call: the request offers one tool, ``answer``, whose ``input_schema`` is the schema, and
``tool_choice`` makes the model call it; the tool call's input comes back as JSON text.
Retries with backoff on transient errors (connection errors, 408, 409, 429 with Retry-After,
5xx and 529 "overloaded") are the SDK's own.

Sampling: the Messages API has no seed (``seed`` is ignored). API version 2026-10-21, which
``anthropic`` SDK 2.x sends, removed ``temperature`` (a request carrying it, even at 1.0, is
answered with HTTP 400), and SDK 2.x no longer accepts the argument; so ``temperature`` is
sent only through an SDK that still takes it (1.x, API version 2023-06-01), clipped to that
API's range of 0 to 1.

Example:
    >>> from agenthpo.llm import AnthropicClient
    >>> AnthropicClient(model="claude-haiku-4-5", api_key="sk-ant-...").name
    'anthropic:claude-haiku-4-5'
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from agenthpo.errors import LLMConfigError, LLMError
from agenthpo.llm._base import LLMResponse, Message, Usage
from agenthpo.llm._mask import (
    guard_logs,
    key_problem,
    mask_response,
    redact_text,
    redact_url,
    split_query,
    url_secrets,
)

if TYPE_CHECKING:
    import anthropic

__all__ = ["ANSWER_TOOL", "AnthropicClient"]

_logger = logging.getLogger("agenthpo")

ANSWER_TOOL = "answer"
"""The name of the tool whose forced call carries a structured answer."""

_MAX_TEMPERATURE = 1.0


class AnthropicClient:
    """A Claude model behind Anthropic's Messages API (or a server that speaks it).

    Args:
        model: The model name, e.g. ``claude-haiku-4-5`` or ``claude-sonnet-4-5``.
        api_key: The key; ``None`` lets the SDK find one (``ANTHROPIC_API_KEY``, ...). It is
            kept out of :attr:`name`, ``repr`` and every error message.
        base_url: The API root (without ``/v1``); ``None`` means Anthropic's (or
            ``ANTHROPIC_BASE_URL``). A password in its userinfo and its query's values are
            shown as ``***`` in ``repr``, errors and logs
            (:func:`~agenthpo.llm._mask.redact_url`).
        timeout: Seconds for one HTTP request.
        max_retries: Retries of transient errors, with exponential backoff (by the SDK).

    The SDK client is built on the first call and again after unpickling, so a client is
    cheap to construct and can travel to Ray workers or other processes.

    Example:
        >>> client = AnthropicClient(model="claude-haiku-4-5", base_url="http://127.0.0.1:9")
        >>> client.name
        'anthropic:claude-haiku-4-5'
        >>> text = client.complete([Message("user", "hi")]).text  # doctest: +SKIP
    """

    remote = True
    """Its calls are requests to a server: one under way at exit is left behind."""

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
    ) -> None:
        if not model:
            raise LLMConfigError("AnthropicClient needs a model name, e.g. claude-haiku-4-5")
        problem = key_problem(api_key, "the api_key argument") if api_key else None
        if problem:
            raise LLMConfigError(problem)
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self._api_key = api_key
        self._url_secrets = url_secrets(base_url)
        self._client: anthropic.Anthropic | None = None
        self._takes_temperature: bool | None = None

    @property
    def name(self) -> str:
        """``anthropic:<model>``; never contains the key."""
        return f"anthropic:{self.model}"

    def __repr__(self) -> str:
        base_url = None if self.base_url is None else redact_url(self.base_url)
        return f"AnthropicClient(model={self.model!r}, base_url={base_url!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_client"] = None  # rebuilt lazily after unpickling
        state["_takes_temperature"] = None  # the other process may have another SDK
        return state

    def _sdk(self) -> anthropic.Anthropic:
        if self._client is None:
            anthropic = _import_sdk()
            base_url, query = split_query(self.base_url)
            self._client = anthropic.Anthropic(
                api_key=self._api_key,
                base_url=base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
                default_query=query,
            )
            self._takes_temperature = (
                "temperature" in inspect.signature(self._client.messages.create).parameters
            )
            secrets = [s for s in self._secrets() if s]
            if secrets:
                guard_logs(secrets)  # the HTTP client logs every request's URL
            found = self._client.api_key
            problem = key_problem(found, "ANTHROPIC_API_KEY") if found else None
            if problem:
                self._client = None
                raise LLMConfigError(problem)
        return self._client

    @property
    def sends_temperature(self) -> bool:
        """Whether requests carry ``temperature`` (only through an SDK whose API takes it)."""
        self._sdk()
        return bool(self._takes_temperature)

    def request(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float | None = None,
    ) -> dict[str, Any]:
        """The keyword arguments of ``messages.create`` for one call (no network).

        ``temperature`` is left out when ``None`` (see the module docstring).

        Example:
            >>> client = AnthropicClient(model="m")
            >>> req = client.request([Message("system", "Be brief."), Message("user", "hi")])
            >>> req["system"], req["messages"]
            ('Be brief.', [{'role': 'user', 'content': 'hi'}])
        """
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        turns: list[dict[str, str]] = []
        for m in messages:
            if m.role == "system":
                continue
            if turns and turns[-1]["role"] == m.role:
                # The API wants user and assistant turns to alternate: merge neighbours.
                turns[-1]["content"] += "\n\n" + m.content
            else:
                turns.append({"role": m.role, "content": m.content})
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": turns,
            "max_tokens": max_tokens,
        }
        if temperature is not None:
            kwargs["temperature"] = min(max(temperature, 0.0), _MAX_TEMPERATURE)
        if system:
            kwargs["system"] = system
        if schema is not None:
            kwargs["tools"] = [
                {
                    "name": ANSWER_TOOL,
                    "description": "Give your answer as this tool's input.",
                    "input_schema": schema,
                }
            ]
            kwargs["tool_choice"] = {"type": "tool", "name": ANSWER_TOOL}
        return kwargs

    def check(self) -> float:
        """Asks the API about the model (no tokens spent); returns the seconds it took.

        One request checks the network, the key and the model name before the first trial.
        A server that speaks the Messages API but has no model list (a proxy) answers 404 to
        it; a 404 is then confirmed with a one-token message, so only a model that the
        Messages API itself does not know fails the check.

        Raises:
            LLMConfigError: The API refused the key, knows no such model, or no key was found.
            LLMError: Nothing answers at the URL, or not in time.
        """
        anthropic = _import_sdk()
        start = time.perf_counter()
        try:
            sdk = self._sdk().with_options(max_retries=0, timeout=min(self.timeout, 10.0))
            try:
                sdk.models.retrieve(self.model)
            except anthropic.NotFoundError:
                # No such model, or no model list at this URL: the Messages API decides.
                sdk.messages.create(**self.request([Message("user", "hi")], max_tokens=1))
        except anthropic.APIStatusError as exc:
            if exc.status_code in (401, 403, 404):
                raise self._error(exc) from None
            # It answered (a busy or limited server can still complete later).
            _logger.debug("%s: the start check got HTTP %s", self.name, exc.status_code)
        except Exception as exc:
            raise self._error(exc) from None
        return time.perf_counter() - start

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> LLMResponse:
        """Returns one message; with ``schema``, the input of a forced ``answer`` tool call.

        Raises:
            LLMConfigError: The API rejected the key, knows no such model, or no key was found.
            LLMError: The API could not be reached, kept failing after retries, or answered
                with something that is not a message.
        """
        del seed  # the Messages API has no sampling seed
        try:
            sdk = self._sdk()  # SDK 2.x may raise CredentialsError here
            kwargs = self.request(
                messages,
                schema=schema,
                max_tokens=max_tokens,
                temperature=temperature if self._takes_temperature else None,
            )
            start = time.perf_counter()
            message = sdk.messages.create(**kwargs)
            latency = time.perf_counter() - start
            response = self._read(message, structured=schema is not None, latency=latency)
        except Exception as exc:
            # Every failure leaves as an LLMError whose text is masked: what the server said
            # (an error type, a field of a malformed answer) may hold the key it received.
            raise self._error(exc) from None
        # The key never leaves this client, even when the API echoes it in an answer.
        return mask_response(response, self._secrets())

    def _error(self, exc: Exception) -> LLMError:
        """The :class:`LLMError` for an exception raised while calling the API, its text
        masked, and raised without the exception chained (see :meth:`_detached`)."""
        anthropic = _import_sdk()
        credentials_error: type[Exception] = getattr(anthropic, "CredentialsError", _NeverRaised)
        error: LLMError
        if isinstance(exc, LLMError):
            error = exc
        elif isinstance(exc, (anthropic.AuthenticationError, anthropic.PermissionDeniedError)):
            error = LLMConfigError(
                f"{self.name}: the API refused the key (HTTP {exc.status_code}); check"
                " ANTHROPIC_API_KEY"
            )
        elif isinstance(exc, anthropic.NotFoundError):
            error = LLMConfigError(
                f"{self.name}: the API does not know model {self.model!r} or path (HTTP 404 at"
                f" {self._where()}); check the model name and base URL"
            )
        elif isinstance(exc, anthropic.APIStatusError):
            error = LLMError(
                f"{self.name}: HTTP {exc.status_code}{_kind(exc)} from {self._where()}:"
                f" {self._short(exc)}"
            )
        elif isinstance(exc, anthropic.APITimeoutError):
            error = LLMError(
                f"{self.name}: no answer from {self._where()} within {self.timeout:g} s"
            )
        elif isinstance(exc, anthropic.APIConnectionError):
            error = LLMError(
                f"{self.name}: cannot reach {self._where()} ({self._short(exc)}); is the"
                " network up and the base URL right?"
            )
        elif isinstance(exc, credentials_error):
            # SDK 2.x found no key and no usable credentials profile.
            error = LLMConfigError(
                f"{self.name}: no API key ({self._short(exc)}); set ANTHROPIC_API_KEY in the"
                " environment"
            )
        elif isinstance(exc, TypeError) and "authentication" in str(exc):
            # SDK 1.x raises TypeError before sending when it found no credentials at all.
            error = LLMConfigError(
                f"{self.name}: no API key; set ANTHROPIC_API_KEY in the environment"
            )
        else:
            # A body that is not JSON (a gateway's HTML page), a malformed message, or an
            # SDK-side failure.
            error = LLMError(
                f"{self.name}: unusable response from {self._where()}:"
                f" {type(exc).__name__}: {self._short(exc)}"
            )
        masked = redact_text(str(error), self._secrets())
        if masked != str(error):
            error = type(error)(masked)
        return self._detached(error, exc)

    def _read(self, message: Any, *, structured: bool, latency: float) -> LLMResponse:
        """The response of a message, checked field by field.

        The SDK builds its response objects without validating them, so a broken or hostile
        server can put any JSON type anywhere (the key in a token count); each field read
        here is checked, and what is not text or a count is refused by its name only.

        Raises:
            LLMError: The body does not have the shape of a message.
        """

        def bad(what: str) -> LLMError:
            return LLMError(f"{self.name}: unusable response from {self._where()}: {what}")

        content = getattr(message, "content", None)
        if not isinstance(content, list):
            raise bad("no list of content blocks")
        text, used_tool = _answer_text(content, structured=structured)
        model = getattr(message, "model", None) or self.model
        if not isinstance(model, str):
            raise bad(f"the model field is a {type(model).__name__}, not text")
        usage = getattr(message, "usage", None)
        counts = [
            getattr(usage, name, None) or 0
            for name in (
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
                "output_tokens",
            )
        ]
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise bad("the token usage is not a set of counts")
        stop = getattr(message, "stop_reason", None)
        return LLMResponse(
            text=text,
            model=model,
            provider="anthropic",
            usage=Usage(prompt_tokens=sum(counts[:3]), completion_tokens=counts[3]),
            latency_s=latency,
            structured="tool" if used_tool else "none",
            extra={"stop_reason": stop if isinstance(stop, str) else None},
        )

    def _secrets(self) -> list[str | None]:
        """The key given, the one the SDK found in the environment, and the base URL's."""
        found = getattr(self._client, "api_key", None)
        return [self._api_key, found if isinstance(found, str) else None, *self._url_secrets]

    def _where(self) -> str:
        """The endpoint for messages, its secrets masked."""
        return redact_url(self.base_url) if self.base_url else "the Anthropic API"

    def _short(self, exc: Exception, limit: int = 200) -> str:
        """One line of an SDK error, with URLs redacted and the keys and the URL's secrets
        masked should the server echo them."""
        text = redact_text(" ".join(str(exc).split()), self._secrets())
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def _detached(self, error: LLMError, cause: Exception) -> LLMError:
        """``error``, to be raised without ``cause`` chained: an SDK error's text may hold
        what a server echoed (a key, the Basic credentials made of the URL's userinfo), which
        a printed traceback would show. The cause is logged at DEBUG (redacted)."""
        _logger.debug("%s: %s", self.name, error, exc_info=cause)
        return error


def _import_sdk() -> ModuleType:
    """The ``anthropic`` module, imported on first use (it takes most of a second)."""
    try:
        import anthropic
    except ImportError:  # pragma: no cover - a dependency of agenthpo
        raise LLMConfigError("the anthropic SDK is not installed: pip install anthropic") from None
    return anthropic


class _NeverRaised(Exception):
    """Stands in for SDK exception classes that an older SDK does not have."""


def _kind(exc: anthropic.APIStatusError) -> str:
    """`` (overloaded_error)`` from an error body, or ``""``."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return f" ({error['type']})"
    return ""


def _answer_text(content: Sequence[Any], *, structured: bool) -> tuple[str, bool]:
    """The ``answer`` tool call's input as JSON text, else the text blocks joined."""
    if structured:
        for block in content:
            if (
                getattr(block, "type", None) == "tool_use"
                and getattr(block, "name", None) == ANSWER_TOOL
            ):
                return json.dumps(getattr(block, "input", None)), True
        _logger.debug("the model answered without calling the %s tool", ANSWER_TOOL)
    texts = [getattr(b, "text", None) for b in content if getattr(b, "type", None) == "text"]
    return "".join(t for t in texts if isinstance(t, str)), False
