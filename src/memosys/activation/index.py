"""The registry of a cube's KV caches: ``<data>/kv/<cube_id>/index.json``.

One JSON file per cube lists its caches with their header
(:class:`~memosys.core.items.ActivationInfo`: fingerprint, token count,
source memory versions, byte size, stale flag, hits) and their use history,
which the eviction policies read. Every change is a read-modify-write under an
exclusive file lock and lands with an atomic rename, so several processes can
share a data directory. Temporary (``.partial``) files that a writer killed
mid-write left behind are removed by :meth:`CubeIndex.sweep` when activation
memory is opened.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, Field, ValidationError

from memosys.activation.kvfile import PARTIAL_SUFFIX, WRITERS_LOCK
from memosys.core.errors import StoreError
from memosys.core.items import ActivationInfo

INDEX_FILE = "index.json"
USE_HISTORY = 32  # access times kept per cache for the predicted-reuse policy
T = TypeVar("T")


class CacheRecord(BaseModel):
    """One KV cache of a cube: what it holds, for which model, and how it was used."""

    name: str
    cube_id: str
    user_id: str
    model: str
    file: str
    dtype: str
    created_at: datetime
    info: ActivationInfo
    last_used_at: datetime | None = None
    use_times: list[float] = Field(default_factory=list)
    stale_reason: str | None = None

    @property
    def memory_ids(self) -> list[str]:
        """The source memories, in block order."""
        return list(self.info.source_memory_versions)

    def record_use(self, at: datetime) -> None:
        """Count a hit at ``at``, keeping the last :data:`USE_HISTORY` use times."""
        self.info.hits += 1
        self.last_used_at = at
        self.use_times = [*self.use_times, at.timestamp()][-USE_HISTORY:]


class CubeIndex:
    """The caches of one cube, in ``folder/index.json``."""

    _thread_lock = threading.Lock()

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, record: CacheRecord) -> Path:
        """The cache file of a record."""
        return self.folder / record.file

    def records(self) -> dict[str, CacheRecord]:
        """Every cache of the cube by name (a snapshot)."""
        with self._locked():
            return self._read()

    def change(self, edit: Callable[[dict[str, CacheRecord]], T]) -> T:
        """Apply ``edit`` to the records under the lock and save them; returns its result."""
        with self._locked():
            records = self._read()
            result = edit(records)
            self._write(records)
            return result

    def sweep(self) -> list[Path]:
        """Remove the temporary files that writers which died mid-write left behind;
        returns them.

        Index files are only written under the folder's exclusive lock, cache files
        under a shared hold of its writers lock (:func:`.kvfile.writing`), and the
        kernel drops both locks when a process ends, kill -9 included. So with the
        first held and the second free, no live process, here or in another one, is
        writing any temporary file in the folder, and every one there is a leftover.
        While a writer holds the writers lock the sweep leaves the folder alone (the
        next one removes what is left). Unlike a pid in the name or a file's age, this
        holds across pid reuse, pid namespaces and a writer that is slow to write.
        """
        if not any(self.folder.glob(f".*{PARTIAL_SUFFIX}")):
            return []
        removed: list[Path] = []
        with self._locked(), (self.folder / WRITERS_LOCK).open("a") as writers:
            try:
                fcntl.flock(writers.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a cache file is being written right now
                return []
            try:
                for path in self.folder.glob(f".*{PARTIAL_SUFFIX}"):
                    path.unlink(missing_ok=True)
                    removed.append(path)
            finally:
                fcntl.flock(writers.fileno(), fcntl.LOCK_UN)
        return removed

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, (self.folder / ".lock").open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _read(self) -> dict[str, CacheRecord]:
        path = self.folder / INDEX_FILE
        if not path.exists():
            return {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return {name: CacheRecord.model_validate(value) for name, value in raw.items()}
        except (OSError, ValueError, AttributeError, ValidationError) as exc:
            raise StoreError(
                f"the KV cache index {path} is unreadable ({exc}); delete the folder "
                f"{self.folder} to drop this cube's caches (the memories are not affected)",
                detail={"path": str(path)},
            ) from exc

    def _write(self, records: dict[str, CacheRecord]) -> None:
        path = self.folder / INDEX_FILE
        partial = path.with_name(f".{INDEX_FILE}.{os.getpid()}{PARTIAL_SUFFIX}")
        data = {name: record.model_dump(mode="json") for name, record in records.items()}
        try:
            partial.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
