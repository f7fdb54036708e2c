"""A large body is read only once its API key is accepted (a real server on loopback)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from memosys import MemOS
from memosys.server.auth_first import EARLY_AUTH_BYTES
from memosys.settings import load_settings
from serve_process import Server

HEAD = (
    "POST /v1/memories/texts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
    "Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    folder = tmp_path_factory.mktemp("auth-first")
    with MemOS.open(folder / "data", settings=load_settings(embedder={"provider": "hash"})) as mos:
        key = mos.create_user("ana").api_key
    server = Server(folder / "data", folder / "server.log", "--write-processes", "0", "--no-warm")
    yield server, key
    server.stop()


def test_a_large_body_with_a_bad_key_is_refused_before_it_is_sent(
    served: tuple[Server, str],
) -> None:
    server, _ = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(HEAD.format(key="msk_wrong", length=5_000_000).encode())
        sock.sendall(b'{"texts": [')  # and nothing more: the answer must not wait for it
        answer = b""
        while b'"message"' not in answer and (chunk := sock.recv(65536)):
            answer += chunk  # the head, then the JSON body
    assert answer.startswith(b"HTTP/1.1 401"), answer[:300]
    assert b"AuthenticationError" in answer and b"www-authenticate: bearer" in answer.lower()


def test_a_large_body_with_a_good_key_is_stored_for_its_user(served: tuple[Server, str]) -> None:
    server, key = served
    texts = [f"note {n}: " + "the quick brown fox " * 60 for n in range(60)]
    body = httpx.Request("POST", "/", json={"texts": texts}).content
    assert len(body) > EARLY_AUTH_BYTES
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    added = httpx.post(f"{server.url}/v1/memories/texts", content=body, headers=headers)
    assert added.status_code == 201, added.text
    assert {item["user_id"] for item in added.json()["items"]} == {"ana"}
    small = httpx.post(f"{server.url}/v1/memories/texts", json={"texts": ["x"]},
                       headers={"Authorization": "Bearer msk_wrong"})
    assert small.status_code == 401 and small.json()["error"] == "AuthenticationError"
