"""Prometheus metrics, written by hand in the text exposition format.

Per route template (``/v1/memories/{id}``, never the raw path, so ids do not
become labels), method (one of :data:`METHODS`, else ``OTHER``: a client may send
any token as a method) and status: a request counter and a latency histogram; per
route and part, a histogram of the parts a request named in its
``Server-Timing`` (a search's ``turn`` and ``search``; see
:mod:`.server_timing`).
"""

from __future__ import annotations

import bisect
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memosys.lifecycle.jobs import process_alive
from memosys.server.http_middleware import HttpMiddleware
from memosys.server.server_timing import add_header, recorded

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"
SHARE_EVERY_S = 1.0  # how often a worker writes its counts for the others (--workers)
_DURATION = "memosys_http_request_duration_seconds"
_PART_DURATION = "memosys_http_request_part_duration_seconds"


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds

    def add(self, counts: list[int], total: float) -> None:
        self.counts = [mine + theirs for mine, theirs in zip(self.counts, counts, strict=True)]
        self.total += total


def _labels(**labels: str) -> str:
    escaped = (
        f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for key, value in labels.items()
    )
    return "{" + ",".join(escaped) + "}"


class Metrics:
    """Request counts and latencies, safe to update from many threads.

    With ``shared_dir`` (``serve --workers``: one folder for all the workers), the
    process's counts are also written there (:meth:`share`, every
    :data:`SHARE_EVERY_S` and at each render), and :meth:`render` sums every
    process's: a scrape reaches whichever worker accepts it, and each used to answer
    with its own counts only, so a counter went down and up from one scrape to the next.
    """

    def __init__(self, shared_dir: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latency: dict[tuple[str, str], _Histogram] = {}
        self._parts: dict[tuple[str, str, str], _Histogram] = {}
        self._in_flight = 0
        self._shared = shared_dir / f"{os.getpid()}.json" if shared_dir else None
        if self._shared is not None:
            threading.Thread(target=self._share_often, name="memosys-metrics-share",
                             daemon=True).start()

    def started(self) -> None:
        """One more request is being served."""
        with self._lock:
            self._in_flight += 1

    def observe(
        self, method: str, route: str, status: int, seconds: float,
        parts: list[tuple[str, float]],
    ) -> None:
        """Count one finished request (after :meth:`started`), with its named parts."""
        with self._lock:
            self._in_flight -= 1
            self._count(method, route, status, seconds)
            for part, part_seconds in parts:
                self._parts.setdefault((method, route, part), _Histogram()).observe(part_seconds)

    def unserved(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request that was answered before it reached the app (no
        :meth:`started`): a head that timed out, plain HTTP on the HTTPS port
        (:mod:`.unserved`)."""
        with self._lock:
            self._count(method, route, status, seconds)

    def _count(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        self._requests[key] = self._requests.get(key, 0) + 1
        self._latency.setdefault((method, route), _Histogram()).observe(seconds)

    def _state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "in_flight": self._in_flight,
                "requests": [[*key, count] for key, count in self._requests.items()],
                "latency": [[*key, h.counts, h.total] for key, h in self._latency.items()],
                "parts": [[*key, h.counts, h.total] for key, h in self._parts.items()],
            }

    def share(self) -> None:
        """Write this process's counts to the shared folder (if any), atomically."""
        if self._shared is None:
            return
        temporary = self._shared.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps(self._state()), encoding="utf-8")
            temporary.replace(self._shared)
        except OSError:  # the folder went away with the server: nothing to share with
            pass

    def _share_often(self) -> None:
        while True:
            time.sleep(SHARE_EVERY_S)
            self.share()

    def _states(self) -> list[dict[str, Any]]:
        """This process's counts, and those the other processes shared (a process that
        is gone keeps its counts, so the sums never go down; its in-flight count, 0)."""
        if self._shared is None:
            return [self._state()]
        self.share()
        states = []
        for file in sorted(self._shared.parent.glob("*.json")):
            try:
                state = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if file != self._shared and not process_alive(int(file.stem)):
                state["in_flight"] = 0
            states.append(state)
        return states

    def render(self) -> str:
        """The metrics in the Prometheus text format (summed over the processes that
        share them)."""
        in_flight = 0
        requests: dict[tuple[str, ...], int] = {}
        latency: dict[tuple[tuple[str, str], ...], _Histogram] = {}
        parts: dict[tuple[tuple[str, str], ...], _Histogram] = {}
        for state in self._states():
            in_flight += state["in_flight"]
            for *key, count in state["requests"]:
                requests[tuple(key)] = requests.get(tuple(key), 0) + count
            for (m, r, counts, total) in state["latency"]:
                latency.setdefault((("method", m), ("route", r)), _Histogram()).add(counts, total)
            for (m, r, p, counts, total) in state["parts"]:
                parts.setdefault((("method", m), ("route", r), ("part", p)),
                                 _Histogram()).add(counts, total)
        lines = [
            "# HELP memosys_http_requests_in_flight HTTP requests being served.",
            "# TYPE memosys_http_requests_in_flight gauge",
            f"memosys_http_requests_in_flight {in_flight}",
            "# HELP memosys_http_requests_total HTTP requests by method, route and status.",
            "# TYPE memosys_http_requests_total counter",
        ]
        for (method, route, status), count in sorted(requests.items()):
            labels = _labels(method=method, route=route, status=status)
            lines.append(f"memosys_http_requests_total{labels} {count}")
        lines += _histograms(_DURATION, "HTTP request latency.", latency)
        lines += _histograms(
            _PART_DURATION,
            "Parts of HTTP requests, as in their Server-Timing header (turn: waiting "
            "for a search turn; search: the search).",
            parts,
        )
        return "\n".join(lines) + "\n"


def _histograms(
    name: str, help_text: str, series: dict[tuple[tuple[str, str], ...], _Histogram]
) -> list[str]:
    """One histogram family: each series' cumulative buckets, sum and count."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for labels_of, hist in sorted(series.items()):
        cumulative = 0
        for bound, count in zip([*map(str, BUCKETS), "+Inf"], hist.counts, strict=True):
            cumulative += count
            lines.append(f"{name}_bucket{_labels(**dict(labels_of), le=bound)} {cumulative}")
        labels = _labels(**dict(labels_of))
        lines.append(f"{name}_sum{labels} {hist.total:.6f}")
        lines.append(f"{name}_count{labels} {cumulative}")
    return lines


class MetricsMiddleware(HttpMiddleware):
    """Time every HTTP request: count it under its route template, and say in its
    ``Server-Timing`` how long it took (``app``, after the parts its route named)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500
        self.metrics.started()

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                add_header(message, [*recorded(scope), ("app", time.perf_counter() - started)])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            elapsed = time.perf_counter() - started
            method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
            self.metrics.observe(method, route, status, elapsed, recorded(scope))
