"""An embedder wrapper that embeds each distinct text once and remembers it."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from memosys.models.embedders._common import Vectors, check_texts, empty
from memosys.models.embedders.base import Embedder, Purpose


class EmbeddingCache(Protocol):
    """Where vectors are remembered: the two cache methods of a store."""

    def cached_embeddings(self, fingerprint: str, text_hashes: Sequence[str]) -> dict[str, Vectors]:
        """The vectors known for these keys (missing keys are left out)."""
        ...

    def cache_embeddings(self, fingerprint: str, entries: dict[str, Vectors]) -> None:
        """Remember vectors by key."""
        ...


def cache_key(text: str, purpose: Purpose) -> str:
    """sha256 of the purpose and the text: the key a vector is cached under."""
    return hashlib.sha256(f"{purpose}\x00{text}".encode()).hexdigest()


QUERY_CACHE_SIZE = 1024


class CachingEmbedder:
    """Wraps ``inner``: looks texts up in ``cache`` and embeds only the misses.

    Keys are :func:`cache_key` values under the inner embedder's fingerprint,
    so vectors of another model are never returned. Repeated texts within one
    call are embedded once; a cached vector of the wrong shape counts as a
    miss. Fingerprint and dimensions are the inner ones.

    Query vectors are remembered only in memory (the last
    :data:`QUERY_CACHE_SIZE`): a search never writes to the store, and what
    users searched for is not kept on disk.
    """

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self._inner = inner
        self._cache = cache
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
        """Vectors in input order: cached ones as stored, the rest from ``inner``."""
        items = check_texts(texts, purpose)
        dimensions = self.dimensions
        if not items:
            return empty(dimensions)
        keys = [cache_key(text, purpose) for text in items]
        found = self._lookup(list(dict.fromkeys(keys)), purpose)
        misses = {key: text for key, text in zip(keys, items, strict=True) if key not in found}
        if misses:
            fresh = self._inner.embed(list(misses.values()), purpose)
            new = dict(zip(misses, fresh, strict=True))
            self._remember(new, purpose)
            found.update(new)
        return np.stack([np.asarray(found[key], dtype=np.float32) for key in keys])

    def _lookup(self, keys: list[str], purpose: Purpose) -> dict[str, Vectors]:
        if purpose == "query":
            with self._queries_lock:
                hits = {key: self._queries[key] for key in keys if key in self._queries}
                for key in hits:
                    self._queries.move_to_end(key)
            return hits
        stored = self._cache.cached_embeddings(self.fingerprint, keys)
        return {k: v for k, v in stored.items() if np.shape(v) == (self.dimensions,)}

    def _remember(self, vectors: dict[str, Vectors], purpose: Purpose) -> None:
        if purpose != "query":
            self._cache.cache_embeddings(self.fingerprint, vectors)
            return
        with self._queries_lock:
            self._queries.update(vectors)
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
