"""``memosys serve --tls-cert/--tls-key``: HTTPS, and RemoteMemOS(verify=...) to trust it."""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from memosys import MemOS, RemoteMemOS
from memosys.core.errors import ConfigurationError, PlainHttpError, ServerUnreachableError
from memosys.settings import load_settings
from serve_process import NO_DELAY_MS, Server, free_port, kept_alive_ms
from tls_files import encrypted, rsa_key, self_signed


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data directory (hash embedder: a fast start; the store is real) and its admin key."""
    folder = tmp_path_factory.mktemp("tls") / "data"
    with MemOS.open(folder, settings=load_settings(embedder={"provider": "hash"})) as mos:
        issued = mos.ensure_admin_key()
    assert issued is not None
    return folder, issued.api_key


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def server(data: tuple[Path, str], cert: tuple[Path, Path]) -> Iterator[Server]:
    log = data[0].parent / "server.log"
    running = Server(data[0], log, "--write-processes", "0", "--log-level", "info",
                     "--tls-cert", str(cert[0]), "--tls-key", str(cert[1]))
    yield running
    running.stop()


def test_a_client_that_trusts_the_certificate_adds_and_searches(
    server: Server, data: tuple[Path, str], cert: tuple[Path, Path]
) -> None:
    assert server.url.startswith("https://")
    with RemoteMemOS(server.url, api_key=data[1], verify=cert[0]) as client:
        (added,) = client.add([{"role": "user", "content": "I moved to Lisbon in May"}])
        hits = client.search("Lisbon", top_k=3)
    assert added.id in [hit.item.id for hit in hits]
    log = (data[0].parent / "server.log").read_text()
    assert f"memosys serving {data[0]} on https://127.0.0.1:{server.port}" in log
    assert f"Uvicorn running on https://127.0.0.1:{server.port}" in log


def test_a_client_that_does_not_trust_it_is_told_to_pass_verify(
    server: Server, data: tuple[Path, str]
) -> None:
    with RemoteMemOS(server.url, api_key=data[1]) as client, pytest.raises(
        ServerUnreachableError, match="certificate is not trusted: pass verify="
    ):
        client.whoami()


@pytest.mark.parametrize(("valid_days", "error"), [
    ((-10, -1), "certificate has expired: the server needs a current one"),
    ((1, 10), "certificate is not valid yet: the server needs a current one"),
], ids=["expired", "not-yet-valid"])
def test_a_trusted_certificate_out_of_its_dates_is_named_so(
    tmp_path: Path, data: tuple[Path, str], valid_days: tuple[float, float], error: str
) -> None:
    cert, key = self_signed(tmp_path, "dated", valid_days)
    server = Server(data[0], tmp_path / "server.log", "--write-processes", "0",
                    "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        with RemoteMemOS(server.url, api_key=data[1], verify=cert) as client, pytest.raises(
            ServerUnreachableError, match=error
        ) as raised:
            client.whoami()
        assert "pass verify=" not in str(raised.value)  # verify= is given; it is not the fix
    finally:
        server.stop()
    # the operator was warned at the start, which did not say so before
    warning = ("expired on" if valid_days[1] < 0 else "is not valid until")
    assert re.search(f"warning: --tls-cert .*dated.crt {warning} .* UTC: clients will refuse it",
                     (tmp_path / "server.log").read_text())


def _plain_answer(port: int, request: bytes) -> tuple[bytes, dict[str, object]]:
    """The status line and JSON body the server sends to ``request`` over plain TCP,
    until it closes the connection."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    return head.split(b"\r\n")[0], json.loads(body)


def test_plain_http_to_the_tls_port_gets_400_naming_the_https_url(
    server: Server, data: tuple[Path, str]
) -> None:
    plain = server.url.replace("https://", "http://")
    with RemoteMemOS(plain, api_key=data[1], timeout=5) as client, pytest.raises(
        PlainHttpError,
        match=rf"serves HTTPS only; send the request to https://127\.0\.0\.1:{server.port}/v1/",
    ):
        client.whoami()


def test_plain_http_to_the_tls_port_is_logged_and_counted(
    server: Server, data: tuple[Path, str], cert: tuple[Path, Path]
) -> None:
    status, body = _plain_answer(
        server.port, b"DELETE /v1/x?k=1 HTTP/1.1\r\nHost: memo.example:8443\r\n\r\n"
    )
    assert status == b"HTTP/1.1 400 Bad Request"
    assert body == {"error": "PlainHttpError", "detail": {"scheme": "https"}, "message":
                    "this port serves HTTPS only; send the request to "
                    "https://memo.example:8443/v1/x?k=1"}
    metrics = httpx.get(f"{server.url}/metrics", verify=ssl.create_default_context(
        cafile=cert[0])).text
    counted = 'memosys_http_requests_total{method="DELETE",route="<unmatched>",status="400"} 1'
    assert counted in metrics.splitlines(), metrics
    assert '"DELETE /v1/x?k=1 HTTP/1.1" 400' in (data[0].parent / "server.log").read_text()


