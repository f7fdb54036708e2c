"""The request context: which request and which principal the current code acts for.

The server enters :func:`bind_request` around each request, and the CLI around
each command; audit records written inside it carry that request id and actor. Values live in
:mod:`contextvars`, so threads and tasks each see their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("memosys_request_id", default=None)
_actor: ContextVar[str | None] = ContextVar("memosys_actor", default=None)


@contextmanager
def bind_request(request_id: str, actor: str | None) -> Iterator[None]:
    """Act as ``actor`` within request ``request_id`` until the block ends (``None``:
    no signed-in principal, e.g. a command run by the data directory's operator)."""
    request_token = _request_id.set(request_id)
    actor_token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(actor_token)
        _request_id.reset(request_token)


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return _request_id.get()


def current_actor() -> str | None:
    """The user the current request is authenticated as, or None outside a request."""
    return _actor.get()
