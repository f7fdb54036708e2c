"""The run loop shared by the harnesses: open a store, ingest sessions, rank queries."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from memosys.eval.runner.measure import Timings

if TYPE_CHECKING:
    from memosys.api.local import MemOS

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "dense")
EVAL_USER = "eval"
Progress = Callable[[int, int], None]


@dataclass
class Session:
    """One conversation session ready for ``MemOS.add``."""

    session_id: str
    time: datetime | None
    messages: list[dict[str, Any]]


@dataclass
class QueryResult:
    """One evaluated question: its gold ids and the ranking each mode returned."""

    qid: str
    group: str
    question: str
    gold: list[str]
    ranked: dict[str, list[str]] = field(default_factory=dict)


@contextmanager
def open_store(data_dir: Path | None) -> Iterator[MemOS]:
    """A MemOS on ``data_dir``, or on a temporary directory removed afterwards."""
    from memosys.api.local import MemOS

    if data_dir is not None:
        with MemOS.open(data_dir) as mos:
            yield mos
        return
    with tempfile.TemporaryDirectory(prefix="memosys-eval-") as tmp, MemOS.open(tmp) as mos:
        yield mos


def ingest(mos: MemOS, cube: str, sessions: Sequence[Session], timings: Timings) -> int:
    """Create ``cube`` for the eval user and add every session; returns the message count."""
    mos.create_cube(cube, owner=EVAL_USER)
    count = 0
    for session in sessions:
        if not session.messages:
            continue
        with timings.time("ingest"):
            mos.add(
                session.messages,
                user_id=EVAL_USER,
                cube=cube,
                session_id=session.session_id,
                session_time=session.time,
            )
        count += len(session.messages)
    return count


def rank_modes(
    ranker: Callable[[Mode], list[str]], modes: Sequence[Mode], timings: Timings
) -> dict[str, list[str]]:
    """Run ``ranker`` once per mode, timing each call under ``search.<mode>``."""
    ranked: dict[str, list[str]] = {}
    for mode in modes:
        with timings.time(f"search.{mode}"):
            ranked[mode] = ranker(mode)
    return ranked