def test_bytes_that_are_not_http_get_the_400_without_a_url(server: Server) -> None:
    status, body = _plain_answer(server.port, b"\x00\x01hello\r\n\r\n")
    assert status == b"HTTP/1.1 400 Bad Request"
    assert body["message"] == ("this port serves HTTPS only; send the request to https:// "
                               "(the same host and port)")


def test_https_to_a_plain_http_server_says_to_use_http(tmp_path: Path) -> None:
    from memosys.server.app import create_app
    from memosys.server.background import BackgroundServer

    settings = load_settings(embedder={"provider": "hash"})
    with MemOS.open(tmp_path / "plain", settings=settings) as mos, \
            BackgroundServer(create_app(mos)) as plain:
        https = plain.url.replace("http://", "https://")
        with RemoteMemOS(https, api_key="msk_any", timeout=5) as client, pytest.raises(
            ServerUnreachableError, match=r"the server answered in plain HTTP, not TLS: use http://"
        ):
            client.whoami()


def test_a_verify_file_that_is_no_certificate_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot load verify=.*give the server's cert"):
        RemoteMemOS("https://127.0.0.1:1", api_key="k", verify=tmp_path / "missing.pem")


def test_worker_processes_serve_https(
    tmp_path: Path, data: tuple[Path, str], cert: tuple[Path, Path]
) -> None:
    server = Server(data[0], tmp_path / "server.log", "--workers", "2",
                    "--tls-cert", str(cert[0]), "--tls-key", str(cert[1]))
    try:
        context = ssl.create_default_context(cafile=cert[0])
        with RemoteMemOS(server.url, api_key=data[1], verify=context) as client:
            assert client.whoami() == {"user_id": "admin", "admin": True}
        status, body = _plain_answer(server.port, b"GET / HTTP/1.1\r\nHost: h:1\r\n\r\n")
        assert (status, body["error"]) == (b"HTTP/1.1 400 Bad Request", "PlainHttpError")
        assert kept_alive_ms(server.url, context) < NO_DELAY_MS
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("files", "error"),
    [
        (("--tls-cert", "cert"), "--tls-cert needs --tls-key too: give both"),
        (("--tls-key", "key"), "--tls-key needs --tls-cert too: give both"),
        (("--tls-cert", "cert", "--tls-key", "missing"),
         "cannot read --tls-key .*missing.key: No such file or directory; give the path"),
        (("--tls-cert", "cert", "--tls-key", "other"),
         "--tls-key .*other.key does not match --tls-cert .*; give the key the certificate"),
        (("--tls-cert", "cert", "--tls-key", "rsa"),  # the certificate's key is EC
         "--tls-key .*rsa.key does not match --tls-cert .*; give the key the certificate"),
        (("--tls-cert", "cert", "--tls-key", "cert"), "is not a PEM private key; give"),
        (("--tls-cert", "key", "--tls-key", "key"), "holds no PEM certificate; give"),
        (("--tls-cert", "cert", "--tls-key", "encrypted"),
         "is encrypted; give it without a passphrase"),
    ],
    ids=["cert-only", "key-only", "missing", "mismatch", "other-key-type", "key-not-pem",
         "cert-not-pem", "encrypted"],
)
def test_bad_tls_files_are_one_clear_error_before_the_server_starts(
    tmp_path: Path, data: tuple[Path, str], cert: tuple[Path, Path],
    files: tuple[str, ...], error: str,
) -> None:
    other_key = self_signed(tmp_path, "other")[1]
    paths = {"cert": cert[0], "key": cert[1], "other": other_key,
             "missing": tmp_path / "missing.key", "rsa": rsa_key(tmp_path / "rsa.key"),
             "encrypted": encrypted(cert[1], tmp_path / "encrypted.key")}
    args = [value if value.startswith("--") else str(paths[value]) for value in files]
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "memosys.cli", "serve", "--data", str(data[0]), "--port",
         str(port), *args], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()  # one line, no start line: it never bound the port
    assert line.startswith("error: ConfigurationError: ")
    assert re.search(error, line), line


@pytest.mark.parametrize(("workers", "sent"), [("1", b""), ("2", b""), ("1", b"\x16\x03\x01")],
                         ids=["nothing", "nothing-workers", "a-handshake-begun"])
def test_a_client_that_never_finishes_the_tls_handshake_is_let_go_within_the_head_limit(
    data: tuple[Path, str], cert: tuple[Path, Path], tmp_path: Path, workers: str, sent: bytes
) -> None:
    """The handshake counts as part of the request head: a client that opens the
    connection and sends nothing, or a handshake's first bytes only, is not held for
    asyncio's own 60 s."""
    server = Server(data[0], tmp_path / "server.log", "--workers", workers,
                    "--write-processes", "0", "--header-timeout-s", "1",
                    "--tls-cert", str(cert[0]), "--tls-key", str(cert[1]))
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
            sock.sendall(sent)
            started = time.monotonic()
            while sock.recv(65536):  # nothing to read; b"" once the server closes
                pass
            waited = time.monotonic() - started
        assert waited < 5, waited
    finally:
        server.stop()
