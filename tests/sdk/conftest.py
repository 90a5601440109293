"""Session fixtures: the mock upstream and `bitrouter serve` as real processes, and SDK clients.

Binaries come from `MOCK_UPSTREAM_BIN` / `BITROUTER_BIN`, else `target/debug/...` under the repo
root. Both listen on ephemeral loopback ports; the URL is read from their "listening on" line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import support
from support import CALLER_KEY, PROTOCOLS, TIMEOUT_S, Mock

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 30.0
LISTENING = re.compile(r"listening on (http://\S+)")

# No proxy or SDK setting from the caller's environment may redirect a client.
for _var in (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_GENAI_USE_VERTEXAI",
):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


def _binary(env: str, name: str) -> Path:
    path = Path(os.environ.get(env) or REPO / "target" / "debug" / name)
    if not path.is_absolute():
        path = REPO / path
    if not path.exists():
        pytest.fail(
            f"{path} does not exist: build it (`cargo build -p cli -p testkit --bins`) or set {env}",
            pytrace=False,
        )
    return path


class Process:
    """A child process whose stdout is drained into a log (so it never blocks on a full pipe)."""

    def __init__(self, name: str, argv: list[str], logdir: Path) -> None:
        self.name = name
        self.argv = argv
        self.stdout_path = logdir / f"{name}.stdout.log"
        self.stderr_path = logdir / f"{name}.stderr.log"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=logdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.url: str | None = None
        self._ready = threading.Event()
        self._drain = threading.Thread(target=self._read_stdout, daemon=True)
        self._drain.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        with self.stdout_path.open("wb") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                if self.url is None:
                    m = LISTENING.search(line.decode(errors="replace"))
                    if m:
                        self.url = m.group(1).rstrip("/")
                        self._ready.set()
        self._ready.set()  # stdout closed: the process is gone

    def wait_listening(self) -> str:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                break
        if self.url is None:
            why = (
                f"exited with status {self.proc.poll()}"
                if self.proc.poll() is not None
                else f"printed no 'listening on' line in {STARTUP_TIMEOUT_S:.0f} s"
            )
            self.stop()
            pytest.fail(f"{self.name} {why}: {' '.join(self.argv)}\n{self.logs()}", pytrace=False)
        return self.url

    def offsets(self) -> tuple[int, int]:
        """Current sizes of the two logs, to show later only what one test produced."""
        return tuple(p.stat().st_size if p.exists() else 0 for p in (self.stdout_path, self.stderr_path))

    def logs(self, limit: int = 6000, since: tuple[int, int] = (0, 0)) -> str:
        out = []
        for label, path, start in (
            ("stdout", self.stdout_path, since[0]),
            ("stderr", self.stderr_path, since[1]),
        ):
            try:
                with path.open("rb") as f:
                    f.seek(start)
                    text = f.read().decode(errors="replace")
            except OSError:
                text = ""
            if len(text) > limit:
                text = "...\n" + text[-limit:]
            if text.strip():
                out.append(f"--- {self.name} {label} ---\n{text}")
        return "\n".join(out) or f"({self.name} logged nothing)"

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(
                f"{self.name} died (status {self.proc.returncode})\n{self.logs()}", pytrace=False
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._drain.join(5)
        self._stderr.close()


_PROCESSES: list[Process] = []


@pytest.fixture(scope="session")
def mock_proc(tmp_path_factory) -> Iterator[Process]:
    logdir = tmp_path_factory.mktemp("mock")
    binary = _binary("MOCK_UPSTREAM_BIN", "mock-upstream")
    proc = Process("mock-upstream", [str(binary), "--listen", "127.0.0.1:0"], logdir)
    _PROCESSES.append(proc)
    try:
        proc.wait_listening()
        yield proc
    finally:
        proc.stop()
        _PROCESSES.remove(proc)


@pytest.fixture(scope="session")
def mock(mock_proc) -> Mock:
    return Mock(mock_proc.url)


@pytest.fixture(scope="session")
def config_path(mock, tmp_path_factory) -> Path:
    # The cut streams end right after the mock's first content event: committed, then truncated.
    cut_after = {p: mock.first_content_event(p) + 1 for p in PROTOCOLS}
    home = tmp_path_factory.mktemp("home")
    path = home / "bitrouter.yaml"
    path.write_text(json.dumps(support.router_config(mock.url, cut_after), indent=2) + "\n")
    return path


@pytest.fixture(scope="session")
def router_proc(config_path) -> Iterator[Process]:
    home = config_path.parent
    binary = _binary("BITROUTER_BIN", "bitrouter")
    argv = [
        str(binary),
        "--home-dir",
        str(home),
        "serve",
        "-c",
        str(config_path),
        "--listen",
        "127.0.0.1:0",
    ]
    proc = Process("bitrouter", argv, home)
    _PROCESSES.append(proc)
    try:
        proc.wait_listening()
        yield proc
    finally:
        proc.stop()
        _PROCESSES.remove(proc)


@pytest.fixture(scope="session")
def router_url(router_proc) -> str:
    assert router_proc.url is not None
    return router_proc.url


_LOG_START = pytest.StashKey[dict]()


@pytest.fixture(autouse=True)
def _fresh_mock(request) -> None:
    """Each test starts with an empty request log and fresh `times=N` counters."""
    # Start what the test needs first: the router's set-up probes the mock.
    for name in ("router_url", "mock"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
    for proc in list(_PROCESSES):
        proc.check_alive()
    if "mock" in request.fixturenames:
        request.getfixturevalue("mock").reset()
    request.node.stash[_LOG_START] = {proc.name: proc.offsets() for proc in _PROCESSES}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Attach what the router and the mock logged during a failing test to its report."""
    report = yield
    if report.failed and call.when == "call":
        start = item.stash.get(_LOG_START, {})
        for proc in _PROCESSES:
            since = start.get(proc.name, (0, 0))
            report.sections.append((f"{proc.name} log", proc.logs(3000, since)))
    return report


