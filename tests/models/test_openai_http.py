"""The OpenAI-compatible HTTP embedder against a real server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from memosys.core.errors import EmbedderError
from memosys.models.embedders.openai_http import OpenAIEmbedder
from memosys.settings import OpenAIEmbedderConfig

DIMS = 8


def upstream_vector(text: str, dims: int = DIMS) -> list[float]:
    """The server's deterministic, deliberately not unit-length vector for a text."""
    raw = hashlib.sha256(text.encode()).digest()
    return [3.0 * (byte - 127.5) for byte in raw[:dims]]


@dataclass
class Upstream:
    """What the test server received, and how it should answer."""

    base_url: str = ""
    mode: str = "ok"  # ok | status:<code> | not-json | no-data | short | wrong-dims | hang
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        upstream = self.server.upstream
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        upstream.requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        if upstream.mode == "hang":
            upstream.release.wait()
            return
        if upstream.mode.startswith("status:"):
            self._send(int(upstream.mode.split(":")[1]), b'{"error": {"message": "nope"}}')
            return
        dims = 4 if upstream.mode == "wrong-dims" else body.get("dimensions", DIMS)
        data = [
            {"object": "embedding", "index": i, "embedding": upstream_vector(text, dims)}
            for i, text in enumerate(body["input"])
        ]
        payload: Any = {"object": "list", "data": data[::-1], "model": body["model"]}
        if upstream.mode == "no-data":
            payload = {"object": "list"}
        elif upstream.mode == "short":
            payload["data"] = data[:-1]
        raw = b"<html>oops" if upstream.mode == "not-json" else json.dumps(payload).encode()
        self._send(200, raw)

    def _send(self, status: int, raw: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    upstream: Upstream


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    with _Server(("127.0.0.1", 0), _Handler) as running:
        thread = threading.Thread(target=running.serve_forever, daemon=True)
        thread.start()
        yield running
        running.shutdown()
        thread.join()


@pytest.fixture
def upstream(server: _Server) -> Iterator[Upstream]:
    """Fresh server state for one test."""
    server.upstream = Upstream(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    yield server.upstream
    server.upstream.release.set()


def client(upstream: Upstream, **overrides: Any) -> OpenAIEmbedder:
    config = {
        "base_url": upstream.base_url,
        "model": "test-embed",
        "api_key_env": "MEMOSYS_TEST_KEY",
    }
    return OpenAIEmbedder(OpenAIEmbedderConfig.model_validate(config | overrides))


def test_vectors_come_back_in_input_order_and_unit_length(upstream: Upstream) -> None:
    texts = ["alpha", "beta", "gamma"]
    vectors = client(upstream, dimensions=DIMS).embed(texts)
    expected = np.array([upstream_vector(t) for t in texts])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert upstream.requests[0]["path"] == "/v1/embeddings"
    assert upstream.requests[0]["body"] == {"model": "test-embed", "input": texts, "dimensions": 8}


def test_texts_are_sent_in_batches_of_batch_size(upstream: Upstream) -> None:
    texts = [f"text {i}" for i in range(7)]
    vectors = client(upstream, dimensions=DIMS, batch_size=3).embed(texts)
    assert [len(r["body"]["input"]) for r in upstream.requests] == [3, 3, 1]
    assert vectors.shape == (7, DIMS)
    single = client(upstream, dimensions=DIMS).embed(["text 5"])
    np.testing.assert_allclose(vectors[5], single[0], atol=1e-6)


def test_api_key_is_read_from_the_env_at_call_time(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = client(upstream, dimensions=DIMS)
    monkeypatch.delenv("MEMOSYS_TEST_KEY", raising=False)
    embedder.embed(["no key"])
    monkeypatch.setenv("MEMOSYS_TEST_KEY", "sk-test-123")
    embedder.embed(["with key"])
    assert [r["auth"] for r in upstream.requests] == [None, "Bearer sk-test-123"]


def test_dimensions_are_learned_from_the_server_when_unset(upstream: Upstream) -> None:
    embedder = client(upstream)
    assert embedder.dimensions == DIMS
    assert "dimensions" not in upstream.requests[0]["body"]
    assert embedder.fingerprint == f"openai:{upstream.base_url}:test-embed:{DIMS}d"
    assert embedder.embed([]).shape == (0, DIMS)
    assert len(upstream.requests) == 1


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("status:500", ["HTTP 500", "/v1/embeddings"]),
        ("status:401", ["HTTP 401", "MEMOSYS_TEST_KEY"]),
        ("not-json", ["malformed", "/v1/embeddings"]),
        ("no-data", ["malformed"]),
        ("short", ["malformed", "indices"]),
    ],
)
def test_upstream_failures_raise_embedder_error(
    upstream: Upstream, mode: str, words: list[str]
) -> None:
    upstream.mode = mode
    with pytest.raises(EmbedderError) as caught:
        client(upstream, dimensions=DIMS).embed(["x", "y"])
    assert caught.value.status == 502
    for word in words:
        assert word in caught.value.message


def test_wrong_dimension_from_server_raises(upstream: Upstream) -> None:
    upstream.mode = "wrong-dims"
    with pytest.raises(EmbedderError, match="returned 4-dimensional vectors.*expected 8"):
        client(upstream, dimensions=DIMS).embed(["x"])


def test_timeout_raises_embedder_error(upstream: Upstream) -> None:
    upstream.mode = "hang"
    with pytest.raises(EmbedderError, match="did not answer within"):
        client(upstream, dimensions=DIMS, timeout_s=0.2).embed(["slow"])


def test_unreachable_server_raises_embedder_error() -> None:
    with socket.socket() as sock:  # bound but not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = OpenAIEmbedderConfig(
            base_url=f"http://127.0.0.1:{port}/v1", model="m", dimensions=DIMS
        )
        with pytest.raises(EmbedderError, match="cannot reach"):
            OpenAIEmbedder(config).embed(["x"])
