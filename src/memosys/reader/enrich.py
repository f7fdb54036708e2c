"""Deterministic enrichment: keywords, entities and resolved time expressions."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from memosys.core.items import TimeRef
from memosys.reader.entities import extract_entities
from memosys.reader.keywords import extract_keywords
from memosys.reader.timeexpr import find_time_refs


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What :func:`analyse` finds in one text."""

    keywords: list[str]
    entities: list[str]
    time_refs: list[TimeRef]


def analyse(
    text: str,
    reference_time: datetime | None,
    known: Collection[str] = (),
    parts: Sequence[tuple[str, datetime | None]] = (),
) -> Enrichment:
    """Keywords, entities and time expressions of ``text``.

    Relative expressions ("yesterday") resolve against ``reference_time``;
    without one only self-contained dates are kept. A text written at several
    times (a window of messages) gives its ``parts`` instead, each with the
    time it was written: the expressions of each part resolve against its own
    time, and the text's are theirs, each once, in order. ``known`` names count
    as entities even at the start of a sentence (see :mod:`memosys.reader.entities`).
    """
    if parts:
        found = (ref for part, when in parts for ref in find_time_refs(part, when))
        time_refs = list(dict.fromkeys(found))
    else:
        time_refs = find_time_refs(text, reference_time)
    return Enrichment(
        keywords=extract_keywords(text),
        entities=extract_entities(text, known),
        time_refs=time_refs,
    )

