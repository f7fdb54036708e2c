"""Shared helpers of the activation tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memosys import MemOS
from memosys.core.clock import FixedClock
from memosys.settings import load_settings

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FACTS = [
    "Alice likes green tea with honey.",
    "Bob moved to Oslo in 2021 and works as a nurse.",
    "Carol plays chess every Tuesday evening.",
    "Dan is allergic to peanuts.",
]


def open_mos(path: Path | str, embedder: Any, clock: FixedClock, **activation: Any) -> MemOS:
    """A MemOS on ``path`` with activation settings (tiny model unless overridden)."""
    settings = load_settings(activation={"model": "tiny-llama", **activation})
    return MemOS.open(path, settings=settings, embedder=embedder, clock=clock)
