"""Commands for users, API keys and the audit log: ``user``, ``key`` and ``audit``.

They act on the data directory directly, as its operator: ``audit list``
shows every record. Keys are printed once, when created.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from memosys.cli.options import iso_datetime, json_option, open_memos, scope_options, state

if TYPE_CHECKING:
    from memosys.api.local import MemOS
    from memosys.governance.models import AuditRecord, IssuedKey

EXIT_AUDIT_BROKEN = 1


def _echo_issued(issued: IssuedKey, as_json: bool) -> None:
    from memosys.cli.output import echo_json

    if as_json:
        echo_json({"user_id": issued.user_id, "key_id": issued.key_id, "api_key": issued.api_key})
        return
    click.echo(f"API key for {issued.user_id} (key id {issued.key_id}); shown once, keep it safe:")
    click.echo(issued.api_key)


@click.group()
def user() -> None:
    """Create users that sign in with API keys."""


@user.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@scope_options
@json_option
@click.pass_context
def user_add(ctx: click.Context, name: str, admin: bool, as_json: bool) -> None:
    """Create user NAME and print its first API key."""
    with open_memos(ctx) as mos:
        issued = mos.create_user(name, admin=admin)
    _echo_issued(issued, as_json)


@click.group()
def key() -> None:
    """Create, revoke and list the API keys of --user."""


@key.command("create")
@click.option("--name", "key_name", default="", help="A label for the key, e.g. the app using it.")
@scope_options
@json_option
@click.pass_context
def key_create(ctx: click.Context, key_name: str, as_json: bool) -> None:
    """Create another API key for --user and print it once."""
    with open_memos(ctx) as mos:
        issued = mos.create_key(user_id=state(ctx).user, name=key_name)
    _echo_issued(issued, as_json)


@key.command("revoke")
@click.argument("key_id")
@scope_options
@click.pass_context
def key_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke the key KEY_ID of --user; it stops working at once."""
    with open_memos(ctx) as mos:
        mos.revoke_key(key_id, user_id=state(ctx).user)
    click.echo(f"revoked API key {key_id}")


@key.command("list")
@scope_options
@json_option
@click.pass_context
def key_list(ctx: click.Context, as_json: bool) -> None:
    """List the API keys of --user (prefixes only; secrets are never stored)."""
    from memosys.cli.output import echo_json, new_table, print_table

    with open_memos(ctx) as mos:
        keys = mos.list_keys(user_id=state(ctx).user)
    if as_json:
        echo_json([k.model_dump(mode="json") for k in keys])
        return
    columns = ("key id", "prefix", "name", "created", "last used", "revoked")
    table = new_table(f"API keys of {state(ctx).user}", columns, ids=["key id"])
    for k in keys:
        table.add_row(
            k.key_id, k.prefix + "…", k.name, _when(k.created_at), _when(k.last_used_at),
            _when(k.revoked_at),
        )
    print_table(table, rows=len(keys), empty="no keys")


@click.group()
def audit() -> None:
    """Query and verify the tamper-evident audit log."""


@audit.command("list")
@click.option("--item", "item_id", help="Only records of this memory id.")
@click.option("--action", help="Only this action, e.g. memory.update or cube.share.")
@click.option("--actor", help="Only records of this acting user.")
@click.option("--since", callback=iso_datetime, help="Only records at or after this ISO time.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="Most recent records to show.")
@click.option("--before", "before_seq", type=click.IntRange(min=1),
              help="Only records before this seq (the last seq of the previous page).")
@scope_options
@json_option
@click.pass_context
def audit_list(
    ctx: click.Context,
    item_id: str | None,
    action: str | None,
    actor: str | None,
    since: datetime | None,
    limit: int,
    before_seq: int | None,
    as_json: bool,
) -> None:
    """Show audit records, newest first (--cube: a cube id, or a name of --user's cube);
    page back with --before."""
    from memosys.cli.output import echo_json
    from memosys.governance.models import AuditQuery

    with open_memos(ctx) as mos:
        cube = state(ctx).cube
        query = AuditQuery(
            cube_id=None if cube is None else _cube_id(mos, cube, state(ctx).user),
            item_id=item_id,
            action=action,
            actor=actor,
            since=since,
            before_seq=before_seq,
            limit=limit,
        )
        records = mos.governance.audit_log(query)
    if as_json:
        echo_json([r.model_dump(mode="json") for r in records])
    else:
        _print_records(records)


@audit.command("head")
@scope_options
@json_option
@click.pass_context
def audit_head(ctx: click.Context, as_json: bool) -> None:
    """Print the last record as SEQ:HASH; keep it elsewhere and pass it to verify --anchor."""
    from memosys.cli.output import echo_json

    with open_memos(ctx) as mos:
        head = mos.governance.audit_head()
    if as_json:
        echo_json(None if head is None else head.model_dump())
    else:
        click.echo("the audit log is empty" if head is None else str(head))


@audit.command("verify")
@click.option("--anchor", "anchors", multiple=True, metavar="SEQ:HASH",
              help="A head printed earlier by `memosys audit head`; the record must still match. "
                   "Repeatable.")
@scope_options
@json_option
@click.pass_context
def audit_verify(ctx: click.Context, anchors: tuple[str, ...], as_json: bool) -> None:
    """Check the hash chain; exit 1 and name the first bad record if it is broken."""
    from memosys.cli.output import echo_json
    from memosys.governance.models import AuditAnchor

    pins = [AuditAnchor.parse(text) for text in anchors]
    with open_memos(ctx) as mos:
        result = mos.governance.verify_audit(pins)
    if as_json:
        echo_json(result.model_dump(mode="json"))
    elif result.ok:
        click.echo(f"audit log intact: {result.records} records")
    else:
        click.echo(
            f"audit log BROKEN at record {result.first_bad_seq}: {result.reason}", err=True
        )
    if not result.ok:
        ctx.exit(EXIT_AUDIT_BROKEN)


def _cube_id(mos: MemOS, ref: str, user_id: str) -> str:
    found = mos.store.get_cube(ref)
    return found.id if found is not None else mos.cube(ref, user_id=user_id).id


def _when(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")


def _print_records(records: list[AuditRecord]) -> None:
    """One row per record, its ids stacked in one column so that a row fits 80 columns."""
    from memosys.cli.output import new_table, print_table

    columns = ("seq", "at / actor / action", "cube / item / request", "detail")
    table = new_table("audit log (newest first)", columns, ids=["cube / item / request"])
    for r in records:
        detail = ", ".join(f"{k}={v}" for k, v in r.detail.items())
        table.add_row(
            str(r.seq),
            "\n".join((_when(r.at), r.actor, r.action)),
            "\n".join(value or "-" for value in (r.cube_id, r.item_id, r.request_id)),
            detail,
        )
    print_table(table, rows=len(records), empty="no records")
