"""Files that other processes may read while this one writes them."""

from __future__ import annotations

import secrets
from pathlib import Path


def replace_text(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a reader in any process sees the old text or
    the new one, never a part (a file of this writer's own, then a rename)."""
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
