"""HTTP behaviour: auth, acting users, error bodies, size limits, request ids, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from memosys import MemOS
from serve_process import NO_DELAY_MS, kept_alive_ms


def _error(response: httpx.Response, status: int, name: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "message", "detail"} and body["error"] == name
    return body


def test_health_and_metrics_need_no_key(http: Any) -> None:
    client = http()
    assert client.get("/healthz").json() == {"status": "ok"}
    client.get("/v1/me")
    text = client.get("/metrics").text
    assert 'memosys_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="/v1/me",status="401"' in text
    assert "memosys_http_request_duration_seconds_bucket{" in text
    assert "memosys_http_requests_in_flight 1" in text  # the /metrics request itself


def test_missing_or_unknown_key_is_401(http: Any) -> None:
    response = http().get("/v1/me")
    body = _error(response, 401, "AuthenticationError")
    assert "Authorization: Bearer" in body["message"]
    assert response.headers["www-authenticate"] == "Bearer"
    _error(http("msk_not-a-real-key").get("/v1/me"), 401, "AuthenticationError")


def test_a_malformed_authorization_header_is_named_without_its_value(http: Any) -> None:
    for header, scheme in (("msk_NoScheme123", "none"), ("Basic bXNrX3NlY3JldA==", "Basic"),
                           ("Bearer", "Bearer")):
        response = http().get("/v1/me", headers={"Authorization": header})
        body = _error(response, 401, "AuthenticationError")
        assert body["message"].startswith(f"malformed Authorization header (scheme '{scheme}'")
        assert "NoScheme123" not in body["message"] and "bXNr" not in body["message"]
    blank = http().get("/v1/me", headers={"Authorization": " \t "})
    assert _error(blank, 401, "AuthenticationError")["message"].startswith("missing API key")


def test_repeated_auth_failures_are_rate_limited(http: Any, admin_key: str) -> None:
    attacker = http("msk_guess", address="10.9.8.7")
    statuses = [attacker.get("/v1/me").status_code for _ in range(20)]
    assert statuses[0] == 401 and statuses[-1] == 429
    refused = attacker.get("/v1/me")
    assert int(refused.headers["retry-after"]) >= 1
    assert http(admin_key).get("/v1/me").status_code == 200  # other clients are unaffected


def test_me_and_acting_for_other_users(http: Any, mos: MemOS, admin_key: str) -> None:
    ana = mos.create_user("ana-me")
    assert http(ana.api_key).get("/v1/me").json() == {"user_id": "ana-me", "admin": False}
    assert http(admin_key).get("/v1/me").json() == {"user_id": "admin", "admin": True}
    _error(http(ana.api_key).get("/v1/memories", params={"user_id": "admin"}), 404, "NotFoundError")
    assert http(admin_key).get("/v1/memories", params={"user_id": "ana-me"}).status_code == 200
    new_user = http(ana.api_key).post("/v1/users", json={"user_id": "eve"})
    _error(new_user, 403, "PermissionDeniedError")


def test_a_user_id_starting_with_at_is_422(http: Any, mos: MemOS, admin_key: str) -> None:
    ana = mos.create_user("ana-at")
    for client in (http(admin_key), http(ana.api_key)):
        listed = client.get("/v1/memories", params={"user_id": "@operator"})
        body = _error(listed, 422, "InvalidInputError")
        assert "user ids may not start with '@'" in body["message"]
    created = http(admin_key).post("/v1/users", json={"user_id": "@x"})
    assert "@operator" in _error(created, 422, "InvalidInputError")["message"]


def test_validation_errors_are_422_with_fields(http: Any, admin_key: str) -> None:
    client = http(admin_key)
    body = _error(client.post("/v1/search", json={"top_k": "many"}), 422, "InvalidInputError")
    fields = {e["field"] for e in body["detail"]["errors"]}
    assert {"body.query", "body.top_k"} <= fields
    _error(client.post("/v1/search", content=b"{not json", headers={"content-type":
           "application/json"}), 422, "InvalidInputError")
    latin1 = client.post("/v1/memories/texts", content='{"texts": ["café"]}'.encode("latin-1"),
                         headers={"content-type": "application/json"})
    assert "send UTF-8 JSON" in _error(latin1, 422, "InvalidInputError")["message"]
    bad_filter = client.get("/v1/memories", params={"filters": "[1,"})
    assert "filters is not valid JSON" in _error(bad_filter, 422, "InvalidInputError")["message"]
    loose_flag = client.post("/v1/users", json={"user_id": "eve", "admin": "true"})
    assert {e["field"] for e in _error(loose_flag, 422, "InvalidInputError")["detail"]["errors"]} \
        == {"body.admin"}
    _error(client.get("/v1/keys", params={"user_id": "eve"}), 404, "NotFoundError")  # not made


def test_oversized_batch_is_413(http: Any, mos: MemOS, admin_key: str) -> None:
    texts = ["x"] * (mos.settings.reader.max_batch_items + 1)
    response = http(admin_key).post("/v1/memories/texts", json={"texts": texts})
    _error(response, 413, "InputTooLargeError")
    assert mos.count(user_id="admin") == 0


@pytest.fixture
def small_limit_client(mos: MemOS, admin_key: str) -> Iterator[httpx.Client]:
    from memosys.server.app import create_app
    from memosys.server.settings import ServerSettings
    from memosys.server.transport import InProcessTransport

    app = create_app(mos, ServerSettings(max_body_bytes=4096))
    with httpx.Client(base_url="http://memosys.test", transport=InProcessTransport(app),
                      headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


def test_oversized_body_is_413_before_parsing(small_limit_client: httpx.Client) -> None:
    big = {"messages": [{"role": "user", "content": "y" * 5000}]}
    body = _error(small_limit_client.post("/v1/memories/messages", json=big), 413,
                  "InputTooLargeError")
    assert body["detail"] == {"max_body_bytes": 4096}
    assert "its `--max-body-mb`" in body["message"]  # the option an operator sets

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit still holds
        yield json.dumps(big).encode()

    response = small_limit_client.post(
        "/v1/memories/messages", content=chunked(), headers={"content-type": "application/json"}
    )
    _error(response, 413, "InputTooLargeError")
    small = {"messages": [{"role": "user", "content": "small enough"}]}
    assert small_limit_client.post("/v1/memories/messages", json=small).status_code == 201


def test_request_id_is_echoed_and_audited(http: Any, mos: MemOS, admin_key: str) -> None:
    client = http(admin_key)
    response = client.post(
        "/v1/memories/texts",
        json={"texts": ["traced"], "user_id": "ana-trace"},
        headers={"X-Request-ID": "req-42"},
    )
    assert response.status_code == 201 and response.headers["x-request-id"] == "req-42"
    item_id = response.json()["items"][0]["id"]
    (record,) = mos.audit_log(user_id="admin", item_id=item_id)
    assert (record.request_id, record.actor, record.action) == ("req-42", "admin", "memory.add")
    generated = client.get("/healthz").headers["x-request-id"]
    assert generated and generated != "req-42"


def test_every_lifecycle_change_is_audited_with_its_request_id(
    http: Any, mos: MemOS, admin_key: str
) -> None:
    ana = mos.create_user("ana-lifecycle")
    client = http(ana.api_key)

    def send(request_id: str, method: str, path: str, **options: Any) -> Any:
        response = client.request(method, path, headers={"X-Request-ID": request_id}, **options)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    added = send("r-add", "POST", "/v1/memories/texts", json={"texts": ["v1"], "cube": "life"})
    id, cube = added["items"][0]["id"], added["items"][0]["cube_id"]
    memory = f"/v1/memories/{id}"
    send("r-update", "PATCH", memory, json={"content": "v2", "if_version": 1})
    send("r-rollback", "POST", f"{memory}/rollback", json={"version": 1})
    for change in ("freeze", "unfreeze", "archive", "unarchive"):
        send(f"r-{change}", "POST", f"{memory}/{change}")
    send("r-snapshot", "POST", "/v1/cubes/life/snapshots", json={"name": "s"})
    send("r-tag", "PATCH", memory, json={"tags": ["after the snapshot"]})
    send("r-restore", "POST", "/v1/cubes/life/snapshots/s/restore")
    send("r-drop", "DELETE", "/v1/cubes/life/snapshots/s")
    send("r-delete", "DELETE", memory)
    send("r-forget", "POST", f"{memory}/forget")
    records = client.get("/v1/audit", params={"cube": cube}).json()["records"]
    seen = [(r["request_id"], r["action"], r["item_id"]) for r in reversed(records)]
    assert seen == [
        ("r-add", "cube.create", None), ("r-add", "memory.add", id),
        ("r-update", "memory.update", id), ("r-rollback", "memory.update", id),
        ("r-freeze", "memory.state", id), ("r-unfreeze", "memory.state", id),
        ("r-archive", "memory.state", id), ("r-unarchive", "memory.state", id),
        ("r-snapshot", "snapshot.create", None), ("r-tag", "memory.update", id),
        ("r-restore", "snapshot.restore", None),
        ("r-restore", "memory.update", id), ("r-drop", "snapshot.delete", None),
        ("r-delete", "memory.delete", id), ("r-forget", "memory.forget", id),
    ]
    assert {(r["actor"], r["cube_id"]) for r in records} == {("ana-lifecycle", cube)}


def _server_timing(response: httpx.Response) -> dict[str, float]:
    parts = (part.strip().split(";dur=") for part in response.headers["server-timing"].split(","))
    return {name: float(ms) for name, ms in parts}


def test_server_timing_says_where_a_search_spent_its_time(http: Any, admin_key: str) -> None:
    client = http(admin_key)
    client.post("/v1/memories/texts", json={"texts": ["a timed text"], "user_id": "ana-timed"})
    found = client.post("/v1/search", json={"query": "timed", "user_id": "ana-timed"})
    assert found.status_code == 200 and found.json()["hits"]
    parts = _server_timing(found)
    assert list(parts) == ["turn", "search", "app"] and min(parts.values()) >= 0
    assert parts["turn"] + parts["search"] <= parts["app"]
    refused = client.post("/v1/search", json={"query": "  ", "user_id": "ana-timed"})
    assert refused.status_code == 422 and list(_server_timing(refused)) == ["turn", "search", "app"]
    assert list(_server_timing(client.get("/healthz"))) == ["app"]
    metrics = client.get("/metrics").text
    for part in ("turn", "search"):  # /metrics keeps the parts as histograms
        labels = f'method="POST",route="/v1/search",part="{part}"'
        assert f"memosys_http_request_part_duration_seconds_count{{{labels}}} 2" in metrics


def test_delete_snapshot_is_204_and_then_404(http: Any, mos: MemOS, admin_key: str) -> None:
    mos.add_texts(["snapshotted"], user_id="admin", cube="snapped")
    mos.snapshot("snapped", "gone-soon", user_id="admin")
    client = http(admin_key)
    deleted = client.delete("/v1/cubes/snapped/snapshots/gone-soon")
    assert (deleted.status_code, deleted.content) == (204, b"")
    again = client.delete("/v1/cubes/snapped/snapshots/gone-soon")
    assert (again.status_code, again.json()["error"]) == (404, "NotFoundError")


def test_unknown_route_and_method_are_not_found_naming_the_route(
    http: Any, admin_key: str
) -> None:
    missing = _error(http(admin_key).get("/v1/nothing-here"), 404, "NotFoundError")
    assert missing["message"] == "no route GET /v1/nothing-here; see /docs for the API"
    wrong_method = _error(http(admin_key).put("/v1/search", json={}), 405, "NotFoundError")
    assert wrong_method["message"].startswith("no route PUT /v1/search (allowed methods: POST)")


def test_path_values_with_slashes_dots_and_percents_reach_their_route(
    http: Any, admin_key: str
) -> None:
    client = http(admin_key)
    for name, sent in [("a/b", "a%2Fb"), ("..", "%2E%2E"), ("50%", "50%25"), ("%2F", "%252F")]:
        body = _error(client.get(f"/v1/cubes/{sent}", params={"user_id": "ana"}), 404,
                      "NotFoundError")
        assert body["detail"] == {"cube": name}


def test_document_upload(http: Any, admin_key: str) -> None:
    response = http(admin_key).post(
        "/v1/memories/documents",
        files={"file": ("notes.md", b"# Notes\n\nThe launch is on Friday.\n", "text/markdown")},
        data={"user_id": "ana-doc", "tags": ["a", "b"], "metadata": '{"src": "upload"}'},
    )
    assert response.status_code == 201, response.text
    (item,) = response.json()["items"]
    assert (item["headings"], item["tags"], item["metadata"]) == (["Notes"], ["a", "b"],
                                                                 {"src": "upload"})
    not_utf8 = http(admin_key).post("/v1/memories/documents", files={"file": ("x.txt", b"\xff")})
    _error(not_utf8, 422, "EncodingError")


@pytest.mark.parametrize(
    ("method", "path", "request_args", "field"),
    [
        ("POST", "/v1/memories/texts",
         {"json": {"texts": ["a"], "event_times": ["0001-01-01T00:00:00+05:00"]}},
         "event_times[0]"),
        ("POST", "/v1/memories/messages",
         {"json": {"messages": [{"role": "user", "content": "hi"}],
                   "session_time": "0001-01-01T00:00:00+05:00"}}, "session_time"),
        ("POST", "/v1/search",
         {"json": {"query": "a", "filters": {"created_at": {"$lt": "0001-01-01T00:00:00+05:00"}}}},
         "created_at"),
        ("GET", "/v1/memories",
         {"params": {"filters": '{"created_at": "9999-12-31T23:59:59-05:00"}'}}, "created_at"),
        ("GET", "/v1/memories", {"params": {"as_of": "0001-01-01T00:00:00+05:00"}}, "as_of"),
    ],
)
def test_a_time_outside_the_calendar_in_utc_is_422_naming_its_field(
    http: Any, admin_key: str, method: str, path: str, request_args: dict[str, Any], field: str
) -> None:
    response = http(admin_key).request(method, path, **request_args)
    body = _error(response, 422, "InvalidInputError")
    assert body["detail"]["field"] == field and "years 1 to 9999" in body["message"]


def test_a_bug_is_a_json_500_with_the_usual_headers_and_the_connection_lives_on(
    mos: MemOS, admin_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    from memosys.server.app import create_app
    from memosys.server.background import BackgroundServer

    app = create_app(mos)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/broken", broken)
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as client:
        response = client.get("/v1/broken", headers={"X-Request-ID": "req-bug-1"})
        body = _error(response, 500, "MemosysError")
        assert body["detail"] == {"request_id": "req-bug-1"}
        assert response.headers["x-request-id"] == "req-bug-1"
        assert "app;dur=" in response.headers["server-timing"]
        assert client.get("/healthz").status_code == 200  # on the same keep-alive connection
        assert 'route="/v1/broken",status="500"' in client.get("/metrics").text
    assert "unexpected error in request req-bug-1" in caplog.text and "a bug" in caplog.text


def test_a_kept_alive_connection_is_not_held_for_delayed_acks(app: Any) -> None:
    """BackgroundServer hands uvicorn a socket of its own, on whose connections asyncio
    leaves Nagle's algorithm on: each response waited 40 ms for the client's ACK."""
    from memosys.server.background import BackgroundServer

    with BackgroundServer(app) as server:
        assert kept_alive_ms(server.url) < NO_DELAY_MS


def test_action_posts_need_no_body(http: Any, mos: MemOS) -> None:
    key = mos.create_user("ana-actions").api_key
    client = http(key)
    (item,) = mos.add_texts(["The boiler was serviced in May."], user_id="ana-actions")
    mos.snapshot("default", "before", user_id="ana-actions")
    assert client.post(f"/v1/memories/{item.id}/freeze").json()["state"] == "frozen"
    assert client.post(f"/v1/memories/{item.id}/unfreeze").status_code == 200
    assert client.post("/v1/cubes/default/snapshots/before/restore").status_code == 200
    assert client.post(f"/v1/memories/{item.id}/forget").json()["item_ids"] == [item.id]
    schema = client.get("/openapi.json").json()
    for path in ("/v1/memories/{id}/forget", "/v1/memories/{id}/{change}"):
        assert not schema["paths"][path]["post"]["requestBody"].get("required", False)


def test_deeply_nested_filters_and_form_fields_are_422(http: Any, admin_key: str) -> None:
    client = http(admin_key)
    deep = '{"$or": [' * 900 + '{"kind": "fact"}' + "]}" * 900
    body = _error(client.get("/v1/memories", params={"filters": deep}), 422, "InvalidInputError")
    assert "nest" in body["message"]
    nested = '{"a": ' * 3000 + "1" + "}" * 3000
    upload = client.post("/v1/memories/documents", files={"file": ("n.md", b"# N\n\nnote\n")},
                         data={"metadata": nested})
    assert "nests too deeply" in _error(upload, 422, "InvalidInputError")["message"]
    too_deep = {"$and": [{"$not": {"$or": [{"kind": "fact"}]}}]}
    for _ in range(20):  # each level is a dict and a list
        too_deep = {"$and": [too_deep]}
    search = client.post("/v1/search", json={"query": "x", "filters": too_deep})
    assert "levels deep" in _error(search, 422, "InvalidInputError")["message"]


@pytest.mark.parametrize("value", ["1700000000", "20240501", "1.7e9 ", "-5"])
@pytest.mark.parametrize(("path", "name"), [("/v1/memories", "as_of"), ("/v1/audit", "since")])
def test_a_number_for_a_time_is_422_not_read_as_unix_seconds(
    http: Any, admin_key: str, path: str, name: str, value: str
) -> None:
    """MemOS takes times and ISO 8601 text only; pydantic alone would read these as
    seconds since 1970 (``20240501`` as a day in August 1970)."""
    body = _error(http(admin_key).get(path, params={name: value}), 422, "InvalidInputError")
    assert "ISO 8601" in body["message"] and name in body["message"]
    assert http(admin_key).get(path, params={name: "2024-05-01"}).status_code == 200
