"""Who a request acts as: the Bearer API key names a principal.

Every ``/v1`` route depends on :func:`current_caller`. A ``user_id`` in a
request defaults to the principal's user; only an admin may name another
user, and anyone else gets 404 as if that user did not exist, so that user
ids do not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from memosys.api.cubes import checked_user_id
from memosys.core.context import bind_request
from memosys.core.errors import AuthenticationError, NotFoundError, PermissionDeniedError

if TYPE_CHECKING:
    from memosys.api.local import MemOS
    from memosys.governance.models import Principal
    from memosys.server.writers import WriterPool

P = ParamSpec("P")
T = TypeVar("T")

#: Where :mod:`.auth_first` leaves the principal it found, in the request's state.
EARLY_PRINCIPAL = "principal"

bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `memosys init`, `memosys user add` or POST /v1/keys.",
)


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of one request and the memory system it uses
    (adds go to ``writers`` when the server has write processes)."""

    mos: MemOS
    principal: Principal
    request_id: str
    writers: WriterPool | None = None

    def user(self, requested: str | None) -> str:
        """The user to act for: ``requested`` if the principal may, else NotFoundError
        (InvalidInputError for a malformed user id, as MemOS raises it)."""
        own = self.principal.user_id
        if requested is None:
            return own
        if requested == own or self.principal.admin:
            return requested
        checked_user_id(requested)
        raise NotFoundError(f"user {requested!r} not found", detail={"user_id": requested})

    def user_or_all(self, requested: str | None) -> str | None:
        """None (the whole store) for an admin who names no user, else :meth:`user`."""
        if requested is None and self.principal.admin:
            return None
        return self.user(requested)

    def require_admin(self) -> None:
        """Refuse the request unless the principal is an admin."""
        if not self.principal.admin:
            raise PermissionDeniedError(
                "only an admin may do this; use an admin API key (see `memosys init`)"
            )

    def run(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call a MemOS method inside this request's audit context."""
        with bind_request(self.request_id, self.principal.user_id):
            return call(*args, **kwargs)

    def write(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call the MemOS add method named ``method`` in a write process, if the server
        has them (:mod:`memosys.server.writers`), else here; in this request's audit
        context either way."""
        if self.writers is None:
            return self.run(getattr(self.mos, method), *args, **kwargs)
        return self.writers.run(method, self.request_id, self.principal.user_id, *args, **kwargs)

    def run_body(
        self, call: Callable[..., T], body: BaseModel, *positional: str, user: str = "user_id"
    ) -> T:
        """Call a MemOS method with a request body's fields as its arguments.

        ``positional`` fields go first, in order; the ``user`` field is checked
        with :meth:`user` (a body names the user it acts for in that field).
        """
        return self.run_values(call, body.model_dump(), *positional, user=user)

    def run_values(
        self, call: Callable[..., T], values: dict[str, Any], *positional: str,
        user: str = "user_id",
    ) -> T:
        """:meth:`run_body` with the body's fields as a dict (changed by the route)."""
        args, kwargs = self._arguments(values, positional, user)
        return self.run(call, *args, **kwargs)

    def write_body(self, method: str, body: BaseModel, *positional: str) -> Any:
        """:meth:`write` with a request body's fields as the arguments (see :meth:`run_body`)."""
        return self.write_values(method, body.model_dump(), *positional)

    def write_values(self, method: str, values: dict[str, Any], *positional: str) -> Any:
        """:meth:`write_body` with the body's fields as a dict (changed by the route)."""
        args, kwargs = self._arguments(values, positional, "user_id")
        return self.write(method, *args, **kwargs)

    def _arguments(
        self, values: dict[str, Any], positional: tuple[str, ...], user: str
    ) -> tuple[list[Any], dict[str, Any]]:
        values = dict(values)
        values[user] = self.user(values[user])
        return [values.pop(name) for name in positional], values


KeyDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def current_caller(request: Request, credentials: KeyDep) -> Caller:
    """Authenticate the request's Bearer key (repeated failures are rate-limited), unless
    :mod:`.auth_first` did before its body was read.

    ``credentials`` declares the scheme in the OpenAPI schema; the header is read
    whole, to say what is wrong with a malformed one.
    """
    del credentials
    mos: MemOS = request.app.state.mos
    principal = getattr(request.state, EARLY_PRINCIPAL, None)
    if principal is None:
        client = request.client.host if request.client else "unknown"
        principal = authenticate(mos, request.headers.get("authorization", ""), client)
    return Caller(mos, principal, request.state.request_id, request.app.state.writers)


def authenticate(mos: MemOS, authorization: str, client: str) -> Principal:
    """The principal of an ``Authorization: Bearer <key>`` header's key, for ``client``
    (its address); AuthenticationError names what is wrong with a malformed header."""
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        if scheme:  # its value is a secret: only its scheme is named
            named = scheme if key or scheme.lower() == "bearer" else "none"
            problem = "no key after it" if not key and named != "none" else "not 'Bearer'"
            raise AuthenticationError(
                f"malformed Authorization header (scheme {named[:20]!r}, {problem}); "
                "send the header 'Authorization: Bearer <api key>'"
            )
        raise AuthenticationError(
            "missing API key; send the header 'Authorization: Bearer <api key>'"
        )
    return mos.authenticate(key, client=client)


CallerDep = Annotated[Caller, Depends(current_caller)]
