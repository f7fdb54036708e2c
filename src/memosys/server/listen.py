"""Whether a server can listen on its address, asked before it starts.

uvicorn would say only "[Errno 98] ... address already in use", after the
server's start line and its startup, and exit 3.
"""

from __future__ import annotations

import errno
import socket

from memosys.core.errors import ConfigurationError


def check_listen(host: str, port: int) -> None:
    """ConfigurationError naming the fix if a server could not listen on ``host:port``;
    binds as uvicorn does, then lets go."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except socket.gaierror as exc:
        raise ConfigurationError(
            f"cannot listen on --host {host!r}: {exc.strerror}; give an address or name of "
            "this machine, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
            detail={"host": host},
        ) from exc
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fix = "another server listens there: stop it, or pick another --port"
        elif exc.errno == errno.EADDRNOTAVAIL:
            fix = f"{host} is not an address of this machine: give one of its own --host"
        elif exc.errno == errno.EACCES:
            fix = "ports under 1024 need privileges: pick a --port above 1023"
        else:
            fix = "check --host and --port"
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {exc.strerror}; {fix}",
            detail={"host": host, "port": port},
        ) from exc
