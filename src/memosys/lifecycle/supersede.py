"""Knowledge updates: a newer statement about a subject's slot supersedes the older one.

"I moved to Berlin" after "I live in Paris": both state the speaker's
residence (:mod:`.slots`), the values differ, so the older memory becomes
``superseded``, its ``valid_to`` is the newer one's time, and the two are
linked both ways (``superseded_by`` / ``supersedes``). Detection is
deterministic: slot and subject matching through the slot-key index, then a
:class:`ConflictJudge` looks at each pair with the similarity of their
vectors. :class:`RuleJudge` is the default; a judge backed by an LLM plugs in
through the same protocol.

:class:`Superseder` subscribes to the facade's change events, so every add
and content update is checked without touching the write path.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from memosys.core.clock import Clock
from memosys.core.errors import VersionConflictError
from memosys.core.events import ChangeEvents, ChangeKind, MemoryChange
from memosys.core.filters import Eq
from memosys.core.items import LifecycleState, MemoryItem, MemoryType
from memosys.lifecycle.jobs import JOB_ACTOR, JobContext
from memosys.lifecycle.slots import SlotFact, extract_facts
from memosys.lifecycle.states import in_state
from memosys.lifecycle.upkeep import ItemChanges, upkeep_of
from memosys.models.embedders.base import Embedder
from memosys.stores.base import Scope, Store

#: States whose facts are current: only these can be superseded or supersede.
CURRENT_STATES = (LifecycleState.GENERATED.value, LifecycleState.ACTIVATED.value)
PAGE = 500
RETRIES = 5  # times a change is looked at again when a memory it read changed meanwhile


class Verdict(StrEnum):
    """What a judge decides about an older and a newer statement of one slot."""

    SUPERSEDES = "supersedes"  # the newer replaces the older
    SAME = "same"  # both say the same: the older stays current
    UNRELATED = "unrelated"  # not the same fact after all: both stay current


@dataclass(frozen=True)
class ConflictPair:
    """Two memories stating the same subject and slot, oldest first."""

    older: MemoryItem
    newer: MemoryItem
    older_fact: SlotFact
    newer_fact: SlotFact
    similarity: float  # cosine similarity of the two memories' vectors


class ConflictJudge(Protocol):
    """Decides whether a newer memory supersedes an older one (e.g. rules or an LLM)."""

    def judge(self, pair: ConflictPair) -> Verdict: ...


@dataclass(frozen=True)
class RuleJudge:
    """Different values supersede, equal values are the same fact.

    A pair less similar than ``min_similarity`` is ``unrelated``: the slot
    pattern matched, but the two memories talk about different things.
    """

    min_similarity: float = 0.1

    def judge(self, pair: ConflictPair) -> Verdict:
        if pair.older_fact.value == pair.newer_fact.value:
            return Verdict.SAME
        if pair.similarity < self.min_similarity:
            return Verdict.UNRELATED
        return Verdict.SUPERSEDES


@dataclass(frozen=True)
class Link:
    """``old`` is superseded by ``new``."""

    old: str
    new: str


Similarity = Callable[[MemoryItem, MemoryItem], float]


def first_person(item: MemoryItem) -> str:
    """Who "I" is in an item: its speaker, else its role ("user" by default)."""
    if item.speaker:
        return item.speaker.lower()
    return "assistant" if item.role == "assistant" else "user"


def facts_of(item: MemoryItem) -> list[SlotFact]:
    """The slot facts a textual memory states."""
    if item.type != MemoryType.TEXTUAL:
        return []
    return extract_facts(item.content, first_person(item))


def slot_key(fact: SlotFact) -> str:
    """The index key of a fact's subject and slot (a hash: no content in the index)."""
    return hashlib.sha256(f"{fact.subject}\x1f{fact.slot}".encode()).hexdigest()[:24]


def fact_time(item: MemoryItem) -> datetime:
    """When a memory's fact started to hold: valid_from, else event time, else creation."""
    return item.valid_from or item.event_time or item.created_at


def plan_links(
    group: Sequence[MemoryItem], key: str, judge: ConflictJudge, similarity: Similarity
) -> list[Link]:
    """Which items of one slot group supersede which, walking them in time order.

    ``group`` is in storage order, which breaks ties between equal times.
    Each item supersedes the current items the judge says it replaces; the
    ones it finds the same or unrelated stay current beside it.
    """
    ordered = sorted(enumerate(group), key=lambda pair: (fact_time(pair[1]), pair[0]))
    current: list[tuple[MemoryItem, SlotFact]] = []
    links: list[Link] = []
    for _, item in ordered:
        fact = next((f for f in facts_of(item) if slot_key(f) == key), None)
        if fact is None:
            continue
        verdicts = [
            judge.judge(ConflictPair(old, item, old_fact, fact, similarity(old, item)))
            for old, old_fact in current
        ]
        replaced = [old for (old, _), v in zip(current, verdicts, strict=True)
                    if v is Verdict.SUPERSEDES]
        links.extend(Link(old.id, item.id) for old in replaced)
        current = [(old, f) for old, f in current if old not in replaced] + [(item, fact)]
    return links


