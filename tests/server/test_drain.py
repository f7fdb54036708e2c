"""serve --drain-s: a SIGTERM first turns /readyz to 503 'draining' while requests are
still served, then the server stops cleanly (a real server process)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from memosys import MemOS
from memosys.settings import load_settings
from serve_process import Server


def test_sigterm_drains_then_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with MemOS.open(data, settings=load_settings(embedder={"provider": "hash"})) as mos:
        key = mos.create_user("ana").api_key
    server = Server(data, tmp_path / "server.log", "--drain-s", "2", "--write-processes", "0",
                    "--no-warm", "--no-jobs")
    try:
        assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready"}
        server.process.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        ready = httpx.get(f"{server.url}/readyz")
        assert (ready.status_code, ready.json()) == (503, {"status": "draining"})
        me = httpx.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.json() == {"user_id": "ana", "admin": False}  # still serving
        assert server.process.wait(30) == 0
        assert time.monotonic() - asked >= 1.5  # it waited for the drain
    finally:
        if server.process.poll() is None:
            server.kill()


def test_drain_needs_one_server_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "memosys.cli", "serve", "--data", str(tmp_path), "--workers", "2",
         "--drain-s", "5"], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "drains one server process only" in result.stderr
