"""``--cors-origin``: browser apps on the origins named (only those) may call the API."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from memosys import MemOS
from memosys.core.errors import ConfigurationError
from memosys.server.app import create_app
from memosys.server.auth_first import EARLY_AUTH_BYTES
from memosys.server.background import BackgroundServer
from memosys.server.settings import ServerSettings

APP = "https://app.example.com"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "DELETE",
             "Access-Control-Request-Headers": "authorization, content-type, x-request-id"}


def _serve(mos: MemOS, origins: list[str]) -> Iterator[str]:
    server = BackgroundServer(create_app(mos, ServerSettings(cors_origins=origins))).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def cors(mos: MemOS) -> Iterator[str]:
    """The URL of a server that lets ``APP`` and a local development origin in."""
    yield from _serve(mos, [APP, "http://localhost:3000"])


@pytest.fixture(scope="module")
def plain(mos: MemOS) -> Iterator[str]:
    """The URL of a server without --cors-origin."""
    yield from _serve(mos, [])


def _names(value: str | None) -> set[str]:
    return {name.strip().lower() for name in (value or "").split(",") if name.strip()}


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_key(cors: str) -> None:
    answer = httpx.options(f"{cors}/v1/memories/some-id", headers=PREFLIGHT)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert {"get", "post", "patch", "delete"} <= _names(
        answer.headers["access-control-allow-methods"])
    assert {"authorization", "content-type", "x-request-id"} <= _names(
        answer.headers["access-control-allow-headers"])


def test_a_preflight_for_trace_context_headers_is_allowed(cors: str) -> None:
    """Browser tracing libraries add traceparent (and tracestate) to every call: a
    refused preflight would fail each of them."""
    tracing = {**PREFLIGHT,
               "Access-Control-Request-Headers": "authorization, traceparent, tracestate"}
    answer = httpx.options(f"{cors}/v1/search", headers=tracing)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP


def test_a_preflight_from_another_origin_is_not_allowed(cors: str) -> None:
    answer = httpx.options(f"{cors}/v1/search",
                           headers={**PREFLIGHT, "Origin": "https://evil.example.com"})
    assert answer.status_code == 400  # Starlette's "Disallowed CORS origin"
    assert "access-control-allow-origin" not in answer.headers  # the browser blocks the call


def test_preflights_never_count_as_failed_sign_ins(
    cors: str, mos: MemOS, admin_key: str
) -> None:
    for _ in range(mos.settings.governance.auth_max_failures + 2):
        assert httpx.options(f"{cors}/v1/me", headers=PREFLIGHT).status_code == 200
    me = httpx.get(f"{cors}/v1/me", headers={"Authorization": f"Bearer {admin_key}"})
    assert me.status_code == 200  # not 429: this client made no failed sign-in


def test_a_request_from_an_allowed_origin_can_read_the_answer(
    cors: str, admin_key: str
) -> None:
    answer = httpx.get(f"{cors}/v1/me", headers={"Origin": "http://localhost:3000",
                                                  "Authorization": f"Bearer {admin_key}"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert _names(answer.headers["access-control-expose-headers"]) == {
        "x-request-id", "server-timing", "retry-after"}
    assert answer.headers["x-request-id"] and answer.headers["server-timing"]


def test_a_refusal_before_the_body_is_read_carries_the_cors_headers(cors: str) -> None:
    body = b'{"texts": ["' + b"x" * EARLY_AUTH_BYTES + b'"]}'
    answer = httpx.post(f"{cors}/v1/memories/texts", content=body,
                        headers={"Origin": APP, "Content-Type": "application/json"})
    assert answer.status_code == 401  # answered by the auth-first middleware
    assert answer.headers["access-control-allow-origin"] == APP


def test_without_cors_origins_there_are_no_cors_headers(plain: str, admin_key: str) -> None:
    preflight = httpx.options(f"{plain}/v1/me", headers=PREFLIGHT)
    request = httpx.get(f"{plain}/v1/me", headers={"Origin": APP,
                                                   "Authorization": f"Bearer {admin_key}"})
    assert preflight.status_code == 405 and request.status_code == 200
    for answer in (preflight, request):
        assert not [name for name in answer.headers if name.startswith("access-control-")]


def test_star_lets_every_origin_in_without_credentials(mos: MemOS, admin_key: str) -> None:
    for url in _serve(mos, ["*"]):
        answer = httpx.get(f"{url}/v1/me", headers={"Origin": "https://any.example.org",
                                                    "Authorization": f"Bearer {admin_key}"})
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in answer.headers


@pytest.mark.parametrize(
    ("origins", "error"),
    [
        (["https://app.example.com/"], "no path, query or user, not even a trailing /"),
        (["app.example.com"], "needs http:// or https:// and a host"),
        (["https://app.example.com:443"], "leave the default port :443 out: drop it"),
        (["https://app.example.com:99999"], "out of range"),
        (["*", APP], "'\\*' lets every origin in: give it alone"),
    ],
)
def test_a_malformed_origin_is_a_clear_error(origins: list[str], error: str) -> None:
    with pytest.raises(ConfigurationError, match=error):
        ServerSettings(cors_origins=origins)


def test_serve_refuses_a_malformed_origin_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "memosys.cli", "serve", "--data", str(tmp_path),
         "--cors-origin", "https://app.example.com/"], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: ConfigurationError: --cors-origin 'https://app.example.com/' is not an origin "
        "(an origin has no path, query or user, not even a trailing /); give "
        "scheme://host[:port], e.g. https://app.example.com or http://localhost:3000"
    ]
