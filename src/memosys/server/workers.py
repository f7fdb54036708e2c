"""Several server processes on one port: ``memosys serve --workers N``.

A search is mostly Python, so one process serves about one CPU's worth of
them whatever its threads (the interpreter lock). With ``--workers N``
uvicorn runs N processes that accept on the same socket, each with its own
:class:`~memosys.MemOS` over the data directory, which the store supports:
every process follows the others' writes through the change logs, and the
audit chain and sign-in limits are kept in the shared database files. The
parent process opens the store first (so migrations run once) and runs the
scheduled upkeep jobs; the workers only serve requests. The workers share
each large cube's HNSW index: the parent keeps it, they search its saved
copy (:mod:`memosys.stores.sqlite.vector_cache`,
:mod:`memosys.stores.sqlite.index_keeper`), so a write goes into one index,
not into one per worker, and no worker stalls for a save.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memosys.core.errors import ConfigurationError
from memosys.server.header_timeout import HeaderTimeoutProtocol
from memosys.server.https_port import HttpsPort

if TYPE_CHECKING:
    from fastapi import FastAPI

    from memosys.server.settings import ServerSettings

WORKER_CONFIG_ENV = "MEMOSYS_SERVE_WORKER_CONFIG"
WORKER_APP = "memosys.server.workers:worker_app"  # what uvicorn imports in each worker
ORPHAN_GRACE_S = 30.0  # how long a worker whose server process died may take to stop

_log = logging.getLogger(__name__)


def worker_environment(
    data_dir: Path, settings: ServerSettings, workers: int, metrics_dir: Path | None = None,
    tls: tuple[Path, Path] | None = None,
) -> dict[str, str]:
    """The environment variable that tells each of the ``workers`` which data directory
    to serve how (where the workers share their metrics, and the TLS certificate and
    key of an HTTPS port)."""
    config = {
        "data_dir": str(data_dir.resolve()), "server": settings.model_dump(), "workers": workers,
        "metrics_dir": str(metrics_dir) if metrics_dir is not None else None,
        "tls": [str(path.resolve()) for path in tls] if tls is not None else None,
    }
    return {WORKER_CONFIG_ENV: json.dumps(config)}


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory), over its own MemOS, which it
    closes when the worker stops."""
    from memosys.api.local import MemOS
    from memosys.server.app import create_app
    from memosys.server.settings import ServerSettings
    from memosys.server.tls import tls_context

    config = _worker_config()
    WorkerProtocol.timeout_s = float(config["server"]["header_timeout_s"])
    if config.get("tls"):
        WorkerHttpsPort.context = tls_context(*map(Path, config["tls"]))
    metrics_dir = config.get("metrics_dir")
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_stop_without, args=(parent, metrics_dir),
                         name="memosys-worker-parent", daemon=True).start()
    mos = MemOS.open(Path(config["data_dir"]), background_jobs=False, shared_indexes=True)
    app = create_app(
        mos, ServerSettings(**config["server"]), owns_mos=True, processes=config["workers"],
        metrics_dir=Path(metrics_dir) if metrics_dir else None,
    )
    WorkerProtocol.metrics = app.state.metrics  # one app per worker process
    return app


class WorkerProtocol(HeaderTimeoutProtocol):
    """The HTTP protocol of a worker process (a class that uvicorn can hand to the
    processes it starts, by name), with the header timeout of its config and counting
    its 408s in the worker's metrics (both set by :func:`worker_app`, which uvicorn calls
    before any connection)."""


class WorkerHttpsPort(HttpsPort):
    """The HTTPS port of a worker process: :class:`WorkerProtocol` over TLS, with the
    certificate and key of its config (loaded by :func:`worker_app`)."""

    http = WorkerProtocol


def _worker_config() -> dict[str, Any]:
    raw = os.environ.get(WORKER_CONFIG_ENV)
    if raw is None:
        raise ConfigurationError(
            f"{WORKER_CONFIG_ENV} is not set; start workers with `memosys serve --workers N`"
        )
    config: dict[str, Any] = json.loads(raw)
    return config


def _stop_without(parent: BaseProcess, metrics_dir: str | None) -> None:
    """Stop this worker once the server process is gone (killed, it could not stop its
    workers): it would go on serving and writing on the port, unsupervised, and keep a
    restarted server from binding it. The worker stops as on SIGTERM (the requests in
    hand finish, the store is closed), or at once after :data:`ORPHAN_GRACE_S`; the
    folder of the shared metrics, which the server process would have removed, goes."""
    parent.join()
    _log.warning("the server process %s is gone; this worker process stops", parent.pid)
    if metrics_dir is not None:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(ORPHAN_GRACE_S)
    os._exit(1)
