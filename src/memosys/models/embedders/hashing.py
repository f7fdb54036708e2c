"""Feature-hashing vectors: no model, deterministic across processes and machines."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator, Sequence

import numpy as np

from memosys.models.embedders._common import Vectors, check_texts, empty, l2_normalise
from memosys.models.embedders.base import Purpose
from memosys.settings import HashEmbedderConfig

_VERSION = 1
_WORD = re.compile(r"\w+")
# The one feature of a text whose features sum to zero (e.g. empty), so its row has unit norm.
_NO_FEATURES = "\x00empty"


def _features(text: str) -> Iterator[str]:
    """Lower-cased word unigrams and character trigrams of the word sequence."""
    words = _WORD.findall(text.lower())
    yield from (f"w:{word}" for word in words)
    joined = f" {' '.join(words)} "
    yield from (f"c:{joined[i : i + 3]}" for i in range(len(joined) - 2))


@functools.lru_cache(maxsize=1 << 16)
def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    """A stable (index, sign) for a feature: blake2b, not Python's salted ``hash``."""
    value = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return (value >> 1) % dimensions, 1.0 if value & 1 else -1.0


class HashEmbedder:
    """Signed feature hashing of words and character trigrams, L2-normalised.

    Similar wording gives similar vectors; there is no notion of meaning.
    Useful for tiny installs and for tests where semantics do not matter.
    """

    def __init__(self, config: HashEmbedderConfig) -> None:
        self._dimensions = config.dimensions

    @property
    def dimensions(self) -> int:
        """The configured number of buckets."""
        return self._dimensions

    @property
    def fingerprint(self) -> str:
        """Provider, algorithm version and dimensions."""
        return f"hash:v{_VERSION}:{self._dimensions}d"

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> Vectors:
        """One unit-length float32 row per text; ``purpose`` is ignored."""
        items = check_texts(texts, purpose)
        if not items:
            return empty(self._dimensions)
        out = np.zeros((len(items), self._dimensions), dtype=np.float32)
        for row, text in enumerate(items):
            for feature in _features(text):
                index, sign = _bucket(feature, self._dimensions)
                out[row, index] += sign
            if not out[row].any():  # no features, or they all cancelled out
                index, sign = _bucket(_NO_FEATURES, self._dimensions)
                out[row, index] = sign
        return l2_normalise(out)
