"""Activation memory of one MemOS: build, load, list, drop and invalidate KV caches.

Caches live in ``<data>/kv/<cube_id>/<name>.safetensors`` with the cube's
registry beside them (:mod:`.index`); ``MemOS.open(":memory:")`` gets a
temporary folder owned by the instance. A cache is only ever used for the model
whose fingerprint it carries and while its source memories keep the versions it
was built from: it is checked against both on every load.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memosys.activation.blocks import MemoryBlock, render_block
from memosys.activation.eviction import Usage, victims
from memosys.activation.index import CacheRecord, CubeIndex
from memosys.activation.kvfile import (
    KVFile,
    corrupt_cache,
    load_kv,
    read_metadata,
    save_kv,
    stack_layers,
)
from memosys.activation.scheduler import Promoter
from memosys.core.clock import Clock
from memosys.core.errors import (
    EmptyInputError,
    InputTooLargeError,
    InvalidInputError,
    ModelMismatchError,
    NotFoundError,
    PermissionDeniedError,
    StaleError,
    StoreError,
)
from memosys.core.events import INVALIDATING_KINDS, MemoryChange
from memosys.core.items import ActivationInfo, MemoryItem
from memosys.models.llm.fingerprint import digest_of
from memosys.models.llm.runtime import LocalLM
from memosys.stores.base import Scope

if TYPE_CHECKING:
    from memosys.api.local import MemOS

_log = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_MEMORIES = 10_000
CacheRecords = list[CacheRecord]
Names = list[str]
Items = list[MemoryItem]


@dataclass
class LoadedCache:
    """A checked cache: its record, mapped file and the memories it holds (in block order)."""

    record: CacheRecord
    file: KVFile
    items: list[MemoryItem]

    @property
    def token_ids(self) -> list[int]:
        """The block's tokens."""
        ids: list[int] = self.file.token_ids.tolist()
        return ids


