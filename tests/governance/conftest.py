"""Fixtures for governance tests: a MemOS on a real data directory with a movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from memosys import MemOS
from memosys.core.clock import FixedClock

START = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def mos(data_dir: Path, embedder: Any, clock: FixedClock) -> Iterator[MemOS]:
    with MemOS.open(data_dir, embedder=embedder, clock=clock) as opened:
        yield opened
