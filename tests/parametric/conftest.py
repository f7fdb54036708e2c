"""Fixtures for parametric memory: a data directory with a few fact memories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memosys import MemOS
from memosys.parametric.train import TrainConfig

USER = "ana"
FACTS = [
    "The home city of Pousbrix Sorsin is Sterfou.",
    "The employer of Vourtai Lathim is Talquin Works.",
    "Kouto Dixsar's favourite dish is Titix.",
]


@pytest.fixture
def mos(tmp_path: Path, embedder: Any) -> Iterator[MemOS]:
    with MemOS.open(tmp_path / "data", embedder=embedder) as opened:
        yield opened


@pytest.fixture
def fact_ids(mos: MemOS) -> list[str]:
    return [item.id for item in mos.add_texts(FACTS, user_id=USER, kind="fact")]


@pytest.fixture(scope="session")
def fast() -> TrainConfig:
    """A few tiny training steps: the weights only have to differ from the base, not learn."""
    return TrainConfig(rank=4, steps=2, batch_size=4, replay_batch=1, replay_tokens=32, bf16=False)
