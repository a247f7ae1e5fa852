"""Fixtures for the integration tests: a real OpenAI-compatible server on loopback.

The server is Hugging Face's ``transformers serve`` (FastAPI and uvicorn, from the dev
extra's ``transformers[serving]``) running the embedded SmolLM2-135M-Instruct, converted
once from its GGUF file. It accepts and ignores ``response_format`` (it logs "Ignoring
unsupported fields"), as some servers do: the client's own validation is what keeps the
answers honest there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenthpo.llm._local import converted_model
from tests.integration.fault_proxy import FaultProxy


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_argv() -> list[str]:
    exe = shutil.which("transformers", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("the transformers command is missing: make setup-dev installs it")
    return [exe, "serve"]


@pytest.fixture(scope="session")
def openai_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    folder = tmp_path_factory.mktemp("server")
    log = folder / "server.log"
    # served from a folder named smollm2 (a link to the converted model), so the model's
    # name in requests is "smollm2" rather than a cache path
    (folder / "smollm2").symlink_to(converted_model(), target_is_directory=True)
    argv = [
        *_serve_argv(),
        "smollm2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
        "--dtype",
        "float32",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder)
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(url + "/models", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"transformers serve did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        try:
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def proxy(openai_server: str) -> Iterator[FaultProxy]:
    yield from _running(FaultProxy(openai_server, rate=0.45, seed=3))


@pytest.fixture
def clean_proxy(openai_server: str) -> Iterator[FaultProxy]:
    """The real server behind the same proxy with no faults: only the token cap."""
    yield from _running(FaultProxy(openai_server, rate=0.0))


def _running(fault_proxy: FaultProxy) -> Iterator[FaultProxy]:
    fault_proxy.thread.start()
    try:
        yield fault_proxy
    finally:
        fault_proxy.server.shutdown()
        fault_proxy.server.server_close()
