"""Rendering for the CLI and the demo: rich tables, JSON and progress bars.

rich is imported inside the functions so that ``memosys --help`` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from memosys.core.items import MemoryItem
    from memosys.core.results import SearchHit

CONTENT_CHARS = 160
ID_CHARS = 36  # a UUID: the longest id a table shows
Progress = Callable[[int, int], None]


def _console(console: Console | None) -> Console:
    from rich.console import Console

    return console if console is not None else Console()


def id_column(table: Table, header: str, **options: Any) -> None:
    """Add a column of ids to ``table``: each id stays whole on one line, however
    narrow the terminal or pipe, because commands take ids back whole."""
    table.add_column(header, no_wrap=True, min_width=ID_CHARS, **options)


def new_table(title: str | None, columns: Sequence[str], ids: Sequence[str] = ()) -> Table:
    """A table with ``columns``; those named in ``ids`` hold ids (see :func:`id_column`),
    the others fold a value that is too wide onto more lines instead of cutting it."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for header in columns:
        if header in ids:
            id_column(table, header)
        else:
            table.add_column(header, overflow="fold")
    return table


def print_table(table: Table, *, rows: int, empty: str, console: Console | None = None) -> None:
    """Print ``table``, or ``empty`` (dimmed) when it has no ``rows``."""
    _console(console).print(table if rows else f"[dim]{empty}[/dim]")


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def dump_items(items: Sequence[MemoryItem]) -> list[dict[str, Any]]:
    """Items as JSON-ready dicts."""
    return [item.model_dump(mode="json") for item in items]


def memories(count: int) -> str:
    """``"1 memory"``, ``"3 memories"``."""
    return f"{count} memory" if count == 1 else f"{count} memories"


def truncate(text: str, limit: int = CONTENT_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def source_label(item: MemoryItem) -> str:
    """Where a memory came from: heading path for chunks, speaker/session/date otherwise."""
    if item.headings:
        return " › ".join(item.headings)
    parts = [item.speaker or item.role or "", item.session_id or ""]
    when = item.event_time or item.created_at
    parts.append(when.date().isoformat())
    return " · ".join(part for part in parts if part) or (item.source_ref or "")


def why(hit: SearchHit, ranks: Mapping[str, int]) -> str:
    """Why a hit matched; a neighbour names the rank of the hit it was added for."""
    origin = hit.explain.expanded_from
    if origin is not None and origin in ranks:
        return f"neighbour of #{ranks[origin]}"
    return hit.explain.summary()


def print_hits(
    hits: Sequence[SearchHit], *, title: str | None = None, console: Console | None = None
) -> None:
    """A table of search hits: rank, score, memory, source and why it matched."""
    from rich.table import Table

    table = Table(title=title, show_lines=False, title_justify="left")
    table.add_column("#", justify="right", style="bold")
    table.add_column("score", justify="right")
    table.add_column("memory", ratio=5)
    table.add_column("session / date / heading", ratio=2, style="cyan")
    table.add_column("why", ratio=2, style="magenta")
    ranks = {hit.item.id: rank for rank, hit in enumerate(hits, start=1)}
    for rank, hit in enumerate(hits, start=1):
        table.add_row(
            str(rank),
            f"{hit.score:.4f}",
            truncate(hit.item.content),
            source_label(hit.item),
            why(hit, ranks),
        )
    _console(console).print(table if hits else "[dim]no results[/dim]")


def print_items(
    items: Sequence[MemoryItem], *, title: str | None = None, console: Console | None = None
) -> None:
    """A table of memories: id, kind, content and source."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    id_column(table, "id", style="dim")
    table.add_column("kind")
    table.add_column("content", ratio=4)
    table.add_column("session / date / heading", ratio=2, style="cyan")
    for item in items:
        table.add_row(item.id, item.kind.value, truncate(item.content), source_label(item))
    _console(console).print(table if items else "[dim]no memories[/dim]")


def print_item(item: MemoryItem, *, console: Console | None = None) -> None:
    """Every non-empty field of one memory, one per row."""
    from rich.table import Table

    table = Table(show_header=False, title=f"memory {item.id}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for field, value in item.model_dump(mode="json").items():
        if value in (None, "", [], {}):
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        table.add_row(field, text)
    _console(console).print(table)


def print_mapping(
    values: Mapping[str, Any], *, title: str | None = None, console: Console | None = None
) -> None:
    """A two-column table of names and values."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("value", justify="right")
    for name, value in values.items():
        table.add_row(name, str(value))
    _console(console).print(table)


@contextmanager
def progress_bar(description: str) -> Iterator[Progress]:
    """A rich progress bar on stderr, driven by a ``(done, total)`` callback."""
    from rich.console import Console
    from rich.progress import Progress as RichProgress

    with RichProgress(console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update
