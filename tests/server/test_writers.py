"""``memosys serve --write-processes N``: adds run in lower-priority processes of their own,
and the server answers as if they ran in it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from memosys import MemOS, RemoteMemOS
from memosys.core.errors import (
    ConfigurationError,
    InputTooLargeError,
    NotFoundError,
    StoreError,
)
from memosys.server.app import create_app
from memosys.server.settings import ServerSettings
from memosys.settings import load_settings
from serve_process import Server

T = TypeVar("T")


def _children(parent: int) -> list[int]:
    """The processes that ``multiprocessing`` spawned for a process, from any of its
    threads (Linux ``/proc``)."""
    tasks = Path(f"/proc/{parent}/task").glob("*/children")
    pids = [pid for task in tasks for pid in task.read_text().split()]
    return [
        int(pid)
        for pid in pids
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def _niceness(pid: int) -> int:
    """A process's nice value (field 19 of ``/proc/PID/stat``)."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(after_name[16])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str]]:
    """A server with one write process; an admin key and a second user's key."""
    data = tmp_path_factory.mktemp("writers") / "data"
    settings = load_settings(embedder={"provider": "hash"})  # fast start; the store is real
    with MemOS.open(data, settings=settings) as mos:
        admin = mos.ensure_admin_key()
        other = mos.create_user("bea")
    assert admin is not None
    log = data.parent / "server.log"
    server = Server(data, log, "--write-processes", "1")
    try:
        assert "(1 write process)" in log.read_text()  # the start line says so
        yield server, admin.api_key, other.api_key
        writers = _children(server.process.pid)
    finally:
        server.stop()
    # SIGTERM is a clean stop: the store closed, exit status 0 (see test_stop.py)
    assert server.process.returncode == 0, log.read_text()
    assert not any(Path(f"/proc/{pid}").exists() for pid in writers)  # stopped with it
    with MemOS.open(data) as mos:
        assert mos.verify_audit().ok


def test_adds_run_in_a_lower_priority_process_and_searches_find_them_at_once(
    served: tuple[Server, str, str],
) -> None:
    server, key, _ = served
    with RemoteMemOS(server.url, api_key=key) as client:
        added = client.add_texts([f"note {n} on the osprey nest" for n in range(5)])
        added += client.add([{"role": "user", "content": "the osprey came back in April"}])
        added += client.add_document("nest.md", text="# Nest\n\nThe osprey nest is on the mast.")
        writers = _children(server.process.pid)
        assert len(writers) == 1
        assert _niceness(writers[0]) == min(_niceness(server.process.pid) + 10, 19)
        for mode in ("bm25", "dense", "hybrid"):
            hits = client.search("osprey nest", top_k=20, mode=mode)
            assert {item.id for item in added} <= {hit.item.id for hit in hits}, mode
        assert client.count() == len(added)


def test_a_write_process_records_the_request_and_actor_in_the_audit_log(
    served: tuple[Server, str, str],
) -> None:
    server, admin_key, bea_key = served
    response = httpx.post(
        f"{server.url}/v1/memories/texts",
        headers={"Authorization": f"Bearer {bea_key}", "X-Request-ID": "req-writer-1"},
        json={"texts": ["bea saw a kingfisher"]},
    )
    assert response.status_code == 201
    (item,) = response.json()["items"]
    with RemoteMemOS(server.url, api_key=admin_key) as client:
        records = client.audit_log(item_id=item["id"])
        assert [(r.action, r.actor, r.request_id) for r in records] == [
            ("memory.add", "bea", "req-writer-1")
        ]
        assert client.verify_audit().ok


def test_a_write_process_raises_the_error_the_server_would(
    served: tuple[Server, str, str],
) -> None:
    server, admin_key, bea_key = served
    with (
        RemoteMemOS(server.url, api_key=admin_key) as admin,
        RemoteMemOS(server.url, api_key=bea_key) as bea,
    ):
        cube = admin.create_cube("admin-only")
        before = bea.count()
        with pytest.raises(NotFoundError) as refused:
            bea.add_texts(["into a cube that is not mine"], cube=cube.id)
        assert refused.value.detail == {"cube": cube.id}
        assert bea.count() == before
        assert admin.count(cube=cube.id) == 0


