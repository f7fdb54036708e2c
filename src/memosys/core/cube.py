"""The MemCube: the unit of memory that is owned, shared, versioned and moved."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from memosys.core.clock import to_utc
from memosys.core.items import Visibility

SCHEMA_VERSION = 1


class MemCube(BaseModel):
    """A named container of memories with an owner, a policy and an embedder.

    ``embedder_fingerprint`` is recorded when the first vector is written; a
    cube refuses vectors from any other embedder.
    """

    id: str
    name: str
    owner: str
    description: str = ""
    visibility: Visibility = Visibility.PRIVATE
    acl: dict[str, str] = Field(default_factory=dict)  # user id -> "read" | "write"
    embedder_fingerprint: str | None = None
    schema_version: int = SCHEMA_VERSION
    created_at: datetime
    updated_at: datetime
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("created_at", "updated_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        return to_utc(value)


class User(BaseModel):
    """A user of the memory system."""

    id: str
    name: str
    created_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)
