"""OpenAI-compatible chat endpoints: OpenAI, Ollama, vLLM, llama.cpp's server, OpenRouter, ...

One provider built on the ``openai`` SDK with a base URL. Retries with backoff on transient
errors (connection errors, 408, 409, 429 with Retry-After, 5xx) are the SDK's own.

How structured output is requested differs by backend, so it is a per-endpoint setting:

- ``json_schema``: ``response_format={"type": "json_schema", ...}`` (OpenAI, vLLM, Ollama,
  llama.cpp's ``llama-server``);
- ``json_object_schema``: ``{"type": "json_object", "schema": ...}`` (llama-cpp-python's
  server, which answers HTTP 500 to ``json_schema``);
- ``json_object``: plain JSON mode without a schema;
- ``none``: no constraint; the caller validates and repairs;
- ``auto`` (default): tries them in that order on the first structured call and keeps the
  first one the endpoint accepts.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

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
    import openai

__all__ = ["STRUCTURED_MODES", "OpenAICompatibleClient", "StructuredMode"]

_logger = logging.getLogger("agenthpo")

StructuredMode = Literal["auto", "json_schema", "json_object_schema", "json_object", "none"]
STRUCTURED_MODES: tuple[str, ...] = (
    "auto",
    "json_schema",
    "json_object_schema",
    "json_object",
    "none",
)
_AUTO_ORDER: tuple[str, ...] = ("json_schema", "json_object_schema", "json_object", "none")


class OpenAICompatibleClient:
    """A chat model behind an OpenAI-compatible HTTP API.

    Args:
        model: The model name the endpoint expects (``gpt-4o-mini``, ``qwen2.5:7b``, ...).
        base_url: The API root, e.g. ``http://127.0.0.1:11434/v1``; ``None`` means OpenAI's
            (or ``OPENAI_BASE_URL``). A password in its userinfo and the values of its
            query (``?api-key=...``) are sent as given (the query with every request) but
            shown as ``***`` in ``repr``, errors and logs
            (:func:`~agenthpo.llm._mask.redact_url`).
        api_key: The key; ``None`` sends a placeholder, which local servers accept. It is
            kept out of :attr:`name`, ``repr`` and every error message, and masked in every
            answer should the endpoint echo it.
        structured_output: See the module docstring.
        timeout: Seconds for one HTTP request.
        max_retries: Retries of transient errors, with exponential backoff (by the SDK).
        label: The provider part of :attr:`name` (``openai``, ``ollama``, ...).

    Example:
        >>> client = OpenAICompatibleClient(
        ...     model="qwen2.5:7b", base_url="http://127.0.0.1:11434/v1", label="ollama"
        ... )
        >>> client.name
        'ollama:qwen2.5:7b'
    """

    remote = True
    """Its calls are requests to a server: one under way at exit is left behind."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        structured_output: StructuredMode = "auto",
        timeout: float = 120.0,
        max_retries: int = 3,
        label: str = "openai-compatible",
    ) -> None:
        if structured_output not in STRUCTURED_MODES:
            raise LLMConfigError(
                f"structured_output must be one of {', '.join(STRUCTURED_MODES)}"
                f" (got {structured_output!r})"
            )
        problem = key_problem(api_key, "the api_key argument") if api_key else None
        if problem:
            raise LLMConfigError(problem)
        self.model = model
        self.base_url = base_url
        self.structured_output: StructuredMode = structured_output
        self.timeout = timeout
        self.max_retries = max_retries
        self.label = label
        self._api_key = api_key
        self._url_secrets = url_secrets(base_url)
        self._mode: str | None = None if structured_output == "auto" else structured_output
        self._client: openai.OpenAI | None = None
        self._refused: set[str] = set()
        """Request parameters the endpoint refused for this model (OpenAI's reasoning
        models refuse ``max_tokens`` and a ``temperature`` other than 1)."""

    @property
    def name(self) -> str:
        """``label:model``; never contains the key."""
        return f"{self.label}:{self.model}"

    @property
    def resolved_mode(self) -> str | None:
        """The structured-output mode in use, once known."""
        return self._mode

    def __repr__(self) -> str:
        return (
            f"OpenAICompatibleClient(model={self.model!r},"
            f" base_url={None if self.base_url is None else redact_url(self.base_url)!r},"
            f" structured_output={self.structured_output!r})"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_client"] = None  # rebuilt lazily after unpickling
        return state

    def _sdk(self) -> openai.OpenAI:
        import openai  # imported on first use: it takes about a second

        if self._client is None:
            secrets = [s for s in self._secrets() if s]
            if secrets:
                guard_logs(secrets)  # the HTTP client logs every request's URL
            base_url, query = split_query(self.base_url)
            self._client = openai.OpenAI(
                base_url=base_url,
                api_key=self._api_key or "not-needed",
                timeout=self.timeout,
                max_retries=self.max_retries,
                default_query=query,
                http_client=openai.DefaultHttpxClient(event_hooks={"response": [self._no_retry]}),
            )
        return self._client

    def _no_retry(self, response: Any) -> None:
        """Marks an error answer that no retry can fix with ``x-should-retry: false``, the
        header by which a server tells the SDK not to retry; every other error keeps the
        SDK's retries and backoff (``Retry-After`` included).

        Two such answers: OpenAI's ``429 insufficient_quota`` (the account's quota or
        credit is spent), and, while ``auto`` still probes for a structured-output mode, a
        5xx that rejects the mode itself (llama-cpp-python answers 500 to ``json_schema``).
        A rate limit, a timeout or a busy server during the probe is retried as usual.
        """
        status = response.status_code
        if status != 429 and (status < 500 or self._mode is not None):
            return
        if status >= 500 and b"response_format" not in response.request.content:
            return
        try:
            response.read()
            body = response.content.decode("utf-8", "replace").lower()
        except Exception:  # an unreadable body is the SDK's to report
            return
        if (status == 429 and "insufficient_quota" in body) or (
            status >= 500 and _mode_words(status, body)
        ):
            response.headers["x-should-retry"] = "false"

    def check(self) -> float:
        """Asks the endpoint for its models (no tokens spent); returns the seconds it took.

        Raises:
            LLMConfigError: The endpoint refused the key.
            LLMError: Nothing answers at the URL, or not in time.
        """
        import openai

        sdk = self._sdk().with_options(max_retries=0, timeout=min(self.timeout, 10.0))
        start = time.perf_counter()
        try:
            page = sdk.models.list()
            listed = [m.id for m in page.data if isinstance(getattr(m, "id", None), str)]
            if listed and not self._is_listed(listed):
                self._confirm_model(sdk, listed)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise LLMConfigError(
                f"{self.name}: the endpoint refused the API key (HTTP {exc.status_code});"
                " check the key in the environment variable for this provider"
            ) from None
        except openai.APITimeoutError as exc:
            error = LLMError(f"{self.name}: no answer from {self._where()} in time")
            raise self._detached(error, exc) from None
        except openai.APIConnectionError as exc:
            error = LLMError(
                f"{self.name}: cannot reach {self._where()} ({self._short(exc)}); is the server"
                " running and the URL right?"
            )
            raise self._detached(error, exc) from None
        except openai.OpenAIError:
            pass  # it answered; a server without a model list can still complete
        except LLMError:
            raise
        except Exception as exc:
            # A malformed model list, or an SDK-side failure: no traceback, the text masked.
            error = LLMError(
                f"{self.name}: unusable response from {self._where()}:"
                f" {type(exc).__name__}: {self._short(exc)}"
            )
            raise self._detached(error, exc) from None
        return time.perf_counter() - start

    def _is_listed(self, listed: Sequence[str]) -> bool:
        """Whether the endpoint's model list names the model (Ollama lists ``qwen2.5``
        as ``qwen2.5:latest``)."""
        return self.model in listed or f"{self.model}:latest" in listed

    def _confirm_model(self, sdk: openai.OpenAI, listed: Sequence[str]) -> None:
        """Asks for one token with the model that the endpoint's list does not name.

        Some servers list a name of their own and answer to any (llama.cpp's
        ``llama-server`` lists its GGUF file), so a name missing from the list fails the
        check only when the endpoint also refuses it for a completion (HTTP 404: OpenAI's
        answer to a typo such as ``gpt-4o-mnii``).

        Raises:
            LLMConfigError: The endpoint does not know the model; the message names the
                closest listed names.
        """
        import openai

        try:
            sdk.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": "hi"}], max_tokens=1
            )
        except openai.NotFoundError:
            close = difflib.get_close_matches(self.model, listed, n=3, cutoff=0.6)
            hint = (
                f"; did you mean {' or '.join(repr(c) for c in close)}?"
                if close
                else f"; it lists {', '.join(repr(m) for m in sorted(listed)[:5])}"
                + (", ..." if len(listed) > 5 else "")
            )
            # The names are the server's text: a key it echoes there stays masked.
            raise LLMConfigError(
                redact_text(
                    f"{self.name}: the endpoint {self._where()} lists {len(listed)} models, not"
                    f" {self.model!r}, and does not know it (HTTP 404){hint}",
                    self._secrets(),
                )
            ) from None
        except openai.OpenAIError as exc:
            # It answered to the name (another fault is the first trial's to report).
            _logger.debug("%s: one-token check: %s", self.name, self._short(exc))

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> LLMResponse:
        """Returns one chat completion, constrained by ``schema`` where the endpoint can.

        Raises:
            LLMConfigError: The endpoint rejected the key or does not know the model.
            LLMError: The endpoint could not be reached or kept failing after retries.
        """
        payload = [m.to_dict() for m in messages]
        if schema is None:
            return self._call(payload, "none", None, max_tokens, temperature, seed, probing=False)
        if self._mode is not None:
            return self._call(
                payload, self._mode, schema, max_tokens, temperature, seed, probing=False
            )
        last_error: openai.APIStatusError | None = None
        for mode in _AUTO_ORDER:
            try:
                response = self._call(
                    payload, mode, schema, max_tokens, temperature, seed, probing=mode != "none"
                )
            except _ModeRejected as rejected:
                last_error = rejected.cause
                _logger.info(
                    "%s rejected structured output mode %s (HTTP %s); trying the next one",
                    self.name,
                    mode,
                    rejected.cause.status_code,
                )
                continue
            self._mode = mode
            _logger.info("%s: structured output mode %s", self.name, mode)
            return response
        raise LLMError(  # pragma: no cover - mode "none" never raises _ModeRejected
            f"{self.name}: every structured output mode was rejected"
            f" ({self._short(last_error) if last_error else 'no answer'})"
        )

    def _call(
        self,
        payload: list[dict[str, str]],
        mode: str,
        schema: dict[str, Any] | None,
        max_tokens: int,
        temperature: float,
        seed: int | None,
        *,
        probing: bool,
    ) -> LLMResponse:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": payload,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if seed is not None:
            kwargs["seed"] = seed
        if schema is not None and mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            }
        elif schema is not None and mode == "json_object_schema":
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        elif schema is not None and mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        import openai

        # While probing, a mode rejected with a 5xx is not retried (see _no_retry); anything
        # transient is, as after the mode is known.
        sdk = self._sdk()
        start = time.perf_counter()
        try:
            completion = self._create(sdk, kwargs)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise LLMConfigError(
                f"{self.name}: the endpoint refused the API key (HTTP {exc.status_code});"
                " check the key in the environment variable for this provider"
            ) from None
        except openai.NotFoundError as exc:
            config_error = LLMConfigError(
                f"{self.name}: the endpoint does not know model {self.model!r} or path"
                f" (HTTP 404 at {self._where()}); check the model name and base URL"
            )
            raise self._detached(config_error, exc) from None
        except openai.APIStatusError as exc:
            if probing and _says_mode_unsupported(exc):
                raise _ModeRejected(exc) from exc
            if exc.status_code == 429 and _is_quota(exc):
                quota_error = LLMConfigError(
                    f"{self.name}: the account behind the API key has no quota left (HTTP 429"
                    f" insufficient_quota from {self._where()}); check the plan and billing"
                    " details of the account"
                )
                raise self._detached(quota_error, exc) from None
            error = LLMError(
                f"{self.name}: HTTP {exc.status_code} from {self._where()}: {self._short(exc)}"
            )
            raise self._detached(error, exc) from None
        except openai.APITimeoutError as exc:
            error = LLMError(
                f"{self.name}: no answer from {self._where()} within {self.timeout:g} s"
            )
            raise self._detached(error, exc) from None
        except openai.APIConnectionError as exc:
            error = LLMError(
                f"{self.name}: cannot reach {self._where()} ({self._short(exc)}); is the server"
                " running and the URL right?"
            )
            raise self._detached(error, exc) from None
        except Exception as exc:
            # A malformed, truncated or absurdly nested response body (the SDK's JSON decoding
            # raises RecursionError on "[" * 5000), or an SDK-side validation failure.
            _logger.debug("unusable response from %s", self._where(), exc_info=True)
            raise LLMError(
                f"{self.name}: unusable response from {self._where()}:"
                f" {type(exc).__name__}: {self._short(exc)}"
            ) from None
        latency = time.perf_counter() - start
        text, model, finish, usage = self._read(completion)
        response = LLMResponse(
            text=text,
            model=model,
            provider=self.label,
            usage=usage,
            latency_s=latency,
            structured=mode if schema is not None else "none",
            extra={"finish_reason": finish},
        )
        # The key never leaves this client, even when the endpoint echoes it in an answer.
        return mask_response(response, self._secrets())

    def _create(self, sdk: openai.OpenAI, kwargs: dict[str, Any]) -> Any:
        """Sends one chat completion request, adapted to the parameters the endpoint refused.

        OpenAI's reasoning models (o1, o3, o4-mini, gpt-5, ...) answer HTTP 400 to
        ``max_tokens`` ("use ``max_completion_tokens`` instead") and to a ``temperature``
        other than their default. Such a 400 names the parameter (``param``); the request is
        sent again once without it (``max_completion_tokens`` in place of ``max_tokens``),
        and the client remembers, so later requests are right the first time.
        """
        import openai

        while True:
            request = dict(kwargs)
            if "max_tokens" in self._refused:
                request["max_completion_tokens"] = request.pop("max_tokens")
            if "temperature" in self._refused:
                request.pop("temperature", None)
            try:
                return sdk.chat.completions.create(**request)
            except openai.BadRequestError as exc:
                param = _refused_param(exc)
                if param is None or param in self._refused:
                    raise
                self._refused.add(param)
                _logger.info(
                    "%s refuses the request parameter %s; sending %s",
                    self.name,
                    param,
                    "max_completion_tokens instead" if param == "max_tokens" else "none",
                )

    def _read(self, completion: Any) -> tuple[str, str, str | None, Usage]:
        """The text, model, finish reason and usage of a completion, checked field by field.

        The SDK builds its response objects without validating them, so a hostile or broken
        endpoint can put any JSON type anywhere; each field read here is checked.

        Raises:
            LLMError: The body does not have the shape of a chat completion.
        """

        def bad(what: str) -> LLMError:
            return LLMError(f"{self.name}: unusable response from {self._where()}: {what}")

        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list):
            raise bad("no list of choices")
        if not choices:
            raise LLMError(f"{self.name}: the endpoint returned no choices")
        message = getattr(choices[0], "message", None)
        if message is None:
            raise bad("the first choice has no message")
        content = getattr(message, "content", None)
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise bad(f"the message content is a {type(content).__name__}, not text")
        model = getattr(completion, "model", None) or self.model
        if not isinstance(model, str):
            raise bad(f"the model field is a {type(model).__name__}, not text")
        finish = getattr(choices[0], "finish_reason", None)
        usage = Usage()
        raw_usage = getattr(completion, "usage", None)
        if raw_usage is not None:
            counts = [
                getattr(raw_usage, "prompt_tokens", 0) or 0,
                getattr(raw_usage, "completion_tokens", 0) or 0,
            ]
            if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
                raise bad("the token usage is not a pair of counts")
            usage = Usage(prompt_tokens=counts[0], completion_tokens=counts[1])
        return content, model, finish if isinstance(finish, str) else None, usage

    def _secrets(self) -> list[str | None]:
        """The key and the secrets of the base URL, which nothing this client says holds."""
        return [self._api_key, *self._url_secrets]

    def _where(self) -> str:
        """The endpoint for messages, its secrets masked."""
        return redact_url(self.base_url) if self.base_url else "the OpenAI API"

    def _short(self, exc: Exception, limit: int = 200) -> str:
        """One line of an SDK error, with URLs redacted and the key and the URL's secrets
        masked should the server echo them."""
        text = redact_text(" ".join(str(exc).split()), self._secrets())
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def _detached(self, error: LLMError, cause: Exception) -> LLMError:
        """``error``, to be raised without ``cause`` chained: an SDK error's text may hold
        what a server echoed (a key, the Basic credentials made of the URL's userinfo), which
        a printed traceback would show. The cause is logged at DEBUG (redacted)."""
        _logger.debug("%s: %s", self.name, error, exc_info=cause)
        return error


