"""A limiter of failed authentication attempts, per client, over a sliding window."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

from memosys.core.clock import Clock
from memosys.core.errors import RateLimitedError

MAX_TRACKED_CLIENTS = 10_000


class FailureLimiter:
    """Refuses a client after ``max_failures`` failures within ``window_s`` seconds.

    A refused client may try again once its oldest counted failure leaves the
    window; a success clears its count. State is per process.
    """

    def __init__(self, max_failures: int, window_s: float, clock: Clock) -> None:
        self._max = max_failures
        self._window = timedelta(seconds=window_s)
        self._clock = clock
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Raise :class:`RateLimitedError` if ``client`` has failed too often lately."""
        now = self._clock.now()
        with self._lock:
            recent = self._recent(client, now)
            if len(recent) < self._max:
                return
            retry_after = (recent[0] + self._window - now).total_seconds()
        raise RateLimitedError(
            f"too many failed authentication attempts from {client!r}; "
            f"retry in {max(retry_after, 0.0):.0f}s with a valid API key",
            detail={"client": client, "retry_after_s": max(retry_after, 0.0)},
        )

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        now = self._clock.now()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED_CLIENTS:
                self._forget_idle(now)
            self._recent(client, now).append(now)

    def succeeded(self, client: str) -> None:
        """Clear the failures of ``client``."""
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str, now: datetime) -> deque[datetime]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def _forget_idle(self, now: datetime) -> None:
        cutoff = now - self._window
        idle = [c for c, times in self._failures.items() if not times or times[-1] <= cutoff]
        for client in idle:
            del self._failures[client]
