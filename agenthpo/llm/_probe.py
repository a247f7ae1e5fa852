"""A first decode in a child process, so a llama.cpp build that crashes on this CPU is an error.

llama-cpp-python compiles llama.cpp for the machine that builds it (``GGML_NATIVE``). Some
virtual machines report instruction sets they fault on (AMX here), and pip reuses a wheel
built elsewhere, so a build can die with SIGSEGV or SIGILL on its first prompt, taking the
tuner with it and printing nothing useful. Before the embedded model is loaded in-process,
a child process loads it and decodes two tokens; a child killed by a signal becomes an
:class:`~agenthpo.errors.LLMConfigError` that says how to rebuild. A passing probe is
remembered per library build and CPU (a marker under ``~/.cache/agenthpo``), so it costs one
model load once. ``AGENTHPO_LLAMA_PROBE=0`` skips it.

Example:
    >>> from agenthpo.llm._probe import check_llama_build
    >>> check_llama_build("/models/small.gguf")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from agenthpo.errors import LLMConfigError

__all__ = ["REBUILD_HINT", "check_llama_build"]

_logger = logging.getLogger("agenthpo")

REBUILD_HINT = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF'
    ' -DGGML_AMX_BF16=OFF" pip install --no-cache-dir --force-reinstall --no-deps'
    ' "llama-cpp-python>=0.3.36,<0.4"'
)

_CHILD = """
import sys
import llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, n_threads=1, n_threads_batch=1,
                      verbose=False)
llm.create_chat_completion(messages=[{"role": "user", "content": "Say hi to the user."}],
                           max_tokens=2)
"""

PROBE_TIMEOUT_S = 300.0


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agenthpo"


def _build_key() -> str:
    """What a passing probe holds for: this llama-cpp-python build on this CPU."""
    parts = [sys.executable]
    try:
        dist = importlib.metadata.distribution("llama-cpp-python")
        parts.append(dist.version)
        for file in dist.files or []:
            name = str(file)
            if name.endswith((".so", ".dylib", ".dll")):
                path = Path(str(dist.locate_file(file)))
                if path.is_file():
                    st = path.stat()
                    parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    except importlib.metadata.PackageNotFoundError:
        parts.append("not-installed")
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        flags = next((ln for ln in cpu.splitlines() if ln.startswith("flags")), "")
        parts.append(flags)
    except OSError:
        pass
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def _child_argv(model_path: Path) -> list[str]:
    return [sys.executable, "-c", _CHILD, str(model_path)]


def check_llama_build(model_path: str | Path) -> None:
    """Decodes in a child process once per build and CPU; raises if the child crashed.

    Raises:
        LLMConfigError: The child was killed by a signal (a build this CPU cannot run), or
            did not answer within :data:`PROBE_TIMEOUT_S`.
    """
    if os.environ.get("AGENTHPO_LLAMA_PROBE", "1").strip().lower() in ("0", "false", "no"):
        return
    marker = _cache_dir() / f"llama-probe-{_build_key()}.ok"
    if marker.is_file():
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run(
            _child_argv(Path(model_path)),
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LLMConfigError(
            f"llama-cpp-python did not answer a two-token prompt within {PROBE_TIMEOUT_S:.0f} s"
            " in a test process; the machine may be overloaded (set AGENTHPO_LLAMA_THREADS=1),"
            " or set AGENTHPO_LLAMA_PROBE=0 to skip this check"
        ) from None
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        raise LLMConfigError(
            f"llama-cpp-python crashed ({name}) on its first prompt in a test process: its"
            " llama.cpp was compiled for instructions this CPU does not run (virtual machines"
            " that report AMX but fault on it do this). Rebuild it without native tuning:"
            f" {REBUILD_HINT}"
        )
    if done.returncode != 0:
        # Not a crash: let the in-process load report the error in full.
        tail = " ".join(done.stderr.strip().splitlines()[-1:])
        _logger.debug("llama.cpp probe exited with %d: %s", done.returncode, tail)
        return
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{sys.executable}\n")
    except OSError as exc:  # a read-only home: probe again next time
        _logger.debug("cannot remember the llama.cpp probe: %s", exc)
