"""A limiter of failed authentication attempts, per client, over a sliding window.

The failures live in the store (:class:`FailureLog`), so every process
serving one data directory enforces one limit. A valid key from a client
with no failures in the window is let in on a read alone (the common case,
so sign-ins do not queue for a lock). Every other attempt is decided
atomically: the client's failures are counted, the key verified and the
outcome recorded under the log's write lock, so attempts that arrive
together cannot all pass the count before any of them is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from memosys.core.clock import Clock
from memosys.core.errors import RateLimitedError

T = TypeVar("T")


class ClientFailures(Protocol):
    """One client's failed attempts, inside the write transaction that holds them."""

    def recent(self, since: datetime, limit: int) -> list[datetime]:
        """The newest failures after ``since``, newest first, at most ``limit``."""
        ...

    def add(self, at: datetime, forget_before: datetime) -> None:
        """Count a failure at ``at``; drop every failure at or before ``forget_before``
        (of any client)."""
        ...


class FailureLog(Protocol):
    """Where failed attempts are counted (shared by every process on the store)."""

    def has_failures(self, client: str, since: datetime) -> bool:
        """Whether ``client`` failed after ``since`` (a read, without the write lock)."""
        ...

    def failures_locked(self, client: str) -> AbstractContextManager[ClientFailures]:
        """The failures of ``client`` in one write transaction (serialised across
        processes): what the block reads and writes commits together."""
        ...


class FailureLimiter:
    """Refuses a client after ``max_failures`` failures within ``window_s`` seconds.

    A refused client may try again once the oldest of those failures leaves
    the window. A success does not clear the count: else a client holding one
    valid key could interleave it with guesses and never be limited. While
    limited, a client is refused even with a valid key (telling valid from
    invalid would let the guessing go on), so clients behind one address share
    the limit: name the proxies that set X-Forwarded-For with ``--trusted-proxies``.
    """

    def __init__(self, log: FailureLog, max_failures: int, window_s: float, clock: Clock) -> None:
        self._log = log
        self._max = max_failures
        self._window = timedelta(seconds=window_s)
        self._clock = clock

    def attempt(self, client: str, verify: Callable[[], T | None]) -> T | None:
        """``verify()`` for ``client``, counted: a None result is a failure.

        :class:`RateLimitedError` (and ``verify`` is not called) when the
        client already has ``max_failures`` failures in the window.
        """
        now = self._clock.now()
        if not self._log.has_failures(client, now - self._window):
            result = verify()
            if result is not None:
                return result  # nothing to count
        with self._log.failures_locked(client) as failures:
            recent = failures.recent(now - self._window, self._max)
            if len(recent) >= self._max:
                raise self._refusal(client, oldest=recent[-1], now=now)
            result = verify()
            if result is None:
                failures.add(now, now - self._window)
        return result

    def _refusal(self, client: str, *, oldest: datetime, now: datetime) -> RateLimitedError:
        retry_after = max((oldest + self._window - now).total_seconds(), 0.0)
        return RateLimitedError(
            f"too many failed authentication attempts from {client!r}; "
            f"retry in {retry_after:.0f}s with a valid API key",
            detail={"client": client, "retry_after_s": retry_after},
        )
