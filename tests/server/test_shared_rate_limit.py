"""Two servers on one data directory enforce one auth-failure limit per client."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from memosys import MemOS
from memosys.server.app import create_app
from memosys.server.transport import InProcessTransport
from memosys.settings import GovernanceSettings


@pytest.fixture
def servers(tmp_path: Path, embedder: Any) -> Iterator[tuple[httpx.Client, httpx.Client, str]]:
    """Two apps, each on its own store (its own SQLite connection) over one data directory."""
    with (
        MemOS.open(tmp_path / "d", embedder=embedder) as first,
        MemOS.open(tmp_path / "d", embedder=embedder) as second,
    ):
        issued = first.ensure_admin_key()
        assert issued is not None
        clients = [
            httpx.Client(
                base_url="http://memosys.test",
                transport=InProcessTransport(create_app(mos), client=("10.1.2.3", 40000)),
            )
            for mos in (first, second)
        ]
        with clients[0], clients[1]:
            yield clients[0], clients[1], issued.api_key


def test_failures_on_either_server_count_towards_one_limit(
    servers: tuple[httpx.Client, httpx.Client, str],
) -> None:
    one, two, good = servers
    guess = {"Authorization": "Bearer msk_guess"}
    statuses = [(one, two)[i % 2].get("/v1/me", headers=guess).status_code for i in range(20)]
    limit = GovernanceSettings().auth_max_failures
    assert statuses == [401] * limit + [429] * (20 - limit)  # each server saw half of them
    for server in (one, two):  # now even a valid key from that client waits on both
        refused = server.get("/v1/me", headers={"Authorization": f"Bearer {good}"})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_concurrent_guesses_on_both_servers_get_the_limit_of_401s(
    servers: tuple[httpx.Client, httpx.Client, str],
) -> None:
    one, two, good = servers
    attempts, limit = 40, GovernanceSettings().auth_max_failures
    for server in (one, two):  # a first request builds FastAPI's routes, which it does
        # under warnings.catch_warnings: not thread-safe with warnings as errors
        assert server.get("/v1/me", headers={"Authorization": f"Bearer {good}"}).is_success
    start = threading.Barrier(attempts)

    def guess(n: int) -> int:
        start.wait(timeout=30)
        headers = {"Authorization": f"Bearer msk_guess{n:04d}guessguessguess"}
        return (one, two)[n % 2].get("/v1/me", headers=headers).status_code

    with ThreadPoolExecutor(attempts) as pool:
        statuses = Counter(pool.map(guess, range(attempts)))
    assert statuses == Counter({401: limit, 429: attempts - limit})
