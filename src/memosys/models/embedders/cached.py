"""An embedder wrapper that embeds each distinct text of a call once and remembers queries."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from memosys.models.embedders._common import Vectors, check_texts, empty
from memosys.models.embedders.base import Embedder, Purpose

QUERY_CACHE_SIZE = 1024


class CachingEmbedder:
    """Wraps ``inner``: repeated texts within one call are embedded once, and query
    vectors are remembered in memory (the last :data:`QUERY_CACHE_SIZE`), so a
    repeated search does not embed again.

    Nothing is kept on disk: a search never writes to the store, and what
    users searched for is not kept. Document vectors are not cached by text
    either: the store keeps each item's vector, and an exact repeat of a
    stored item takes that one (``Store.repeat_vectors``). Fingerprint and
    dimensions are the inner ones.
    """

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self._queries: OrderedDict[str, Vectors] = OrderedDict()
        self._queries_lock = threading.Lock()  # searches embed on several threads

    @property
    def dimensions(self) -> int:
        """The inner embedder's dimensions."""
        return self._inner.dimensions

    @property
    def fingerprint(self) -> str:
        """The inner embedder's fingerprint."""
        return self._inner.fingerprint

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> Vectors:
        """Vectors in input order: remembered queries as they were, the rest from ``inner``."""
        items = check_texts(texts, purpose)
        if not items:
            return empty(self.dimensions)
        keys = [hashlib.sha256(text.encode()).hexdigest() for text in items]
        found = self._remembered(keys) if purpose == "query" else {}
        misses = {key: text for key, text in zip(keys, items, strict=True) if key not in found}
        if misses:
            fresh = dict(zip(misses, self._inner.embed(list(misses.values()), purpose),
                             strict=True))
            if purpose == "query":
                self._remember(fresh)
            found.update(fresh)
        return np.stack([np.asarray(found[key], dtype=np.float32) for key in keys])

    def _remembered(self, keys: list[str]) -> dict[str, Vectors]:
        with self._queries_lock:
            hits = {key: self._queries[key] for key in keys if key in self._queries}
            for key in hits:
                self._queries.move_to_end(key)
        return hits

    def _remember(self, vectors: dict[str, Vectors]) -> None:
        with self._queries_lock:
            self._queries.update(vectors)
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
