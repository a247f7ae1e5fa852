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
            LLMError: The API could not be reached or kept failing after retries.
        """
        del seed  # the Messages API has no sampling seed
        anthropic = _import_sdk()
        credentials_error: type[Exception] = getattr(anthropic, "CredentialsError", _NeverRaised)
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
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
            raise LLMConfigError(
                f"{self.name}: the API refused the key (HTTP {exc.status_code}); check"
                " ANTHROPIC_API_KEY"
            ) from None
        except anthropic.NotFoundError as exc:
            config_error = LLMConfigError(
                f"{self.name}: the API does not know model {self.model!r} or path (HTTP 404 at"
                f" {self._where()}); check the model name and base URL"
            )
            raise self._detached(config_error, exc) from None
        except anthropic.APIStatusError as exc:
            error = LLMError(
                f"{self.name}: HTTP {exc.status_code}{_kind(exc)} from {self._where()}:"
                f" {self._short(exc)}"
            )
            raise self._detached(error, exc) from None
        except anthropic.APITimeoutError as exc:
            error = LLMError(
                f"{self.name}: no answer from {self._where()} within {self.timeout:g} s"
            )
            raise self._detached(error, exc) from None
        except anthropic.APIConnectionError as exc:
            error = LLMError(
                f"{self.name}: cannot reach {self._where()} ({self._short(exc)}); is the"
                " network up and the base URL right?"
            )
            raise self._detached(error, exc) from None
        except credentials_error as exc:
            # SDK 2.x found no key and no usable credentials profile.
            raise LLMConfigError(
                f"{self.name}: no API key ({self._short(exc)}); set ANTHROPIC_API_KEY in the"
                " environment"
            ) from None
        except TypeError as exc:
            # SDK 1.x raises TypeError before sending when it found no credentials at all.
            if "authentication" not in str(exc):
                raise
            raise LLMConfigError(
                f"{self.name}: no API key; set ANTHROPIC_API_KEY in the environment"
            ) from None
        latency = time.perf_counter() - start
        text, used_tool = _answer_text(message.content, structured=schema is not None)
        usage = message.usage
        cached = (getattr(usage, "cache_creation_input_tokens", None) or 0) + (
            getattr(usage, "cache_read_input_tokens", None) or 0
        )
        response = LLMResponse(
            text=text,
            model=message.model or self.model,
            provider="anthropic",
            usage=Usage(
                prompt_tokens=int(usage.input_tokens or 0) + int(cached),
                completion_tokens=int(usage.output_tokens or 0),
            ),
            latency_s=latency,
            structured="tool" if used_tool else "none",
            extra={"stop_reason": message.stop_reason},
        )
        # The key never leaves this client, even when the API echoes it in an answer.
        return mask_response(response, self._secrets())

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
            if getattr(block, "type", None) == "tool_use" and block.name == ANSWER_TOOL:
                return json.dumps(block.input), True
        _logger.debug("the model answered without calling the %s tool", ANSWER_TOOL)
    texts = [block.text for block in content if getattr(block, "type", None) == "text"]
    return "".join(texts), False
