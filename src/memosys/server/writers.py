"""Adds run in write processes: ``memosys serve --write-processes N``.

An add is mostly embedding, and in the serving process it competes with the
searches for the cores and, in its Python steps, for the interpreter lock:
under a heavy write load a search waited seconds for its turn. With write
processes, the add routes hand their call to one of N processes, each with
its own :class:`~memosys.MemOS` over the data directory (with the serving
process's settings) and a lower CPU priority
(:attr:`ServerSettings.write_niceness`), so the operating system runs a
search first and the serving process keeps its interpreter lock for the
searches.
The store supports it as it supports ``--workers``: the serving process
follows the write processes' commits through the change logs, so a search
sent after an add's answer finds what it added. It takes an add's changes into
its search indexes as the add returns, before answering it: a search would
otherwise do that first (at 150 messages/s, a third of a search's time under
the mixed load). A write process runs the call
under the request's id and actor, so the audit log reads the same; it raises
the same errors, and one that dies is replaced for the next write; one whose
server process dies exits with it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memosys.core.context import bind_request
from memosys.core.errors import ConfigurationError, MemosysError, StoreError

if TYPE_CHECKING:
    from memosys.api.local import MemOS
    from memosys.settings import MemosysSettings

WRITE_METHODS = frozenset({"add", "add_texts", "add_document"})  # what the add routes call

_mos: MemOS | None = None  # the write process's own memory system (set by _open)


class WriterPool:
    """``processes`` write processes over ``data_dir`` with ``settings`` (the serving
    process's), started on first use; ``take_in`` brings the serving process's search
    indexes up to date after each write (``Store.take_in_changes``)."""

    def __init__(
        self, data_dir: Path | None, settings: MemosysSettings, processes: int, niceness: int,
        take_in: Callable[[], None],
    ) -> None:
        if data_dir is None:
            raise ConfigurationError(
                "write processes need a data directory; open MemOS on a directory, "
                "or set server.write_processes to 0"
            )
        self._processes = processes
        self._data_dir = data_dir.resolve()
        self._settings = settings
        self._niceness = niceness
        self._take_in = take_in
        self._lock = threading.Lock()  # guards the fields below
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    def run(self, method: str, request_id: str, actor: str, *args: Any, **kwargs: Any) -> Any:
        """``MemOS.<method>(*args, **kwargs)`` in a write process, as ``actor`` within
        request ``request_id``; its result, or the error it raised."""
        if method not in WRITE_METHODS:
            raise ConfigurationError(f"{method!r} does not run in a write process")
        pool = self._current()
        try:
            result = pool.submit(_call, method, request_id, actor, args, kwargs).result()
        except BrokenProcessPool as exc:
            raise self._lost(
                pool, "a write process stopped during this write, which may not have been "
                "stored; look it up or send it again (the next write starts a new process)",
                {"method": method},
            ) from exc
        self._take_in()
        return result

    def warm(self) -> None:
        """Start every write process and load its embedding model (at server startup)."""
        pool = self._current()
        try:
            loads: list[Future[None]] = [pool.submit(_warm) for _ in range(self._processes)]
            for load in loads:
                load.result()
        except BrokenProcessPool as exc:
            raise self._lost(
                pool, "the write processes did not start; the server log shows why "
                "(the next write tries again)",
            ) from exc

    def close(self) -> None:
        """Let the writes in hand finish, then stop the processes (each closes its store)."""
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            pool.shutdown(wait=True)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise StoreError("the server is stopping; send the write again once it is back")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self._processes,
                    mp_context=multiprocessing.get_context("spawn"),  # threads: never fork
                    initializer=_open,
                    initargs=(str(self._data_dir), self._settings, self._niceness),
                )
            return self._pool

    def _lost(
        self, broken: ProcessPoolExecutor, message: str, detail: dict[str, Any] | None = None
    ) -> StoreError:
        """Drop a pool whose process died (the next call starts a new one); the error
        to raise."""
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False)
        return StoreError(message, detail=detail)


def _open(data_dir: str, settings: MemosysSettings, niceness: int) -> None:
    """A write process's start: lower its priority, open its MemOS (closed at exit)."""
    from multiprocessing.util import Finalize

    from memosys.api.local import MemOS

    global _mos
    if niceness and hasattr(os, "nice"):
        os.nice(niceness)
    _mos = MemOS.open(Path(data_dir), settings=settings, background_jobs=False)
    Finalize(_mos, _mos.close, exitpriority=10)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), name="memosys-writer-parent",
                         daemon=True).start()


def _end_with(parent: BaseProcess) -> None:
    """Exit as soon as the server process is gone (killed, it could not stop us): its
    requests are gone with it, and a write cut short is rolled back by SQLite."""
    parent.join()
    os._exit(1)


def _opened() -> MemOS:
    if _mos is None:
        raise MemosysError("this process was not started as a write process")
    return _mos


def _call(method: str, request_id: str, actor: str, args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> Any:
    with bind_request(request_id, actor):
        return getattr(_opened(), method)(*args, **kwargs)


def _warm() -> None:
    _opened().embedder.embed(["warm up"], purpose="query")
