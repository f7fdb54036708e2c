"""Commands that write and read memories: add, add-doc, search, list, get, update, delete."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from memosys.cli.options import (
    TEXT,
    iso_datetime,
    json_object,
    json_option,
    open_memos,
    scope_options,
    split_tags,
    state,
    yes_option,
)

TAGS_HELP = "Comma-separated tags, e.g. 'work,travel'."
METADATA_HELP = "A JSON object stored verbatim on the memory, e.g. '{\"source\": \"crm\"}'."
FILTER_HELP = (
    'A JSON filter, e.g. \'{"kind": "chunk"}\' or \'{"event_time": {"$gte": "2024-03-01"}}\'.'
)


def _read_messages(file: Path | None) -> list[dict[str, Any]]:
    """The messages in ``file`` (``None`` or ``-``: stdin) as a list of dicts."""
    from memosys.core.errors import InvalidInputError

    stdin = file is None or str(file) == "-"
    name = "stdin" if stdin else str(file)
    try:
        text = sys.stdin.read() if stdin else Path(str(file)).read_text(encoding="utf-8")
        payload = json.loads(text.removeprefix("\ufeff"))  # a byte-order mark is no JSON
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {name}: {exc}") from exc
    except ValueError as exc:
        raise InvalidInputError(
            f"{name} is not valid JSON ({exc}); give a JSON list of "
            '{"role": ..., "content": ...} messages'
        ) from exc
    if isinstance(payload, dict) and isinstance(payload.get("messages"), list):
        payload = payload["messages"]
    if not isinstance(payload, list) or not all(isinstance(m, dict) for m in payload):
        raise InvalidInputError(
            f"{name} must hold a JSON list of message objects "
            '({"role": ..., "content": ..., "name"?: ..., "timestamp"?: ...})'
        )
    return payload


def _report_added(items: list[Any], as_json: bool) -> None:
    from memosys.cli.output import dump_items, echo_json, memories, print_items

    if as_json:
        echo_json(dump_items(items))
    else:
        print_items(items, title=f"added {memories(len(items))}")


@click.command()
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
    required=False,
)
@click.option("--text", "texts", type=TEXT, multiple=True,
              help="Add this text as a note (repeatable).")
@click.option("--kind", type=TEXT, default="note", show_default=True, help="Kind of --text notes.")
@click.option("--session", type=TEXT, help="Session id the messages belong to (not --text).")
@click.option("--session-time", callback=iso_datetime,
              help="When the session happened (ISO 8601); with --text, when the notes hold.")
@click.option("--tags", type=TEXT, help=TAGS_HELP)
@click.option("--metadata", callback=json_object, help=METADATA_HELP)
@scope_options
@json_option
@click.pass_context
def add(
    ctx: click.Context,
    file: Path | None,
    texts: tuple[str, ...],
    kind: str,
    session: str | None,
    session_time: datetime | None,
    tags: str | None,
    metadata: dict[str, Any] | None,
    as_json: bool,
) -> None:
    """Add conversation messages from FILE ('-' or none: stdin), or notes with --text.

    FILE holds a JSON list of {"role", "content", "name"?, "timestamp"?, "metadata"?}.
    """
    if texts and file is not None:
        raise click.UsageError("give either FILE or --text, not both")
    if texts and session is not None:
        raise click.UsageError(
            "--session applies to conversation messages from a FILE; notes (--text) have none"
        )
    if not texts and file is None and sys.stdin.isatty():
        raise click.UsageError("give a messages FILE, '-' for stdin, or --text")
    messages = None if texts else _read_messages(file)
    scope = state(ctx)
    with open_memos(ctx) as mos:
        if messages is None:
            items = mos.add_texts(
                list(texts),
                user_id=scope.user,
                cube=scope.cube,
                kind=kind,
                tags=split_tags(tags),
                metadatas=[dict(metadata) for _ in texts] if metadata else None,
                event_times=[session_time for _ in texts] if session_time else None,
            )
        else:
            items = mos.add(
                messages,
                user_id=scope.user,
                cube=scope.cube,
                session_id=session,
                session_time=session_time,
                metadata=metadata,
                tags=split_tags(tags),
            )
        _report_added(items, as_json)


@click.command("add-doc")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", type=TEXT, help="Document title (default: from the file).")
@click.option("--tags", type=TEXT, help=TAGS_HELP)
@click.option("--metadata", callback=json_object, help=METADATA_HELP)
@scope_options
@json_option
@click.pass_context
def add_doc(
    ctx: click.Context,
    path: Path,
    title: str | None,
    tags: str | None,
    metadata: dict[str, Any] | None,
    as_json: bool,
) -> None:
    """Add a document (markdown or text) at PATH, split into chunks under its headings."""
    scope = state(ctx)
    with open_memos(ctx) as mos:
        items = mos.add_document(
            path,
            user_id=scope.user,
            cube=scope.cube,
            title=title,
            metadata=metadata,
            tags=split_tags(tags),
        )
        _report_added(items, as_json)


@click.command()
@click.argument("query", type=TEXT)
@click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True,
              help="Number of hits to return.")
@click.option("--filter", "filters", callback=json_object, help=FILTER_HELP)
@click.option("--mode", type=click.Choice(["hybrid", "bm25", "dense"]), default="hybrid",
              show_default=True, help="Full text (bm25), vectors (dense) or both fused.")
@click.option("--neighbours", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also return this many neighbouring messages around each hit.")
@scope_options
@json_option
@click.pass_context
def search(
    ctx: click.Context,
    query: str,
    top_k: int,
    filters: dict[str, Any] | None,
    mode: str,
    neighbours: int,
    as_json: bool,
) -> None:
    """Search memories for QUERY (all of the user's own cubes unless --cube is given)."""
    from memosys.cli.output import echo_json, print_hits

    scope = state(ctx)
    with open_memos(ctx) as mos:
        hits = mos.search(
            query,
            user_id=scope.user,
            cube=scope.cube,
            top_k=top_k,
            filters=filters,
            mode=mode,  # type: ignore[arg-type]  # click.Choice guarantees the literal
            neighbours=neighbours,
        )
    if as_json:
        echo_json([hit.model_dump(mode="json") for hit in hits])
    else:
        print_hits(hits, title=f"search: {query}")


@click.command("list")
@click.option("--filter", "filters", callback=json_object, help=FILTER_HELP)
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="Most memories to list.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True,
              help="Skip this many memories first.")
