"""Verified deletion: ``forget(id)`` and ``forget_user(user_id)``.

Forgetting removes an item from every place memosys keeps it: its row and
all its versions, the full-text index, its vector and the cube's saved HNSW
index, links from other items, and (as snapshots are views of versions)
every snapshot. The store zeroes what it frees and merges the FTS index; then
the WAL is checkpointed so the bytes are gone from the file and its WAL.
Each cube's removal emits ``"forgotten"`` in its own transaction (so the
audit record commits with it), and KV caches and adapters built from the
items are then dropped or marked stale by their owners; :mod:`.verify`
checks the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from memosys.core.events import ChangeEvents
from memosys.stores.base import Scope, VersionStore


@dataclass
class ForgetReceipt:
    """What was forgotten. ``texts`` and ``vectors`` (the removed content and its
    embeddings, as bytes) are kept in memory only, for
    :func:`memosys.lifecycle.verify.verify_forgotten`; they are never stored."""

    item_ids: list[str] = field(default_factory=list)
    by_cube: dict[str, list[str]] = field(default_factory=dict)
    versions: int = 0
    unlinked: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list, repr=False)
    vectors: list[bytes] = field(default_factory=list, repr=False)
    user_id: str | None = None
    compacted: bool = False
    """False when another reader kept the WAL from being emptied; run ``compact`` again."""


def forget_items(
    versions: VersionStore, events: ChangeEvents, cube_id: str, user_id: str, ids: Sequence[str]
) -> ForgetReceipt:
    """Remove these items of one cube everywhere (FrozenError for a frozen one)."""
    receipt = ForgetReceipt()
    _forget(versions, events, Scope(user_id, (cube_id,)), ids, receipt, allow_frozen=False)
    receipt.compacted = versions.compact()
    return receipt


def forget_user(
    versions: VersionStore,
    events: ChangeEvents,
    user_id: str,
    revoke_access: Callable[[str], None],
) -> ForgetReceipt:
    """Remove everything of a user: the items they wrote or own anywhere, their cubes
    (with every item, snapshot and share in them), their keys, admin rights and shares
    (``revoke_access``) and the user record.

    Frozen items go too: a user who asks to be forgotten is the owner who
    could unfreeze them. It is one transaction, so a failure leaves the user
    whole; listeners hear the ``"forgotten"`` events once it commits. The
    database is compacted after the commit.
    """
    receipt = ForgetReceipt(user_id=user_id)
    with events.changing():
        revoke_access(user_id)
        for cube_id, ids in versions.user_item_ids(user_id).items():
            _forget(versions, events, Scope(user_id, (cube_id,)), ids, receipt, allow_frozen=True)
        versions.remove_user(user_id)
    receipt.compacted = versions.compact()
    return receipt


def _forget(
    versions: VersionStore,
    events: ChangeEvents,
    scope: Scope,
    ids: Sequence[str],
    receipt: ForgetReceipt,
    *,
    allow_frozen: bool,
) -> None:
    """Forget ``ids`` of the scope's one cube into ``receipt``, emitting ``"forgotten"``."""
    traces = versions.item_traces(scope, ids)
    texts = list(dict.fromkeys(text for text, _ in traces))
    cube_id = scope.cube_ids[0]
    with events.changing():
        result = versions.forget_items(scope, ids, allow_frozen=allow_frozen)
        events.emit("forgotten", result.item_ids, cube_id=cube_id, user_id=scope.user_id)
    receipt.item_ids.extend(result.item_ids)
    receipt.by_cube.setdefault(cube_id, []).extend(result.item_ids)
    receipt.versions += result.versions
    receipt.unlinked.extend(result.unlinked)
    receipt.texts.extend(texts)
    receipt.vectors.extend(dict.fromkeys(blob for _, blob in traces if blob is not None))
