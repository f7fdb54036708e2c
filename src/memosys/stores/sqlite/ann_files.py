"""Saved HNSW indexes beside the database, in ``<database>.ann/``: a record and a file per cube.

Several processes may save the same cube's index at once (``serve --workers``
closes them together), and usearch does not check what it loads: a torn or
mixed file crashes the process at its first search. So every save writes a
file of its own, ``<cube hash>-<log position>-<random>.usearch``, renamed
into place once complete, and then points the cube's record,
``<cube hash>.json``, at it, with the file's sha256. A loader takes a file
only through a record and only when its sha256 matches; otherwise the index is
rebuilt. Under a lock on the folder, a save does not replace a record of a
later log position, and removes the files of earlier ones, unfinished ones
too (a save whose file goes so was overtaken: it ends quietly). A save older
than the record is not written at all. A forget deletes a cube's files and
leaves a record of the removal's log position only, so that no process saves
a state from before it.

Processes serving one directory together (``serve --workers``) can share a
cube's index: the one holding the cube's ``<cube hash>.keeper`` lock keeps
the index and saves it every few thousand changes; the others map the saved
file read-only (:meth:`AnnFiles.view`), see :mod:`.vector_cache`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

import numpy as np
import numpy.typing as npt

from memosys.core.errors import StoreError
from memosys.core.files import replace_text
from memosys.stores.sqlite.ann import (
    HNSW_EXPANSION_INSERT,
    HNSW_EXPANSION_SEARCH,
    HNSW_SCALAR,
    build_hnsw,
)
from memosys.stores.sqlite.freed_slots import Halves, no_halves, zero_removed

_log = logging.getLogger(__name__)

LOCK_FILE = "records.lock"
# recorded with each file saved with its removed vectors zeroed (files saved before are
# rebuilt: they may hold the bytes of vectors replaced before a later delete)
FREED_SLOTS = "zeroed"
_THREADS_LOCK = threading.Lock()


class SavedIndex(NamedTuple):
    """A cube's saved index as its record names it."""

    seq: int  # the position in the ``vector_changes`` log it reflects
    path: Path
    sha256: str