@click.option("--order-by", type=click.Choice(["created_at", "event_time", "position"]),
              default="created_at", show_default=True, help="Sort order.")
@scope_options
@json_option
@click.pass_context
def list_(
    ctx: click.Context,
    filters: dict[str, Any] | None,
    limit: int,
    offset: int,
    order_by: str,
    as_json: bool,
) -> None:
    """List memories of the user's cube, optionally filtered."""
    from memosys.cli.output import dump_items, echo_json, memories, print_items

    scope = state(ctx)
    with open_memos(ctx) as mos:
        items = mos.list(
            user_id=scope.user,
            cube=scope.cube,
            filters=filters,
            limit=limit,
            offset=offset,
            order_by=order_by,  # type: ignore[arg-type]  # click.Choice guarantees the literal
        )
    if as_json:
        echo_json(dump_items(items))
    else:
        print_items(items, title=memories(len(items)))


def _show(item: Any, as_json: bool) -> None:
    from memosys.cli.output import echo_json, print_item

    if as_json:
        echo_json(item.model_dump(mode="json"))
    else:
        print_item(item)


@click.command()
@click.argument("memory_id")
@scope_options
@json_option
@click.pass_context
def get(ctx: click.Context, memory_id: str, as_json: bool) -> None:
    """Show the memory MEMORY_ID with its full metadata."""
    with open_memos(ctx) as mos:
        item = mos.get(memory_id, user_id=state(ctx).user)
    _show(item, as_json)


@click.command()
@click.argument("memory_id")
@click.option("--content", type=TEXT, help="New content (re-indexed and re-embedded).")
@click.option("--tags", type=TEXT, help=TAGS_HELP + " '' clears them.")
@click.option("--metadata", callback=json_object, help=METADATA_HELP)
@click.option("--importance", type=click.FloatRange(0.0, 1.0), help="Importance from 0 to 1.")
@click.option("--if-version", type=click.IntRange(min=1),
              help="Change it only if it is still at this version (see `memosys history`).")
@scope_options
@json_option
@click.pass_context
def update(
    ctx: click.Context,
    memory_id: str,
    content: str | None,
    tags: str | None,
    metadata: dict[str, Any] | None,
    importance: float | None,
    if_version: int | None,
    as_json: bool,
) -> None:
    """Change the content, tags, metadata or importance of MEMORY_ID."""
    if content is None and tags is None and metadata is None and importance is None:
        raise click.UsageError(
            "nothing to update: give --content, --tags, --metadata or --importance"
        )
    with open_memos(ctx) as mos:
        item = mos.update(
            memory_id,
            user_id=state(ctx).user,
            content=content,
            tags=split_tags(tags),
            metadata=metadata,
            importance=importance,
            if_version=if_version,
        )
    _show(item, as_json)


@click.command()
@click.argument("memory_id")
@click.option("--if-version", type=click.IntRange(min=1),
              help="Delete it only if it is still at this version (see `memosys history`).")
@yes_option
@scope_options
@click.pass_context
def delete(ctx: click.Context, memory_id: str, if_version: int | None, yes: bool) -> None:
    """Delete the memory MEMORY_ID (asks first unless --yes)."""
    if not yes:
        click.confirm(f"Delete memory {memory_id}?", abort=True)
    with open_memos(ctx) as mos:
        mos.delete(memory_id, user_id=state(ctx).user, if_version=if_version)
    click.echo(f"deleted {memory_id}")


COMMANDS = [add, add_doc, search, list_, get, update, delete]