_MODE_WORDS = (
    "response_format",
    "json_schema",
    "json_object",
    "schema",
    "structured",
    "grammar",
    "guided",
    "unsupported",
    "not supported",
)


def _says_mode_unsupported(exc: openai.APIStatusError) -> bool:
    """Whether an error answers the structured-output mode itself, not a passing fault.

    A 501, or a 400/422/500 whose message names the format (llama-cpp-python's server
    answers 500 "response_format type must be text or json_object"). A bare 500 (a busy
    GPU, a crash) is transient: downgrading on it dropped json_schema for the process.
    """
    return _mode_words(exc.status_code, f"{exc.message} {exc.body}".lower())


def _mode_words(status: int, text: str) -> bool:
    """Whether an answer with ``status`` and lower-cased ``text`` rejects the mode (see
    :func:`_says_mode_unsupported`)."""
    if status == 501:
        return True
    if status not in (400, 422, 500):
        return False
    return any(word in text for word in _MODE_WORDS)


def _refused_param(exc: openai.APIStatusError) -> str | None:
    """``max_tokens`` or ``temperature`` when a 400 refuses that parameter for the model
    (OpenAI: ``param: max_tokens``, "Unsupported parameter: 'max_tokens' is not supported
    with this model. Use 'max_completion_tokens' instead."), else ``None``."""
    text = f"{exc.message} {exc.body}".lower()
    param = getattr(exc, "param", None)
    refused = "unsupported" in text or "not supported" in text or "does not support" in text
    if param in ("max_tokens", "temperature") and refused:
        return str(param)
    if "max_completion_tokens" in text and "max_tokens" in text.replace(
        "max_completion_tokens", ""
    ):
        return "max_tokens"
    return None


def _is_quota(exc: openai.APIStatusError) -> bool:
    """Whether a 429 says the quota is spent (OpenAI's ``insufficient_quota``), which no
    wait fixes, rather than a rate limit."""
    return "insufficient_quota" in f"{exc.message} {exc.body}".lower()


class _ModeRejected(Exception):
    def __init__(self, cause: openai.APIStatusError) -> None:
        super().__init__(str(cause))
        self.cause = cause
