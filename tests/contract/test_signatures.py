"""RemoteMemOS has MemOS's arguments: every method both have takes the same parameters, in the
same order and kinds, with the same defaults (the acting user aside: a remote call defaults
to the API key's user)."""

from __future__ import annotations

import inspect
from typing import Any

from memosys import MemOS, RemoteMemOS

ACTING_USER = {"user_id", "owner"}  # required locally, the key's user remotely


def _parameters(method: Any) -> list[tuple[str, Any, Any]]:
    return [
        (p.name, p.kind, "the acting user" if p.name in ACTING_USER else p.default)
        for p in inspect.signature(method).parameters.values()
    ]


def test_shared_methods_take_the_same_parameters() -> None:
    shared = [
        name for name in sorted(set(dir(MemOS)) & set(dir(RemoteMemOS)))
        if not name.startswith("_") and inspect.isfunction(inspect.getattr_static(MemOS, name))
    ]
    assert {"add", "add_texts", "search", "search_sessions", "share_cube"} <= set(shared)
    differ = {name: (_parameters(getattr(MemOS, name)), _parameters(getattr(RemoteMemOS, name)))
              for name in shared
              if _parameters(getattr(MemOS, name)) != _parameters(getattr(RemoteMemOS, name))}
    assert differ == {}
