"""``memosys serve`` takes a client's address from X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from memosys import MemOS
from memosys.settings import load_settings
from serve_process import FORWARDED_CASES, Server, check_forwarded_guesses


@pytest.mark.parametrize(("args", "limited"), FORWARDED_CASES)
def test_forwarded_for_names_the_client_only_behind_a_trusted_proxy(
    tmp_path: Path, args: tuple[str, ...], limited: bool
) -> None:
    data = tmp_path / "data"
    MemOS.open(data, settings=load_settings(embedder={"provider": "hash"})).close()
    server = Server(data, tmp_path / "server.log", "--write-processes", "0", *args)
    try:
        with httpx.Client(base_url=server.url) as client:
            check_forwarded_guesses(lambda headers: client.get("/v1/me", headers=headers),
                                    limited)
    finally:
        server.stop()
