"""The access log never shows an API key, even one a client put in the URL.

Keys travel in the ``Authorization`` header, which is never logged; but a
client that puts one in the query string (``?api_key=msk_...``, a habit of
other APIs) would have it written to uvicorn's access log, in clear, for
anyone who reads the logs. :class:`RedactKeys` replaces such values in the
access log's records.
"""

from __future__ import annotations

import logging
import re

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
    """Hide API keys in the string arguments (the request path) of a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
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
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
