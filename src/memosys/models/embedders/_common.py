"""Helpers shared by every embedder: input checks and normalisation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

import numpy as np
import numpy.typing as npt

from memosys.core.errors import InvalidInputError
from memosys.models.embedders.base import Purpose

Vectors = npt.NDArray[np.float32]

_PURPOSES: tuple[str, ...] = get_args(Purpose)


def check_texts(texts: object, purpose: object) -> list[str]:
    """``texts`` as a list, or :class:`InvalidInputError` if it is not a sequence of str."""
    if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
        raise InvalidInputError(
            f"embed() takes a list of strings, got {type(texts).__name__}; "
            "wrap a single text in a list",
        )
    bad = next((i for i, text in enumerate(texts) if not isinstance(text, str)), None)
    if bad is not None:
        raise InvalidInputError(
            f"embed() takes a list of strings; item {bad} is {type(texts[bad]).__name__}",
            detail={"index": bad},
        )
    if purpose not in _PURPOSES:
        raise InvalidInputError(f"purpose must be one of {_PURPOSES}, got {purpose!r}")
    return list(texts)


def empty(dimensions: int) -> Vectors:
    """The result of embedding no texts: shape ``(0, dimensions)``."""
    return np.zeros((0, dimensions), dtype=np.float32)


def l2_normalise(matrix: npt.NDArray[np.floating]) -> Vectors:
    """Rows scaled to unit length, as float32 (an all-zero row stays zero)."""
    out = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    unit: Vectors = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
    return unit
