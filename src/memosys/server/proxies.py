"""Whose ``X-Forwarded-For`` names the client: ``--trusted-proxies`` only.

The client's address keys the limit on failed sign-ins and is what the logs show.
uvicorn trusts the header from 127.0.0.1 by default, so any program on the
server's machine could pose as any address: to dodge the limit, or to lock
another client out. The servers here trust it from the proxies named, or none.
"""

from __future__ import annotations

from typing import Any


def proxy_options(trusted_proxies: str | None) -> dict[str, Any]:
    """uvicorn's options for ``--trusted-proxies`` (comma-separated addresses, or None)."""
    return {"proxy_headers": trusted_proxies is not None,
            "forwarded_allow_ips": trusted_proxies or ""}
