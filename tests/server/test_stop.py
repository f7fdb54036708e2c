"""How ``memosys serve`` stops: SIGTERM is a clean stop (the store closed, exit 0), and
the worker processes of ``--workers`` do not outlive a killed server process."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

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
def test_sigterm_closes_the_store_and_exits_0(data: Path, args: list[str]) -> None:
    server = Server(data, data.parent / "server.log", *args)
    try:
        with httpx.Client(base_url=server.url) as client:
            assert client.get("/healthz").status_code == 200
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(30) == 0, (data.parent / "server.log").read_text()
    finally:
        server.kill()
    # the store was closed: its last connection checkpointed and removed the WAL
    assert not (data / "memosys.db-wal").exists()


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
