"""How ``memosys serve`` stops: SIGTERM is a clean stop (the store closed, exit 0), a
second signal does not break the store's close, a second Ctrl-C that cuts an add
short answers it with 503 ``ServerStoppedError``, and the worker processes of
``--workers`` do not outlive a killed server process."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from held_write import write_held_open
from memosys import MemOS
from memosys.settings import load_settings
from serve_process import Server


@pytest.fixture
def data(tmp_path: Path) -> Path:
    with MemOS.open(tmp_path / "data", settings=load_settings(embedder={"provider": "hash"})):
        pass
    return tmp_path / "data"


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


@pytest.mark.parametrize("args", [[], ["--write-processes", "0"]], ids=["writers", "alone"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_closes_the_store_and_exits_0(
    data: Path, args: list[str], stop: signal.Signals
) -> None:
    """SIGHUP (the terminal closed) stops the server as SIGTERM does."""
    server = Server(data, data.parent / "server.log", *args)
    try:
        with httpx.Client(base_url=server.url) as client:
            assert client.get("/healthz").status_code == 200
        server.process.send_signal(stop)
        assert server.process.wait(30) == 0, (data.parent / "server.log").read_text()
    finally:
        server.kill()
    # the store was closed: its last connection checkpointed and removed the WAL
    assert not (data / "memosys.db-wal").exists()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_request_in_hand_is_answered_and_the_stop_exits_0(
    data: Path, stop: signal.Signals
) -> None:
    with MemOS.open(data) as mos:
        key = mos.create_user("ana").api_key
    server = Server(data, data.parent / "server.log", "--write-processes", "0")
    body = json.dumps({"texts": ["a note sent slowly"]}).encode()
    head = (f"POST /v1/memories/texts HTTP/1.1\r\nHost: memo\r\nAuthorization: Bearer {key}"
            f"\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(head.encode() + body[:5])  # a request in hand: its body arriving
            time.sleep(0.3)
            server.process.send_signal(stop)
            time.sleep(1.0)  # the server stops listening, and waits for the request
            sock.sendall(body[5:])
            assert sock.recv(100).startswith(b"HTTP/1.1 201 "), "the add was not answered"
        assert server.process.wait(30) == 0, (data.parent / "server.log").read_text()
    finally:
        server.kill()
    assert "Aborted" not in (data.parent / "server.log").read_text()
    with MemOS.open(data) as mos:
        assert mos.count(user_id="ana") == 1


def _waits_for_a_lock(pid: int) -> bool:
    """Whether process ``pid`` is blocked on a file lock (``/proc/locks``: ``->``)."""
    locks = [line.split() for line in Path("/proc/locks").read_text().splitlines()]
    return any(fields[1] == "->" and fields[5] == str(pid) for fields in locks)


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_second_signal_during_the_close_is_ignored_until_the_store_is_closed(
    tmp_path: Path, second: signal.Signals
) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    settings = load_settings(embedder={"provider": "hash"}, store={"ann_threshold": 10})
    with MemOS.open(data, settings=settings) as mos:  # a cube searched through HNSW
        key = mos.create_user("ana").api_key
        mos.add_texts([f"note {n}" for n in range(20)], user_id="ana")
    server = Server(data, log, "--write-processes", "0", "--no-jobs")
    try:
        deadline = time.monotonic() + 60
        while httpx.get(f"{server.url}/readyz").status_code != 200:  # the index is loaded
            assert time.monotonic() < deadline, "the server did not warm up"
            time.sleep(0.1)
        added = httpx.post(f"{server.url}/v1/memories/texts", timeout=60,
                           headers={"Authorization": f"Bearer {key}"},
                           json={"texts": [f"later note {n}" for n in range(250)]})
        assert added.status_code == 201, added.text  # enough changes to save the index again
        # another process saving an index holds the folder's lock: the close waits for it
        with (data / "memosys.db.ann" / "records.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            server.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 30
            while not _waits_for_a_lock(server.process.pid):
                assert server.process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the server did not start saving its index"
                time.sleep(0.05)
            server.process.send_signal(second)
            deadline = time.monotonic() + 30
            while "already stopping" not in log.read_text() and server.process.poll() is None:
                assert time.monotonic() < deadline, "the second signal went unnoticed"
                time.sleep(0.05)
        assert server.process.wait(30) == 0, log.read_text()
    finally:
        server.kill()
    # the close went to its end: the index saved and named by its record, the database
    # closed (its last connection checkpointed and removed the WAL)
    assert not (data / "memosys.db-wal").exists()
    folder = data / "memosys.db.ann"
    (record,) = [json.loads(path.read_text()) for path in folder.glob("*.json")]
    assert sorted(path.name for path in folder.glob("*.usearch*")) == [record["file"]]
    assert "already stopping; closing the store" in log.read_text()
    with MemOS.open(data) as mos:
        assert mos.count(user_id="ana") == 270


def _write_processes(pid: int) -> list[int]:
    """The processes that ``multiprocessing`` spawned for server ``pid``, from any thread."""
    pids = [p for task in Path(f"/proc/{pid}/task").glob("*/children")
            for p in task.read_text().split()]
    return [int(p) for p in pids if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


def _until(done: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, f"{what}:\n{log.read_text()}"
        time.sleep(0.05)  # another process's state: nothing to wait on but time


def test_a_second_ctrl_c_during_an_add_answers_503_and_the_add_is_stored_whole(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's "quit now" cancels the add in hand once its write process has written:
    the client used to get a bare 500 for an add that was stored."""
    monkeypatch.setenv("MEMOSYS_STORE__LOCK_TIMEOUT_S", "60")  # the add waits for our lock
    log = data.parent / "server.log"
    with MemOS.open(data) as mos:
        key = mos.create_user("ana").api_key
    server = Server(data, log, "--write-processes", "1", "--no-jobs", "--log-level", "info")
    answers: list[httpx.Response] = []

    def add() -> None:
        answers.append(httpx.post(f"{server.url}/v1/memories/texts", timeout=60,
                                  headers={"Authorization": f"Bearer {key}"},
                                  json={"texts": ["first of two", "second of two"]}))

    client = threading.Thread(target=add)
    try:
        with MemOS.open(data) as mos, write_held_open(mos.store.transaction):
            client.start()
            _until(lambda: any("nanosleep" in Path(f"/proc/{pid}/wchan").read_text()
                               for pid in _write_processes(server.process.pid)),
                   "the add did not reach the write process's wait for the lock", log)
            server.process.send_signal(signal.SIGINT)
            _until(lambda: "Waiting for connections to close" in log.read_text(),
                   "the first Ctrl-C did not wait for the add", log)
            server.process.send_signal(signal.SIGINT)  # quit now
            _until(lambda: "Finished server process" in log.read_text(),
                   "the second Ctrl-C did not stop the server", log)
        client.join(60)  # the lock let go: the add is written, then its request cancelled
        assert server.process.wait(30) == 0, log.read_text()
    finally:
        server.kill()
        client.join(60)
    (answer,) = answers
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "ServerStoppedError"
    assert "look it up before sending it again" in answer.json()["message"]
    with MemOS.open(data) as mos:
        assert sorted(item.content for item in mos.list(user_id="ana")) == [
            "first of two", "second of two"]


def test_workers_exit_when_the_server_process_is_killed(data: Path) -> None:
    server = Server(data, data.parent / "server.log", "--workers", "2")
    workers = _children(server.process.pid)
    try:
        assert len(workers) >= 2
        (worker, *_) = [pid for pid in workers
                        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
        (config,) = [each for each in environ if each.startswith(b"MEMOSYS_SERVE_WORKER_CONFIG=")]
        shared = Path(json.loads(config.split(b"=", 1)[1])["metrics_dir"])
        assert shared.is_dir()
        server.kill()  # SIGKILL: the server process cannot stop its workers itself
        deadline = time.monotonic() + 30
        while not all(_gone(pid) for pid in workers):
            assert time.monotonic() < deadline, "the workers outlived the killed server"
            time.sleep(0.1)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.url}/healthz", timeout=2)
        assert not shared.exists()  # the folder of the workers' metrics went with them
    finally:
        for pid in workers:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
