"""Files that other processes may read while this one writes them."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


@contextmanager
def replacing(path: Path) -> Iterator[TextIO]:
    """A text file to write ``path`` through, whole or not at all: a reader in any process
    sees the old file or the new one, never a part (a file of this writer's own in the
    same folder, renamed over ``path`` when the block ends without an error)."""
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            yield out
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def replace_text(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (see :func:`replacing`)."""
    with replacing(path) as out:
        out.write(text)
