"""Merge and dedup: near-duplicate memories of one user's cube become one.

Two current memories of the same user, cube and kind are duplicates when
their vectors are at least ``lifecycle.dedup_threshold`` similar and their
details agree: the same numbers, the same names, and both negated or
neither (paraphrases are close in embedding space, but so are "I have two
cats" and "I have three cats"). The threshold was tuned on a labelled set
of pairs (``benchmarks/dedup_threshold.py``).

A merge writes a new memory that keeps the fuller text (with its keywords
and entities: nothing derived from the other text), the union of tags, the
highest importance, the summed use and ``merged_from`` with both sources;
the sources become ``merged`` (hidden from search unless
``include_history``). The three writes share one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from memosys.core.events import ChangeEvents
from memosys.core.filters import Eq, In, Ne, combine
from memosys.core.ids import new_id
from memosys.core.items import LifecycleState, MemoryItem, content_hash
from memosys.lifecycle.decay import DECAYING
from memosys.lifecycle.jobs import JobContext, fraction_param
from memosys.lifecycle.upkeep import ItemChanges, upkeep_of
from memosys.models.embedders.base import Embedder
from memosys.reader.lexicon import SENTENCE_STARTERS, STOPWORDS
from memosys.stores.base import Scope, Store, Vectors

NEIGHBOURS = 5
#: Merged memories have content hashes starting with this (hex digests never do).
MERGED_HASH_PREFIX = "m"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NEGATION = re.compile(r"\b(?:not|no|never|none|nothing|nobody|neither|nor|without)\b|n['’]t\b",
                       re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20",
}


@dataclass(frozen=True)
class Details:
    """What a paraphrase must keep: numbers, names and polarity (and its words, lowercased)."""

    numbers: frozenset[str]
    names: frozenset[str]
    negated: bool
    words: frozenset[str]


def details(text: str) -> Details:
    """The numbers (digits or words), names and negation of ``text``.

    A name is a capitalised word, unless it starts a sentence and is a
    common word ("The", "My", "Every").
    """
    words = [m.group() for m in _WORD.finditer(text)]
    lowered = frozenset(w.lower() for w in words)
    numbers = frozenset(n.replace(",", ".") for n in _NUMBER.findall(text))
    numbers |= {_NUMBER_WORDS[w] for w in lowered if w in _NUMBER_WORDS}
    names = set()
    for match in _WORD.finditer(text):
        word = match.group()
        if not word[0].isupper() or word == "I" or word.lower().startswith(("i'", "i’")):
            continue
        starts = not text[: match.start()].strip() or text[: match.start()].rstrip()[-1] in ".!?"
        if starts and (word.lower() in STOPWORDS or word in SENTENCE_STARTERS):
            continue
        names.add(word.lower())
    return Details(numbers, frozenset(names), bool(_NEGATION.search(text)), lowered)


def same_details(a: str, b: str) -> bool:
    """Whether two texts agree on numbers and negation, and each one's names appear in the other."""
    da, db = details(a), details(b)
    return (
        da.numbers == db.numbers
        and da.negated == db.negated
        and da.names <= db.words
        and db.names <= da.words
    )


def is_duplicate(a: str, b: str, similarity: float, threshold: float) -> bool:
    """The dedup decision for two texts whose vectors have cosine ``similarity``."""
    return similarity >= threshold and same_details(a, b)


@dataclass(frozen=True)
class Merge:
    """A merge: the new memory and the two it replaces."""

    merged: MemoryItem
    sources: tuple[MemoryItem, MemoryItem]
    similarity: float


def merged_hash(content: str, sources: Sequence[str]) -> str:
    """The content hash of a merged memory: marked, and distinct from its sources'."""
    return MERGED_HASH_PREFIX + content_hash("merged", content, *sorted(sources))[1:]


def merged_item(a: MemoryItem, b: MemoryItem, now: datetime) -> MemoryItem:
    """One memory holding both: the fuller text, both sources as provenance."""
    keep = max((a, b), key=lambda i: (len(i.content), i.created_at))
    sources = [a.id, b.id]
    times = [t for t in (a.event_time, b.event_time) if t is not None]
    return keep.model_copy(
        update={
            "id": new_id(),
            "content_hash": merged_hash(keep.content, sources),
            "created_at": now,
            "updated_at": now,
            "event_time": min(times) if times else None,
            "state": LifecycleState.GENERATED,
            "version": 1,
            "previous_versions": [],
            "supersedes": [],
            "superseded_by": None,
            "merged_from": sources,
            "tags": list(dict.fromkeys([*a.tags, *b.tags])),
            "importance": max(a.importance, b.importance),
            "access_count": a.access_count + b.access_count,
            "last_accessed_at": max(
                (t for t in (a.last_accessed_at, b.last_accessed_at) if t), default=None
            ),
            "metadata": {**b.metadata, **a.metadata} if keep is a else {**a.metadata, **b.metadata},
        }
    )


