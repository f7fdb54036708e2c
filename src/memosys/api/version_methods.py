"""The facade's lifecycle methods for versions, states, snapshots, time travel and forgetting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, TypeAlias

from memosys.api.facade import DATABASE_FILE, FacadeBase, checked_text
from memosys.core.checks import is_whole
from memosys.core.clock import checked_time, to_utc
from memosys.core.errors import InvalidInputError, NotFoundError
from memosys.core.filters import Filter
from memosys.core.history import CubeSnapshot, ItemVersion, RestoreReport
from memosys.core.items import LifecycleState, MemoryItem
from memosys.core.results import SearchHit
from memosys.lifecycle import versions as lifecycle_versions
from memosys.lifecycle.forget import ForgetReceipt, forget_items, forget_user
from memosys.lifecycle.timetravel import search_as_of
from memosys.lifecycle.verify import VerifyReport, verify_forgotten
from memosys.lifecycle.versions import version_store
from memosys.retrieval.search import SearchOptions
from memosys.stores.base import Scope

Hits: TypeAlias = list[SearchHit]
Versions: TypeAlias = list[ItemVersion]
Snapshots: TypeAlias = list[CubeSnapshot]
StateChange: TypeAlias = Literal["freeze", "unfreeze", "archive", "unarchive"]
# the changes that give a memory back the state it had
_UNDO = {"unfreeze": lifecycle_versions.unfreeze, "unarchive": lifecycle_versions.unarchive}


class VersionMethods(FacadeBase):
    """Versions, states, snapshots, time travel and forgetting (:mod:`memosys.lifecycle`)."""

    def history(self, id: str, *, user_id: str) -> Versions:
        """Every version of a memory, numbered from 1, with who changed what and when
        (deleted memories too: their history stays readable until forgotten)."""
        user = self._cubes.reader(user_id)
        scope = self._cubes.scope(user, None)
        return version_store(self._store).history(scope, self._checked_id(id))

    def rollback(self, id: str, version: int, *, user_id: str) -> MemoryItem:
        """Make an earlier version current again, as a new version (the state stays)."""
        if not is_whole(version) or version < 1:
            raise InvalidInputError(f"version must be an integer >= 1, got {version!r}")
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)
        target = self._get(scope, id)
        self._cubes.check_write(user, target.cube_id)
        with self.events.changing():
            restored = version_store(self._store).rollback(scope, target.id, version)
            self.events.emit("updated", [restored.id], cube_id=restored.cube_id, user_id=user,
                             detail={"rollback_to": version})
        return restored

    def freeze(self, id: str, *, user_id: str) -> MemoryItem:
        """Freeze a memory (its owner only): it cannot be changed or deleted until its
        owner unfreezes it."""
        return self._change_state(id, user_id, "freeze", LifecycleState.FROZEN)

    def unfreeze(self, id: str, *, user_id: str) -> MemoryItem:
        """Give a frozen memory back the state it had (its owner only)."""
        return self._change_state(id, user_id, "unfreeze", None)

    def archive(self, id: str, *, user_id: str) -> MemoryItem:
        """Archive a memory: left out of search and list unless ``include_archived``."""
        return self._change_state(id, user_id, "archive", LifecycleState.ARCHIVED)

    def unarchive(self, id: str, *, user_id: str) -> MemoryItem:
        """Bring an archived memory back (state activated)."""
        return self._change_state(id, user_id, "unarchive", None)

    def snapshot(self, cube: str, name: str, *, user_id: str) -> CubeSnapshot:
        """Name the cube's present state; read it later with ``snapshot=name``."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.find(user, cube)
        self._cubes.check_write(user, target)
        name = checked_text(name, "snapshot name", empty=False)
        with self._store.transaction():  # the snapshot and its audit record, together
            taken = version_store(self._store).create_snapshot(target.id, name, user)
            detail = {"name": name, "items": taken.item_count}
            self._governance.record("snapshot.create", user, cube_id=target.id, detail=detail)
        return taken

    def list_snapshots(self, *, user_id: str, cube: str | None = None) -> Snapshots:
        """Snapshots of the user's cubes (or of one cube), oldest first."""
        scope = self._cubes.scope(self._cubes.reader(user_id), cube)
        return version_store(self._store).snapshots(scope.cube_ids)

    def delete_snapshot(self, cube: str, name: str, *, user_id: str) -> None:
        """Drop a snapshot's name (the versions it pointed at stay in the history)."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.find(user, cube)
        self._cubes.check_write(user, target)
        name = checked_text(name, "snapshot name", empty=False)
        with self._store.transaction():
            if not version_store(self._store).delete_snapshot(target.id, name):
                raise NotFoundError(
                    f"no snapshot called {name!r} in cube {cube!r}; see `memosys snapshot list`",
                    detail={"snapshot": name},
                )
            detail = {"name": name}
            self._governance.record("snapshot.delete", user, cube_id=target.id, detail=detail)

    def restore_snapshot(self, cube: str, name: str, *, user_id: str) -> RestoreReport:
        """Make the cube's memories what they were at the snapshot, each as a new version."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.find(user, cube)
        self._cubes.check_write(user, target)
        found = self._snapshot(Scope(user, (target.id,)), name)
        with self.events.changing():
            report = version_store(self._store).restore_snapshot(found, user)
            detail = {"name": found.name, "restored": report.restored, "removed": report.removed}
            self._governance.record("snapshot.restore", user, cube_id=target.id, detail=detail)
            if report.changed_ids:  # each restored or removed memory got a new version
                self.events.emit("updated", report.changed_ids, cube_id=target.id, user_id=user,
                                 detail={"snapshot": found.name})
        return report

    def forget(self, id: str, *, user_id: str) -> ForgetReceipt:
        """Remove a memory everywhere: all versions, the text index, its vector, cached
        embeddings of its texts and snapshots; then compact the database file.

        Emits ``"forgotten"`` so KV caches and adapters built from it are dropped
        or marked stale. Deleted memories can be forgotten; frozen ones cannot.
        """
        user = self._cubes.ensure_user(user_id)
        (first, *_) = self.history(id, user_id=user)
        cube_id = first.item.cube_id
        self._cubes.check_write(user, cube_id)
        return forget_items(version_store(self._store), self.events, cube_id, user, [first.item.id])

    def forget_user(self, user_id: str) -> ForgetReceipt:
        """Remove everything of a user in one transaction: their memories in every cube,
        their cubes with all versions and snapshots, their keys and shares, and the user;
        emits ``"forgotten"`` per cube. NotFoundError (and no audit record) for an
        unknown user."""
        user = self._cubes.existing_user(user_id, "nothing to forget; check the user id")
        return forget_user(
            version_store(self._store), self.events, user, self._governance.forget_user
        )

    def verify_forgotten(
        self,
        *,
        ids: Sequence[str] = (),
        user_ids: Sequence[str] = (),
        texts: Sequence[str] = (),
        receipt: ForgetReceipt | None = None,
    ) -> VerifyReport:
        """Scan every table, the text index and every file of the data directory for
        these ids and texts, and for everything a forget's ``receipt`` names (its ids,
        texts and embeddings); see :mod:`memosys.lifecycle.verify`."""
        if self.data_dir is None:
            raise InvalidInputError("verify_forgotten needs a data directory, not ':memory:'")
        extra = receipt or ForgetReceipt()
        return verify_forgotten(
            self.data_dir,
            self.data_dir / DATABASE_FILE,
            ids=[*ids, *extra.item_ids],
            user_ids=[*user_ids, *([extra.user_id] if extra.user_id else [])],
            texts=[*texts, *extra.texts],
            vectors=extra.vectors,
        )

    def _change_state(
        self, id: str, user_id: str, change: StateChange, state: LifecycleState | None
    ) -> MemoryItem:
        """Apply a state ``change`` (``state`` None: undo a freeze or an archive);
        the audit record names the change and the state it led to."""
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)

        def make(target: MemoryItem) -> MemoryItem:
            self._cubes.check_write(user, target.cube_id)
            now = self._clock.now()
            with self.events.changing():
                if state is None:
                    changed = _UNDO[change](self._store, scope, target, now)
                else:
                    changed = lifecycle_versions.change_state(
                        self._store, scope, target, state, now
                    )
                detail = {"change": change, "state": changed.state.value}
                self.events.emit(
                    "state", [changed.id], cube_id=changed.cube_id, user_id=user, detail=detail
                )
            return changed

        return self._change(scope, id, make)

    def _time_point(
        self, scope: Scope, as_of: datetime | None, snapshot: str | None
    ) -> tuple[Scope, datetime]:
        """The scope and time to read for ``as_of`` or ``snapshot`` (one of them)."""
        if as_of is not None and snapshot is not None:
            raise InvalidInputError("give as_of or snapshot, not both")
        if snapshot is not None:
            found = self._snapshot(scope, snapshot)
            return Scope(scope.user_id, (found.cube_id,)), found.taken_at
        return scope, to_utc(checked_time(as_of, "as_of"), "as_of")

    def _snapshot(self, scope: Scope, name: str) -> CubeSnapshot:
        """The scope's one snapshot called ``name`` (InvalidInputError for a name that no
        snapshot can have, as :meth:`snapshot` refuses it)."""
        name = checked_text(name, "snapshot name", empty=False)
        found = version_store(self._store).snapshots(scope.cube_ids, name)
        if len(found) != 1:
            where = "these cubes" if len(scope.cube_ids) > 1 else "this cube"
            problem = "no snapshot" if not found else "several snapshots"
            raise (NotFoundError if not found else InvalidInputError)(
                f"{problem} called {name!r} in {where}; pass the cube, or see "
                "`memosys snapshot list`",
                detail={"snapshot": name},
            )
        return found[0]

    def _search_as_of(
        self,
        scope: Scope,
        query: str,
        filters: Filter | None,
        options: SearchOptions,
        as_of: datetime | None,
        snapshot: str | None,
    ) -> Hits:
        options.validate()
        if options.mmr is not None or options.neighbours or options.recency_weight or (
            options.importance_weight
        ):
            raise InvalidInputError(
                "as_of and snapshot searches rank by relevance only; drop mmr, neighbours, "
                "recency_weight and importance_weight"
            )
        scope, at = self._time_point(scope, as_of, snapshot)
        return search_as_of(
            version_store(self._store),
            self._embedder,
            self.settings.retrieval,
            scope,
            query,
            filters,
            at=at,
            top_k=options.top_k,
            mode=options.mode,
            fusion=options.fusion,
            query_vector=options.query_vector,
        )
