"""Grammar-constrained sampling for llama-cpp-python that checks the grammar lazily.

llama-cpp-python puts the grammar first in its sampler chain, so every token of a JSON answer
runs the grammar over the whole vocabulary (about 20 ms a token for Qwen2.5's 151,936
tokens on a 2-core machine: more than the decoding of a 1.5B model's token costs). llama.cpp's
own server samples first and asks the grammar only about the token it drew; only a token
the grammar refuses makes it mask the whole vocabulary and sample again (``common_sampler``'s
default). :func:`use_lazy_grammar` gives a ``llama_cpp.Llama`` that sampler.

The answer follows the grammar either way. The distribution differs slightly from masking
first: a token the grammar allows is kept with its unconstrained probability, and only the
probability of refused tokens is spread over the allowed ones (llama.cpp's server samples the
same way).

Example:
    >>> import llama_cpp  # doctest: +SKIP
    >>> llama = llama_cpp.Llama(model_path="/models/qwen.gguf")  # doctest: +SKIP
    >>> use_lazy_grammar(llama)  # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import types
from typing import Any

import numpy as np

__all__ = ["LazyGrammarSampler", "use_lazy_grammar"]

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)


class LazyGrammarSampler:
    """A sampler with llama-cpp-python's ``LlamaSampler.sample(ctx, idx)`` interface that
    draws from ``chain`` (its sampler chain without the grammar) and checks the draw against
    ``grammar``, masking the whole vocabulary only when the grammar refuses it.

    Args:
        chain: llama-cpp-python's ``LlamaSampler`` built with every setting but the grammar.
        grammar: The ``llama_cpp.LlamaGrammar`` the answer must follow.
        vocab: The model's vocabulary (``llama.model.vocab``).
        n_vocab: Its size (the length of the logits).
    """

    def __init__(self, chain: Any, grammar: Any, vocab: Any, n_vocab: int) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._chain = chain
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._grammar:
            raise ValueError("llama.cpp could not parse the grammar")
        self._n_vocab = n_vocab
        self._data = np.empty(n_vocab, dtype=_TOKEN_DATA)
        self._one = np.empty(1, dtype=_TOKEN_DATA)
        self.redraws = 0
        """How many draws the grammar refused (each then masked the whole vocabulary)."""
        self.draws = 0
        """How many tokens were drawn."""

    def _array(self, data: np.ndarray) -> Any:
        return self._lib.llama_token_data_array(
            data=data.ctypes.data_as(self._lib.llama_token_data_p),
            size=len(data),
            selected=-1,
            sorted=False,
        )

    def _candidates(self, logits: np.ndarray) -> np.ndarray:
        data = self._data
        data["id"] = np.arange(self._n_vocab, dtype=np.int32)
        data["logit"] = logits
        data["p"] = 0.0
        return data

    def _select(self, data: np.ndarray, *, masked: bool) -> int:
        cur = self._array(data)
        ref = ctypes.byref(cur)
        if masked:
            self._lib.llama_sampler_apply(self._grammar, ref)
        self._lib.llama_sampler_apply(self._chain.sampler, ref)
        if not 0 <= cur.selected < cur.size:
            raise RuntimeError("the sampler selected no token")
        # the samplers may have moved the array's start (top-k sorts in place)
        chosen = ctypes.cast(cur.data, ctypes.POINTER(self._lib.llama_token_data))[cur.selected]
        return int(chosen.id)

    def _allowed(self, token: int, logit: float) -> bool:
        one = self._one
        one["id"] = token
        one["logit"] = logit
        one["p"] = 0.0
        self._lib.llama_sampler_apply(self._grammar, ctypes.byref(self._array(one)))
        return bool(np.isfinite(one["logit"][0]))

    def sample(self, ctx: Any, idx: int = -1) -> int:
        """The next token at position ``idx`` of ``ctx``'s logits, accepted by the grammar
        and the chain."""
        pointer = self._lib.llama_get_logits_ith(ctx.ctx, idx)
        logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
        token = self._select(self._candidates(logits), masked=False)
        self.draws += 1
        if not self._allowed(token, float(logits[token])):
            self.redraws += 1
            token = self._select(self._candidates(logits), masked=True)
        self._lib.llama_sampler_accept(self._grammar, token)
        self._lib.llama_sampler_accept(self._chain.sampler, token)
        return token

    def close(self) -> None:
        """Frees the grammar (the chain frees itself)."""
        grammar, self._grammar = self._grammar, None
        if grammar:
            self._lib.llama_sampler_free(grammar)

    def __del__(self) -> None:
        self.close()


def use_lazy_grammar(llama: Any) -> None:
    """Makes ``llama`` (a ``llama_cpp.Llama``) sample grammar-constrained answers with a
    :class:`LazyGrammarSampler`; answers without a grammar sample as before.

    It replaces the instance's ``_init_sampler`` (a private method of llama-cpp-python
    0.3, which builds the sampler for each completion): the tests pin that method's
    signature to the installed version.
    """
    original = llama._init_sampler

    def init_sampler(self: Any, *args: Any, grammar: Any = None, **kwargs: Any) -> Any:
        chain = original(*args, grammar=None, **kwargs)
        if grammar is None:
            return chain
        sampler = LazyGrammarSampler(chain, grammar, self._model.vocab, self._n_vocab)
        self._agenthpo_lazy_sampler = sampler
        return sampler

    llama._init_sampler = types.MethodType(init_sampler, llama)