# --------------------------------------------------------------------------------------------
# SDK clients: no retries, short timeouts, the caller key that must never reach an upstream.


def openai_client(base_url: str):
    import openai

    return openai.OpenAI(
        api_key=CALLER_KEY, base_url=f"{base_url}/v1", max_retries=0, timeout=TIMEOUT_S
    )


def anthropic_client(base_url: str):
    import anthropic

    return anthropic.Anthropic(
        api_key=CALLER_KEY, base_url=base_url, max_retries=0, timeout=TIMEOUT_S
    )


def genai_client(base_url: str, api_version: str):
    from google import genai
    from google.genai import types

    return genai.Client(
        api_key=CALLER_KEY,
        http_options=types.HttpOptions(
            base_url=base_url, api_version=api_version, timeout=int(TIMEOUT_S * 1000)
        ),
    )


@pytest.fixture(scope="session")
def oai(router_url):
    return openai_client(router_url)


@pytest.fixture(scope="session")
def ant(router_url):
    return anthropic_client(router_url)


@pytest.fixture(scope="session", params=["v1", "v1beta"])
def gem(request, router_url):
    """A google-genai client on each API version the SDK can use."""
    return genai_client(router_url, request.param)


@pytest.fixture(scope="session")
def gem_v1(router_url):
    """The SDK's default API version (3.x: v1), for the failure-path tests."""
    return genai_client(router_url, "v1")


@pytest.fixture(scope="session")
def oai_direct(mock):
    return openai_client(mock.url)


@pytest.fixture(scope="session")
def ant_direct(mock):
    return anthropic_client(mock.url)


@pytest.fixture(scope="session", params=["v1", "v1beta"])
def gem_direct(request, mock):
    return genai_client(mock.url, request.param)
