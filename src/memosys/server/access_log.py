"""The access log: each line names its request's id, and never shows an API key.

Keys travel in the ``Authorization`` header, which is never logged; but a
client that puts one in the query string (``?api_key=msk_...``, a habit of
other APIs) would have it written to uvicorn's access log, in clear, for
anyone who reads the logs. :class:`RedactKeys` replaces such values in the
access log's records, and gives each record the request's ``X-Request-ID``
(``request_id``), which :func:`log_config` prints at the end of the line, so that
an operator finds a request's line from the id a client or the audit log names.
:func:`log_config` is the server's whole logging configuration.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from memosys.server.request_ids import CURRENT

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "<redacted>"
_KEY = re.compile(r"msk_[A-Za-z0-9_\-]+")
_SECRET_PARAM = re.compile(
    r"((?:^|[?&;])(?:api[_-]?key|key|token|access[_-]?token|secret|password|auth(?:orization)?)=)"
    r"[^&;#\s]*",
    re.IGNORECASE,
)


def redacted(text: str) -> str:
    """``text`` with API keys and the values of secret-looking query parameters hidden."""
    return _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", _KEY.sub(f"msk_{REDACTED}", text))


class RedactKeys(logging.Filter):
    """Hide API keys in the string arguments (the request path) of a log record; name
    the request's id in its ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = CURRENT.get() or "-"
        if isinstance(record.args, tuple):
            record.args = tuple(
                redacted(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = redacted(record.msg)
        return True


_FILTER = RedactKeys()


def redact_access_log() -> None:
    """Put :class:`RedactKeys` on uvicorn's access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(each, RedactKeys) for each in logger.filters):
        logger.addFilter(_FILTER)


class HttpsStartLine(logging.Filter):
    """uvicorn's "Uvicorn running on http://..." says ``https`` (the port's TLS is not
    uvicorn's, see :mod:`.https_port`, so uvicorn takes it for plain HTTP)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (str(record.msg).startswith("Uvicorn running on") and isinstance(record.args, tuple)
                and record.args[:1] == ("http",)):
            record.args = ("https", *record.args[1:])
        return True


def log_config(*, https: bool = False) -> dict[str, Any]:
    """uvicorn's logging configuration, with each access line ending in the request's
    id (``request_id=...``), memosys's warnings printed as uvicorn's, and the start line
    naming ``https`` for an HTTPS port."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["access"]["fmt"] += " request_id=%(request_id)s"
    filters = config.setdefault("filters", {})
    filters["redact_keys"] = {"()": f"{__name__}.RedactKeys"}
    config["loggers"][ACCESS_LOGGER]["filters"] = ["redact_keys"]
    if https:
        filters["https_start_line"] = {"()": f"{__name__}.HttpsStartLine"}
        config["loggers"]["uvicorn.error"]["filters"] = ["https_start_line"]
    config["loggers"]["memosys"] = {"handlers": ["default"], "level": "WARNING",
                                    "propagate": False}
    return config
