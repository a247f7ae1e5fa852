"""The report page in a real browser: headless Chromium draws every plot without a script error.

Chromium (Debian's ``chromium`` package, which ``make test`` installs through
``scripts/install-chromium``) is
driven over the Chrome DevTools protocol with a small stdlib WebSocket client, so nothing
beyond the standard library is needed. Every network request the page makes is recorded:
the report must need none but its own ``file://`` URL. A screenshot of the demo study's
report is saved to ``docs/report-screenshot.png`` when ``AGENTHPO_UPDATE_SCREENSHOT=1``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

from agenthpo.llm import ScriptedLLM
from agenthpo.reporting import ReportPaths, build_report
from agenthpo.task import load_task, task_with
from agenthpo.tuner import Tuner
from tests.test_report import build_rich_study, good_llm_answer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("AGENTHPO_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "report-screenshot.png"
EXAMPLES = sorted(ROOT.glob("examples/*/task.yaml"))
EXAMPLE_TRIALS = 6
VIEWPORT = (1280, 2240)


# ---------------------------------------------------------------- a tiny CDP client


class DevTools:
    """A Chrome DevTools protocol connection over a WebSocket (RFC 6455, client side)."""

    def __init__(self, ws_url: str, timeout: float = 30.0) -> None:
        assert ws_url.startswith("ws://")
        host_port, _, path = ws_url[len("ws://") :].partition("/")
        host, _, port = host_port.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise ConnectionError(f"DevTools refused the WebSocket: {status!r}")
        self.buffer = head.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _message(self) -> dict[str, Any]:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack(">H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack(">Q", self._read(8))
            payload = self._read(n)
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if b0 & 0x80:
                    message: dict[str, Any] = json.loads(b"".join(parts))
                    return message

    def send(self, method: str, timeout: float = 60.0, **params: Any) -> dict[str, Any]:
        """Calls a method and returns its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        call_id = self.next_id
        self._send_frame(
            0x1, json.dumps({"id": call_id, "method": method, "params": params}).encode()
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._message()
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)
        raise TimeoutError(f"{method} did not answer in {timeout} s")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A headless Chromium with remote debugging; yields its DevTools HTTP address."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the report's browser test needs it."
            " Install it with `bash scripts/install-chromium` (Debian's chromium and"
            " chromium-driver packages), or set AGENTHPO_CHROMIUM to a Chromium binary.",
            pytrace=False,
        )
    profile = tmp_path_factory.mktemp("chromium-profile")
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--hide-scrollbars",
        "--mute-audio",
        f"--user-data-dir={profile}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        "about:blank",
    ]
    log = (profile / "chromium.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (profile / "chromium.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"Chromium did not start (exit {proc.poll()}):\n{tail}", pytrace=False)
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _open_page(address: str) -> DevTools:
    request = urllib.request.Request(f"http://{address}/json/new?about:blank", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
        target = json.load(response)
    return DevTools(target["webSocketDebuggerUrl"])


def render(address: str, html: Path, screenshot: Path | None = None) -> dict[str, Any]:
    """Loads ``html`` in a fresh tab; returns what the page reported, errors and requests."""
    page = _open_page(address)
    try:
        page.send("Page.enable")
        page.send("Runtime.enable")
        page.send("Log.enable")
        page.send("Network.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            width=VIEWPORT[0],
            height=VIEWPORT[1],
            deviceScaleFactor=1,
            mobile=False,
        )
        page.send("Page.navigate", url=html.resolve().as_uri())
        deadline = time.monotonic() + 60
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = page.evaluate("window.agenthpoReport || null") or {}
            if state.get("done"):
                break
            time.sleep(0.2)
        svgs = page.evaluate("document.querySelectorAll('.main-svg').length")
        drawn_divs = page.evaluate(
            "Array.from(document.querySelectorAll('.figure')).filter("
            "d => d.querySelector('.main-svg') && d.getBoundingClientRect().height > 100).length"
        )
        figure_divs = page.evaluate("document.querySelectorAll('.figure').length")
        title = page.evaluate("document.title")
        if screenshot is not None:
            time.sleep(0.3)
            shot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        events = list(page.events)
    finally:
        page.close()
    exceptions = [
        e["params"]["exceptionDetails"].get("exception", {}).get("description")
        or e["params"]["exceptionDetails"].get("text")
        for e in events
        if e["method"] == "Runtime.exceptionThrown"
    ]
    console_errors = [
        e["params"]["entry"]["text"]
        for e in events
        if e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
    ] + [
        json.dumps(e["params"]["args"])[:300]
        for e in events
        if e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error"
    ]
    requests = [
        e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
    ]
    return {
        "state": state,
        "exceptions": exceptions,
        "console_errors": console_errors,
        "requests": requests,
        "svgs": svgs,
        "drawn_divs": drawn_divs,
        "figure_divs": figure_divs,
        "title": title,
    }


def _check(result: dict[str, Any], paths: ReportPaths) -> None:
    state = result["state"]
    n_figures = len(paths.report.figures)
    assert state.get("done"), f"the page never finished drawing: {state}"
    assert state["errors"] == [], state["errors"]
    assert result["exceptions"] == [], result["exceptions"]
    assert result["console_errors"] == [], result["console_errors"]
    assert state["expected"] == n_figures
    assert state["drawn"] == n_figures
    assert result["figure_divs"] == n_figures
    assert result["drawn_divs"] == n_figures, "a plot container holds no drawn SVG"
    assert result["svgs"] >= n_figures
    outside = [u for u in result["requests"] if not u.startswith(("file://", "data:"))]
    assert outside == [], f"the report fetched from the network: {outside}"
    assert paths.report.data.study_name in result["title"]


def test_demo_report_renders_and_is_screenshotted(chromium: str, tmp_path: Path) -> None:
    study = build_rich_study(f"sqlite:///{tmp_path / 'demo.db'}")
    llm = ScriptedLLM([good_llm_answer()], model="demo-summary")
    paths = build_report(study, out_dir=tmp_path / "report", llm=llm)
    assert {f.key for f in paths.report.figures} >= {
        "history",
        "importance",
        "slice",
        "contour",
        "curves",
    }
    # The docs' screenshot (docs/reports.md) is rewritten only on request, so a test run leaves the
    # checkout as it found it.
    shot = SCREENSHOT if os.environ.get("AGENTHPO_UPDATE_SCREENSHOT") else tmp_path / "shot.png"
    result = render(chromium, paths.html, screenshot=shot)
    _check(result, paths)
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == VIEWPORT
    assert len(png) > 50_000  # a blank page compresses to a few kilobytes


def test_multi_objective_report_renders(chromium: str, tmp_path: Path) -> None:
    study = optuna.create_study(
        study_name="two-goals",
        storage=f"sqlite:///{tmp_path / 'mo.db'}",
        directions=["maximize", "minimize"],
    )
    study.set_user_attr("agenthpo_metric", ["accuracy", "latency_ms"])
    for i in range(10):
        x = i / 9
        study.add_trial(
            optuna.trial.create_trial(
                params={"width": x, "act": "relu" if i % 2 else "tanh"},
                distributions={
                    "width": optuna.distributions.FloatDistribution(0, 1),
                    "act": optuna.distributions.CategoricalDistribution(["relu", "tanh"]),
                },
                values=[0.8 + 0.15 * x, 5 + 20 * x * x],
            )
        )
    paths = build_report(study, out_dir=tmp_path / "report")
    assert paths.report.figure("pareto") is not None
    _check(render(chromium, paths.html), paths)


# Every example's report renders; by default only the two cheapest (the quick start's and a
# small scikit-learn one: 1 to 2 minutes on 2 cores), the others, whose trials train torch
# and text models for minutes, with -m slow.
QUICK_EXAMPLES = ("digits_mlp", "cancer_sgd")


@pytest.mark.parametrize(
    "task_file",
    [
        pytest.param(p, marks=() if p.parent.name in QUICK_EXAMPLES else pytest.mark.slow)
        for p in EXAMPLES
    ],
    ids=[p.parent.name for p in EXAMPLES],
)
def test_example_study_report_renders(chromium: str, tmp_path: Path, task_file: Path) -> None:
    """Each example, run for a few trials with TPE, gives a report that renders."""
    task = load_task(task_file)
    task = task_with(task, n_trials=min(task.n_trials, EXAMPLE_TRIALS), strategy="tpe")
    storage = f"sqlite:///{tmp_path / 'example.db'}"
    Tuner(task, storage=storage, seed=0).run()
    study = optuna.load_study(study_name=task.name, storage=storage)
    paths = build_report(study, out_dir=tmp_path / "report")
    assert len(paths.report.data.trials) == len(study.trials)
    _check(render(chromium, paths.html), paths)


def test_the_browser_check_catches_a_broken_page(chromium: str, tmp_path: Path) -> None:
    """The checks are not vacuous: a script error and an undrawable plot are seen."""
    study = build_rich_study(f"sqlite:///{tmp_path / 'demo.db'}")
    paths = build_report(study, out_dir=tmp_path / "report")
    html = paths.html.read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    broken.write_text(
        html.replace("<body>", "<body><script>undefinedFunction();</script>", 1).replace(
            'data-target="fig-0">', 'data-target="fig-0">{not json', 1
        ),
        encoding="utf-8",
    )
    result = render(chromium, broken)
    assert any("undefinedFunction" in str(e) for e in result["exceptions"])
    assert any("fig-0" in e for e in result["state"]["errors"])
    assert result["state"]["drawn"] == len(paths.report.figures) - 1
    with pytest.raises(AssertionError):
        _check(result, paths)
