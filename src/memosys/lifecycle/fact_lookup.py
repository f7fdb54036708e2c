"""Questions about a slot ("Where do I live now?") lead with the current fact.

:func:`asked_slot` reads which subject and slot a question asks about, with
a small lexicon that mirrors :mod:`.slots`. :func:`lead_with_current_facts`
then puts the memories that currently state that slot (found through the
slot-key index, so only current, visible memories that match the caller's
filter) at the top of the hits. Search ranks by wording; this step makes
the answer that is true *now* come first even when an older statement of
the same slot is worded more like the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memosys.core.filters import Filter, In, combine
from memosys.core.results import Explain, SearchHit
from memosys.lifecycle.slot_grammar import PETS
from memosys.lifecycle.slots import KINDS, SlotFact
from memosys.lifecycle.supersede import CURRENT_STATES, fact_time, slot_key
from memosys.lifecycle.upkeep import upkeep_of
from memosys.stores.base import Scope, Store

_ME = r"(?P<me>I|me|my)"
_WHO = r"(?P<who>[A-Z][a-z]+(?: [A-Z][a-z]+)?)"
_SUBJ = rf"(?:{_ME}|{_WHO})"
_POSS = rf"(?:(?P<me>my)|{_WHO}['’]s)"
_DO = r"(?:do|does|did)"

QUESTIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (slot, re.compile(pattern, re.IGNORECASE))
    for slot, pattern in (
        ("residence", rf"\bwhere {_DO} {_SUBJ} (?:currently |now )?(?:live|reside|stay)\b"),
        ("residence", rf"\bwhere (?:am|is) {_SUBJ} (?:living|based)\b"),
        ("residence", rf"\b(?:which|what) (?:city|town|country) {_DO} {_SUBJ} live in\b"),
        ("residence", rf"\bwhere {_DO} {_SUBJ} move(?:d)? to\b"),
        ("employer", rf"\b(?:which|what) (?:company|firm) {_DO} {_SUBJ} work (?:for|at)\b"),
        ("employer", rf"\bwhere {_DO} {_SUBJ} work\b"),
        ("employer", rf"\bwho {_DO} {_SUBJ} work for\b"),
        ("employer", rf"\bwho is {_POSS} employer\b"),
        ("job", rf"\bwhat is {_POSS} (?:job title|job|role|position|title)\b"),
        ("job", rf"\bwhat {_DO} {_SUBJ} do for (?:work|a living)\b"),
        ("car", rf"\bwhat (?:car|vehicle) {_DO} {_SUBJ} (?:drive|have|own)\b"),
        ("car", rf"\bwhat is {_POSS} car\b"),
        ("partner", rf"\bwho is {_POSS} (?:girlfriend|boyfriend|partner|wife|husband|spouse)\b"),
        ("partner", rf"\bwho (?:am|is|are) {_SUBJ} dating\b"),
        ("age", rf"\bhow old (?:am|is) {_SUBJ}\b"),
        # "number" alone only at the end: not "John's number one goal"
        ("phone_number",
         rf"\bwhat is {_POSS} (?:(?:phone|mobile|cell) number\b|number\s*(?:\?|$))"),
        ("email", rf"\bwhat is {_POSS} e-?mail\b"),
        ("favourite", rf"\bwhat is {_POSS} (?:favou?rite|fave) (?P<kind>[a-z]+(?: [a-z]+)?)\b"),
        ("pet", rf"\bwhat is {_POSS} (?P<kind>{PETS})(?:['’]s name| called| named)\b"),
        ("pet", rf"\bwhat is the name of {_POSS} (?P<kind>{PETS})\b"),
    )
)
#: how far a current fact is put above the best hit (the explain's ``current_fact``
#: adjustment says how much that added to the fact's own score)
LEAD = 1.0


def asked_slot(question: str, asker: str = "user") -> SlotFact | None:
    """The subject and slot a question asks about (``value`` empty), if any.

    "I"/"my" in the question stand for ``asker``.
    """
    for slot, pattern in QUESTIONS:
        match = pattern.search(question)
        if match is None:
            continue
        groups = match.groupdict()
        subject = asker.lower() if groups.get("me") else (groups.get("who") or "").lower()
        kind = groups.get("kind")
        if kind:
            kind = kind.lower()
            slot = f"{slot}:{KINDS.get(kind, kind)}"
        return SlotFact(subject, slot, "") if subject else None
    return None


def lead_with_current_facts(
    store: Store, scope: Scope, query: str, filters: Filter | None, hits: Sequence[SearchHit],
    top_k: int | None,
) -> list[SearchHit]:
    """``hits`` with the memories currently stating the asked slot first (newest first),
    cut to ``top_k`` (None: keep them all, e.g. when neighbours were added).

    "I" in the question is the asking user: the facts of speaker ``user`` and those
    of a speaker named like the user's id (a message ``{"name": "Ana"}`` of user
    ``ana`` states Ana's facts).
    """
    asked = asked_slot(query)
    if asked is None:
        return list(hits)
    subjects = {asked.subject}
    if asked.subject == "user":
        subjects.add(scope.user_id.lower())
    keys = [slot_key(SlotFact(subject, asked.slot, "")) for subject in sorted(subjects)]
    groups = upkeep_of(store).slot_groups(scope, keys, CURRENT_STATES)
    group = [item for key in keys for item in groups.get(key, [])]
    if not group:
        return list(hits)
    ids = [item.id for item in group]
    allowed = {i.id: i for i in store.list_items(scope, combine(In("id", tuple(ids)), filters),
                                                 len(ids), 0, "created_at")}
    facts = sorted(allowed.values(), key=fact_time, reverse=True)
    if not facts:
        return list(hits)
    top = max((h.score for h in hits), default=0.0) + LEAD
    existing = {h.item.id: h for h in hits}
    lead = []
    for rank, item in enumerate(facts):
        found = existing.get(item.id)
        explain = found.explain if found is not None else Explain()
        score = top - rank * 1e-3
        # what the lead added to this hit's own score (0 when search had not found it), so
        # that the score is still its base plus its adjustments
        raised = score - (found.score if found is not None else 0.0)
        adjustments = {**explain.adjustments, "current_fact": raised}
        lead.append(SearchHit(
            item=item, score=score,
            explain=explain.model_copy(update={"adjustments": adjustments}),
        ))
    rest = [h for h in hits if h.item.id not in allowed]
    ranked = [*lead, *rest]
    return ranked if top_k is None else ranked[:top_k]
