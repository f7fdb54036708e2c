"""LongMemEval: load instances and measure session-level retrieval.

Each instance's haystack goes into its own cube, one ``add`` call per
session; the question ranks the instance's sessions with
``search_sessions``. Abstention questions (``_abs``) are skipped, as the
official retrieval protocol does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memosys.core.errors import InvalidInputError
from memosys.eval.runner.harness import (
    EVAL_USER,
    Mode,
    Progress,
    QueryResult,
    Session,
    ingest,
    rank_modes,
)
from memosys.eval.runner.measure import Timings

if TYPE_CHECKING:
    from memosys.api.local import MemOS


@dataclass
class LongMemEvalInstance:
    """One question with its haystack sessions and answer session ids."""

    question_id: str
    question_type: str
    question: str
    sessions: list[Session]
    answer_session_ids: list[str]

    @property
    def message_count(self) -> int:
        """Number of turns over all haystack sessions."""
        return sum(len(s.messages) for s in self.sessions)


def parse_longmemeval_time(text: str) -> datetime:
    """Parse a haystack date such as ``"2023/05/30 (Tue) 23:40"`` (naive, taken as UTC)."""
    try:
        return datetime.strptime(text.strip(), "%Y/%m/%d (%a) %H:%M")
    except ValueError as exc:
        raise InvalidInputError(
            f"unrecognised LongMemEval date {text!r}; expected e.g. '2023/05/30 (Tue) 23:40'"
        ) from exc


def _instance(raw: dict[str, Any]) -> LongMemEvalInstance:
    ids, dates, sessions = (
        raw["haystack_session_ids"], raw["haystack_dates"], raw["haystack_sessions"]
    )
    if not len(ids) == len(dates) == len(sessions):
        raise InvalidInputError(
            f"instance {raw['question_id']}: haystack ids, dates and sessions differ in length"
        )
    return LongMemEvalInstance(
        question_id=str(raw["question_id"]),
        question_type=str(raw["question_type"]),
        question=str(raw["question"]),
        sessions=[
            Session(
                session_id=str(sid),
                time=parse_longmemeval_time(date),
                messages=[
                    {"role": t["role"], "content": t["content"]}
                    for t in turns
                    if str(t.get("content", "")).strip()
                ],
            )
            for sid, date, turns in zip(ids, dates, sessions, strict=True)
        ],
        answer_session_ids=[str(s) for s in raw["answer_session_ids"]],
    )


def load_longmemeval(
    path: str | Path, indices: Sequence[int] | None = None
) -> list[LongMemEvalInstance]:
    """Load the non-abstention instances of a LongMemEval file.

    Turns with blank content are left out (``MemOS.add`` rejects them).
    ``indices`` picks positions in the file (before ``_abs`` instances are
    skipped); None takes them all.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read LongMemEval file {path}: {exc}") from exc
    if not isinstance(data, list):
        raise InvalidInputError(f"{path} is not a LongMemEval file: expected a JSON list")
    chosen = range(len(data)) if indices is None else indices
    for i in chosen:
        if not 0 <= i < len(data):
            raise InvalidInputError(f"instance index {i} out of range 0-{len(data) - 1}")
    return [
        _instance(data[i]) for i in chosen if not str(data[i]["question_id"]).endswith("_abs")
    ]


def run_longmemeval(
    mos: MemOS,
    instances: Sequence[LongMemEvalInstance],
    *,
    top_k: int,
    modes: Sequence[Mode],
    timings: Timings,
    progress: Progress | None = None,
) -> tuple[list[QueryResult], int]:
    """Ingest each haystack into a fresh cube and rank its sessions in every mode.

    Returns the per-question results (group = question type) and the number
    of messages ingested. ``progress(done, total)`` is called after each
    instance.
    """
    results: list[QueryResult] = []
    messages = 0
    for done, inst in enumerate(instances, start=1):
        cube = f"lme-{inst.question_id}"
        messages += ingest(mos, cube, inst.sessions, timings)

        def ranker(mode: Mode, query: str = inst.question, cube: str = cube) -> list[str]:
            hits = mos.search_sessions(query, user_id=EVAL_USER, cube=cube, top_k=top_k, mode=mode)
            return [h.session_id for h in hits]

        result = QueryResult(
            inst.question_id, inst.question_type, inst.question, inst.answer_session_ids
        )
        result.ranked = rank_modes(ranker, modes, timings)
        results.append(result)
        if progress is not None:
            progress(done, len(instances))
    return results, messages
