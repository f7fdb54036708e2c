"""Versions and snapshots as the API returns them (pure models, no I/O)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from memosys.core.items import MemoryItem


class ItemVersion(BaseModel):
    """One version of a memory: what it was, who made it and when it was current.

    ``recorded_from``/``recorded_to`` bound the transaction time during which
    this version was the current one (``recorded_to`` is None for the current
    version). ``changed_by`` is who made it: the acting user (an admin acting
    for the memory's user, ``@operator`` for a CLI command), else the user the
    change was for. ``changes`` names the fields that differ from the version before;
    ``note`` says why the version was made when a reason was given
    (``"rollback to version 2"``, ``"restore snapshot 'q1'"``).
    """

    version: int
    changed_by: str
    recorded_from: datetime
    recorded_to: datetime | None = None
    changes: list[str] = Field(default_factory=list)
    note: str | None = None
    item: MemoryItem


class CubeSnapshot(BaseModel):
    """A named point in a cube's history; reading it reads the cube as of ``taken_at``."""

    cube_id: str
    name: str
    taken_at: datetime
    taken_by: str
    item_count: int


class RestoreReport(BaseModel):
    """What restoring a snapshot did to the cube's items."""

    snapshot: str
    restored: int = 0
    removed: int = 0
    unchanged: int = 0
    changed_ids: list[str] = Field(default_factory=list)
    """Ids of the items restored or removed (each got a new version)."""
