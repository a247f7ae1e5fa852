"""Any GGUF chat model run in-process by llama.cpp (the optional ``agenthpo[llamacpp]`` runtime).

``--llm llamacpp:/path/to/model.gguf``. llama.cpp runs quantized weights fast, which pays
for models of a billion parameters and more; the price is llama-cpp-python's install, which
compiles llama.cpp (15 minutes or more on 2 cores) for the CPU that builds it. Before the
first in-process load, a child process decodes two tokens (:mod:`agenthpo.llm._probe`), so a
build that crashes on this CPU is an error that says how to rebuild, not a dead tuner. The
embedded default does not need any of this: see :mod:`agenthpo.llm._local`.
"""

from __future__ import annotations

import atexit
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenthpo.errors import LLMConfigError, LLMError
from agenthpo.llm._base import LLMResponse, Message, Usage
from agenthpo.llm._lazy_grammar import use_lazy_grammar
from agenthpo.llm._local import InProcessModel, spare_threads
from agenthpo.llm._probe import check_llama_build

__all__ = ["LocalLlamaClient"]

_logger = logging.getLogger("agenthpo")

INSTALL_HINT = (
    "install the llama.cpp runtime with: pip install 'agenthpo[llamacpp]' (it compiles"
    " llama.cpp), or run the file with --llm local:PATH, which needs no compiler"
)


class LocalLlamaClient(InProcessModel):
    """A GGUF chat model run in-process by llama-cpp-python.

    The model is loaded on the first call (and again after unpickling), so constructing a
    client is cheap. Calls are serialized: one llama context is not thread-safe.

    Prompts that begin alike skip the work already done: llama.cpp's context keeps the last
    prompt's tokens, and a state cache in memory keeps the evaluated states of earlier
    prompts, so a proposal after an analysis (whose prompt differs) still reuses the
    proposal prompt's stable beginning (the task, the space, the older history) and
    evaluates only what changed. The answers follow the same distribution with or without
    the cache, but are not always the same text: a reused state was computed in other
    batches, so the logits differ in their last bits and a sampled token can differ.

    Args:
        model_path: A ``.gguf`` file; ``None`` means the embedded model's file.
        n_ctx: Context window in tokens.
        n_threads: Decoding threads. ``None`` (the default): before each call, the threads
            the machine can spare then (:func:`~agenthpo.llm._local.spare_threads`: 2 on an
            idle 2-core machine, 1 while something else keeps a core busy), unless
            ``AGENTHPO_LLAMA_THREADS`` fixes them.
        prefix_cache_mb: Memory for the state cache in MiB (0: off, only the last prompt's
            tokens are reused). States of a 1.5B model's 2,000-token prompt take about
            60 MiB.
        lazy_grammar: Check a JSON answer's grammar only on the token drawn, masking the
            whole vocabulary only when it refuses one, as llama.cpp's server does
            (:mod:`agenthpo.llm._lazy_grammar`); ``False``: llama-cpp-python's own
            sampler, which masks the vocabulary for every token.

    Example:
        >>> client = LocalLlamaClient(model_path="/models/qwen.gguf")  # doctest: +SKIP
        >>> client.name  # doctest: +SKIP
        'llamacpp:qwen'
    """

    prefix = "llamacpp"
    example = "--llm llamacpp:/models/qwen2.5-1.5b-instruct-q4_k_m.gguf"

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        prefix_cache_mb: int = 512,
        lazy_grammar: bool = True,
    ) -> None:
        fixed = n_threads is not None or bool(os.environ.get("AGENTHPO_LLAMA_THREADS"))
        super().__init__(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads)
        self.adaptive_threads = not fixed
        self._threads_now = self.n_threads
        if prefix_cache_mb < 0:
            raise LLMConfigError(f"prefix_cache_mb must be >= 0, not {prefix_cache_mb}")
        self.prefix_cache_mb = prefix_cache_mb
        self.lazy_grammar = lazy_grammar

    def _load(self) -> Any:
        if self._model is None:
            try:
                import llama_cpp
            except ImportError:
                raise LLMConfigError(f"llama-cpp-python is not installed; {INSTALL_HINT}") from None
            check_llama_build(self.model_path)
            start = time.perf_counter()
            if self.adaptive_threads:
                self.n_threads = spare_threads()
            try:
                self._model = llama_cpp.Llama(
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
            self._threads_now = self.n_threads
            if self.lazy_grammar:
                use_lazy_grammar(self._model)
            if self.prefix_cache_mb:
                from llama_cpp.llama_cache import LlamaRAMCache

                self._model.set_cache(LlamaRAMCache(capacity_bytes=self.prefix_cache_mb << 20))
            # Free the model before interpreter teardown: llama-cpp-python's own __del__ fails
            # noisily when it runs after its C library has been unloaded.
            atexit.register(self.close)
            _logger.debug(
                "loaded %s in %.1f s (%d threads)",
                self.model_path.name,
                time.perf_counter() - start,
                self.n_threads,
            )
        return self._model

    def close(self) -> None:
        """Frees the model (it is loaded again on the next call)."""
        llama, self._model = self._model, None
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
            threads = self._set_threads(llama)
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
            provider="llamacpp",
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            ),
            latency_s=latency,
            structured="json_object_schema" if schema is not None else "none",
            extra={"finish_reason": choice.get("finish_reason"), "threads": threads},
        )

    def _set_threads(self, llama: Any) -> int:
        """The threads this call decodes on: the ones the machine can spare now, unless the
        user fixed them (llama.cpp's context takes a new count between calls)."""
        if self.adaptive_threads:
            want = spare_threads()
            if want != self._threads_now:
                import llama_cpp

                llama_cpp.llama_set_n_threads(llama.ctx, want, want)
                self._threads_now = want
        return self._threads_now
