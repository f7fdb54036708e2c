"""memosys: a memory operating system for LLM applications.

Public names are loaded lazily, so ``import memosys`` does no work.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "MemOS": "memosys.api.local",
    "RemoteMemOS": "memosys.api.remote",
    "MemoryItem": "memosys.core.items",
    "MemCube": "memosys.core.cube",
    "SearchHit": "memosys.core.results",
    "SessionHit": "memosys.core.results",
    "MemosysSettings": "memosys.settings",
    "load_settings": "memosys.settings",
    "MemosysError": "memosys.core.errors",
    "InvalidInputError": "memosys.core.errors",
    "EmptyInputError": "memosys.core.errors",
    "InputTooLargeError": "memosys.core.errors",
    "EncodingError": "memosys.core.errors",
    "UnknownFilterFieldError": "memosys.core.errors",
    "NotFoundError": "memosys.core.errors",
    "ConflictError": "memosys.core.errors",
    "EmbedderMismatchError": "memosys.core.errors",
    "ConfigurationError": "memosys.core.errors",
    "MissingDependencyError": "memosys.core.errors",
    "StoreError": "memosys.core.errors",
    "LockTimeoutError": "memosys.core.errors",
    "MigrationError": "memosys.core.errors",
    "ServerUnreachableError": "memosys.core.errors",
    "ResponseLostError": "memosys.core.errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from memosys.api.local import MemOS
    from memosys.api.remote import RemoteMemOS
    from memosys.core.cube import MemCube
    from memosys.core.errors import (
        ConfigurationError,
        ConflictError,
        EmbedderMismatchError,
        EmptyInputError,
        EncodingError,
        InputTooLargeError,
        InvalidInputError,
        LockTimeoutError,
        MemosysError,
        MigrationError,
        MissingDependencyError,
        NotFoundError,
        ResponseLostError,
        ServerUnreachableError,
        StoreError,
        UnknownFilterFieldError,
    )
    from memosys.core.items import MemoryItem
    from memosys.core.results import SearchHit, SessionHit
    from memosys.settings import MemosysSettings, load_settings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'memosys' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
