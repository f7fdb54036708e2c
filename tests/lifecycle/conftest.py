"""The lifecycle tests' memory system: a real store in tmp_path on the test module's clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memosys import MemOS
from memosys.core.clock import FixedClock


@pytest.fixture
def mos(tmp_path: Path, embedder: Any, clock: FixedClock) -> Iterator[MemOS]:
    """MemOS on ``tmp_path`` with the shared embedder and the module's ``clock`` fixture."""
    with MemOS.open(tmp_path, embedder=embedder, clock=clock) as opened:
        yield opened
