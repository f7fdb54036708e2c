"""``memosys serve --workers 2``: two processes on one port serve one consistent store."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import httpx
import pytest

from memosys import MemOS, RemoteMemOS
from memosys.server.settings import ServerSettings
from memosys.server.workers import worker_app, worker_environment
from memosys.settings import load_settings
from serve_process import NO_DELAY_MS, Server, kept_alive_ms


def _worker_processes(parent: int) -> list[int]:
    """The uvicorn worker processes of a server process (Linux ``/proc``)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [
        int(pid)
        for pid in children
        if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    ]


def _flock_holders(path: Path) -> set[int]:
    """The processes holding a ``flock`` on ``path`` (Linux ``/proc/locks``)."""
    inode = path.stat().st_ino
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if fields[1] == "FLOCK" and int(fields[5].rsplit(":", 1)[1]) == inode:
            holders.add(int(fields[4]))
    return holders


def _until_each_has_one_write_process(workers: list[int]) -> None:
    """Wait (30 s at most) until each worker has started its one write process (its
    warm-up starts it in the background)."""
    deadline = time.monotonic() + 30
    while [len(_worker_processes(pid)) for pid in workers] != [1] * len(workers):
        assert time.monotonic() < deadline, [_worker_processes(pid) for pid in workers]
        time.sleep(0.05)


@pytest.mark.parametrize("writers", [[], ["--write-processes", "0"]],
                         ids=["a-write-process-each", "adds-in-the-workers"])
def test_two_workers_serve_the_same_memories(tmp_path: Path, writers: list[str]) -> None:
    data = tmp_path / "data"
    settings = load_settings(embedder={"provider": "hash"})  # fast start; the store is real
    with MemOS.open(data, settings=settings) as mos:
        issued = mos.ensure_admin_key()
    assert issued is not None
    headers = {"Authorization": f"Bearer {issued.api_key}"}
    server = Server(data, tmp_path / "server.log", "--workers", "2", *writers)
    try:
        workers = _worker_processes(server.process.pid)
        assert len(workers) == 2
        if not writers:  # the default
            _until_each_has_one_write_process(workers)
            start_line = "(2 worker processes, 1 write process each)"
            assert start_line in (tmp_path / "server.log").read_text()
        added = []
        for n in range(12):  # a new connection each time: either worker may take it
            response = httpx.post(f"{server.url}/v1/memories/texts", headers=headers,
                                  json={"texts": [f"note {n} about the red kite"]})
            assert response.status_code == 201
            added += [item["id"] for item in response.json()["items"]]
        for _ in range(12):
            response = httpx.post(f"{server.url}/v1/search", headers=headers,
                                  json={"query": "red kite", "top_k": 20, "mode": "bm25"})
            assert response.status_code == 200
            assert {hit["item"]["id"] for hit in response.json()["hits"]} == set(added)
        with RemoteMemOS(server.url, api_key=issued.api_key) as client:
            assert client.count() == 12
            assert client.verify_audit().ok
        assert kept_alive_ms(server.url) < NO_DELAY_MS  # uvicorn bound the socket
    finally:
        server.stop()
    assert server.process.returncode == 0
    with MemOS.open(data) as mos:
        assert mos.verify_audit().ok


def test_two_workers_search_one_shared_vector_index_and_find_every_write(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    settings = load_settings(embedder={"provider": "hash"}, store={"ann_threshold": 20})
    with MemOS.open(data, settings=settings) as mos:
        issued = mos.ensure_admin_key()
        assert issued is not None
        mos.add_texts([f"seed note {n} on birds of prey" for n in range(60)],
                      user_id=issued.user_id)
    headers = {"Authorization": f"Bearer {issued.api_key}"}
    server = Server(data, tmp_path / "server.log", "--workers", "2")
    try:
        texts = [f"sighting {n}: a {colour} kite over the {place}"
                 for n, (colour, place) in enumerate(
                     [("red", "ridge"), ("black", "lake"), ("white", "moor")] * 4)]
        for text in texts:  # a new connection each time: either worker may take it
            response = httpx.post(f"{server.url}/v1/memories/texts", headers=headers,
                                  json={"texts": [text]})
            assert response.status_code == 201
        for text in texts * 2:
            response = httpx.post(f"{server.url}/v1/search", headers=headers,
                                  json={"query": text, "top_k": 1, "mode": "dense"})
            assert [hit["item"]["content"] for hit in response.json()["hits"]] == [text]
        (lock,) = (data / "memosys.db.ann").glob("*.keeper")
        # held by the parent process, which keeps the index and serves no requests
        with lock.open("a") as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert _flock_holders(lock) == {server.process.pid}
    finally:
        server.stop()
    assert server.process.returncode == 0


def test_workers_share_the_cpus_search_turns_unless_the_setting_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpus = os.cpu_count() or 1
    for name, turns, expected in (("default", 0, max(1, cpus // 2)), ("named", 3, 3)):
        data = tmp_path / name
        settings = load_settings(embedder={"provider": "hash"},
                                 retrieval={"concurrent_searches": turns})
        MemOS.open(data, settings=settings).close()
        for key, value in worker_environment(data, ServerSettings(), workers=2).items():
            monkeypatch.setenv(key, value)
        app = worker_app()
        try:
            assert app.state.search_turns.total_tokens == expected
        finally:
            app.state.mos.close()


def test_metrics_sum_the_workers_counts_so_counters_never_go_down(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with MemOS.open(data, settings=load_settings(embedder={"provider": "hash"})):
        pass
    server = Server(data, tmp_path / "server.log", "--workers", "2", "--no-warm")
    try:
        for _ in range(20):  # a new connection each time: either worker may take it
            assert httpx.get(f"{server.url}/healthz").status_code == 200
        time.sleep(2.5)  # each worker has shared its counts since (every SHARE_EVERY_S)
        seen = []
        for _ in range(8):  # a scrape reaches either worker
            text = httpx.get(f"{server.url}/metrics").text
            (line,) = [each for each in text.splitlines() if each.startswith(
                'memosys_http_requests_total{method="GET",route="/healthz",status="200"}')]
            seen.append(int(line.split()[-1]))
    finally:
        server.stop()
    # the start-up poll of /healthz (Server) is counted too
    assert seen == sorted(seen) and seen[0] >= 20 + 1 and len(set(seen)) == 1, seen
