"""``memosys serve``: the REST API on uvicorn, over the embedded store."""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from pathlib import Path

import click

from memosys.cli.options import http_limit_options, log_level_option, network_options, state
from memosys.cli.stopping import closed_unbroken, sigterm_stops

# adds in two processes at a lower priority: searches under a heavy write load were
# 12 times faster at p50, adds as fast (benchmarks/results/write_processes_ab.json)
DEFAULT_WRITE_PROCESSES = 2
# with --workers 2 on 2 cores, mixed-load search p50 562 to 897 ms with the adds in
# the workers, 27 to 36 ms with one write process each, adds as fast
# (benchmarks/results/workers_write_processes_ab.json)
DEFAULT_WRITE_PROCESSES_PER_WORKER = 1


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port to listen on.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data directory (default: $MEMOSYS_HOME, else ~/.memosys).")
@click.option("--drain-s", default=0.0, show_default=True, type=click.FloatRange(0, 3600),
              help="On SIGTERM, answer 503 'draining' on /readyz and go on serving this "
              "long before stopping, so a load balancer moves traffic away first (one "
              "server process only).")
@http_limit_options
@log_level_option
@click.option("--jobs/--no-jobs", default=True, show_default=True,
              help="Run the scheduled upkeep jobs (lifecycle.schedule) in the background.")
@click.option("--warm/--no-warm", default=True, show_default=True,
              help="Load the embedding model and the search indexes in the background at "
              "startup, so the first searches do not wait for them (--no-warm: each on "
              "first use; less memory while cubes go unsearched).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes sharing the port: about one CPU's worth of searches "
              "each (Python's interpreter lock); use the number of CPUs for the most.")
@click.option("--write-processes", default=None, type=click.IntRange(0, 64),
              help="Processes that run the adds at a lower CPU priority, per server "
              "process, so that a heavy write load does not slow the searches down "
              "(0: adds run in the server process). Default: 2 with one server "
              "process, 1 each with --workers.")
@network_options
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Let browser apps on this origin (scheme://host[:port]) call the API; "
              "repeatable. '*' lets every origin in (without credentials). Default: none.")
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, data: Path | None, max_body_mb: int,
    drain_s: float, body_timeout_s: float, header_timeout_s: float, log_level: str, jobs: bool,
    warm: bool, workers: int, write_processes: int | None, trusted_proxies: str | None,
    tls_cert: Path | None, tls_key: Path | None, cors_origins: tuple[str, ...],
) -> None:
    """Run the REST API (FastAPI on uvicorn) over the data directory.

    Every /v1 route needs 'Authorization: Bearer <api key>'; create the first
    admin key with `memosys init --data DIR`. The upkeep jobs of
    lifecycle.schedule (TTL purge, decay, caps, ...) run in a background
    thread; `memosys jobs list` shows when each runs next. With --workers N,
    N processes share the port (this one runs the jobs); with --write-processes N,
    each hands its adds to N processes of its own. Stop with Ctrl-C, SIGTERM or SIGHUP
    (with --drain-s, /readyz says 'draining' for that long first). With --tls-cert
    and --tls-key it serves HTTPS.
    """
    import importlib.util

    from memosys.core.errors import missing_dependency
    from memosys.server.tls import tls_context, tls_files, tls_warnings

    if drain_s and workers > 1:
        raise click.BadParameter("drains one server process only; drop --workers or "
                                 "--drain-s", param_hint="'--drain-s'")
    tls = tls_files(tls_cert, tls_key)
    context = tls_context(*tls) if tls else None

    if importlib.util.find_spec("uvicorn") is None:
        raise missing_dependency("uvicorn", "server")
    import uvicorn

    from memosys.api.local import MemOS
    from memosys.core.context import bind_request
    from memosys.core.ids import new_id
    from memosys.server.access_log import log_config
    from memosys.server.app import create_app
    from memosys.server.draining import DrainingServer
    from memosys.server.header_timeout import header_timeout_protocol
    from memosys.server.https_port import https_port
    from memosys.server.listen import check_listen
    from memosys.server.proxies import proxy_options
    from memosys.server.settings import ServerSettings
    from memosys.server.workers import (
        WORKER_APP,
        WorkerHttpsPort,
        WorkerProtocol,
        worker_environment,
    )

    settings = ServerSettings(
        host=host, port=port, max_body_bytes=max_body_mb * 1024 * 1024,
        body_timeout_s=body_timeout_s, header_timeout_s=header_timeout_s, log_level=log_level,
        warm_indexes=warm,
        write_processes=_write_processes(write_processes, workers, state(ctx).embedder),
        cors_origins=list(cors_origins),
    )
    data_dir = data if data is not None else state(ctx).data_dir
    # each request acts as its API key's principal; nothing here is the operator's doing
    ctx.with_resource(bind_request(new_id(), None))
    with sigterm_stops(signal.SIGINT), closed_unbroken(MemOS.open(
        data_dir, embedder=state(ctx).embedder, background_jobs=jobs, create=False,
        shared_indexes=workers > 1,
    )) as mos:
        check_listen(host, port)
        scheme = "https" if tls else "http"
        click.echo(f"memosys serving {data_dir.resolve()} on {scheme}://{host}:{port}"
                   f"{_processes(workers, settings.write_processes)}", err=True)
        for warning in tls_warnings(host, tls):
            click.echo(f"warning: {warning}", err=True)
        options = {**proxy_options(trusted_proxies), "log_config": log_config(https=bool(tls))}
        if workers == 1:
            app = create_app(mos, settings)
            http = header_timeout_protocol(header_timeout_s, app.state.metrics)
            config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                    http=https_port(http, context) if context else http,
                                    **options)
            DrainingServer(config, app.state, drain_s).run()
            return
        # this process keeps the store open, runs the jobs and keeps the large cubes'
        # shared vector indexes; the workers serve, and share their metrics in a folder
        stop_keeping = threading.Event()
        keeping = mos.store.keep_shared_indexes(stop_keeping)
        try:
            with tempfile.TemporaryDirectory(prefix="memosys-metrics-") as shared:
                os.environ.update(
                    worker_environment(data_dir, settings, workers, Path(shared), tls)
                )
                uvicorn.run(WORKER_APP, factory=True, workers=workers, host=host, port=port,
                            log_level=log_level,
                            http=WorkerHttpsPort if tls else WorkerProtocol, **options)
        finally:
            stop_keeping.set()
            keeping.join()


def _write_processes(asked: int | None, workers: int, embedder: object) -> int:
    """``--write-processes``, else 2 with one server process and 1 for each of several;
    none with an embedder that a program passed in (a write process loads the configured
    one)."""
    if asked is not None:
        return asked
    if embedder is not None:
        return 0
    return DEFAULT_WRITE_PROCESSES if workers == 1 else DEFAULT_WRITE_PROCESSES_PER_WORKER


def _processes(workers: int, writers: int) -> str:
    """What the start line says of the processes, e.g. `` (2 write processes)``."""
    parts = [f"{workers} worker processes"] if workers > 1 else []
    if writers:
        each = " each" if workers > 1 else ""
        parts.append(f"{writers} write process{'es' if writers > 1 else ''}{each}")
    return f" ({', '.join(parts)})" if parts else ""