def test_a_killed_write_process_fails_its_write_clearly_and_is_replaced(
    served: tuple[Server, str, str],
) -> None:
    server, key, _ = served
    with RemoteMemOS(server.url, api_key=key) as client:
        before = client.count()
        (writer,) = _children(server.process.pid)
        os.kill(writer, signal.SIGKILL)
        with pytest.raises(StoreError, match="write process stopped"):
            client.add_texts(["sent while the write process was dead"])
        client.add_texts(["sent after it was replaced"])
        (replacement,) = _children(server.process.pid)
        assert replacement != writer
        assert client.count() == before + 1  # it died before the first write came
        assert client.search("sent after it was replaced", top_k=1, mode="bm25")


def test_write_processes_need_a_data_directory(embedder: Any) -> None:
    with (
        MemOS.open(":memory:", embedder=embedder) as mos,
        pytest.raises(ConfigurationError, match="data directory"),
    ):
        create_app(mos, ServerSettings(write_processes=1))


def test_write_processes_end_with_a_killed_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    MemOS.open(data, settings=load_settings(embedder={"provider": "hash"})).close()
    server = Server(data, tmp_path / "server.log", "--write-processes", "2")
    try:
        writers = _until(lambda: _children(server.process.pid), lambda pids: len(pids) == 2)
    finally:
        server.kill()
    _until(lambda: [pid for pid in writers if _alive(pid)], lambda alive: not alive)


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _until(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 30.0) -> T:
    """Poll ``probe`` until ``done`` holds for its value (or fail after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not done(value := probe()):
        assert time.monotonic() < deadline, f"still {value!r} after {timeout} s"
        time.sleep(0.05)  # another process's state: nothing to wait on but time
    return value


def test_a_write_after_the_write_processes_stopped_is_refused(tmp_path: Path) -> None:
    settings = load_settings(embedder={"provider": "hash"})
    with MemOS.open(tmp_path, settings=settings) as mos:
        app = create_app(mos, ServerSettings(write_processes=1))
        app.state.writers.close()  # as at shutdown
        with pytest.raises(StoreError, match="stopping"):
            app.state.writers.run("add_texts", "req-1", "ana", ["too late"], user_id="ana")
        assert mos.count(user_id="ana") == 0


def test_a_write_process_uses_the_serving_process_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(embedder={"provider": "hash"}, reader={"max_batch_items": 3})
    monkeypatch.setenv("MEMOSYS_READER__MAX_BATCH_ITEMS", "100")  # not what the server uses
    with MemOS.open(tmp_path, settings=settings) as mos:
        app = create_app(mos, ServerSettings(write_processes=1))
        try:
            with pytest.raises(InputTooLargeError, match="limit of 3"):
                app.state.writers.run("add_texts", "req-1", "ana", ["a", "b", "c", "d"],
                                      user_id="ana")
            added = app.state.writers.run("add_texts", "req-2", "ana", ["a", "b", "c"],
                                          user_id="ana")
        finally:
            app.state.writers.close()
        assert [item.content for item in added] == ["a", "b", "c"]
        assert mos.count(user_id="ana") == 3


def test_a_write_process_add_is_in_the_serving_process_indexes_before_the_next_search(
    tmp_path: Path,
) -> None:
    settings = load_settings(embedder={"provider": "hash"})
    with MemOS.open(tmp_path, settings=settings) as mos:
        mos.add_texts(["the heron fishes at dawn"], user_id="ana")
        mos.search("heron", user_id="ana")  # loads the BM25 mirror and the cube's vectors
        app = create_app(mos, ServerSettings(write_processes=1))
        try:
            app.state.writers.run("add_texts", "req-1", "ana", ["the kingfisher dives"],
                                  user_id="ana")
        finally:
            app.state.writers.close()
        store = mos.store
        with store._db.read() as conn:
            (text_log,) = conn.execute("SELECT max(seq) FROM text_changes").fetchone()
            (vector_log,) = conn.execute("SELECT max(seq) FROM vector_changes").fetchone()
        # applied before any search: the next one has nothing to catch up with
        assert store._text._index is not None and store._text._index.seq == text_log
        assert store._vectors._seq == vector_log
        assert [hit.item.content for hit in mos.search("kingfisher", user_id="ana")][0] == \
            "the kingfisher dives"
