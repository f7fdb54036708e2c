"""A request head slower than the header timeout gets 408 and the connection closes
(uvicorn on loopback and real `memosys serve` processes, raw sockets)."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from memosys import MemOS
from memosys.server.app import create_app
from memosys.server.background import BackgroundServer
from memosys.server.settings import ServerSettings
from memosys.settings import load_settings
from serve_process import Server

LIMIT_S = 1.0
HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BackgroundServer]:
    with MemOS.open(tmp_path, settings=load_settings(embedder={"provider": "hash"})) as mos:
        app = create_app(mos, ServerSettings(write_processes=0))
        with BackgroundServer(app, header_timeout_s=LIMIT_S) as running:
            yield running


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (10 s at most)."""
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def _one_response(sock: socket.socket) -> bytes:
    """One whole response to a ``/healthz`` (its body is JSON that ends in ``}``)."""
    answer = b""
    while not answer.endswith(b"}"):
        chunk = sock.recv(65536)
        assert chunk, answer
        answer += chunk
    return answer


def _assert_408(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:300]
    assert json.loads(body) == {
        "error": "RequestTimeoutError",
        "message": f"the request line and headers did not arrive within {LIMIT_S:g} s; send "
        "them at once, or raise the server's limit (its `--header-timeout-s`)",
        "detail": {"header_timeout_s": LIMIT_S},
    }


def test_a_head_trickled_a_byte_at_a_time_gets_408_at_the_limit(
    server: BackgroundServer,
) -> None:
    with _connect(server.port) as sock:
        started = time.monotonic()
        for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
            sock.sendall(bytes([byte]))  # each byte in time, the head never complete
            if select.select([sock], [], [], 0.1)[0]:
                break
        answer = _until_closed(sock)
        waited = time.monotonic() - started
    _assert_408(answer)
    assert LIMIT_S - 0.1 < waited < LIMIT_S + 2, waited


def test_a_connection_that_sends_nothing_gets_408_and_is_closed(
    server: BackgroundServer,
) -> None:
    with _connect(server.port) as sock:
        started = time.monotonic()
        answer = _until_closed(sock)
        waited = time.monotonic() - started
    _assert_408(answer)
    assert LIMIT_S - 0.1 < waited < LIMIT_S + 2, waited


def test_a_slow_head_within_the_limit_is_served(server: BackgroundServer) -> None:
    with _connect(server.port) as sock:
        for part in (HEAD[:10], HEAD[10:30]):
            sock.sendall(part)
            assert not select.select([sock], [], [], 0.3)[0]  # nothing yet: no 408
        sock.sendall(HEAD[30:])
        assert _one_response(sock).startswith(b"HTTP/1.1 200")


def test_keep_alive_idle_is_unaffected_and_the_next_head_has_the_limit_again(
    server: BackgroundServer,
) -> None:
    with _connect(server.port) as sock:
        sock.sendall(HEAD)
        assert _one_response(sock).startswith(b"HTTP/1.1 200")
        # idle past the header limit, within uvicorn's keep-alive timeout (5 s)
        assert not select.select([sock], [], [], LIMIT_S + 1)[0]
        sock.sendall(HEAD)
        assert _one_response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(HEAD[:20])  # the third request stalls in its head
        started = time.monotonic()
        answer = _until_closed(sock)
        waited = time.monotonic() - started
    _assert_408(answer)
    assert LIMIT_S - 0.1 < waited < LIMIT_S + 2, waited


@pytest.mark.parametrize("args", [[], ["--workers", "2"]], ids=["one-process", "workers"])
def test_serve_answers_408_to_a_stalled_head(tmp_path: Path, args: list[str]) -> None:
    data = tmp_path / "data"
    MemOS.open(data, settings=load_settings(embedder={"provider": "hash"})).close()
    server = Server(data, tmp_path / "server.log", "--header-timeout-s", f"{LIMIT_S:g}",
                    "--write-processes", "0", "--no-warm", "--no-jobs", *args)
    try:
        for _ in range(4):  # a new connection each time: either worker may take it
            with _connect(server.port) as sock:
                sock.sendall(HEAD[:20])
                started = time.monotonic()
                answer = _until_closed(sock)
                waited = time.monotonic() - started
            _assert_408(answer)
            assert LIMIT_S - 0.1 < waited < LIMIT_S + 2, waited
    finally:
        server.stop()


def test_serve_refuses_a_header_timeout_that_is_not_positive(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "memosys.cli", "serve", "--data", str(tmp_path),
         "--header-timeout-s", "0"], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Invalid value for '--header-timeout-s'" in result.stderr


def _requests_total(text: str, method: str) -> int:
    """The count of 408s to ``method`` under the route ``<unmatched>`` (0 if none)."""
    series = f'memosys_http_requests_total{{method="{method}",route="<unmatched>",status="408"}} '
    return next((int(line.removeprefix(series)) for line in text.splitlines()
                 if line.startswith(series)), 0)


def test_a_timed_out_head_is_counted_in_metrics(server: BackgroundServer) -> None:
    with _connect(server.port) as silent, _connect(server.port) as stalled:
        stalled.sendall(HEAD[:-2])  # the request line whole, the headers not
        _assert_408(_until_closed(silent))
        _assert_408(_until_closed(stalled))
    text = httpx.get(f"{server.url}/metrics").text
    assert _requests_total(text, "OTHER") == 1, text  # no request line: no method
    assert _requests_total(text, "GET") == 1, text
    count = 'memosys_http_request_duration_seconds_count{method="GET",route="<unmatched>"} 1'
    assert count in text, text
    took = next(line for line in text.splitlines() if line.startswith(
        'memosys_http_request_duration_seconds_sum{method="GET",route="<unmatched>"}'))
    assert LIMIT_S - 0.1 < float(took.split()[-1]) < LIMIT_S + 2, took


@pytest.mark.parametrize("args", [[], ["--workers", "2"]], ids=["one-process", "workers"])
def test_serve_logs_and_counts_a_stalled_head(tmp_path: Path, args: list[str]) -> None:
    data = tmp_path / "data"
    MemOS.open(data, settings=load_settings(embedder={"provider": "hash"})).close()
    log = tmp_path / "server.log"
    server = Server(data, log, "--header-timeout-s", f"{LIMIT_S:g}", "--log-level", "info",
                    "--write-processes", "0", "--no-warm", "--no-jobs", *args)
    try:
        with _connect(server.port) as sock:
            sock.sendall(b"GET /healthz?api_key=msk_Stalled7 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            _assert_408(_until_closed(sock))
        deadline = time.monotonic() + 10  # the workers share their counts every second
        while _requests_total(text := httpx.get(f"{server.url}/metrics").text, "GET") < 1:
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
        assert _requests_total(text, "GET") == 1, text
    finally:
        server.stop()
    lines = log.read_text().splitlines()
    assert any('"GET /healthz?api_key=<redacted> HTTP/1.1" 408' in line for line in lines), lines
    assert "Stalled7" not in log.read_text()