class Deduper:
    """Finds near-duplicate pairs among memories and merges them."""

    def __init__(self, store: Store, embedder: Embedder, threshold: float, kinds: Sequence[str]):
        self._store = store
        self._embedder = embedder
        self.threshold = threshold
        self.kinds = tuple(kinds)

    def candidates(
        self, items: Sequence[MemoryItem], used: set[str] | None = None
    ) -> list[tuple[MemoryItem, MemoryItem, float]]:
        """Duplicate pairs ``(earlier, later, similarity)``, each memory in at most one pair
        (``used`` collects the paired ids across calls)."""
        items = [i for i in items if i.kind in self.kinds and i.state.value in DECAYING]
        if not items:
            return []
        vectors = self._embedder.embed([i.search_text() for i in items])
        used = set() if used is None else used
        pairs = []
        for item, vector in zip(items, vectors, strict=True):
            if item.id in used:
                continue
            match = self._best_match(item, vector, used)
            if match is not None:
                other, similarity = match
                used.update((item.id, other.id))
                first, second = sorted((item, other), key=lambda i: (i.created_at, i.id))
                pairs.append((first, second, similarity))
        return pairs

    def dedup(
        self, scope: Scope, page: int, now: datetime, events: ChangeEvents, *, dry_run: bool
    ) -> list[Merge]:
        """Merge the duplicates among the current memories of ``scope``.

        All pairs are found first (a page of memories at a time), then merged
        a page of pairs per transaction, which emits ``"added"`` for the merged
        memories and ``"state"`` for their sources.
        """
        shown = combine(In("kind", self.kinds), In("state", DECAYING))
        pairs: list[tuple[MemoryItem, MemoryItem, float]] = []
        used: set[str] = set()
        offset = 0
        while batch := self._store.list_items(scope, shown, page, offset, "created_at"):
            pairs.extend(self.candidates(batch, used))
            offset += len(batch)
        merges: list[Merge] = []
        for start in range(0, len(pairs), page):
            changes, found = self.merge(pairs[start : start + page], now)
            if not dry_run:
                cube_id = scope.cube_ids[0] if len(scope.cube_ids) == 1 else None
                with events.changing():
                    upkeep_of(self._store).apply(scope, changes, None)
                    merged, sources = [m.merged.id for m in found], [i.id for i in changes.updated]
                    events.emit("added", merged, cube_id=cube_id, user_id=scope.user_id)
                    events.emit("state", sources, cube_id=cube_id, user_id=scope.user_id)
            merges.extend(found)
        return merges

    def merge(
        self, pairs: Sequence[tuple[MemoryItem, MemoryItem, float]], now: datetime
    ) -> tuple[ItemChanges, list[Merge]]:
        """The change set that merges ``pairs`` (not yet written) and the merges it makes."""
        merges = [Merge(merged_item(a, b, now), (a, b), s) for a, b, s in pairs]
        sources = [src for m in merges for src in m.sources]
        changes = ItemChanges(
            added=[m.merged for m in merges],
            vectors=self._vectors([m.merged for m in merges]),
            fingerprint=self._embedder.fingerprint,
            updated=[
                s.model_copy(update={"state": LifecycleState.MERGED, "updated_at": now})
                for s in sources
            ],
            note="merged as a near-duplicate",
        )
        return changes, merges

    def _vectors(self, items: Sequence[MemoryItem]) -> Vectors | None:
        return self._embedder.embed([i.search_text() for i in items]) if items else None

    def _best_match(
        self, item: MemoryItem, vector: Vectors, used: set[str]
    ) -> tuple[MemoryItem, float] | None:
        scope = Scope(item.user_id, (item.cube_id,))
        same = combine(
            Eq("user_id", item.user_id), Eq("kind", item.kind.value), Ne("id", item.id),
            In("state", DECAYING),
        )
        for hit in self._store.vector_search(scope, np.asarray(vector), same, NEIGHBOURS):
            if hit.score < self.threshold:
                break
            if hit.id in used:
                continue
            (other,) = self._store.get_items(scope, [hit.id]) or (None,)
            if other is not None and is_duplicate(
                item.content, other.content, hit.score, self.threshold
            ):
                return other, hit.score
        return None


class DedupJob:
    """Merge near-duplicate memories in every cube."""

    name = "dedup"
    description = "merge near-duplicate memories of each user's cube (lifecycle.dedup_threshold)"
    params: tuple[str, ...] = ("threshold",)

    def run(self, ctx: JobContext) -> dict[str, Any]:
        given = fraction_param(ctx, "threshold", None)
        threshold = ctx.settings.dedup_threshold if given is None else given
        deduper = Deduper(ctx.store, ctx.embedder, threshold, ctx.settings.dedup_kinds)
        cursor = ctx.cursor
        after, merged = int(cursor.get("after", 0)), int(cursor.get("merged", 0))
        while batch := ctx.upkeep.scan(after, ctx.settings.job_batch, states=DECAYING):
            after = batch[-1][0]
            changes, merges = deduper.merge(deduper.candidates([i for _, i in batch]),
                                            ctx.clock.now())
            merged += len(merges)
            ctx.commit(
                changes,
                {"after": after, "merged": merged},
                ctx.run.progress + len(batch),
                [("added", [m.merged for m in merges]),
                 ("state", [s for m in merges for s in m.sources])],
            )
        return {"merged": merged, "threshold": threshold}
