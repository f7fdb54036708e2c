"""JSON request bodies parsed by pydantic-core's parser instead of the standard library's.

An add that sends its vectors as a list is mostly numbers: 20 texts with
384-dimensional vectors of 6 decimals make an 81 kB body, which ``json.loads``
parses in 1.4 ms and ``pydantic_core.from_json`` in 0.27 ms (2026-11-28, 2-core
AMD EPYC; ``benchmarks/request_bodies.py``), both holding the interpreter lock
and the event loop. The two give the same values (floats included); a body
that pydantic-core refuses is parsed again by ``json.loads``, so bad JSON gets
the same answer as before and what only the standard parser accepts (UTF-16, a
lone surrogate escape) still parses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic_core import from_json


class FastJsonRequest(Request):
    """A request whose :meth:`json` parses with pydantic-core."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = from_json(body)
            except ValueError:
                self._json = json.loads(body)  # its error, or what only it accepts
        return self._json


class JsonBodyRoute(APIRoute):
    """A route that reads its JSON body as a :class:`FastJsonRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_fast_json(request: Request) -> Response:
            return await handle(FastJsonRequest(request.scope, request.receive))

        return handle_fast_json
