"""LLM specs (``--llm``) and the automatic choice when none is given.

Specs:
    ``local``                                  the embedded SmolLM2-135M-Instruct
    ``local:PATH``                             any GGUF file, run in-process by transformers
    ``llamacpp``, ``llamacpp:PATH``            the same file, or any GGUF, run by llama.cpp
                                               (``agenthpo[llamacpp]``; fast for large models)
    ``random``, ``random:SEED``                no model: random valid configs following the
                                               answer's JSON schema (dry runs, tests, and a
                                               control for what an LLM's ideas add)
    ``openai:MODEL``                           OpenAI (key in ``OPENAI_API_KEY``)
    ``anthropic:MODEL``                        Anthropic's Messages API (key in
                                               ``ANTHROPIC_API_KEY``; ``ANTHROPIC_BASE_URL``
                                               honoured)
    ``openai-compatible:URL#MODEL``            any OpenAI-compatible server (vLLM, llama.cpp,
                                               LM Studio, ...); key in ``AGENTHPO_LLM_API_KEY``
                                               if the server wants one
    ``ollama:MODEL``                           Ollama on ``OLLAMA_HOST`` or 127.0.0.1:11434
    ``openrouter:MODEL``, ``deepseek:MODEL``   presets (keys in ``OPENROUTER_API_KEY``,
                                               ``DEEPSEEK_API_KEY``)

Presets for the usual providers and servers (a task file's ``llm:`` takes the same spec):

- OpenAI: ``openai:gpt-4o-mini``; key in ``OPENAI_API_KEY``.
- Anthropic: ``anthropic:claude-haiku-4-5`` (or ``anthropic:claude-sonnet-4-5``); key in
  ``ANTHROPIC_API_KEY``. Structured output is a forced tool call (see
  :mod:`agenthpo.llm._anthropic`), so ``structured_output`` does not apply.
- Ollama: ``ollama:qwen2.5:7b`` after ``ollama serve`` and ``ollama pull qwen2.5:7b``;
  another host in ``OLLAMA_HOST``.
- vLLM: ``openai-compatible:http://127.0.0.1:8000/v1#Qwen/Qwen2.5-7B-Instruct`` after
  ``vllm serve Qwen/Qwen2.5-7B-Instruct`` (the model part is the served model's name).
- llama.cpp: ``openai-compatible:http://127.0.0.1:8080/v1#local`` after
  ``llama-server -m model.gguf --port 8080``; llama-cpp-python's own server
  (``python -m llama_cpp.server``, port 8000) wants ``structured_output: json_object_schema``,
  which ``auto`` finds by itself.
- OpenRouter: ``openrouter:meta-llama/llama-3.1-70b-instruct``; key in
  ``OPENROUTER_API_KEY``.
- DeepSeek: ``deepseek:deepseek-chat``; key in ``DEEPSEEK_API_KEY``.

Example:
    >>> client = parse_llm_spec("ollama:qwen2.5:7b")
    >>> client.name
    'ollama:qwen2.5:7b'
    >>> parse_llm_spec("anthropic:claude-haiku-4-5", environ={"ANTHROPIC_API_KEY": "k"}).name
    'anthropic:claude-haiku-4-5'
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from agenthpo.errors import LLMConfigError
from agenthpo.llm._anthropic import AnthropicClient
from agenthpo.llm._base import LLMClient
from agenthpo.llm._llamacpp import LocalLlamaClient
from agenthpo.llm._local import LocalClient
from agenthpo.llm._mask import key_problem, redact_url, redact_urls
from agenthpo.llm._openai import STRUCTURED_MODES, OpenAICompatibleClient, StructuredMode
from agenthpo.llm._scripted import RandomLLM

__all__ = ["LLMSettings", "parse_llm_spec", "resolve_llm"]

_logger = logging.getLogger("agenthpo")

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
DEFAULT_ANTHROPIC_MODEL = "claude-haiku-4-5"
OLLAMA_DEFAULT_HOST = "http://127.0.0.1:11434"

EMBEDDED_NOTE = (
    "using the embedded SmolLM2-135M model: a tiny model for trying AgentHPO offline, with weak"
    " ideas. For real tuning pass --llm openai:gpt-4o-mini, --llm anthropic:claude-haiku-4-5,"
    " --llm ollama:MODEL,"
    " --llm openai-compatible:URL#MODEL or --llm local:/path/to/model.gguf"
)


@dataclass(frozen=True)
class _Preset:
    base_url: str | None
    key_env: str | None
    key_required: bool


_PRESETS: dict[str, _Preset] = {
    "openai": _Preset(None, "OPENAI_API_KEY", True),
    "openrouter": _Preset("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", True),
    "deepseek": _Preset("https://api.deepseek.com", "DEEPSEEK_API_KEY", True),
}

SPEC_HELP = (
    "use local, local:PATH, llamacpp[:PATH], random[:SEED], openai:MODEL, anthropic:MODEL,"
    " ollama:MODEL,"
    " openrouter:MODEL, deepseek:MODEL or openai-compatible:URL#MODEL"
)


@dataclass(frozen=True)
class LLMSettings:
    """Provider settings besides the spec (from the task file's ``llm:`` section)."""

    structured_output: StructuredMode = "auto"
    timeout: float = 120.0
    max_retries: int = 3


def parse_llm_spec(
    spec: str,
    *,
    settings: LLMSettings | None = None,
    environ: Mapping[str, str] | None = None,
    source: str = "--llm",
) -> LLMClient:
    """Builds the client a spec names; raises :class:`LLMConfigError` on a bad spec, whose
    message starts with ``source``, where the spec came from (``--llm``, a task file's
    ``"task.yaml: llm:"``, ...).

    Example:
        >>> parse_llm_spec("random:x", source="task.yaml: llm:")
        Traceback (most recent call last):
        ...
        agenthpo.errors.LLMConfigError: task.yaml: llm: 'random:x': write random or random:SEED
    """
    settings = settings or LLMSettings()
    env = os.environ if environ is None else environ
    if settings.structured_output not in STRUCTURED_MODES:
        raise LLMConfigError(
            f"llm.structured_output must be one of {', '.join(STRUCTURED_MODES)}"
            f" (got {settings.structured_output!r})"
        )
    spec = spec.strip()
    kind, _, rest = spec.partition(":")
    shown = _shown(spec, kind, rest)  # a URL's password and query stay out of every message
    kind = kind.lower()
    if kind == "local":
        return LocalClient(model_path=rest or None)
    if kind in ("llamacpp", "llama-cpp"):
        return LocalLlamaClient(model_path=rest or None)
    if kind == "random":
        try:
            seed = int(rest) if rest else 0
        except ValueError:
            raise LLMConfigError(f"{source} {shown!r}: write random or random:SEED") from None
        return RandomLLM(seed=seed)

    def client(model: str, base_url: str | None, key: str | None, label: str) -> LLMClient:
        return OpenAICompatibleClient(
            model=model,
            base_url=base_url,
            api_key=key,
            label=label,
            structured_output=settings.structured_output,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )

    if kind in _PRESETS:
        preset = _PRESETS[kind]
        model = rest or (DEFAULT_OPENAI_MODEL if kind == "openai" else "")
        if not model:
            raise LLMConfigError(f"{source} {shown!r} names no model; write {kind}:MODEL")
        key = _key(env, preset.key_env) if preset.key_env else None
        if preset.key_required and not key:
            raise LLMConfigError(
                f"{source} {kind}:... needs an API key in the environment variable {preset.key_env}"
            )
        base_url = preset.base_url
        if kind == "openai":
            base_url = env.get("OPENAI_BASE_URL") or None
        return client(model, base_url, key, kind)
    if kind == "anthropic":
        model = rest or DEFAULT_ANTHROPIC_MODEL
        key = _key(env, "ANTHROPIC_API_KEY")
        if not key:
            raise LLMConfigError(
                f"{source} anthropic:... needs an API key in the environment variable"
                " ANTHROPIC_API_KEY"
            )
        return AnthropicClient(
            model=model,
            api_key=key,
            base_url=env.get("ANTHROPIC_BASE_URL") or None,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )
    if kind == "ollama":
        if not rest:
            raise LLMConfigError(
                f"{source} ollama needs a model: write ollama:MODEL, e.g. ollama:qwen2.5:7b"
            )
        host = env.get("OLLAMA_HOST") or OLLAMA_DEFAULT_HOST
        if "://" not in host:
            host = "http://" + host
        return client(rest, host.rstrip("/") + "/v1", "ollama", "ollama")
    if kind in ("openai-compatible", "openai_compatible"):
        url, sep, model = rest.rpartition("#")
        if not sep or not url or not model:
            raise LLMConfigError(
                f"{source} {shown!r}: write openai-compatible:URL#MODEL,"
                " e.g. openai-compatible:http://127.0.0.1:8000/v1#my-model"
            )
        if not url.startswith(("http://", "https://")):
            raise LLMConfigError(f"{source} {shown!r}: the URL must start with http:// or https://")
        key = _key(env, "AGENTHPO_LLM_API_KEY")
        return client(model, url, key, "openai-compatible")
    said = "" if source == "--llm" else f"{source} "
    raise LLMConfigError(f"{said}unknown LLM spec {shown!r}; {SPEC_HELP}")


def _key(env: Mapping[str, str], name: str) -> str | None:
    """The API key in the environment variable ``name`` (``None`` when unset or empty).

    Raises:
        LLMConfigError: The key holds a character no HTTP header can carry (a pasted dash,
            a trailing newline); sent as is, it would fail as a traceback or as a misleading
            "cannot reach" on the first request.
    """
    key = env.get(name) or None
    if key is not None:
        problem = key_problem(key, name)
        if problem:
            raise LLMConfigError(problem)
    return key


def _ollama_model(host: str, timeout: float = 0.3) -> str | None:
    """The first model of an Ollama server answering at ``host``, or ``None``."""
    try:
        with urllib.request.urlopen(  # noqa: S310 - fixed loopback URL or OLLAMA_HOST
            host.rstrip("/") + "/api/tags", timeout=timeout
        ) as response:
            data = json.load(response)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    models = data.get("models") if isinstance(data, dict) else None
    if not models or not isinstance(models, list):
        return None
    name = models[0].get("name") if isinstance(models[0], dict) else None
    return name if isinstance(name, str) else None


def resolve_llm(
    spec: str | None,
    *,
    settings: LLMSettings | None = None,
    environ: Mapping[str, str] | None = None,
    source: str = "--llm",
) -> tuple[LLMClient, str]:
    """Returns the client for ``spec`` or, with no spec, the one a user would expect.

    ``source`` says where ``spec`` came from, in its errors (see :func:`parse_llm_spec`).

    Without a spec: ``AGENTHPO_LLM`` (set but empty is an error, as an empty spec is); else
    OpenAI when ``OPENAI_API_KEY`` is set; else Anthropic's Claude Haiku 4.5 when
    ``ANTHROPIC_API_KEY`` is set; else an Ollama server answering on ``OLLAMA_HOST`` or
    127.0.0.1:11434; else the embedded model. The second value is one line saying what was
    chosen and why.

    Example:
        >>> client, note = resolve_llm(None, environ={"ANTHROPIC_API_KEY": "k"})
        >>> client.name
        'anthropic:claude-haiku-4-5'
    """
    env = os.environ if environ is None else environ
    if spec is not None and not spec.strip():
        # An empty value is a slip (an unset shell variable), not a request for the default.
        raise LLMConfigError(
            "the LLM spec is empty; give one (local, openai:MODEL, ollama:MODEL, ...) or"
            " leave it out for the default"
        )
    if spec:
        client = parse_llm_spec(spec, settings=settings, environ=env, source=source)
        return client, f"LLM: {client.name}"
    if "AGENTHPO_LLM" in env:
        if not env["AGENTHPO_LLM"].strip():
            # Set but empty, like ``--llm ""``: an unset shell variable
            # (``AGENTHPO_LLM=$MODEL``), not a request for the default.
            raise LLMConfigError(
                "AGENTHPO_LLM (the environment variable) is set but empty; give a spec"
                " (local, openai:MODEL, ollama:MODEL, ...) or unset it for the default"
            )
        client = parse_llm_spec(
            env["AGENTHPO_LLM"],
            settings=settings,
            environ=env,
            source="AGENTHPO_LLM (the environment variable):",
        )
        return client, f"LLM: {client.name} (from AGENTHPO_LLM)"
    if env.get("OPENAI_API_KEY"):
        client = parse_llm_spec(f"openai:{DEFAULT_OPENAI_MODEL}", settings=settings, environ=env)
        return client, f"LLM: {client.name} (OPENAI_API_KEY is set)"
    if env.get("ANTHROPIC_API_KEY"):
        client = parse_llm_spec(
            f"anthropic:{DEFAULT_ANTHROPIC_MODEL}", settings=settings, environ=env
        )
        return client, (
            f"LLM: {client.name} (ANTHROPIC_API_KEY is set; Haiku is the fast, low-cost"
            " Claude, enough for proposing configurations; --llm anthropic:claude-sonnet-4-5"
            " picks a stronger one)"
        )
    host = env.get("OLLAMA_HOST") or OLLAMA_DEFAULT_HOST
    if "://" not in host:
        host = "http://" + host
    model = _ollama_model(host)
    if model:
        client = parse_llm_spec(f"ollama:{model}", settings=settings, environ=env)
        return client, f"LLM: {client.name} (an Ollama server answers at {redact_url(host)})"
    client = LocalClient()
    return client, f"LLM: {client.name}; {EMBEDDED_NOTE}"


def _shown(spec: str, kind: str, rest: str) -> str:
    """``spec`` for a message: the secrets of its URL masked, with or without a scheme
    (``openai-compatible:user:PASSWORD@host/v1`` is a mistake that still holds a secret)."""
    if "://" in spec:
        return redact_urls(spec)
    if "@" in rest or "?" in rest:
        return f"{kind}:{redact_url(rest)}"
    return spec
