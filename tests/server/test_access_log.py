"""The access log hides API keys that a client put in the URL."""

from __future__ import annotations

import logging
from typing import Any

import pytest


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
