"""A process-wide cache of loaded models: each model spec is loaded once."""

from __future__ import annotations

import threading
from pathlib import Path

from memosys.models.llm.loading import SMOLLM2, TINY_LLAMA, load_lm
from memosys.models.llm.runtime import LocalLM

_loaded: dict[str, LocalLM] = {}
_lock = threading.Lock()


def _key(spec: str | Path) -> str:
    if spec in (SMOLLM2, TINY_LLAMA):
        return str(spec)
    return str(Path(spec).expanduser().resolve())


def get_lm(spec: str | Path) -> LocalLM:
    """The model for ``spec`` (see :func:`~memosys.models.llm.load_lm`), loaded on first use."""
    key = _key(spec)
    with _lock:
        if key not in _loaded:
            _loaded[key] = load_lm(spec)
        return _loaded[key]


def register_lm(spec: str, lm: LocalLM) -> None:
    """Make an already loaded model the one :func:`get_lm` returns for ``spec``."""
    with _lock:
        _loaded[_key(spec)] = lm
