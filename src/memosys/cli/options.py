"""Options and parameter types shared by every command.

``--data``, ``--user`` and ``--cube`` are accepted both on the group
(``memosys --user ana search ...``) and on each command
(``memosys search ... --user ana``); the command's value wins. They are kept
in a :class:`CliState` on the click context, and :func:`open_memos` opens the
data directory they name. Nothing here imports the API at module import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from memosys.api.local import MemOS
    from memosys.models.embedders.base import Embedder

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_USER = "default"


def default_data_dir() -> Path:
    """``$MEMOSYS_HOME`` if set, else ``~/.memosys``; read when called, never at import."""
    home = os.environ.get("MEMOSYS_HOME")
    return Path(home).expanduser() if home else Path.home() / ".memosys"


@dataclass
class CliState:
    """Where and as whom a command works: the data directory, user and cube.

    A program that embeds the CLI may pass ``CliState(embedder=...)`` as click's
    ``obj`` to reuse an already loaded embedder instead of the configured one.
    """

    data: Path | None = None
    user: str = DEFAULT_USER
    cube: str | None = None
    embedder: Embedder | None = None

    @property
    def data_dir(self) -> Path:
        """The data directory to use, resolved now."""
        return self.data if self.data is not None else default_data_dir()


def state(ctx: click.Context) -> CliState:
    """The :class:`CliState` of this invocation (created on first use)."""
    return ctx.ensure_object(CliState)


def _store(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None:
            setattr(state(ctx), attr, value)

    return callback


def scope_options(func: F) -> F:
    """Add ``--data``, ``--user`` and ``--cube`` to a group or command."""
    decorators = [
        click.option(
            "--data",
            type=click.Path(file_okay=False, path_type=Path),
            callback=_store("data"),
            expose_value=False,
            help="Data directory (default: $MEMOSYS_HOME, else ~/.memosys).",
        ),
        click.option(
            "--user",
            callback=_store("user"),
            expose_value=False,
            help=f"User id to act as (default: {DEFAULT_USER!r}).",
        ),
        click.option(
            "--cube",
            callback=_store("cube"),
            expose_value=False,
            help="Cube name or id (default: the user's cube 'default'; search: all own "
            "cubes; a shared cube is read when named by its id).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def json_option(func: F) -> F:
    """Add ``--json``: print machine-readable JSON instead of a table."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON instead of a table."
    )(func)


class WellFormedText(click.types.StringParamType):
    """A text argument that must be valid UTF-8.

    Python hands command-line bytes that are not UTF-8 over as surrogate escapes,
    which no store or JSON encoder accepts; they are refused here with an
    :class:`~memosys.core.errors.EncodingError` that names the argument.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """``value`` as text, if it is well-formed."""
        from memosys.reader.validate import check_text

        text = super().convert(value, param, ctx)
        where = "argument " + (param.get_error_hint(ctx) if param and ctx else repr(text))
        try:  # back to the bytes given, so that the error says where they stop being UTF-8
            given: str | bytes = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            given = text
        return check_text(given, where)


TEXT = WellFormedText()


def http_limit_options(func: F) -> F:
    """``--max-body-mb``, ``--body-timeout-s`` and ``--header-timeout-s``, for the commands
    that serve HTTP (defaults: :class:`~memosys.server.settings.ServerSettings`')."""
    for option in reversed((  # click lists the last applied first
        click.option("--max-body-mb", default=16, show_default=True, type=click.IntRange(1),
                     help="Largest request body accepted, in MiB (larger ones get 413)."),
        click.option("--body-timeout-s", default=60.0, show_default=True,
                     type=click.FloatRange(min=0, min_open=True, max=3600),
                     help="Time a request body has to arrive (slower ones get 408)."),
        click.option("--header-timeout-s", default=20.0, show_default=True,
                     type=click.FloatRange(min=0, min_open=True, max=3600),
                     help="Time a request line and headers have to arrive, from the "
                     "connection (or a keep-alive request's first byte); slower ones get 408."),
    )):
        func = option(func)
    return func


def log_level_option(func: F) -> F:
    """``--log-level`` of uvicorn, for the commands that serve HTTP (info: the access log)."""
    return click.option(
        "--log-level", default="info", show_default=True,
        type=click.Choice(["critical", "error", "warning", "info", "debug"]),
        help="uvicorn log level (info and debug write the access log).",
    )(func)


def network_options(func: F) -> F:
    """``--trusted-proxies``, ``--tls-cert`` and ``--tls-key``, for the commands that
    serve HTTP."""
    func = click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path),
                        default=None, help="The PEM private key of --tls-cert (unencrypted).")(func)
    func = click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path),
                        default=None, help="Serve HTTPS with this PEM certificate (chain); "
                        "needs --tls-key.")(func)
    return click.option(
        "--trusted-proxies", default=None, metavar="IPS",
        help="Comma-separated addresses of reverse proxies whose X-Forwarded-For names "
        "the client (for the sign-in failure limit and logs). Default: none; every "
        "client is the address it connects from.",
    )(func)


def yes_option(func: F) -> F:
    """Add ``-y/--yes``: do not ask before a change that cannot be undone."""
    return click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(func)


def json_object(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """Option callback: parse a JSON object, or fail with a usage error."""
    if value is None:
        return None
    value = TEXT.convert(value, param, ctx)
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON ({exc}): {value!r}", ctx, param) from exc
    if not isinstance(parsed, dict):
        raise click.BadParameter(f"must be a JSON object, got {value!r}", ctx, param)
    return parsed


def iso_datetime(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """Option callback: parse an ISO 8601 date or datetime, e.g. ``2024-03-02T18:30:00+00:00``."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        message = f"not an ISO 8601 date or datetime: {value!r}"
        raise click.BadParameter(message, ctx, param) from exc


def split_tags(value: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; ``None`` stays ``None`` (not given)."""
    if value is None:
        return None
    return [tag.strip() for tag in value.split(",") if tag.strip()]


@contextmanager
def open_memos(ctx: click.Context, *, create: bool = False) -> Iterator[MemOS]:
    """Open the data directory of this invocation, closing it afterwards; only ``init``
    (``create``) makes a new one."""
    from memosys.api.local import MemOS

    current = state(ctx)
    with MemOS.open(current.data_dir, embedder=current.embedder, create=create) as mos:
        yield mos
