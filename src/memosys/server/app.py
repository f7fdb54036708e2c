"""The app factory: one FastAPI app over one MemOS."""

from __future__ import annotations

import gc
import importlib.util
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from memosys.core.errors import MemosysError, missing_dependency

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI

    from memosys.api.local import MemOS
    from memosys.server.settings import ServerSettings
    from memosys.server.writers import WriterPool

_log = logging.getLogger(__name__)

def _lifespan(
    mos: MemOS, owns_mos: bool, warm: bool, writers: WriterPool | None
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """At startup, the heap built so far leaves the garbage collector's reach and, if
    ``warm``, the embedding model, the search indexes and the ``writers`` start
    loading (``app.state.warming``: the thread), so the first requests after a restart
    do not load them; at shutdown, the writers stop and ``mos`` is closed if the app
    owns it.

    The objects alive at startup (modules, routes, schemas) live as long as the
    process. Frozen (``gc.freeze``), they are no longer walked by every full
    collection, which pauses all threads: in a 35 s search load, full
    collections took 0.15 s in all instead of 1.0 s.
    """

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        gc.collect()
        gc.freeze()
        app.state.warming = _warm_up(mos, writers) if warm else None
        try:
            yield
        finally:
            if writers is not None:
                writers.close()
            if owns_mos:
                mos.close()

    return lifespan


def _warm_up(mos: MemOS, writers: WriterPool | None) -> threading.Thread:
    """Load the embedding model (one query), the search indexes and the write processes,
    in the background."""

    def run() -> None:
        indexes = mos.store.warm_indexes()
        try:
            mos.embedder.embed(["warm up"], purpose="query")
            if writers is not None:
                writers.warm()
        except MemosysError as exc:  # the first search or add reports it
            _log.warning("the warm-up did not finish: %s", exc)
        indexes.join()

    thread = threading.Thread(target=run, name="memosys-warm-up", daemon=True)
    thread.start()
    return thread


def create_app(
    mos: MemOS,
    settings: ServerSettings | None = None,
    *,
    owns_mos: bool = False,
    processes: int = 1,
    metrics_dir: Path | None = None,
) -> FastAPI:
    """The REST API (``/v1``), ``/healthz`` and ``/metrics`` over ``mos``.

    Store calls run in the thread pool; searches first wait for a turn
    (:mod:`memosys.server.turns`), one per CPU shared among the ``processes``
    that serve together (``--workers``). The caller keeps ownership of ``mos``
    (closes it after the server stops) unless ``owns_mos``: then the app
    closes it when the server shuts down. The processes that serve together share
    their metrics through ``metrics_dir`` (see :class:`~memosys.server.metrics.Metrics`).
    """
    if importlib.util.find_spec("fastapi") is None:
        raise missing_dependency("fastapi", "server")
    import anyio
    from fastapi import FastAPI

    from memosys import __version__
    from memosys.retrieval.search import searches_at_once
    from memosys.server.access_log import redact_access_log
    from memosys.server.auth_first import AuthenticateFirstMiddleware
    from memosys.server.cors import add_cors
    from memosys.server.dashboard import mount_dashboard
    from memosys.server.errors import (
        UnexpectedErrorMiddleware,
        error_responses,
        install_error_handlers,
    )
    from memosys.server.limits import BodyLimitMiddleware
    from memosys.server.metrics import Metrics, MetricsMiddleware
    from memosys.server.request_ids import RequestIdMiddleware
    from memosys.server.routes import (
        audit,
        cubes,
        lifecycle,
        memories,
        search,
        system,
        users_keys,
    )
    from memosys.server.settings import ServerSettings
    from memosys.server.writers import WriterPool

    settings = settings or ServerSettings()
    redact_access_log()
    writers = (
        WriterPool(mos.data_dir, mos.settings, settings.write_processes, settings.write_niceness,
                   mos.store.take_in_changes)
        if settings.write_processes
        else None
    )
    app = FastAPI(
        lifespan=_lifespan(mos, owns_mos, settings.warm_indexes, writers),
        title="memosys",
        version=__version__,
        description="A memory operating system for LLM applications. "
        "Send 'Authorization: Bearer <api key>' on every /v1 route.",
    )
    app.state.mos = mos
    app.state.settings = settings
    app.state.metrics = Metrics(metrics_dir)
    app.state.warming = None  # the startup's warm-up thread (see _lifespan)
    app.state.writers = writers
    turns = searches_at_once(mos.settings.retrieval, processes)
    app.state.search_turns = anyio.CapacityLimiter(turns)
    install_error_handlers(app)
    app.include_router(system.router)
    for module in (memories, lifecycle, search, cubes, users_keys, audit):
        app.include_router(module.router, responses=error_responses())
    mount_dashboard(app)
    # the last added middleware runs first: ids, timing, CORS (with --cors-origin), the
    # key of a large body, the size limit, then bugs as 500s
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s
    )
    app.add_middleware(AuthenticateFirstMiddleware)
    add_cors(app, settings.cors_origins)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestIdMiddleware)
    return app
