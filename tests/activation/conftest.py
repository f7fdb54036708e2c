"""A MemOS whose activation memory uses the tiny random Llama by default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.activation.support import FACTS, START, open_mos

from memosys import MemOS
from memosys.core.clock import FixedClock


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def mos(tmp_path: Path, embedder: Any, clock: FixedClock, tiny_lm: Any) -> Iterator[MemOS]:
    with open_mos(tmp_path / "data", embedder, clock) as opened:
        yield opened


@pytest.fixture
def fact_ids(mos: MemOS) -> list[str]:
    return [item.id for item in mos.add_texts(FACTS, user_id="ann", kind="fact")]
