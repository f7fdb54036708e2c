"""The access log names each request's id and hides API keys that a client put in the URL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from memosys import MemOS
from memosys.settings import load_settings
from serve_process import Server


def test_a_key_in_the_query_string_is_not_logged(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # the record uvicorn logs for a request (app: the server's app, built)
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    "/v1/memories?api_key=msk_TopSecret1&token=abc&cube=notes", "1.1", 401)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    "/v1/search/msk_InThePath-2", "1.1", 404)
    text = caplog.text
    assert "TopSecret1" not in text and "InThePath" not in text and "abc" not in text
    assert "api_key=<redacted>" in text and "token=<redacted>" in text
    assert "cube=notes" in text and "msk_<redacted>" in text


def test_each_access_line_names_its_request_id(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with MemOS.open(data, settings=load_settings(embedder={"provider": "hash"})):
        pass
    log = tmp_path / "server.log"
    server = Server(data, log, "--log-level", "info", "--write-processes", "0", "--no-warm")
    try:
        httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "ops-check-42"})
        missing = httpx.get(f"{server.url}/v1/me?api_key=msk_Leaked9")
        made_up = missing.headers["x-request-id"]
    finally:
        server.stop()
    lines = log.read_text().splitlines()
    assert any('"GET /healthz HTTP/1.1" 200' in line and line.endswith("request_id=ops-check-42")
               for line in lines), lines
    assert any('"GET /v1/me?api_key=<redacted> HTTP/1.1" 401' in line
               and line.endswith(f"request_id={made_up}") for line in lines), lines
    assert "Leaked9" not in log.read_text()
