"""LoCoMo: load the conversations and measure turn-level retrieval.

Each conversation goes into its own cube, one ``add`` call per session; every
question of categories 1-5 with evidence is searched and its retrieved turn
ids (``metadata["dia_id"]``) are scored against the evidence turns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
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

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
SCORED_CATEGORIES = (1, 2, 3, 4)
_SESSION_KEY = re.compile(r"session_(\d+)")
_EVIDENCE = re.compile(r"D:?(\d+):(\d+)")


@dataclass
class LocomoQuestion:
    """A QA item with its normalised evidence turn ids."""

    qid: str
    question: str
    category: int
    evidence: list[str]


@dataclass
class LocomoConversation:
    """One LoCoMo sample: its sessions and questions."""

    sample_id: str
    sessions: list[Session]
    questions: list[LocomoQuestion]
    dropped_evidence: list[str] = field(default_factory=list)

    @property
    def message_count(self) -> int:
        """Number of turns over all sessions."""
        return sum(len(s.messages) for s in self.sessions)


def parse_locomo_time(text: str) -> datetime:
    """Parse a session date such as ``"1:56 pm on 8 May, 2023"`` (naive, taken as UTC)."""
    try:
        return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y")
    except ValueError as exc:
        raise InvalidInputError(
            f"unrecognised LoCoMo session date {text!r}; expected e.g. '1:56 pm on 8 May, 2023'"
        ) from exc


def normalise_evidence(raw: Sequence[str]) -> list[str]:
    """Canonical ``D<session>:<turn>`` ids from raw evidence strings.

    ``"D8:6; D9:17"`` gives two ids, ``"D:11:26"`` gives ``"D11:26"``; pieces
    that name no turn (``"D"``) are dropped. Order is kept, duplicates removed.
    """
    found: dict[str, None] = {}
    for entry in raw:
        for piece in re.split(r"[;,\s]+", str(entry)):
            match = _EVIDENCE.fullmatch(piece.strip())
            if match:
                found[f"D{int(match[1])}:{int(match[2])}"] = None
    return list(found)


def turn_message(turn: dict[str, Any]) -> dict[str, Any]:
    """The ``MemOS.add`` message for one LoCoMo turn (photo captions appended)."""
    content = str(turn.get("text", ""))
    caption = turn.get("blip_caption")
    if caption:
        content = f"{content} [shares a photo: {caption}]"
    return {
        "role": "user",
        "name": turn["speaker"],
        "content": content,
        "metadata": {"dia_id": turn["dia_id"]},
    }


def _sessions(conversation: dict[str, Any]) -> list[Session]:
    numbers = sorted(
        int(m[1])
        for key, value in conversation.items()
        if (m := _SESSION_KEY.fullmatch(key)) and isinstance(value, list)
    )
    sessions = []
    for n in numbers:
        when = conversation.get(f"session_{n}_date_time")
        sessions.append(
            Session(
                session_id=f"session_{n}",
                time=parse_locomo_time(when) if when else None,
                messages=[
                    message
                    for turn in conversation[f"session_{n}"]
                    if (message := turn_message(turn))["content"].strip()
                ],
            )
        )
    return sessions


def _conversation(sample: dict[str, Any]) -> LocomoConversation:
    sample_id = str(sample["sample_id"])
    sessions = _sessions(sample["conversation"])
    known = {m["metadata"]["dia_id"] for s in sessions for m in s.messages}
    questions: list[LocomoQuestion] = []
    dropped: list[str] = []
    for index, qa in enumerate(sample.get("qa", [])):
        evidence = normalise_evidence(qa.get("evidence") or [])
        dropped.extend(e for e in evidence if e not in known)
        evidence = [e for e in evidence if e in known]
        if evidence:
            qid = f"{sample_id}/q{index}"
            questions.append(LocomoQuestion(qid, qa["question"], int(qa["category"]), evidence))
    return LocomoConversation(sample_id, sessions, questions, dropped)


def load_locomo(path: str | Path, indices: Sequence[int] | None = None) -> list[LocomoConversation]:
    """Load the LoCoMo samples at ``indices`` (all when None) from a ``locomo10.json``-style file.

    Questions without a usable evidence id are left out; evidence ids that
    name no turn of the conversation are dropped and listed in
    ``dropped_evidence``.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read LoCoMo file {path}: {exc}") from exc
    if not isinstance(data, list):
        raise InvalidInputError(f"{path} is not a LoCoMo file: expected a JSON list of samples")
    chosen = range(len(data)) if indices is None else indices
    for i in chosen:
        if not 0 <= i < len(data):
            raise InvalidInputError(f"conversation index {i} out of range 0-{len(data) - 1}")
    return [_conversation(data[i]) for i in chosen]


def cube_of(conv: LocomoConversation) -> str:
    """The cube a conversation is ingested into."""
    return f"locomo-{conv.sample_id}"


def superseded_turns(
    mos: MemOS, conversations: Sequence[LocomoConversation]
) -> dict[str, list[str]]:
    """The turns (dia ids) that knowledge-update detection superseded, per conversation.

    LoCoMo holds few true attribute updates, so these are mostly false
    supersessions: turns that default search no longer returns.
    """
    found: dict[str, list[str]] = {}
    for conv in conversations:
        items = mos.list(user_id=EVAL_USER, cube=cube_of(conv), filters={"state": "superseded"},
                         include_history=True, limit=10_000)
        if items:
            found[conv.sample_id] = [str(i.metadata.get("dia_id", i.id)) for i in items]
    return found


def run_locomo(
    mos: MemOS,
    conversations: Sequence[LocomoConversation],
    *,
    top_k: int,
    modes: Sequence[Mode],
    timings: Timings,
    progress: Progress | None = None,
) -> tuple[list[QueryResult], int]:
    """Ingest each conversation into a fresh cube and rank every question in every mode.

    Returns the per-question results (group = category label) and the number
    of messages ingested. ``progress(done, total)`` is called after each
    conversation.
    """
    results: list[QueryResult] = []
    messages = 0
    for done, conv in enumerate(conversations, start=1):
        cube = cube_of(conv)
        messages += ingest(mos, cube, conv.sessions, timings)
        for q in conv.questions:

            def ranker(mode: Mode, query: str = q.question, cube: str = cube) -> list[str]:
                hits = mos.search(query, user_id=EVAL_USER, cube=cube, top_k=top_k, mode=mode)
                return [str(h.item.metadata.get("dia_id", "")) for h in hits]

            group = f"{q.category} {CATEGORIES.get(q.category, 'unknown')}"
            result = QueryResult(q.qid, group, q.question, q.evidence)
            result.ranked = rank_modes(ranker, modes, timings)
            results.append(result)
        if progress is not None:
            progress(done, len(conversations))
    return results, messages