def checked_cache_name(name: object) -> str:
    """A cache name usable as a file name."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"cache name must be 1-64 letters, digits, '_', '.' or '-', got {name!r}"
        )
    return name


class ActivationMemory:
    """The KV caches of one MemOS instance."""

    def __init__(self, mos: MemOS, clock: Clock) -> None:
        self._mos = mos
        self.clock = clock
        self.settings = mos.settings.activation
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        if mos.data_dir is not None:
            self.root = mos.data_dir / "kv"
        else:
            self._scratch = tempfile.TemporaryDirectory(prefix="memosys-kv-")
            self.root = Path(self._scratch.name)
        self._sweep()
        self.scheduler = Promoter(mos, self)
        """Promotes hot memories into a cube's ``hot`` cache and demotes cold ones."""

    # -- build -------------------------------------------------------------------

    def build(
        self,
        *,
        user_id: str,
        memory_ids: Sequence[str] | None = None,
        filters: dict[str, Any] | None = None,
        cube: str | None = None,
        model: str | None = None,
        name: str | None = None,
        dtype: str | None = None,
        lm: LocalLM | None = None,
    ) -> CacheRecord:
        """Render the memories (ids in order, or a filter) into a block and cache its KV.

        The cache goes to the memories' cube; a cache of the same name is replaced.
        ``dtype`` (``float32`` or ``float16``) overrides the storage setting.
        """
        items = self._chosen(user_id, memory_ids, filters, cube)
        spec = model or self.settings.model
        lm = lm or _get_lm(spec)
        return self._save(user_id, items, lm, spec, name, dtype or self.settings.storage_dtype)

    def rebuild(self, name: str, *, user_id: str, cube: str | None = None) -> CacheRecord | None:
        """Build a cache again from its memories as they are now; removed ones are left out.

        Drops the cache and returns None when none of its memories is left.
        """
        record = self.get(name, user_id=user_id, cube=cube)
        scope = Scope(user_id, (record.cube_id,))
        items = self._mos.store.get_items(scope, record.memory_ids)
        if not items:
            self.drop(name, user_id=user_id, cube=record.cube_id)
            return None
        return self._save(
            user_id, items, _get_lm(record.model), record.model, record.name, record.dtype
        )

    def _save(
        self,
        user_id: str,
        items: Sequence[MemoryItem],
        lm: LocalLM,
        spec: str,
        name: str | None,
        dtype: str,
    ) -> CacheRecord:
        cube_id = _single_cube(items)
        self._check_owner(user_id, cube_id)
        if dtype not in ("float32", "float16"):
            raise InvalidInputError(f"dtype must be float32 or float16, got {dtype!r}")
        block = render_block(lm, items)
        if len(block.token_ids) > self.settings.max_block_tokens:
            raise InputTooLargeError(
                f"the memory block has {len(block.token_ids)} tokens, over the limit of "
                f"{self.settings.max_block_tokens}; cache fewer memories or raise "
                "activation.max_block_tokens",
                detail={"tokens": len(block.token_ids)},
            )
        name = checked_cache_name(name or f"kv-{_short_hash(block, lm)}")
        kv = stack_layers(_layers(lm.prefill(block.token_ids)))
        index = self._index(cube_id)
        now = self.clock.now()
        record = CacheRecord(
            name=name,
            cube_id=cube_id,
            user_id=user_id,
            model=spec,
            file=f"{name}.safetensors",
            dtype=dtype,
            created_at=now,
            info=ActivationInfo(
                model_fingerprint=lm.fingerprint.to_dict(),
                token_count=len(block.token_ids),
                source_memory_versions=block.sources,
                path=f"{name}.safetensors",
            ),
        )
        metadata = {
            "fingerprint": lm.fingerprint.to_dict(),
            "fingerprint_digest": lm.fingerprint.digest(),
            "token_count": len(block.token_ids),
            "text": block.text,
            "sources": [{"id": k, "version": v} for k, v in block.sources.items()],
            "byte_size": kv.numel() * (2 if dtype == "float16" else 4),
            "dtype": dtype,
            "created_at": now.isoformat(),
        }
        import torch

        stored = kv.to(getattr(torch, dtype))
        record.info.byte_size = save_kv(index.path_of(record), stored, block.token_ids, metadata)

        def add(records: dict[str, CacheRecord]) -> None:
            old = records.get(name)
            if old is not None:  # a rebuild keeps the use history the policies read
                record.info.hits, record.use_times = old.info.hits, old.use_times
                record.last_used_at = old.last_used_at
            records[name] = record

        index.change(add)
        self.evict(cube_id, keep=name)
        return record

    # -- read ----------------------------------------------------------------------

    def list(self, *, user_id: str, cube: str | None = None) -> CacheRecords:
        """The caches in the user's cubes (or one cube), by cube then name."""
        found: CacheRecords = []
        for cube_id in self._scope(user_id, cube).cube_ids:
            records = self._index(cube_id).records()
            found.extend(records[name] for name in sorted(records))
        return found

    def get(self, name: str, *, user_id: str, cube: str | None = None) -> CacheRecord:
        """One cache by name; NotFoundError if the user has none, InvalidInputError if several.

        Without ``cube``, the user's own cubes are searched first: a cube shared with
        the user never makes a name of their own ambiguous.
        """
        name = checked_cache_name(name)
        matches = [r for r in self.list(user_id=user_id, cube=cube) if r.name == name]
        if len(matches) > 1 and cube is None:
            own = {c.id for c in self._mos.list_cubes(user_id=user_id) if c.owner == user_id}
            matches = [r for r in matches if r.cube_id in own] or matches
        if not matches:
            raise NotFoundError(
                f"no KV cache named {name!r}; see `memosys kv list`", detail={"cache": name}
            )
        if len(matches) > 1:
            raise InvalidInputError(f"several cubes have a cache named {name!r}; name the cube")
        return matches[0]

    def load(self, name: str, lm: LocalLM, *, user_id: str, cube: str | None = None) -> LoadedCache:
        """Map a cache for ``lm`` after checking its model and its memories.

        Raises ModelMismatchError for another model, StaleError when a source
        memory changed or is gone, StoreError for a missing or corrupt file.
        """
        return self.checked(self.get(name, user_id=user_id, cube=cube), lm, user_id)

    def checked(self, record: CacheRecord, lm: LocalLM, user_id: str) -> LoadedCache:
        """:meth:`load` for a record already in hand."""
        digest = lm.fingerprint.digest()
        if digest_of(record.info.model_fingerprint) != digest:
            raise _mismatch(record, lm)
        if record.info.stale:
            raise _stale(record, record.stale_reason or "its memories changed")
        items = self._mos.store.get_items(Scope(user_id, (record.cube_id,)), record.memory_ids)
        current = {item.id: item.version for item in items}
        changed = [i for i, v in record.info.source_memory_versions.items() if current.get(i) != v]
        if changed:
            reason = f"memory {changed[0]} changed or is gone"
            self.mark_stale(record.cube_id, [record.name], reason, delete_files=False)
            raise _stale(record, reason)
        path = self._index(record.cube_id).path_of(record)
        file = load_kv(path)
        if file.metadata.get("fingerprint_digest") != digest:
            raise _mismatch(record, lm)
        _check_contents(path, record, file, lm)
        return LoadedCache(record, file, items)

    def record_use(self, record: CacheRecord) -> None:
        """Count a hit of a cache now."""
        at = self.clock.now()

        def hit(records: dict[str, CacheRecord]) -> None:
            if record.name in records:
                records[record.name].record_use(at)

        self._index(record.cube_id).change(hit)

    def stats(self, *, user_id: str, cube: str | None = None) -> dict[str, Any]:
        """Counts, bytes, tokens and hits of the user's caches, in total and per cache."""
        records = self.list(user_id=user_id, cube=cube)
        return {
            "caches": len(records),
            "stale": sum(r.info.stale for r in records),
            "bytes": sum(r.info.byte_size for r in records),
            "tokens": sum(r.info.token_count for r in records),
            "hits": sum(r.info.hits for r in records),
            "byte_budget_per_cube": self.settings.byte_budget_per_cube,
            "eviction": self.settings.eviction,
        }

    # -- drop, evict, invalidate -------------------------------------------------

    def drop(self, name: str, *, user_id: str, cube: str | None = None) -> CacheRecord:
        """Delete a cache and its file; returns its last record."""
        record = self.get(name, user_id=user_id, cube=cube)
        self._check_owner(user_id, record.cube_id)
        self._remove(record.cube_id, [record.name])
        return record

    def evict(self, cube_id: str, keep: str | None = None) -> Names:
        """Evict caches of a cube, by the configured policy, until it fits its byte budget."""
        now = self.clock.now().timestamp()
        records = self._index(cube_id).records()
        usages = [
            Usage(r.name, r.info.byte_size, r.created_at.timestamp(), r.use_times, r.info.hits)
            for r in records.values()
        ]
        budget = self.settings.byte_budget_per_cube
        chosen = victims(usages, budget, self.settings.eviction, now, keep)
        self._remove(cube_id, chosen)
        return chosen

    def on_change(self, change: MemoryChange) -> None:
        """Event listener: mark caches that hold changed memories stale.

        A deleted memory's caches also lose their files at once, so no copy of
        its text survives in activation memory; a forgotten memory's caches are
        removed with their records (and a forgotten cube's folder with it).
        """
        if change.kind not in INVALIDATING_KINDS or change.cube_id is None:
            return
        folder = self.root / change.cube_id
        if not folder.is_dir():
            return
        if change.kind == "forgotten" and self._mos.store.get_cube(change.cube_id) is None:
            shutil.rmtree(folder, ignore_errors=True)  # the cube itself was forgotten
            return
        touched = set(change.item_ids)
        try:
            records = self._index(change.cube_id).records()
        except StoreError as exc:  # the change is committed: say so, never raise here
            _log.warning("%s", exc.message)
            if change.kind != "updated":  # still no copy of a removed memory's text
                _unlink_files_holding(folder, touched)
            return
        hit = [r.name for r in records.values() if touched & set(r.memory_ids)]
        if hit and change.kind == "forgotten":  # no trace of the ids may stay, not even here
            self._remove(change.cube_id, hit)
        elif hit:
            reason = f"memory {sorted(touched)[0]} was {change.kind}"
            self.mark_stale(change.cube_id, hit, reason, delete_files=change.kind != "updated")

    def mark_stale(
        self, cube_id: str, names: Sequence[str], reason: str, *, delete_files: bool
    ) -> None:
        """Flag caches stale (optionally deleting their files, which hold the old text)."""
        index = self._index(cube_id)

        def flag(records: dict[str, CacheRecord]) -> None:
            for name in names:
                if name in records:
                    records[name].info.stale = True
                    records[name].stale_reason = reason
                    if delete_files:  # no bytes on disk left to count or to evict
                        index.path_of(records[name]).unlink(missing_ok=True)
                        records[name].info.byte_size = 0

        index.change(flag)

    def close(self) -> None:
        """Stop the scheduler thread; remove the temporary folder of an in-memory instance."""
        self.scheduler.close()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    # -- helpers ---------------------------------------------------------------------

    def _remove(self, cube_id: str, names: Sequence[str]) -> None:
        index = self._index(cube_id)

        def remove(records: dict[str, CacheRecord]) -> None:
            for name in names:
                record = records.pop(name, None)
                if record is not None:
                    index.path_of(record).unlink(missing_ok=True)

        if names:
            index.change(remove)

    def _sweep(self) -> None:
        """Remove the temporary files that writers killed mid-write left in the cubes'
        folders (never one a live writer, here or in another process, is writing)."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if folder.is_dir():
                try:
                    removed = CubeIndex(folder).sweep()
                except OSError as exc:  # a folder being forgotten, a read-only mount
                    _log.warning("could not clean up %s: %s", folder, exc)
                    continue
                if removed:
                    _log.info("removed %d unfinished KV cache file(s) in %s", len(removed), folder)

    def _index(self, cube_id: str) -> CubeIndex:
        return CubeIndex(self.root / cube_id)

    def _scope(self, user_id: str, cube: str | None) -> Scope:
        if cube is None:
            return Scope(user_id, tuple(c.id for c in self._mos.list_cubes(user_id=user_id)))
        return Scope(user_id, (self._mos.cube(cube, user_id=user_id).id,))

    def _check_owner(self, user_id: str, cube_id: str) -> None:
        found = self._mos.store.get_cube(cube_id)
        if found is None or found.owner != user_id:
            raise PermissionDeniedError(
                "only the owner of a cube builds or drops its KV caches; ask its owner",
                detail={"cube": cube_id},
            )

    def _chosen(
        self,
        user_id: str,
        memory_ids: Sequence[str] | None,
        filters: dict[str, Any] | None,
        cube: str | None,
    ) -> Items:
        if (memory_ids is None) == (filters is None):
            raise InvalidInputError("give either memory_ids or filters")
        if memory_ids is not None:
            if isinstance(memory_ids, str) or not isinstance(memory_ids, Sequence):
                raise InvalidInputError("memory_ids must be a list of memory ids")
            if not memory_ids:
                raise EmptyInputError("memory_ids must be a non-empty list of ids")
            items = [self._mos.get(i, user_id=user_id) for i in dict.fromkeys(memory_ids)]
        else:
            items = self._mos.list(
                user_id=user_id,
                cube=cube,
                filters=filters,
                limit=MAX_MEMORIES,
                order_by="created_at",
            )
        if not items:
            raise EmptyInputError("no memories match; nothing to cache")
        if cube is not None and items[0].cube_id != self._mos.cube(cube, user_id=user_id).id:
            raise InvalidInputError(
                f"the chosen memories are not in cube {cube!r}; leave the cube out or name theirs"
            )
        return items


def _unlink_files_holding(folder: Path, ids: set[str]) -> None:
    """Delete the cache files of a folder whose metadata names one of ``ids``."""
    for path in folder.glob("*.safetensors"):
        try:
            sources = read_metadata(path).get("sources")
        except StoreError:
            continue
        if isinstance(sources, list) and any(
            isinstance(s, dict) and s.get("id") in ids for s in sources
        ):
            path.unlink(missing_ok=True)


def _get_lm(spec: str) -> LocalLM:
    from memosys.models.llm.registry import get_lm

    return get_lm(spec)


def _layers(cache: Any) -> list[Any]:
    return [(layer.keys, layer.values) for layer in cache.layers]


def _single_cube(items: Sequence[MemoryItem]) -> str:
    cubes = {item.cube_id for item in items}
    if len(cubes) != 1:
        raise InvalidInputError("the memories come from several cubes; build one cache per cube")
    return items[0].cube_id


def _short_hash(block: MemoryBlock, lm: LocalLM) -> str:
    text = f"{lm.fingerprint.digest()}|{'|'.join(block.sources)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _check_contents(path: Path, record: CacheRecord, file: KVFile, lm: LocalLM) -> None:
    """StoreError unless the file holds this record's block, shaped for ``lm``'s layers.

    A file copied over another cache's (a restore, a manual fix) would otherwise put
    other memories into the prompt than the record and the answer name.
    """
    sources = file.metadata.get("sources")
    versions = (
        {s.get("id"): s.get("version") for s in sources if isinstance(s, dict)}
        if isinstance(sources, list)
        else None
    )
    if versions != record.info.source_memory_versions:
        why = "it holds other memories than its record in the index"
    elif file.token_ids.shape[0] != record.info.token_count:
        why = "its token count is not the one in the index"
    elif file.kv.shape[0] != lm.num_layers:
        why = f"it has {file.kv.shape[0]} layers, the model {lm.num_layers}"
    else:
        return
    raise corrupt_cache(path, why)


def _mismatch(record: CacheRecord, lm: LocalLM) -> ModelMismatchError:
    built = record.info.model_fingerprint.get("model_id", "?")
    return ModelMismatchError(
        f"KV cache {record.name!r} was built for model {built!r} "
        f"({digest_of(record.info.model_fingerprint)}), not for {lm.fingerprint.model_id!r} "
        f"({lm.fingerprint.digest()}); build a cache with this model",
        detail={"cache": record.name, "built_for": record.info.model_fingerprint},
    )


def _stale(record: CacheRecord, reason: str) -> StaleError:
    return StaleError(
        f"KV cache {record.name!r} is stale ({reason}); rebuild it with "
        f"`memosys kv build --rebuild {record.name}` or drop it",
        detail={"cache": record.name, "reason": reason},
    )
