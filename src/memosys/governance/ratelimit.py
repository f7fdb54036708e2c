"""A limiter of failed authentication attempts, per client, over a sliding window.

The failures live in the store (:class:`FailureLog`), so every process
serving one data directory enforces one limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from memosys.core.clock import Clock
from memosys.core.errors import RateLimitedError


class FailureLog(Protocol):
    """Where failed attempts are counted (shared by every process on the store)."""

    def auth_failures(self, client: str, since: datetime, limit: int) -> list[datetime]:
        """The newest failures of ``client`` after ``since``, newest first, at most ``limit``."""
        ...

    def add_auth_failure(self, client: str, at: datetime, forget_before: datetime) -> None:
        """Count a failure of ``client`` at ``at``; drop every failure at or before
        ``forget_before`` (of any client)."""
        ...

    def clear_auth_failures(self, client: str) -> None:
        """Forget the failures of ``client``."""
        ...


class FailureLimiter:
    """Refuses a client after ``max_failures`` failures within ``window_s`` seconds.

    A refused client may try again once the oldest of those failures leaves
    the window; a success clears its count.
    """

    def __init__(self, log: FailureLog, max_failures: int, window_s: float, clock: Clock) -> None:
        self._log = log
        self._max = max_failures
        self._window = timedelta(seconds=window_s)
        self._clock = clock

    def check(self, client: str) -> int:
        """How many recent failures ``client`` has; :class:`RateLimitedError` if too many."""
        now = self._clock.now()
        recent = self._log.auth_failures(client, now - self._window, self._max)
        if len(recent) < self._max:
            return len(recent)
        retry_after = max((recent[-1] + self._window - now).total_seconds(), 0.0)
        raise RateLimitedError(
            f"too many failed authentication attempts from {client!r}; "
            f"retry in {retry_after:.0f}s with a valid API key",
            detail={"client": client, "retry_after_s": retry_after},
        )

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client`` (and drop failures older than the window)."""
        now = self._clock.now()
        self._log.add_auth_failure(client, now, now - self._window)

    def succeeded(self, client: str) -> None:
        """Clear the failures of ``client``."""
        self._log.clear_auth_failures(client)
