"""Lifecycle commands: history, rollback, freeze, unfreeze, snapshot, forget, forget-user,
verify-forgotten.

Each is registered lazily in :mod:`memosys.cli.app` under its own name.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from memosys.cli.options import (
    TEXT,
    json_option,
    open_memos,
    scope_options,
    state,
    yes_option,
)

if TYPE_CHECKING:
    from memosys.core.history import ItemVersion
    from memosys.lifecycle.forget import ForgetReceipt

EXIT_LEFTOVERS = 1


@click.command()
@click.argument("memory_id")
@scope_options
@json_option
@click.pass_context
def history(ctx: click.Context, memory_id: str, as_json: bool) -> None:
    """List the versions of MEMORY_ID: who changed what, and when."""
    with open_memos(ctx) as mos:
        versions = mos.history(memory_id, user_id=state(ctx).user)
    if as_json:
        from memosys.cli.output import echo_json

        echo_json([v.model_dump(mode="json") for v in versions])
        return
    _print_versions(versions)


@click.command()
@click.argument("memory_id")
@click.argument("version", type=click.IntRange(min=1))
@scope_options
@json_option
@click.pass_context
def rollback(ctx: click.Context, memory_id: str, version: int, as_json: bool) -> None:
    """Make VERSION of MEMORY_ID current again (as a new version)."""
    with open_memos(ctx) as mos:
        item = mos.rollback(memory_id, version, user_id=state(ctx).user)
    _report_item(item, as_json, f"restored version {version} as version {item.version}")


def _state_command(name: str, help_text: str, done: str) -> click.Command:
    """A command ``name MEMORY_ID`` that calls ``MemOS.<name>`` and reports ``done``."""

    @click.command(name, help=help_text)
    @click.argument("memory_id")
    @scope_options
    @json_option
    @click.pass_context
    def command(ctx: click.Context, memory_id: str, as_json: bool) -> None:
        with open_memos(ctx) as mos:
            item = getattr(mos, name)(memory_id, user_id=state(ctx).user)
        _report_item(item, as_json, done.format(id=memory_id, state=item.state.value))

    return command


freeze = _state_command(
    "freeze",
    "Freeze MEMORY_ID (its owner only): it cannot be changed or deleted until its owner "
    "unfreezes it.",
    "froze {id}",
)
unfreeze = _state_command(
    "unfreeze",
    "Unfreeze MEMORY_ID (its owner only); it gets back the state it had.",
    "unfroze {id} (now {state})",
)


@click.group()
def snapshot() -> None:
    """Named snapshots of a cube: create, list, show, search, restore, delete."""


@snapshot.command("create")
@click.argument("name")
@scope_options
@json_option
@click.pass_context
def snapshot_create(ctx: click.Context, name: str, as_json: bool) -> None:
    """Snapshot the cube (--cube, default 'default') as NAME."""
    current = state(ctx)
    with open_memos(ctx) as mos:
        taken = mos.snapshot(current.cube or "default", name, user_id=current.user)
    from memosys.cli.output import echo_json, memories

    if as_json:
        echo_json(taken.model_dump(mode="json"))
    else:
        click.echo(f"snapshot {name!r}: {memories(taken.item_count)} at {taken.taken_at}")


@snapshot.command("list")
@scope_options
@json_option
@click.pass_context
def snapshot_list(ctx: click.Context, as_json: bool) -> None:
    """List the snapshots of your cubes (or of --cube)."""
    from memosys.cli.output import echo_json

    current = state(ctx)
    with open_memos(ctx) as mos:
        found = mos.list_snapshots(user_id=current.user, cube=current.cube)
    if as_json:
        echo_json([s.model_dump(mode="json") for s in found])
        return
    for s in found:
        click.echo(f"{s.name}\t{s.taken_at.isoformat()}\t{s.item_count} memories\tby {s.taken_by}")
    if not found:
        click.echo("no snapshots")


@snapshot.command("show")
@click.argument("name")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="Most memories to show.")
@scope_options
@json_option
@click.pass_context
def snapshot_show(ctx: click.Context, name: str, limit: int, as_json: bool) -> None:
    """List the memories of snapshot NAME as they were then."""
    from memosys.cli.output import dump_items, echo_json, print_items

    current = state(ctx)
    with open_memos(ctx) as mos:
        items = mos.list(user_id=current.user, cube=current.cube, snapshot=name, limit=limit)
    if as_json:
        echo_json(dump_items(items))
    else:
        print_items(items, title=f"snapshot {name!r}")


@snapshot.command("search")
@click.argument("name")
@click.argument("query", type=TEXT)
@click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True,
              help="Number of hits to return.")
@scope_options
@json_option
@click.pass_context
def snapshot_search(ctx: click.Context, name: str, query: str, top_k: int, as_json: bool) -> None:
    """Search snapshot NAME for QUERY (the memories as they were then)."""
    from memosys.cli.output import echo_json, print_hits

    current = state(ctx)
    with open_memos(ctx) as mos:
        hits = mos.search(
            query, user_id=current.user, cube=current.cube, snapshot=name, top_k=top_k
        )
    if as_json:
        echo_json([hit.model_dump(mode="json") for hit in hits])
    else:
        print_hits(hits, title=f"snapshot {name!r}: {query}")


@snapshot.command("restore")
@click.argument("name")
@yes_option
@scope_options
@json_option
@click.pass_context
def snapshot_restore(ctx: click.Context, name: str, yes: bool, as_json: bool) -> None:
    """Make the cube what it was at snapshot NAME (each change is a new version)."""
    current = state(ctx)
    cube = current.cube or "default"
    if not yes:
        click.confirm(f"Restore cube {cube!r} to snapshot {name!r}?", abort=True)
    with open_memos(ctx) as mos:
        report = mos.restore_snapshot(cube, name, user_id=current.user)
    if as_json:
        from memosys.cli.output import echo_json

        echo_json(report.model_dump(mode="json"))
    else:
        click.echo(
            f"restored {report.restored}, removed {report.removed}, unchanged "
            f"{report.unchanged}"
        )


@snapshot.command("delete")
@click.argument("name")
@scope_options
@click.pass_context
def snapshot_delete(ctx: click.Context, name: str) -> None:
    """Drop snapshot NAME of the cube (its versions stay in the history)."""
    current = state(ctx)
    with open_memos(ctx) as mos:
        mos.delete_snapshot(current.cube or "default", name, user_id=current.user)
    click.echo(f"deleted snapshot {name!r}")


@click.command()
@click.argument("memory_id")
@yes_option
@scope_options
@json_option
@click.pass_context
def forget(ctx: click.Context, memory_id: str, yes: bool, as_json: bool) -> None:
    """Remove MEMORY_ID everywhere, with all its versions (cannot be undone)."""
    if not yes:
        click.confirm(f"Forget memory {memory_id} for good?", abort=True)
    with open_memos(ctx) as mos:
        receipt = mos.forget(memory_id, user_id=state(ctx).user)
    _report_receipt(receipt, as_json)


@click.command("forget-user")
@click.argument("user_id")
@yes_option
@scope_options
@json_option
@click.pass_context
def forget_user(ctx: click.Context, user_id: str, yes: bool, as_json: bool) -> None:
    """Remove everything of USER_ID: memories, versions, cubes, snapshots (cannot be undone)."""
    if not yes:
        click.confirm(f"Forget user {user_id} and all their memories for good?", abort=True)
    with open_memos(ctx) as mos:
        receipt = mos.forget_user(user_id)
    _report_receipt(receipt, as_json)


@click.command("verify-forgotten")
@click.option("--id", "ids", multiple=True, help="A forgotten memory id (repeatable).")
@click.option("--user", "users", multiple=True, help="A forgotten user id (repeatable).")
@click.option("--text", "texts", type=TEXT, multiple=True,
              help="Forgotten content to look for (repeatable).")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory (default: $MEMOSYS_HOME, else ~/.memosys).",
)
@json_option
@click.pass_context
def verify_forgotten(
    ctx: click.Context,
    ids: tuple[str, ...],
    users: tuple[str, ...],
    texts: tuple[str, ...],
    data: Path | None,
    as_json: bool,
) -> None:
    """Scan every table, the text index and every file for forgotten ids and content.

    Exits 1 when anything is left, 0 when clean. Ids kept by the append-only
    audit log are listed as retained.
    """
    from memosys.cli.output import echo_json
    from memosys.lifecycle.verify import verify_forgotten as verify

    if data is not None:
        state(ctx).data = data
    folder = state(ctx).data_dir
    report = verify(folder, folder / "memosys.db", ids=ids, user_ids=users, texts=texts)
    if as_json:
        echo_json(
            {
                "clean": report.clean,
                "tables": report.tables,
                "files": report.files,
                "leftovers": [vars(f) for f in report.leftovers],
                "retained": [vars(f) for f in report.retained],
            }
        )
    else:
        for f in report.leftovers:
            click.echo(f"LEFT   {f.place}: {f.kind} {f.needle!r} ({f.count}x)")
        for f in report.retained:
            click.echo(f"kept   {f.place}: {f.kind} {f.needle!r} (audit log, ids only)")
        verdict = "clean" if report.clean else f"{len(report.leftovers)} leftovers"
        click.echo(f"{verdict}: scanned {report.tables} tables and {report.files} files")
    if not report.clean:
        sys.exit(EXIT_LEFTOVERS)


def _report_item(item: Any, as_json: bool, message: str) -> None:
    from memosys.cli.output import echo_json

    if as_json:
        echo_json(item.model_dump(mode="json"))
    else:
        click.echo(message)


def _report_receipt(receipt: ForgetReceipt, as_json: bool) -> None:
    from memosys.cli.output import echo_json, memories

    summary = {
        "forgotten": receipt.item_ids,
        "versions": receipt.versions,
        "unlinked": receipt.unlinked,
        "compacted": receipt.compacted,
    }
    if as_json:
        echo_json(summary)
        return
    versions = f"{receipt.versions} earlier version{'' if receipt.versions == 1 else 's'}"
    click.echo(f"forgot {memories(len(receipt.item_ids))} ({versions})")
    if not receipt.compacted:
        click.echo("the WAL is in use by another process; run the command again to compact")


def _print_versions(versions: list[ItemVersion]) -> None:
    from rich.console import Console
    from rich.table import Table

    from memosys.cli.output import truncate

    table = Table(title=f"history of {versions[0].item.id}", title_justify="left")
    for column in ("v", "by", "from", "to", "changes", "state", "content"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.version),
            v.changed_by,
            v.recorded_from.isoformat(timespec="seconds"),
            v.recorded_to.isoformat(timespec="seconds") if v.recorded_to else "now",
            ", ".join(v.changes) + (f" ({v.note})" if v.note else ""),
            v.item.state.value,
            truncate(v.item.content, 60),
        )
    Console().print(table)

