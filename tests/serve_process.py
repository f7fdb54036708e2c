"""``memosys serve`` as a real subprocess on loopback, for tests of the running server."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from memosys.settings import GovernanceSettings

START_TIMEOUT_S = 60.0
# kept_alive_ms under this: responses are not held for the client's delayed ACK (40 ms)
NO_DELAY_MS = 25.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kept_alive_ms(url: str, verify: ssl.SSLContext | bool = True, requests: int = 15) -> float:
    """The median milliseconds of ``GET /healthz`` on one kept-alive connection to ``url``.

    A few milliseconds on loopback; 40 ms or more each where the server's socket lets
    Nagle's algorithm hold a response's body until the client's delayed ACK of its head.
    """
    took = []
    with httpx.Client(base_url=url, verify=verify) as client:
        for _ in range(requests):
            started = time.perf_counter()
            client.get("/healthz").raise_for_status()
            took.append((time.perf_counter() - started) * 1000)
    return sorted(took)[requests // 2]


# (--trusted-proxies args, whether bad keys from one loopback client naming other
# addresses in X-Forwarded-For are still limited as that one client)
FORWARDED_CASES = [((), True), (("--trusted-proxies", "127.0.0.1"), False)]


def check_forwarded_guesses(send: Callable[[dict[str, str]], httpx.Response],
                            limited: bool) -> None:
    """Send, with ``send(headers)``, two more bad keys than the sign-in failure limit
    allows, each naming another client in X-Forwarded-For; check that the last one is
    429 exactly when ``limited``."""
    statuses = [
        send({"Authorization": "Bearer msk_guess", "X-Forwarded-For": f"10.0.0.{n}"}).status_code
        for n in range(GovernanceSettings().auth_max_failures + 2)
    ]
    assert (statuses[-1] == 429) is limited and set(statuses) <= {401, 429}, statuses


def _refused_certificate(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    return cause is not None


class Server:
    """``memosys serve --data DATA [ARGS]``, started and answering ``/healthz`` (over
    HTTPS, trusting its certificate ``self.verify``, if ARGS name ``--tls-cert``)."""

    def __init__(self, data: Path, log: Path, *args: str) -> None:
        self.port = free_port()
        tls = "--tls-cert" in args
        self.verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=args[args.index("--tls-cert") + 1]) if tls else True
        )
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "memosys.cli", "serve", "--data", str(data),
                   "--port", str(self.port), "--log-level", "warning", *args]
        with log.open("ab") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=sink)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while not self._healthy():
                assert self.process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)  # the server is starting: poll /healthz until it answers
        except BaseException:
            self.kill()  # a server that did not start is not left running
            raise

    def _healthy(self) -> bool:
        try:
            answer = httpx.get(f"{self.url}/healthz", timeout=1.0, verify=self.verify)
            return answer.status_code == 200
        except httpx.TransportError as exc:
            return _refused_certificate(exc)  # it answered, with a certificate out of date

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
