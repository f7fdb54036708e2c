"""Kill -9 the server in the middle of a write load: no acknowledged write is lost.

``memosys serve`` runs as a real subprocess on loopback; writer threads record
every write the server acknowledged; the server is killed with SIGKILL while
they write, restarted on the same data, and every acknowledged memory must be
there, with an audit chain that verifies.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from memosys import MemOS, MemosysError, RemoteMemOS
from memosys.settings import load_settings
from serve_process import Server

WRITERS = 4
KILL_AFTER_ACKS = 150


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    settings = load_settings(embedder={"provider": "hash"})  # fast start; the store is real
    with MemOS.open(tmp_path / "data", settings=settings) as mos:
        issued = mos.ensure_admin_key()
    assert issued is not None
    yield tmp_path / "data", issued.api_key


def test_acknowledged_writes_survive_kill_9(data_dir: tuple[Path, str]) -> None:
    data, key = data_dir
    log = data.parent / "server.log"
    server = Server(data, log)
    acked: dict[str, str] = {}
    failures: list[MemosysError] = []
    lock = threading.Lock()
    enough, killed = threading.Event(), threading.Event()

    def write(writer: int) -> None:
        with RemoteMemOS(server.url, api_key=key, timeout=10) as client:
            for n in range(100_000):
                text = f"writer {writer} message {n}"
                try:
                    (item,) = client.add([{"role": "user", "content": text}])
                except MemosysError as exc:
                    if not killed.is_set():
                        failures.append(exc)
                    return
                with lock:
                    acked[item.id] = text
                    if len(acked) >= KILL_AFTER_ACKS:
                        enough.set()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    assert enough.wait(120), "the load did not reach the kill point"
    killed.set()
    server.kill()
    for thread in threads:
        thread.join(30)
    assert failures == [] and len(acked) >= KILL_AFTER_ACKS

    restarted = Server(data, log)
    try:
        with RemoteMemOS(restarted.url, api_key=key) as client:
            stored = {item.id: item.content for item in client.list(limit=1000)}
            while len(stored) < client.count():
                page = client.list(limit=1000, offset=len(stored))
                stored.update((item.id, item.content) for item in page)
            assert client.verify_audit().ok
    finally:
        restarted.stop()
    missing = {id: text for id, text in acked.items() if stored.get(id) != text}
    assert missing == {}
    with MemOS.open(data) as mos:
        verification = mos.verify_audit()
        assert verification.ok, verification
        added = {r.item_id for r in mos.audit_log(user_id="admin", action="memory.add", limit=1000)}
        assert set(acked) <= added
