"""The one error tree of memosys.

Every public entry point raises a subclass of :class:`MemosysError`; library
errors (sqlite3, onnxruntime, httpx, ...) are translated at the boundary.
Each class carries an HTTP ``status`` and a stable ``name`` so that a remote
client can re-raise the same class the server raised::

    MemosysError                      500
    ├── InvalidInputError             422  bad arguments or payload
    │   ├── EmptyInputError           422
    │   ├── InputTooLargeError        413
    │   ├── RequestTimeoutError       408  a request head or body arrived too slowly
    │   ├── PlainHttpError            400  plain HTTP sent to the HTTPS port
    │   ├── EncodingError             422  content is not valid UTF-8
    │   └── UnknownFilterFieldError   422
    ├── AuthenticationError           401  missing, unknown or revoked API key
    ├── PermissionDeniedError         403  the caller may read but not change this
    ├── NotFoundError                 404  missing, or not visible to the caller
    ├── ConflictError                 409
    │   ├── EmbedderMismatchError     409  cube built with another embedder
    │   ├── IllegalTransitionError    409  a lifecycle state change that is not allowed
    │   ├── FrozenError               409  the memory is frozen
    │   ├── StaleError                409  a cache or adapter no longer matches its sources
    │   └── ModelMismatchError        409  a cache or adapter built for another model
    ├── RateLimitedError              429  too many failed attempts; retry later
    ├── ConfigurationError            500
    │   └── MissingDependencyError    500  an optional extra is not installed
    ├── StoreError                    500
    │   ├── LockTimeoutError          503  another writer held the lock too long
    │   ├── ServerStoppedError        503  the server was stopped before it answered
    │   └── MigrationError            500  schema history does not match
    ├── EmbedderError                 502  the embedding model or its upstream service failed
    ├── ServerUnreachableError        503  RemoteMemOS could not send the request
    └── ResponseLostError             504  RemoteMemOS sent it and got no answer
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar


class MemosysError(Exception):
    """Base class of every error memosys raises on purpose."""

    status: ClassVar[int] = 500

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail: dict[str, Any] = detail or {}

    @classmethod
    def error_name(cls) -> str:
        """Stable name used on the wire (the class name)."""
        return cls.__name__

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of this error: ``{error, message, detail}``."""
        return {"error": self.error_name(), "message": self.message, "detail": self.detail}


class InvalidInputError(MemosysError):
    """An argument or payload is malformed or of the wrong type."""

    status = 422


class EmptyInputError(InvalidInputError):
    """Nothing to store: empty message list or blank content."""


class InputTooLargeError(InvalidInputError):
    """A message, document or batch is over a configured limit."""

    status = 413


class RequestTimeoutError(InvalidInputError):
    """A request's head or body did not arrive within the server's time for it."""

    status = 408


class PlainHttpError(InvalidInputError):
    """A plain-HTTP request on a port that serves HTTPS."""

    status = 400


class EncodingError(InvalidInputError):
    """Content is not valid UTF-8 text."""


class UnknownFilterFieldError(InvalidInputError):
    """A filter names a field that items do not have."""


class NotFoundError(MemosysError):
    """The item, cube or user does not exist or is not visible to the caller."""

    status = 404


class AuthenticationError(MemosysError):
    """The API key is missing, unknown or revoked."""

    status = 401


class PermissionDeniedError(MemosysError):
    """The caller can see the target but may not do this to it (e.g. a read-only share)."""

    status = 403


class RateLimitedError(MemosysError):
    """Too many requests or failed attempts from one client; retry later."""

    status = 429


class ConflictError(MemosysError):
    """The request conflicts with the current state."""

    status = 409


class VersionConflictError(ConflictError):
    """A memory changed since the version a change was made from."""


class EmbedderMismatchError(ConflictError):
    """A cube was built with another embedder than the one configured."""


class IllegalTransitionError(ConflictError):
    """A lifecycle state change that the state machine does not allow."""


class FrozenError(ConflictError):
    """The memory is frozen: its owner must unfreeze it before it can change."""


class StaleError(ConflictError):
    """A KV cache or adapter no longer matches the memories it was built from."""


class ModelMismatchError(ConflictError):
    """A KV cache or adapter was built for another model than the one given."""


class ConfigurationError(MemosysError):
    """The configuration is invalid or incomplete."""


class MissingDependencyError(ConfigurationError):
    """An optional package is needed; the message names the extra to install."""


class StoreError(MemosysError):
    """The storage backend failed."""


class LockTimeoutError(StoreError):
    """Another process held the write lock longer than the configured timeout."""

    status = 503


class ServerStoppedError(StoreError):
    """The server was stopped (a forced stop: a second Ctrl-C) before it answered the
    request: a write it carried may have been stored, so look it up before sending it
    again."""

    status = 503


class MigrationError(StoreError):
    """The database schema history does not match the shipped migrations."""


class EmbedderError(MemosysError):
    """The embedding model or its upstream HTTP service failed or answered badly."""

    status = 502


class ServerUnreachableError(MemosysError):
    """RemoteMemOS could not connect to the server (refused, unknown host, TLS failed):
    the request was not sent, so it is safe to send again."""

    status = 503


class ResponseLostError(MemosysError):
    """RemoteMemOS sent the request but no answer came (the time limit passed, or the
    connection broke): a write it carried may have been stored, so look it up before
    sending it again."""

    status = 504


def _all_subclasses(cls: type[MemosysError]) -> list[type[MemosysError]]:
    found: list[type[MemosysError]] = [cls]
    for sub in cls.__subclasses__():
        found.extend(_all_subclasses(sub))
    return found


def error_class(name: str) -> type[MemosysError]:
    """The error class with this wire name, or :class:`MemosysError` if unknown."""
    for cls in _all_subclasses(MemosysError):
        if cls.error_name() == name:
            return cls
    return MemosysError


def missing_dependency(package: str, extra: str) -> MissingDependencyError:
    """The error for an optional package that is not installed."""
    return MissingDependencyError(
        f"{package} is not installed; install it with: pip install 'memosys[{extra}]'",
        detail={"package": package, "extra": extra},
    )


def invalid_fields(errors: Iterable[Mapping[str, Any]], what: str) -> InvalidInputError:
    """The error for a failed pydantic validation of ``what`` (a request, a tool's
    arguments): it names the first bad field and its problem, and counts the others;
    ``detail["errors"]`` lists them all."""
    fields = [
        {"field": ".".join(str(part) for part in err.get("loc", ())) or what,
         "problem": err.get("msg", "")}
        for err in errors
    ]
    first = fields[0] if fields else {"field": what, "problem": "invalid"}
    message = f"invalid {what}: {first['field']}: {first['problem']}"
    if len(fields) > 1:
        message += f" (and {len(fields) - 1} more)"
    return InvalidInputError(message, detail={"errors": fields})


def version_conflict(id: str, version: int, expected: int) -> VersionConflictError:
    """The error for a change made from version ``expected`` of a memory now at ``version``."""
    return VersionConflictError(
        f"memory {id!r} is at version {version}, not {expected}; read it again and "
        "make the change from there",
        detail={"id": id, "version": version, "expected_version": expected},
    )


def memory_not_found(id: str) -> NotFoundError:
    """The error for a memory id that names no memory the caller may see."""
    return NotFoundError(f"memory {id!r} not found", detail={"id": id})
