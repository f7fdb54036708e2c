"""The embedder protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

Purpose = Literal["document", "query"]


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors.

    ``fingerprint`` names the exact model (provider, model id, a hash of the
    weights or config, dimensions); a cube refuses vectors whose fingerprint
    differs from the one it recorded. ``purpose`` lets asymmetric models use
    different prefixes for documents and queries.
    """

    @property
    def fingerprint(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed(
        self, texts: Sequence[str], purpose: Purpose = "document"
    ) -> npt.NDArray[np.float32]: ...
