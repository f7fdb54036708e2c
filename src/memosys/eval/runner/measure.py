"""Timing and memory measurement for the harnesses and benchmarks."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from memosys.core.errors import missing_dependency
from memosys.eval.metrics import percentile


@dataclass
class Timings:
    """Wall-clock samples (seconds) grouped by name, e.g. ``ingest`` or ``search.hybrid``."""

    samples: dict[str, list[float]] = field(default_factory=dict)

    @contextmanager
    def time(self, name: str) -> Iterator[None]:
        """Record how long the ``with`` body takes under ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.samples.setdefault(name, []).append(time.perf_counter() - start)

    def total(self, name: str) -> float:
        """Sum of the samples recorded under ``name`` (seconds)."""
        return sum(self.samples.get(name, []))

    def latency_ms(self, name: str) -> dict[str, float]:
        """Count, p50, p95, mean and max of the samples under ``name``, in milliseconds."""
        values = [s * 1000.0 for s in self.samples.get(name, [])]
        return {
            "count": float(len(values)),
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "mean_ms": sum(values) / len(values) if values else 0.0,
            "max_ms": max(values, default=0.0),
        }


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    try:
        import resource
    except ImportError:  # Windows: no resource module
        try:
            import psutil
        except ImportError as exc:
            raise missing_dependency("psutil", "eval") from exc
        info = psutil.Process().memory_info()
        return float(getattr(info, "peak_wset", info.rss)) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
