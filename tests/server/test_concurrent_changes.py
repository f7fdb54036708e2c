"""Many HTTP clients changing one memory at once, against a real uvicorn server.

Each client has its own connection; a barrier lets them go together. What the
tests assert holds whatever the interleaving: every change that was answered
200 is a version of its own in the history, versions run 1..n without gaps,
and nothing answers 5xx.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from memosys import MemOS
from memosys.server.app import create_app
from memosys.server.background import BackgroundServer

Call = tuple[str, str, str, dict[str, Any]]  # key, method, path, httpx keyword arguments


@dataclass
class _Server:
    url: str
    keys: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[_Server]:
    with MemOS.open(tmp_path_factory.mktemp("concurrent"), embedder=embedder) as mos, \
            BackgroundServer(create_app(mos)) as running:
        yield _Server(running.url, {name: mos.create_user(name).api_key for name in ("ana", "ben")})


def _client(server: _Server, user: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {server.keys[user]}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def _race(server: _Server, calls: list[Call]) -> list[httpx.Response]:
    """Send the calls at once, each from a client of its own; their answers, in order."""
    clients = [_client(server, user) for user, *_ in calls]
    for client in clients:
        client.get("/v1/me").raise_for_status()  # connected before the race
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def send(index: int) -> None:
        _, method, path, options = calls[index]
        barrier.wait(timeout=30)
        try:
            answers[index] = clients[index].request(method, path, **options)
        except Exception as exc:  # noqa: BLE001  (handed to the test)
            answers[index] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for client in clients:
        client.close()
    assert not any(thread.is_alive() for thread in threads), "a request never came back"
    for answer in answers:
        assert isinstance(answer, httpx.Response), answer
        assert answer.status_code < 500, answer.text
        if answer.status_code >= 400:
            assert set(answer.json()) == {"error", "message", "detail"}
    return answers


def _memory(server: _Server, text: str, cube: str = "race") -> str:
    with _client(server, "ana") as ana:
        answer = ana.post("/v1/memories/texts", json={"texts": [text], "cube": cube})
        answer.raise_for_status()
        return str(answer.json()["items"][0]["id"])


def _versions(server: _Server, id: str) -> list[dict[str, Any]]:
    with _client(server, "ana") as ana:
        answer = ana.get(f"/v1/memories/{id}/history")
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()["versions"]
        return found


def _errors(answers: list[httpx.Response]) -> list[tuple[int, str | None]]:
    return [(a.status_code, a.json()["error"] if a.status_code >= 400 else None)
            for a in answers]


FIELDS: list[tuple[str, Callable[[int], Any]]] = [
    ("tags", lambda n: [f"tag-{n}"]),
    ("content", lambda n: f"Ana's note, take {n}"),
    ("importance", lambda n: (n + 1) / 100),
    ("metadata", lambda n: {"take": n}),
]


def test_many_clients_changing_one_memory_each_get_a_version_of_their_own(server: _Server) -> None:
    id = _memory(server, "Ana's note, first take")
    changes = [(name, value(n)) for n in range(4) for name, value in FIELDS]
    answers = _race(server, [("ana", "PATCH", f"/v1/memories/{id}", {"json": {name: value}})
                             for name, value in changes])
    assert [a.status_code for a in answers] == [200] * len(changes)
    versions = _versions(server, id)
    assert [v["version"] for v in versions] == list(range(1, len(changes) + 2))
    written = sorted(a.json()["version"] for a in answers)
    assert written == list(range(2, len(changes) + 2))  # each answer its own version
    for (name, value), answer in zip(changes, answers, strict=True):
        version = versions[answer.json()["version"] - 1]["item"]
        assert version[name] == value  # the change itself, made from the version before
        for other in ("tags", "content", "importance", "metadata"):
            if other != name:  # ... whose other fields it kept
                assert version[other] == versions[version["version"] - 2]["item"][other]


def test_of_clients_updating_with_the_same_if_version_exactly_one_wins(server: _Server) -> None:
    id = _memory(server, "a memory eight clients edit from version 1")
    answers = _race(server, [
        ("ana", "PATCH", f"/v1/memories/{id}", {"json": {"tags": [f"t{n}"], "if_version": 1}})
        for n in range(8)
    ])
    assert sorted(_errors(answers)) == [(200, None)] + [(409, "VersionConflictError")] * 7
    (won,) = [a.json() for a in answers if a.status_code == 200]
    for lost in (a.json() for a in answers if a.status_code == 409):
        assert lost["detail"] == {"id": id, "version": 2, "expected_version": 1}
    assert [v["version"] for v in _versions(server, id)] == [1, 2]
    assert _versions(server, id)[-1]["item"]["tags"] == won["tags"]


def test_an_update_racing_a_delete_lands_before_it_or_finds_it_gone(server: _Server) -> None:
    id = _memory(server, "a memory updated while it is deleted")
    update, delete = _race(server, [
        ("ana", "PATCH", f"/v1/memories/{id}", {"json": {"tags": ["late"]}}),
        ("ana", "DELETE", f"/v1/memories/{id}", {}),
    ])
    assert delete.status_code == 204
    versions = _versions(server, id)
    if update.status_code == 200:
        assert [v["version"] for v in versions] == [1, 2, 3]
        assert versions[1]["item"]["tags"] == ["late"]
    else:
        assert update.json()["error"] == "NotFoundError"
        assert [v["version"] for v in versions] == [1, 2]
    assert versions[-1]["item"]["state"] == "deleted"
    with _client(server, "ana") as ana:
        assert ana.get(f"/v1/memories/{id}").status_code == 404


def test_an_update_racing_a_forget_leaves_nothing(server: _Server) -> None:
    id = _memory(server, "a memory updated while it is forgotten")
    update, forget = _race(server, [
        ("ana", "PATCH", f"/v1/memories/{id}", {"json": {"content": "changed meanwhile"}}),
        ("ana", "POST", f"/v1/memories/{id}/forget", {}),
    ])
    assert forget.status_code == 200 and forget.json()["item_ids"] == [id]
    assert update.status_code in (200, 404)
    with _client(server, "ana") as ana:
        assert ana.get(f"/v1/memories/{id}").status_code == 404
        assert ana.get(f"/v1/memories/{id}/history").status_code == 404


def test_an_update_racing_an_archive_is_kept_in_the_archived_memory(server: _Server) -> None:
    id = _memory(server, "a memory tagged while it is archived")
    answers = _race(server, [
        ("ana", "PATCH", f"/v1/memories/{id}", {"json": {"tags": ["kept"]}}),
        ("ana", "POST", f"/v1/memories/{id}/archive", {}),
    ])
    assert [a.status_code for a in answers] == [200, 200]
    versions = _versions(server, id)
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert (versions[-1]["item"]["state"], versions[-1]["item"]["tags"]) == ("archived", ["kept"])


def test_two_rollbacks_at_once_each_make_a_version(server: _Server) -> None:
    id = _memory(server, "rollback take 1")
    with _client(server, "ana") as ana:
        for take in (2, 3):
            ana.patch(f"/v1/memories/{id}", json={"content": f"rollback take {take}"})
    answers = _race(server, [
        ("ana", "POST", f"/v1/memories/{id}/rollback", {"json": {"version": version}})
        for version in (1, 2)
    ])
    assert [a.status_code for a in answers] == [200, 200]
    versions = _versions(server, id)
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5]
    assert {v["item"]["content"] for v in versions[3:]} == {"rollback take 1", "rollback take 2"}


def test_reads_of_a_sharee_while_the_cube_is_shared_and_unshared(server: _Server) -> None:
    ids = [_memory(server, f"a shared note {n}", cube="flicker") for n in range(3)]
    with _client(server, "ana") as ana:
        cube = ana.get("/v1/cubes/flicker").json()["id"]
    done = threading.Event()
    seen: list[tuple[str, int, int]] = []  # what, status, how many items

    def flip() -> None:
        with _client(server, "ana") as ana:
            for turn in range(15):
                access = "write" if turn % 2 else "read"
                shared = ana.post("/v1/cubes/flicker/shares",
                                  json={"with_user": "ben", "access": access})
                seen.append(("share", shared.status_code, 0))
                seen.append(("unshare", ana.delete("/v1/cubes/flicker/shares/ben").status_code, 0))
        done.set()

    def read(what: str, send: Callable[[httpx.Client], httpx.Response]) -> None:
        with _client(server, "ben") as ben:
            while not done.is_set():
                answer = send(ben)
                body = answer.json()
                seen.append((what, answer.status_code, len(body.get("items", ()))))

    readers = {
        "get": lambda c: c.get(f"/v1/memories/{ids[0]}"),
        "list": lambda c: c.get("/v1/memories", params={"cube": cube}),
        "history": lambda c: c.get(f"/v1/memories/{ids[1]}/history"),
        "tag": lambda c: c.patch(f"/v1/memories/{ids[2]}", json={"tags": ["ben"]}),
    }
    threads = [threading.Thread(target=flip)] + [
        threading.Thread(target=read, args=item) for item in readers.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    allowed = {"share": {201}, "unshare": {204}, "get": {200, 404}, "list": {200, 404},
               "history": {200, 404}, "tag": {200, 403, 404}}
    assert all(status in allowed[what] for what, status, _ in seen), seen
    assert all(count == 3 for what, status, count in seen if (what, status) == ("list", 200))
