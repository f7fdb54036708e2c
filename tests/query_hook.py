"""The real embedder with a hook around each query embedding, for tests that watch or
hold searches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from memosys.models.embedders.base import Purpose


class QueryHook:
    """Embeds with ``inner``; a query embedding runs inside :meth:`around_query`."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property
    def fingerprint(self) -> str:
        return str(self._inner.fingerprint)

    @property
    def dimensions(self) -> int:
        return int(self._inner.dimensions)

    @contextmanager
    def around_query(self) -> Iterator[None]:
        """What a subclass does before and after each query embedding."""
        yield

    def embed(
        self, texts: Sequence[str], purpose: Purpose = "document"
    ) -> npt.NDArray[np.float32]:
        if purpose != "query":
            return self._inner.embed(texts, purpose)  # type: ignore[no-any-return]
        with self.around_query():
            return self._inner.embed(texts, purpose)  # type: ignore[no-any-return]
