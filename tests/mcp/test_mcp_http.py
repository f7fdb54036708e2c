"""The MCP server over streamable HTTP on loopback, driven by the SDK's own client.

Every request needs an API key of the REST API; the tools act as the key's user.
"""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_session import error_text, payload, run_async, server_command

from mcp import Client
from memosys import MemOS
from memosys.governance.models import AuditQuery
from memosys.settings import load_settings
from serve_process import FORWARDED_CASES, check_forwarded_guesses, free_port
from tls_files import self_signed

STARTUP_DEADLINE_S = 60.0


@dataclass
class McpServer:
    url: str
    data: Path
    keys: dict[str, str]


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], log: Path, verify: ssl.SSLContext | bool = True
) -> None:
    """Return once the server answers HTTP at ``url``; fail if it exits or takes too long."""
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the MCP server exited with {process.returncode}: {log.read_text()}")
        try:
            httpx.get(url, timeout=1.0, verify=verify)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the MCP server did not answer at {url} within {STARTUP_DEADLINE_S}s")


@contextmanager
def serving(
    data: Path, log: Path, *args: str, tls: ssl.SSLContext | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``memosys mcp --transport http ARGS`` on a free port, once it answers, and the URL
    of its endpoint (https://, checked with ``tls``, when given); stopped at the end if
    it still runs."""
    port = free_port()
    command = server_command(data, "nobody", "--transport", "http", "--port", str(port), *args)
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/mcp"
    try:
        wait_until_serving(url, process, log, tls or True)
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def hashed_store(data: Path, *users: str) -> dict[str, str]:
    """A store with the hash embedder at ``data``, with these users; their API keys."""
    with MemOS.open(data, settings=load_settings(embedder={"provider": "hash"})) as mos:
        return {user: mos.create_user(user).api_key for user in users}


@pytest.fixture
def server(tmp_path: Path, embedder: Any) -> Iterator[McpServer]:
    """``memosys mcp --transport http`` writing to cube ``notes``, with keys for ana and bob."""
    data = tmp_path / "data"
    with MemOS.open(data, embedder=embedder) as mos:
        keys = {user: mos.create_user(user).api_key for user in ("ana", "bob")}
    with serving(data, tmp_path / "server.log", "--cube", "notes") as (_, url):
        yield McpServer(url, data, keys)


def test_sigterm_closes_the_store_and_exits_0(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    hashed_store(data)
    with serving(data, log) as (process, _):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()  # it died of it: -15
    # the store was closed: its last connection checkpointed and removed the WAL
    assert not (data / "memosys.db-wal").exists()


def test_a_request_head_slower_than_the_limit_gets_408(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hashed_store(data)
    with serving(data, tmp_path / "server.log", "--header-timeout-s", "1") as (_, url):
        port = httpx.URL(url).port
        assert port is not None
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the head never ends
            started = time.monotonic()
            answer = b""
            while chunk := sock.recv(65536):  # until the server closes the connection
                answer += chunk
            waited = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:300]
    assert json.loads(body)["error"] == "RequestTimeoutError"
    assert 0.9 < waited < 3, waited


def test_a_body_over_the_limit_gets_413_once_the_key_is_accepted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = hashed_store(data, "ana")["ana"]
    big = b"x" * (1024 * 1024 + 1)
    with serving(data, tmp_path / "server.log", "--max-body-mb", "1") as (_, url):
        refused = httpx.post(url, content=big, headers={"Authorization": f"Bearer {key}"})
        unknown = httpx.post(url, content=big)
    assert refused.status_code == 413
    assert refused.json()["error"] == "InputTooLargeError"
    assert refused.json()["detail"] == {"max_body_bytes": 1024 * 1024}
    assert unknown.status_code == 401  # the key first: no body is read for a stranger


def test_https_serves_a_client_that_trusts_the_certificate(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = hashed_store(data, "ana")["ana"]
    cert, private_key = self_signed(tmp_path)
    trusted = ssl.create_default_context(cafile=str(cert))

    async def tools(url: str) -> set[str]:
        async with client(url, key, verify=trusted) as session:
            return {tool.name for tool in (await session.list_tools()).tools}

    log = tmp_path / "server.log"
    with serving(data, log, "--tls-cert", str(cert), "--tls-key", str(private_key),
                 tls=trusted) as (_, url):
        served = run_async(lambda: tools(url))
        plain = httpx.post(url.replace("https://", "http://", 1), json={})
    assert "search_memory" in served
    assert plain.status_code == 400 and plain.json()["error"] == "PlainHttpError"
    assert f"memosys mcp: data {data.absolute()}, at {url}" in log.read_text()


@pytest.mark.parametrize(("args", "limited"), FORWARDED_CASES)
def test_forwarded_for_names_the_client_only_behind_a_trusted_proxy(
    tmp_path: Path, args: tuple[str, ...], limited: bool
) -> None:
    data = tmp_path / "data"
    hashed_store(data)
    with serving(data, tmp_path / "server.log", *args) as (_, url):
        check_forwarded_guesses(lambda headers: httpx.post(url, json={}, headers=headers),
                                limited)


def test_each_access_line_names_its_request_id_and_hides_keys(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    hashed_store(data)
    with serving(data, log) as (_, url):
        refused = httpx.post(f"{url}?api_key=msk_Leaked9", json={},
                             headers={"X-Request-ID": "ops-mcp-7"})
    assert refused.status_code == 401
    lines = log.read_text().splitlines()
    assert any('"POST /mcp?api_key=<redacted> HTTP/1.1" 401' in line
               and line.endswith("request_id=ops-mcp-7") for line in lines), lines
    assert "Leaked9" not in log.read_text()


def test_healthz_answers_without_a_key(server: McpServer) -> None:
    health = httpx.get(server.url.replace("/mcp", "/healthz"))
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert httpx.post(server.url.replace("/mcp", "/healthz")).status_code == 401  # GET only


def test_tls_files_over_stdio_are_refused(tmp_path: Path) -> None:
    cert, private_key = self_signed(tmp_path)
    command = server_command(tmp_path / "data", "ana", "--tls-cert", str(cert), "--tls-key",
                             str(private_key))
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "is for --transport http (stdio has no network)" in result.stderr
    assert not (tmp_path / "data").exists()  # refused before the store was opened


@asynccontextmanager
async def client(
    url: str, key: str | None, verify: ssl.SSLContext | bool = True
) -> AsyncIterator[Client]:
    """The SDK's client for ``url``, sending ``key`` as a Bearer token (or no key)."""
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    async with (
        httpx2.AsyncClient(headers=headers, verify=verify) as http,
        Client(streamable_http_client(url, http_client=http)) as session,
    ):
        yield session


@pytest.mark.parametrize("key", [None, "msk_not-a-real-key"], ids=["no key", "wrong key"])
def test_a_request_without_a_valid_key_is_refused(server: McpServer, key: str | None) -> None:
    async def connect() -> None:
        async with client(server.url, key) as session:
            await session.list_tools()

    with pytest.raises(ExceptionGroup) as refused:
        run_async(connect)
    assert refused.group_contains(MCPError, match="error response", depth=2)
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    raw = httpx.post(server.url, json={}, headers=headers)
    assert raw.status_code == 401 and raw.headers["www-authenticate"] == "Bearer"
    assert raw.json()["error"] == "AuthenticationError"


def test_tools_act_as_the_keys_user_and_see_only_that_users_cubes(server: McpServer) -> None:
    async def as_user(user: str, text: str) -> dict[str, Any]:
        async with client(server.url, server.keys[user]) as session:
            tools = {tool.name for tool in (await session.list_tools()).tools}
            added = payload(await session.call_tool("add_memory", {"content": text}))
            (item,) = added["items"]
            fetched = payload(await session.call_tool("get_memory", {"id": item["id"]}))
            cubes = payload(await session.call_tool("list_cubes", {}))
            found = payload(await session.call_tool("search_memory", {"query": "standup"}))
            return {"tools": tools, "item": item, "fetched": fetched, "cubes": cubes,
                    "found": found}

    ana = run_async(lambda: as_user("ana", "Ana's standup is at 9"))
    bob = run_async(lambda: as_user("bob", "Bob's standup is at 10"))

    assert len(ana["tools"]) == 6
    assert ana["fetched"]["content"] == "Ana's standup is at 9"
    assert ana["fetched"]["user_id"] == "ana" and bob["fetched"]["user_id"] == "bob"
    for seen, own in ((ana, "ana"), (bob, "bob")):
        (cube,) = seen["cubes"]["cubes"]
        assert (cube["name"], cube["owner"]) == ("notes", own)
        assert [hit["id"] for hit in seen["found"]["hits"]] == [seen["item"]["id"]]

    async def bob_reads_anas() -> str:
        async with client(server.url, server.keys["bob"]) as session:
            return error_text(await session.call_tool("get_memory", {"id": ana["item"]["id"]}))

    assert "NotFoundError: memory" in run_async(bob_reads_anas)
    with MemOS.open(server.data) as mos:
        (record,) = mos.governance.audit_log(
            AuditQuery(action="memory.add", item_id=ana["item"]["id"])
        )
        assert record.actor == "ana" and record.request_id
        assert mos.verify_audit().ok
