"""``memosys serve`` takes a client's address from X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from memosys import MemOS
from memosys.settings import GovernanceSettings, load_settings
from serve_process import Server


@pytest.mark.parametrize(
    ("args", "limited"), [((), True), (("--trusted-proxies", "127.0.0.1"), False)]
)
def test_forwarded_for_names_the_client_only_behind_a_trusted_proxy(
    tmp_path: Path, args: tuple[str, ...], limited: bool
) -> None:
    data = tmp_path / "data"
    MemOS.open(data, settings=load_settings(embedder={"provider": "hash"})).close()
    server = Server(data, tmp_path / "server.log", "--write-processes", "0", *args)
    try:
        guesses = GovernanceSettings().auth_max_failures + 2
        with httpx.Client(base_url=server.url) as client:
            statuses = [
                client.get("/v1/me", headers={"Authorization": "Bearer msk_guess",
                                              "X-Forwarded-For": f"10.0.0.{n}"}).status_code
                for n in range(guesses)
            ]
    finally:
        server.stop()
    # untrusted: every guess comes from this one loopback client, whatever the header says
    assert (statuses[-1] == 429) is limited and set(statuses) <= {401, 429}
