"""Fixtures for the reader tests: a fixed clock on a Wednesday, default settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from memosys.core.clock import FixedClock
from memosys.core.items import MemoryItem
from memosys.reader.messages import read_messages
from memosys.settings import ReaderSettings

WEDNESDAY = datetime(2023, 5, 10, 14, 0, tzinfo=UTC)


class CountingClock(FixedClock):
    """A fixed clock that counts how often it was asked (items are built after asking)."""

    def __init__(self, at: datetime) -> None:
        super().__init__(at)
        self.calls = 0

    def now(self) -> datetime:
        self.calls += 1
        return super().now()


@pytest.fixture
def clock() -> CountingClock:
    return CountingClock(WEDNESDAY)


@pytest.fixture
def read(clock: CountingClock) -> Any:
    """``read_messages`` with defaults for everything but the messages."""

    def call(messages: Any, **overrides: Any) -> list[MemoryItem]:
        args: dict[str, Any] = {
            "user_id": "alice",
            "cube_id": "cube-1",
            "session_id": "s1",
            "session_time": None,
            "metadata": None,
            "tags": None,
            "start_position": 0,
            "settings": ReaderSettings(),
            "clock": clock,
        }
        args.update(overrides)
        return read_messages(messages, **args)

    return call
