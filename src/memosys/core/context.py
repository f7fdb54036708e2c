"""The request context: which request and which principal the current code acts for.

The server enters :func:`bind_request` around each request (as the principal
of its API key), and the CLI around each command (as :data:`OPERATOR_ACTOR`,
the person holding the data directory); audit records written inside it carry
that request id and actor. Values live in :mod:`contextvars`, so threads and
tasks each see their own.

Every record of who changed something (an audit record's actor, the author of
an item's version, who took a snapshot or granted a share) is decided by
:func:`acting_user`, so that they all name the same one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: User ids starting with this are kept for actors that are not users.
SYSTEM_ACTOR_PREFIX = "@"
#: The actor of CLI commands: whoever holds the data directory, signed in as no user.
OPERATOR_ACTOR = "@operator"

_request_id: ContextVar[str | None] = ContextVar("memosys_request_id", default=None)
_actor: ContextVar[str | None] = ContextVar("memosys_actor", default=None)


@contextmanager
def bind_request(request_id: str, actor: str | None) -> Iterator[None]:
    """Act as ``actor`` within request ``request_id`` until the block ends (``None``:
    no one in particular; each change is then made by the user it is for)."""
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


def acting_user(subject: str) -> str:
    """Who makes a change done for ``subject``: the request's actor (the principal of
    its API key; :data:`OPERATOR_ACTOR` in a CLI command), else (a library call, a
    background job) ``subject`` itself."""
    return _actor.get() or subject