class AnnFiles:
    """Saved HNSW indexes of one database, keyed by cube id."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def saved(self, cube_id: str, dim: int) -> SavedIndex | None:
        """The cube's saved index, if its record is readable and of this dimension and
        scalar type, with removed vectors zeroed (any other is rebuilt)."""
        record = self._record(cube_id)
        if (
            record is None or record.get("dim") != dim or record.get("scalar") != HNSW_SCALAR
            or record.get("freed_slots") != FREED_SLOTS or self.folder is None
        ):
            return None
        try:
            name = str(record["file"])
            saved = SavedIndex(int(record["seq"]), self.folder / name, str(record["sha256"]))
        except (KeyError, TypeError, ValueError):  # a record of an older layout: rebuild
            return None
        return saved if Path(name).name == name else None  # only files in this folder

    def load(self, saved: SavedIndex, dim: int) -> Any:
        """The saved index, or None when it is gone or not the file its record hashed."""
        try:
            return _open(saved, dim, view=False)
        except (RuntimeError, ValueError, OSError) as exc:
            _log.warning("could not load the vector index %s (%s); rebuilding it",
                         saved.path, exc)
            return None

    def view(self, saved: SavedIndex, dim: int) -> Any:
        """The saved index memory-mapped read-only (the processes viewing one file share its
        pages), or None when it is gone (a later one replaced it) or not the file its
        record hashed. Adding to the view raises; removing from it crashes the process."""
        try:
            return _open(saved, dim, view=True)
        except (RuntimeError, ValueError, OSError) as exc:
            _log.debug("could not view the vector index %s (%s)", saved.path, exc)
            return None

    def keep(self, cube_id: str) -> IO[str] | None:
        """Become the one process that keeps the cube's shared index: the open lock file,
        held until it is closed (or the process ends), or None while another process
        holds it. Without ``flock`` (Windows) or a writable folder, every process keeps
        its own. A new keeper deletes the unfinished saves of the cube: only a keeper
        saves it, so they are a killed one's, and may hold removed vectors not yet
        zeroed."""
        if self.folder is None:
            return None
        stem = _stem(cube_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = (self.folder / f"{stem}.keeper").open("a")
        except OSError as exc:
            _log.warning("cannot share the vector index of cube %s (%s); this process "
                         "keeps its own", cube_id, exc)
            return open(os.devnull, "a")  # noqa: SIM115 - held like a lock file
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return None
            for unfinished in self.folder.glob(f"{stem}-*.partial"):
                unfinished.unlink(missing_ok=True)
        return handle

    def save(
        self, cube_id: str, index: Any, removed: Halves | None = None, *, seq: int, dim: int
    ) -> npt.NDArray[np.bool_] | None:
        """Write a cube's index to a file of its own, with the ``removed`` vectors it may
        still hold zeroed (:mod:`.freed_slots`), then point the cube's record at it (unless
        the record already names a later log position). Which of ``removed`` the file
        held; None when it was not written."""
        if self.folder is None or self._superseded(cube_id, seq):
            return None  # another process saved a later state: writing this one is wasted
        stem = _stem(cube_id)
        path = self.folder / f"{stem}-{seq}-{secrets.token_hex(4)}.usearch"
        partial = path.with_name(f"{path.name}.partial")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            index.save(str(partial))
            held = zero_removed(partial, removed if removed is not None else no_halves(dim))
            digest = _sha256(partial)
            with _records_locked(self.folder):
                if self._superseded(cube_id, seq):
                    partial.unlink(missing_ok=True)  # another process saved a later state
                    return None
                partial.replace(path)  # under the lock: a forget's remove() sees either name
                record = {"cube_id": cube_id, "seq": seq, "dim": dim, "scalar": HNSW_SCALAR,
                          "freed_slots": FREED_SLOTS, "file": path.name, "sha256": digest}
                replace_text(self.folder / f"{stem}.json", json.dumps(record))
                self._remove_superseded(stem, seq, path.name)
            return held
        except FileNotFoundError:  # a later save or a forget removed the unfinished file
            return None
        except (OSError, RuntimeError, StoreError) as exc:  # the next process rebuilds
            partial.unlink(missing_ok=True)
            if not self._superseded(cube_id, seq):  # else a later save removed this one
                _log.warning("could not save the vector index of cube %s to %s: %s",
                             cube_id, self.folder, exc)
            return None

    def remove(self, cube_id: str, seq: int) -> None:
        """Delete every saved index file of a cube, complete or not, after vectors were
        forgotten at log position ``seq``; its record then refuses any save of an earlier
        position (a keeper in another process may not have taken the removal in yet).
        Under the record lock, so that a save finishing meanwhile cannot rename its file
        out of reach. Its keeper's lock file stays: a new one could be locked beside the
        held one."""
        if self.folder is None or not self.folder.is_dir():
            return
        stem = _stem(cube_id)
        with _records_locked(self.folder):
            for path in [*self.folder.glob(f"{stem}-*"), *self.folder.glob(f"{stem}.*")]:
                if path.suffix != ".keeper":
                    path.unlink(missing_ok=True)
            replace_text(self.folder / f"{stem}.json", json.dumps({"seq": seq, "removed": True}))

    def _superseded(self, cube_id: str, seq: int) -> bool:
        """Whether the cube's record names a later log position than ``seq`` (a save, or a
        removal)."""
        record = self._record(cube_id)
        recorded = record.get("seq") if record is not None else None
        return isinstance(recorded, int) and recorded > seq

    def _record(self, cube_id: str) -> dict[str, Any] | None:
        if self.folder is None:
            return None
        try:
            record = json.loads((self.folder / f"{_stem(cube_id)}.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def _remove_superseded(self, stem: str, seq: int, kept: str) -> None:
        """Delete the cube's index files of log positions before ``seq`` (complete, or left
        by a save cut short), its other complete files of ``seq`` (an index rebuilt at the
        same position), and its file of the layout before records named theirs."""
        assert self.folder is not None
        for path in [*self.folder.glob(f"{stem}-*"), self.folder / f"{stem}.usearch"]:
            position = _seq_of(path)
            same = position == seq and path.suffix == ".usearch" and path.name != kept
            if position < seq or same:
                path.unlink(missing_ok=True)


def _open(saved: SavedIndex, dim: int, *, view: bool) -> Any:
    if _sha256(saved.path) != saved.sha256:
        raise ValueError("its sha256 does not match its record")
    index = build_hnsw(dim, np.empty(0, dtype=np.int64), np.empty((0, dim), np.float32))
    (index.view if view else index.load)(str(saved.path))
    index.expansion_search = HNSW_EXPANSION_SEARCH
    index.expansion_add = HNSW_EXPANSION_INSERT
    return index


def _stem(cube_id: str) -> str:
    return hashlib.sha256(cube_id.encode("utf-8")).hexdigest()[:24]


@contextmanager
def _records_locked(folder: Path) -> Iterator[None]:
    """Hold the folder's record lock: comparing a cube's record and replacing it is one
    step for every thread and process (``flock``; where there is none, this process's
    threads only)."""
    with _THREADS_LOCK, (folder / LOCK_FILE).open("a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _seq_of(path: Path) -> int:
    """The log position in an index file's name (-1 for the older, unnumbered name)."""
    parts = path.name.split("-")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1
