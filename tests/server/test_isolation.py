"""The isolation matrix: user B tries every endpoint on user A's data and is refused.

Every attempt answers 404 (never 403, so ids do not leak), A's memories and
cubes are unchanged, and the audit log gains no record.
"""

from __future__ import annotations

from typing import Any

import pytest

from memosys import MemOS

# (method, path, request arguments); {item}, {cube}, {key} and {ana} are A's
ATTEMPTS = [
    ("GET", "/v1/memories/{item}", {}),
    ("PATCH", "/v1/memories/{item}", {"json": {"content": "B was here"}}),
    ("DELETE", "/v1/memories/{item}", {}),
    ("GET", "/v1/memories", {"params": {"cube": "{cube}"}}),
    ("GET", "/v1/memories", {"params": {"user_id": "{ana}"}}),
    ("GET", "/v1/memories/count", {"params": {"cube": "{cube}"}}),
    ("GET", "/v1/memories/{item}", {"params": {"user_id": "{ana}"}}),
    ("POST", "/v1/search", {"json": {"query": "secret", "cube": "{cube}"}}),
    ("POST", "/v1/search", {"json": {"query": "secret", "user_id": "{ana}"}}),
    ("POST", "/v1/search/sessions", {"json": {"query": "secret", "cube": "{cube}"}}),
    ("POST", "/v1/memories/messages",
     {"json": {"messages": [{"role": "user", "content": "B"}], "cube": "{cube}"}}),
    ("POST", "/v1/memories/texts", {"json": {"texts": ["B"], "cube": "{cube}"}}),
    ("POST", "/v1/memories/texts", {"json": {"texts": ["B"], "user_id": "{ana}"}}),
    ("POST", "/v1/memories/documents",
     {"files": {"file": ("b.txt", b"B text")}, "data": {"cube": "{cube}"}}),
    ("GET", "/v1/cubes/{cube}", {}),
    ("GET", "/v1/cubes", {"params": {"user_id": "{ana}"}}),
    ("POST", "/v1/cubes", {"json": {"name": "stolen", "owner": "{ana}"}}),
    ("GET", "/v1/cubes/{cube}/shares", {}),
    ("POST", "/v1/cubes/{cube}/shares", {"json": {"with_user": "ben-iso", "access": "write"}}),
    ("DELETE", "/v1/cubes/{cube}/shares/carl-iso", {}),
    ("GET", "/v1/keys", {"params": {"user_id": "{ana}"}}),
    ("POST", "/v1/keys", {"json": {"user_id": "{ana}"}}),
    ("DELETE", "/v1/keys/{key}", {}),
    ("GET", "/v1/memories/{item}/history", {}),
    ("POST", "/v1/memories/{item}/rollback", {"json": {"version": 1}}),
    ("POST", "/v1/memories/{item}/freeze", {"json": {}}),
    ("POST", "/v1/memories/{item}/archive", {"json": {}}),
    ("POST", "/v1/memories/{item}/forget", {"json": {}}),
    ("POST", "/v1/cubes/{cube}/snapshots", {"json": {"name": "b-snap"}}),
    ("POST", "/v1/cubes/{cube}/snapshots/a-snap/restore", {"json": {}}),
    ("DELETE", "/v1/cubes/{cube}/snapshots/a-snap", {}),
    ("GET", "/v1/snapshots", {"params": {"cube": "{cube}"}}),
    ("GET", "/v1/memories", {"params": {"cube": "{cube}", "snapshot": "a-snap"}}),
    ("DELETE", "/v1/users/{ana}", {}),
    ("GET", "/v1/audit", {"params": {"cube": "{cube}"}}),
    ("GET", "/v1/audit", {"params": {"user_id": "{ana}"}}),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(each, ids) for key, each in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_fill(each, ids) for each in value)
    return value


@pytest.fixture(scope="module")
def world(mos: MemOS) -> dict[str, Any]:
    ana = mos.create_user("ana-iso")
    ben = mos.create_user("ben-iso")
    mos.create_user("carl-iso")
    cube = mos.create_cube("secrets", owner="ana-iso")
    (item,) = mos.add_texts(["ana's secret plan"], user_id="ana-iso", cube="secrets")
    mos.share_cube("secrets", user_id="ana-iso", with_user="carl-iso")
    mos.snapshot("secrets", "a-snap", user_id="ana-iso")
    return {
        "ids": {"item": item.id, "cube": cube.id, "key": ana.key_id, "ana": "ana-iso"},
        "ben_key": ben.api_key,
    }


def _snapshot(mos: MemOS) -> tuple[Any, ...]:
    return (
        mos.list(user_id="ana-iso"),
        mos.list_cubes(user_id="ana-iso"),
        mos.list_shares("secrets", user_id="ana-iso"),
        mos.list_keys(user_id="ana-iso"),
        mos.audit_log(user_id="admin", limit=1000),
        mos.history(mos.list(user_id="ana-iso")[0].id, user_id="ana-iso"),
        mos.list_snapshots(user_id="ana-iso"),
    )


@pytest.mark.parametrize(("method", "path", "kwargs"), ATTEMPTS,
                         ids=[f"{m} {p} {sorted(k.get('params', k.get('json', {})))}"
                              for m, p, k in ATTEMPTS])
def test_user_b_cannot_touch_user_a(
    http: Any, mos: MemOS, world: dict[str, Any], method: str, path: str, kwargs: Any
) -> None:
    before = _snapshot(mos)
    ids = world["ids"]
    response = http(world["ben_key"]).request(method, _fill(path, ids), **_fill(kwargs, ids))
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "NotFoundError"
    assert _snapshot(mos) == before


def test_user_b_search_and_list_without_a_cube_see_nothing_of_a(
    http: Any, mos: MemOS, world: dict[str, Any]
) -> None:
    before = _snapshot(mos)
    ben = http(world["ben_key"])
    hits = ben.post("/v1/search", json={"query": "ana's secret plan"}).json()["hits"]
    assert all(hit["item"]["user_id"] != "ana-iso" for hit in hits)
    assert ben.get("/v1/memories").json()["items"] == []
    assert ben.get("/v1/memories/count").json() == {"count": 0}
    assert [c["owner"] for c in ben.get("/v1/cubes").json()["cubes"]] == []
    records = ben.get("/v1/audit").json()["records"]
    assert all(r["actor"] == "ben-iso" for r in records)
    assert _snapshot(mos) == before


def test_user_b_sees_only_its_own_figures(http: Any, mos: MemOS, world: dict[str, Any]) -> None:
    ben = http(world["ben_key"])
    mos.add_texts(["ben's only memory"], user_id="ben-iso", cube="ben-stats")
    assert ben.get("/v1/stats").json() == {"cubes": 1, "items": 1, "vectors": 1}
    assert ben.get("/v1/stats", params={"user_id": "ana-iso"}).status_code == 404
    verdict = ben.get("/v1/audit/verify").json()
    assert verdict == {"ok": True, "records": None, "first_bad_seq": None, "reason": None}
