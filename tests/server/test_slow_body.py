"""A body that arrives too slowly gets 408 (uvicorn on loopback, a raw socket)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from memosys import MemOS
from memosys.server.app import create_app
from memosys.server.background import BackgroundServer
from memosys.server.settings import ServerSettings
from memosys.settings import load_settings


def test_a_body_slower_than_the_limit_is_408_and_the_server_answers_others(
    tmp_path: Path,
) -> None:
    with MemOS.open(tmp_path, settings=load_settings(embedder={"provider": "hash"})) as mos:
        key = mos.create_user("ana").api_key
        app = create_app(mos, ServerSettings(body_timeout_s=1.0, write_processes=0))
        server = BackgroundServer(app).start()
        try:
            with socket.create_connection((server.host, server.port), timeout=10) as sock:
                sock.sendall(
                    "POST /v1/memories/texts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                    "Content-Length: 100\r\n\r\n{\"texts\": [".encode()
                )  # then nothing: a client that trickles, or stalls
                started = time.monotonic()
                answer = b""
                while b'"message"' not in answer and (chunk := sock.recv(65536)):
                    answer += chunk
                waited = time.monotonic() - started
            assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
            assert b"RequestTimeoutError" in answer and b"--body-timeout-s" in answer
            assert 0.9 < waited < 5, waited
            with socket.create_connection((server.host, server.port), timeout=10) as sock:
                body = b'{"texts": ["on time"]}'
                sock.sendall(
                    "POST /v1/memories/texts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
                )
                assert sock.recv(65536).startswith(b"HTTP/1.1 201")
        finally:
            server.stop()
    with MemOS.open(tmp_path, settings=load_settings(embedder={"provider": "hash"})) as mos:
        assert [item.content for item in mos.list(user_id="ana")] == ["on time"]
