"""Path parameters that may hold any text, ``/`` and ``%`` included.

The HTTP server decodes the path before routing, so a value sent as
``a%2Fb`` would split into two segments. :class:`SegmentRoute` matches the
path as it was sent, each segment decoded but for ``/`` and ``%`` (kept as
``%2F`` and ``%25``), and decodes its path parameters after the match. A
client sends a value as ``quote(value, safe="")``, with a ``.`` or ``..``
segment as ``%2E`` or ``%2E%2E`` so that no URL library resolves it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from starlette.routing import Match
from starlette.types import Scope

from memosys.server.json_bodies import JsonBodyRoute


def _segment_as_sent(raw: bytes) -> str:
    text = unquote_to_bytes(raw).decode("utf-8", "replace")
    return text.replace("%", "%25").replace("/", "%2F")


def path_as_sent(scope: Scope) -> str:
    """The request path with ``/`` and ``%`` inside a segment still encoded
    (the decoded path where the server gives no ``raw_path`` that matches it)."""
    path: str = scope["path"]
    raw = scope.get("raw_path")
    if not raw:
        return path
    kept = "/".join(_segment_as_sent(part) for part in raw.split(b"/"))
    return kept if unquote(kept) == path else path


class SegmentRoute(JsonBodyRoute):
    """A route whose path parameters may contain ``/`` (sent as ``%2F``), and whose JSON
    body is parsed fast (:mod:`.json_bodies`)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches({**scope, "path": path_as_sent(scope)})
        params: dict[str, Any] | None = child.get("path_params")
        if params is not None:
            child["path_params"] = {
                name: unquote(value) if name in self.param_convertors else value
                for name, value in params.items()
            }
        return match, child
