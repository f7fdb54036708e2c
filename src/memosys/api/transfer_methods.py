"""The facade's bulk methods: export, import and re-embedding of whole cubes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from memosys.api.facade import FacadeBase
from memosys.api.transfer import (
    ImportCounts,
    export_items,
    read_import_file,
    without_links_to,
)
from memosys.core.items import MemoryItem
from memosys.lifecycle.upkeep import ItemChanges, upkeep_of
from memosys.stores.base import Scope

Progress = Callable[[int, int], None]


class TransferMethods(FacadeBase):
    """Moving memories in and out in bulk, and recomputing their vectors."""

    def export_items(
        self, path: str | Path, *, user_id: str, cube: str | None = None, overwrite: bool = False
    ) -> int:
        """Write the memories as JSON Lines; returns how many.

        The file is written whole or not at all. A path inside the data directory
        is refused, and so is an existing file unless ``overwrite``.
        """
        scope = self._cubes.search_scope(self._cubes.reader(user_id), cube)
        self._access.settle()
        return export_items(
            self._store, scope, Path(path), data_dir=self.data_dir, overwrite=overwrite
        )

    def import_items(
        self,
        path: str | Path,
        *,
        user_id: str,
        cube: str | None = None,
        progress: Progress | None = None,
    ) -> ImportCounts:
        """Import JSON Lines written by :meth:`export_items` (or ``{"content": ...}`` lines).

        A line that repeats a memory already stored is not stored again; the result
        counts those apart from the memories added, and the lines that linked to it
        lose that link (as links to memories outside the file do; the knowledge-update
        check then looks at them afresh). A file with no lines is an
        :class:`~memosys.core.errors.EmptyInputError`.
        """
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.for_write(user, cube)
        batches = read_import_file(
            Path(path),
            user_id=user,
            cube_id=target.id,
            settings=self.settings.reader,
            clock=self._clock,
        )
        done = 0
        repeats: set[str] = set()
        linking: list[MemoryItem] = []  # the lines stored that link to others
        for items, total in batches:
            stored = self._write(items, None, repeats_in_any_state=True)
            for sent, kept in zip(items, stored, strict=True):
                # a repeat comes back as the memory stored before, under that one's id
                if sent.id != kept.id:
                    repeats.add(sent.id)
                elif kept.supersedes or kept.superseded_by or kept.merged_from \
                        or kept.previous_versions:
                    linking.append(kept)
            done += len(stored)
            if progress:
                progress(done, total)
        self._unlink_repeats(Scope(user, (target.id,)), linking, repeats)
        return ImportCounts(added=done - len(repeats), existing=len(repeats))

    def _unlink_repeats(self, scope: Scope, linking: list[MemoryItem], repeats: set[str]) -> None:
        """Drop the links of imported memories to lines that were not stored (repeats)."""
        now = self._clock.now()
        fixed = [f for item in linking if (f := without_links_to(item, repeats, now))]
        if not fixed:
            return
        note = "import: a linked line repeated a memory already stored"
        with self.events.changing():
            upkeep_of(self._store).apply(scope, ItemChanges(updated=fixed, note=note), None)
            self.events.emit("updated", [item.id for item in fixed],
                             cube_id=scope.cube_ids[0], user_id=scope.user_id)

    def reembed(
        self,
        *,
        user_id: str | None = None,
        cube: str | None = None,
        progress: Progress | None = None,
        batch_size: int = 512,
    ) -> int:
        """Recompute every vector with the configured embedder; returns how many.

        Each batch is audited (``cube.reembed``) in the transaction that writes it.
        ``user_id`` None: every cube of every user; an unknown user is NotFoundError
        (it is not created).
        """
        user = None if user_id is None else self._cubes.existing_user(
            user_id,
            "name a user with memosys --user, or re-embed every user's memories with"
            " `memosys reembed --all-users` (user_id=None)",
        )
        if user is None:
            cubes = self._store.list_cubes()
        elif cube is None:  # own cubes only: shared ones are their owners' to re-embed
            cubes = self._store.list_cubes(owner=user)
        else:
            cubes = [self._cubes.writable(user, cube)]
        fingerprint = self._embedder.fingerprint
        total = sum(self._store.count_items(Scope(c.owner, (c.id,))) for c in cubes)
        done = 0
        for target in cubes:
            scope = Scope(target.owner, (target.id,))
            offset = 0
            while batch := self._store.list_items(scope, None, batch_size, offset, "created_at"):
                vectors = self._embedder.embed([item.search_text() for item in batch])
                with self._store.transaction():
                    self._store.replace_vectors(
                        target.id, [item.id for item in batch], vectors, fingerprint
                    )
                    detail = {"items": len(batch), "embedder": fingerprint}
                    self._governance.record(
                        "cube.reembed", user or target.owner, cube_id=target.id, detail=detail
                    )
                offset += len(batch)
                done += len(batch)
                if progress:
                    progress(done, total)
        return done
