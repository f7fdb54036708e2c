"""Request bodies parsed by pydantic-core give what ``json.loads`` gave, errors included."""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import anyio
import numpy as np
import pytest
from fastapi.routing import APIRoute

import memosys.server.routes
from memosys.server.json_bodies import FastJsonRequest, JsonBodyRoute


def _parsed(raw: bytes) -> Any:
    """``FastJsonRequest.json()`` of a POST whose body is ``raw``, over ASGI messages."""
    messages = [{"type": "http.request", "body": raw[:100], "more_body": True},
                {"type": "http.request", "body": raw[100:], "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def parse() -> Any:
        scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
        return await FastJsonRequest(scope, receive).json()

    return anyio.run(parse)


def test_a_body_of_texts_and_vectors_parses_to_the_same_values() -> None:
    vectors = np.random.default_rng(7).standard_normal((20, 384))
    body = {"texts": ["café ☕", "x"] * 10, "embeddings": vectors.round(6).tolist(),
            "big": 10**30, "inf": float("inf"), "nested": {"a": [None, True, -0.0]}}
    raw = json.dumps(body).encode()
    assert _parsed(raw) == json.loads(raw)


def test_what_only_the_standard_parser_accepts_still_parses() -> None:
    utf16 = '{"texts": ["héllo"]}'.encode("utf-16")
    assert _parsed(utf16) == {"texts": ["héllo"]}
    assert _parsed(b'["\\ud800"]') == ["\ud800"]  # a lone surrogate escape


@pytest.mark.parametrize("raw", [b"{not json", b'{"texts": [1, 2', b"[1] 2", b"\xff\xfe{"])
def test_bad_json_raises_what_json_loads_raises(raw: bytes) -> None:
    with pytest.raises(ValueError) as expected:
        json.loads(raw)
    with pytest.raises(type(expected.value)) as raised:
        _parsed(raw)
    assert str(raised.value) == str(expected.value)


def test_every_route_with_a_body_parses_it_fast() -> None:
    with_body = []
    for module in pkgutil.iter_modules(memosys.server.routes.__path__):
        router = importlib.import_module(f"memosys.server.routes.{module.name}").router
        for route in router.routes:
            if isinstance(route, APIRoute) and route.body_field is not None:
                with_body.append(route.path)
                assert isinstance(route, JsonBodyRoute), route.path
    assert "/v1/memories/texts" in with_body and "/v1/search" in with_body