def _stating(change: MemoryChange) -> Sequence[str]:
    """The added memories that may state a fact: all of them, unless the change carries
    them as written, when only those that do (the others have no slot keys to index)."""
    if not change.items:
        return change.item_ids
    return [item.id for item in change.items if facts_of(item)]


def linked_items(
    items: dict[str, MemoryItem], links: Sequence[Link], now: datetime
) -> list[MemoryItem]:
    """The items of ``items`` changed by ``links``: olds superseded, news pointing back."""
    changed: dict[str, MemoryItem] = {}
    for link in links:
        old, new = changed.get(link.old, items[link.old]), changed.get(link.new, items[link.new])
        changed[link.old] = in_state(
            old, LifecycleState.SUPERSEDED, now, valid_to=fact_time(new), superseded_by=new.id
        )
        changed[link.new] = new.model_copy(
            update={"supersedes": [*dict.fromkeys([*new.supersedes, old.id])], "updated_at": now}
        )
    return list(changed.values())


class Superseder:
    """Finds and records the knowledge updates that new or changed memories make."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        events: ChangeEvents,
        clock: Clock,
        judge: ConflictJudge | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._events = events
        self._clock = clock
        self.judge: ConflictJudge = judge or RuleJudge()
        self._local = threading.local()  # per thread: the server adds from a thread pool

    def __call__(self, change: MemoryChange) -> None:
        """The event listener: check added and updated memories, and reinstate what a
        deleted or forgotten memory superseded (not reacting to our own changes)."""
        if getattr(self._local, "applying", False) or change.cube_id is None:
            return
        scope = Scope(change.user_id, (change.cube_id,))
        for attempt in range(1, RETRIES + 1):
            try:
                return self._handle(scope, change)
            except VersionConflictError:  # a memory read here changed meanwhile: read again
                if attempt == RETRIES:
                    raise

    def _handle(self, scope: Scope, change: MemoryChange) -> None:
        if change.kind == "added":
            self.process(scope, _stating(change), fresh=True)
        elif change.kind == "updated":
            self.process(scope, change.item_ids)
            self.release(scope, change.item_ids)
        elif change.kind in ("deleted", "forgotten"):
            self.reinstate(scope, change.item_ids)

    def reinstate(self, scope: Scope, gone: Sequence[str]) -> list[str]:
        """Make current again the memories superseded by ``gone`` (deleted or forgotten
        memories), then link them anew against what is current now."""
        gone_ids = set(gone)
        orphans: list[MemoryItem] = []
        offset = 0
        superseded = Eq("state", LifecycleState.SUPERSEDED.value)
        while page := self._store.list_items(scope, superseded, PAGE, offset, "created_at"):
            # forgetting scrubs the forgotten id from other items: no successor left
            orphans.extend(
                item for item in page
                if item.superseded_by is None or item.superseded_by in gone_ids
            )
            offset += len(page)
        return self._current_again(
            scope, orphans, "current again: what superseded it was deleted"
        )

    def release(self, scope: Scope, changed: Sequence[str]) -> list[str]:
        """Make current again the memories that ``changed`` memories superseded but, once
        edited (or rolled back), no longer state the slot of; the links go both ways."""
        freed: list[MemoryItem] = []
        successors: list[MemoryItem] = []
        for new in self._store.get_items(scope, changed):
            keys = {slot_key(fact) for fact in facts_of(new)}
            olds = [
                old for old in self._store.get_items(scope, new.supersedes)
                if old.state == LifecycleState.SUPERSEDED and old.superseded_by == new.id
                and not keys & {slot_key(fact) for fact in facts_of(old)}
            ]
            if olds:
                gone = {old.id for old in olds}
                kept = [i for i in new.supersedes if i not in gone]
                successors.append(new.model_copy(update={"supersedes": kept}))
                freed.extend(olds)
        note = "current again: what superseded it no longer states this fact"
        return self._current_again(scope, freed, note, successors)

    def _current_again(
        self,
        scope: Scope,
        olds: Sequence[MemoryItem],
        note: str,
        successors: Sequence[MemoryItem] = (),
    ) -> list[str]:
        """Make ``olds`` current (and write ``successors``, their unlinked successors), then
        link them anew against what is current now."""
        if not olds:
            return []
        now = self._clock.now()
        back = {"state": LifecycleState.ACTIVATED, "valid_to": None, "superseded_by": None,
                "updated_at": now}
        changes = ItemChanges(
            updated=[item.model_copy(update=back) for item in olds]
            + [item.model_copy(update={"updated_at": now}) for item in successors],
            note=note,
        )
        ids = [item.id for item in olds]
        with self._own_changes():
            upkeep_of(self._store).apply(scope, changes, None)
            self._emit("state", scope, ids)
            self._emit("updated", scope, [item.id for item in successors])
        self.process(scope, ids)
        return ids

    def process(self, scope: Scope, ids: Sequence[str], *, fresh: bool = False) -> list[Link]:
        """Index the slot facts of these items and supersede what they replace.

        ``fresh`` items were just added, so they have no slot keys to replace.
        """
        upkeep = upkeep_of(self._store)
        items = self._store.get_items(scope, ids)
        keys_by_item = {item.id: [slot_key(f) for f in facts_of(item)] for item in items}
        if fresh:
            items = [item for item in items if keys_by_item[item.id]]
        for cube_id in dict.fromkeys(item.cube_id for item in items):
            upkeep.set_slot_keys(
                cube_id, {i.id: keys_by_item[i.id] for i in items if i.cube_id == cube_id}
            )
        keys = sorted({k for ks in keys_by_item.values() for k in ks})
        groups = upkeep.slot_groups(scope, keys, CURRENT_STATES)
        links: list[Link] = []
        members: dict[str, MemoryItem] = {}
        for key, group in groups.items():
            if len(group) > 1:
                links.extend(plan_links(group, key, self.judge, self._similarity))
                members.update((item.id, item) for item in group)
        links = list(dict.fromkeys(links))
        if links:
            self._apply(scope, members, links)
        return links

    def _apply(self, scope: Scope, members: dict[str, MemoryItem], links: list[Link]) -> None:
        changed = linked_items(members, links, self._clock.now())
        # the note names no ids: forgetting a memory must leave its id nowhere
        note = "knowledge update (superseded_by / supersedes)"
        olds = list(dict.fromkeys(link.old for link in links))
        with self._own_changes():
            upkeep_of(self._store).apply(scope, ItemChanges(updated=changed, note=note), None)
            self._emit("state", scope, olds)
            self._emit("updated", scope, [i.id for i in changed if i.id not in olds])

    @contextmanager
    def _own_changes(self) -> Iterator[None]:
        """One transaction for our change and its events; the other listeners hear of it
        after the commit, and we do not react to it."""
        self._local.applying = True
        try:
            with self._events.changing():
                yield
        finally:
            self._local.applying = False

    def _emit(self, kind: ChangeKind, scope: Scope, ids: Sequence[str]) -> None:
        if ids:
            cube_id = scope.cube_ids[0] if len(scope.cube_ids) == 1 else None
            self._events.emit(kind, ids, cube_id=cube_id, user_id=scope.user_id)

    def _similarity(self, a: MemoryItem, b: MemoryItem) -> float:
        vectors = self._embedder.embed([a.search_text(), b.search_text()])
        return float(np.dot(vectors[0], vectors[1]))


class SupersedeJob:
    """Index and link the knowledge updates among memories stored before detection ran."""

    name = "supersede"
    description = "index slot facts of current memories and supersede outdated ones (backfill)"
    params: tuple[str, ...] = ()

    def run(self, ctx: JobContext) -> dict[str, Any]:
        judge = RuleJudge(ctx.settings.supersede_min_similarity)
        superseder = Superseder(ctx.store, ctx.embedder, ctx.events, ctx.clock, judge)
        cursor = ctx.cursor
        after, linked = int(cursor.get("after", 0)), int(cursor.get("linked", 0))
        while batch := ctx.upkeep.scan(after, ctx.settings.job_batch, states=CURRENT_STATES):
            after = batch[-1][0]
            cubes: dict[str, list[str]] = {}
            for _, item in batch:
                cubes.setdefault(item.cube_id, []).append(item.id)
            for cube_id, ids in cubes.items():
                linked += len(superseder.process(Scope(JOB_ACTOR, (cube_id,)), ids))
            ctx.commit(ItemChanges(), {"after": after, "linked": linked},
                       ctx.run.progress + len(batch))
        return {"linked": linked}
