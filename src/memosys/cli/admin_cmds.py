"""Commands that manage a data directory and its cubes.

init, import, export, reembed, stats and the cube group.
"""

from __future__ import annotations

from pathlib import Path

import click

from memosys.cli.options import json_option, open_memos, scope_options, state

DB_FILE = "memosys.db"
SETTINGS_FILE = "settings.json"


@click.command()
@scope_options
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the data directory with its database, settings.json and an admin API key.

    The admin key is printed once; later runs print none while an admin key exists.
    """
    data_dir = state(ctx).data_dir
    existed = (data_dir / DB_FILE).exists()
    with open_memos(ctx, create=True) as mos:
        issued = mos.ensure_admin_key()
    verb = "already initialised" if existed else "initialised"
    click.echo(f"{verb} memosys data directory {data_dir.resolve()}")
    click.echo(f"  database: {(data_dir / DB_FILE).resolve()}")
    click.echo(f"  settings: {(data_dir / SETTINGS_FILE).resolve()}")
    if issued is not None:
        click.echo(f"admin API key (user {issued.user_id}; shown once, keep it safe):")
        click.echo(issued.api_key)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@scope_options
@click.pass_context
def import_(ctx: click.Context, file: Path) -> None:
    """Import memories from FILE (JSON Lines written by export, or {"content": ...} lines)."""
    from memosys.cli.output import memories, progress_bar

    scope = state(ctx)
    with open_memos(ctx) as mos, progress_bar(f"importing {file.name}") as progress:
        counts = mos.import_items(file, user_id=scope.user, cube=scope.cube, progress=progress)
    existing = f"; {counts.existing} already stored, not added again" if counts.existing else ""
    click.echo(f"imported {memories(counts.added)} from {file}{existing}")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", "-f", is_flag=True, help="Replace FILE if it exists.")
@scope_options
@click.pass_context
def export(ctx: click.Context, file: Path, force: bool) -> None:
    """Export the memories of the user's cube to FILE as JSON Lines.

    FILE is written whole or not at all; it must lie outside the data directory.
    """
    from memosys.cli.output import memories

    scope = state(ctx)
    with open_memos(ctx) as mos:
        count = mos.export_items(file, user_id=scope.user, cube=scope.cube, overwrite=force)
    click.echo(f"exported {memories(count)} to {file}")


@click.command()
@click.option("--all-users", is_flag=True,
              help="Re-embed every memory of every user, not only --user's.")
@scope_options
@click.pass_context
def reembed(ctx: click.Context, all_users: bool) -> None:
    """Re-embed memories with the configured embedder (after changing it in settings)."""
    from memosys.cli.output import memories, progress_bar

    scope = state(ctx)
    with open_memos(ctx) as mos, progress_bar("re-embedding") as progress:
        count = mos.reembed(
            user_id=None if all_users else scope.user,
            cube=None if all_users else scope.cube,
            progress=progress,
        )
    click.echo(f"re-embedded {memories(count)}")


@click.command()
@scope_options
@json_option
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Show counts of users, cubes and memories in the data directory."""
    from memosys.cli.output import echo_json, print_mapping

    with open_memos(ctx) as mos:
        values = mos.stats()
    if as_json:
        echo_json(values)
    else:
        print_mapping(values, title=f"memosys {state(ctx).data_dir}")


@click.group()
def cube() -> None:
    """Create and list memory cubes."""


@cube.command("create")
@click.argument("name")
@click.option("--description", default="", help="What the cube holds.")
@scope_options
@json_option
@click.pass_context
def cube_create(ctx: click.Context, name: str, description: str, as_json: bool) -> None:
    """Create a cube NAME owned by --user."""
    from memosys.cli.output import echo_json

    with open_memos(ctx) as mos:
        created = mos.create_cube(name, owner=state(ctx).user, description=description)
    if as_json:
        echo_json(created.model_dump(mode="json"))
    else:
        click.echo(f"created cube {created.name} ({created.id}) for {created.owner}")


@cube.command("list")
@scope_options
@json_option
@click.pass_context
def cube_list(ctx: click.Context, as_json: bool) -> None:
    """List the cubes of --user."""
    from memosys.cli.output import echo_json, new_table, print_table

    with open_memos(ctx) as mos:
        cubes = mos.list_cubes(user_id=state(ctx).user)
    if as_json:
        echo_json([c.model_dump(mode="json") for c in cubes])
        return
    table = new_table(
        f"cubes of {state(ctx).user}", ("name", "cube id", "owner", "description"), ids=["cube id"]
    )
    for c in cubes:
        table.add_row(c.name, c.id, c.owner, c.description)
    print_table(table, rows=len(cubes), empty="no cubes")


COMMANDS = [init, import_, export, reembed, stats, cube]
