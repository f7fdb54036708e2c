"""POST /v1/memories/texts takes embeddings packed (embeddings_base64), and RemoteMemOS sends
them so."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import numpy as np
import pytest

from memosys import MemOS, RemoteMemOS
from memosys.core.errors import InvalidInputError
from memosys.server.transport import InProcessTransport

TEXTS = ["packed one", "packed two"]


def _packed(matrix: np.ndarray) -> str:
    return base64.b64encode(matrix.astype("<f4").tobytes()).decode()


def _refused(response: httpx.Response, words: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "InvalidInputError" and words in body["message"]


def test_packed_embeddings_are_stored_and_bad_ones_refused_with_nothing_stored(
    http: Any, mos: MemOS, admin_key: str
) -> None:
    client = http(mos.create_user("pia").api_key)
    vectors = np.eye(2, 384)
    added = client.post("/v1/memories/texts", json={
        "texts": TEXTS, "cube": "good", "embeddings_base64": _packed(vectors)})
    assert added.status_code == 201, added.text
    assert [item["content"] for item in added.json()["items"]] == TEXTS
    _refused(client.post("/v1/memories/texts", json={
        "texts": TEXTS, "embeddings_base64": _packed(vectors),
        "embeddings": vectors.tolist()}), "embeddings or embeddings_base64, not both")
    _refused(client.post("/v1/memories/texts", json={
        "texts": TEXTS, "embeddings_base64": "%%%"}), "embeddings_base64 is not base64")
    _refused(client.post("/v1/memories/texts", json={
        "texts": TEXTS, "embeddings_base64": _packed(np.ones((3, 383)))}),
        "1149 float32 values, which do not split into 2")
    _refused(client.post("/v1/memories/texts", json={  # MemOS's own check
        "texts": TEXTS, "embeddings_base64": _packed(np.ones((2, 5)))}), "shape (2, 384)")
    assert mos.count(user_id="pia") == 2


class _Recording(InProcessTransport):
    """The in-process transport, keeping each request's JSON body."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("content-type") == "application/json":
            self.bodies.append(json.loads(request.read()))
        return super().handle_request(request)


def test_the_remote_client_sends_a_matrix_packed_and_anything_else_as_a_list(
    app: Any, mos: MemOS, admin_key: str
) -> None:
    transport = _Recording(app)
    with RemoteMemOS("http://memosys.test", api_key=admin_key, transport=transport) as remote:
        remote.add_texts(TEXTS, user_id="admin", cube="sent", embeddings=np.eye(2, 384))
        sent = transport.bodies[-1]
        assert "embeddings" not in sent
        assert np.array_equal(
            np.frombuffer(base64.b64decode(sent["embeddings_base64"]), "<f4").reshape(2, 384),
            np.eye(2, 384))
        ragged = [[1.0] * 384, [1.0] * 383]
        with pytest.raises(InvalidInputError, match="embeddings must be numbers"):
            remote.add_texts(TEXTS, user_id="admin", cube="sent", embeddings=ragged)
        assert transport.bodies[-1]["embeddings"] == ragged
    assert mos.count(user_id="admin", cube="sent") == 2


def test_a_query_vector_is_sent_packed_and_taken_once(
    app: Any, http: Any, mos: MemOS, admin_key: str, embedder: Any
) -> None:
    vector = embedder.embed(["packed one"], purpose="query")[0]
    transport = _Recording(app)
    with RemoteMemOS("http://memosys.test", api_key=admin_key, transport=transport) as remote:
        hits = remote.search("packed one", user_id="admin", cube="sent", query_vector=vector)
        sent = transport.bodies[-1]
        assert "query_vector" not in sent
        assert np.array_equal(np.frombuffer(base64.b64decode(sent["query_vector_base64"]), "<f4"),
                              vector)
        assert hits[0].item.content == "packed one"
    client = http(admin_key)
    for path in ("/v1/search", "/v1/search/sessions"):
        _refused(client.post(path, json={
            "query": "packed", "query_vector": vector.tolist(),
            "query_vector_base64": _packed(vector)}),
            "query_vector or query_vector_base64, not both")
        _refused(client.post(path, json={"query": "packed",
                                         "query_vector_base64": _packed(np.ones(5))}),
                 "query_vector must be one vector of 384 numbers")
