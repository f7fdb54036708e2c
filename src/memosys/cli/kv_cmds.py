"""``memosys kv``: list, build, drop and inspect KV caches (activation memory), and benchmark them.

Registered lazily in :mod:`memosys.cli.app`; torch and transformers are only
imported by the subcommands that run a model (``build``, ``bench``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from memosys.cli.options import json_object, json_option, open_memos, scope_options, state

if TYPE_CHECKING:
    from memosys.activation.index import CacheRecord


def _sizes(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    try:
        sizes = [int(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"give comma-separated integers, got {value!r}") from exc
    if not sizes or min(sizes) < 1:
        raise click.BadParameter(f"give positive comma-separated integers, got {value!r}")
    return sizes


def _row(record: CacheRecord) -> dict[str, Any]:
    ids = record.memory_ids
    return {
        "name": record.name,
        "cube": record.cube_id,
        "model": record.model,
        "tokens": record.info.token_count,
        "bytes": record.info.byte_size,
        "dtype": record.dtype,
        "hits": record.info.hits,
        "state": f"stale: {record.stale_reason}" if record.info.stale else "fresh",
        "memories": len(ids),
        "memory_ids": ids,
    }


def _print_rows(rows: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    columns = [c for c in (rows[0] if rows else {"name": ""}) if c != "memory_ids"]
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    Console().print(table)


@click.group()
def kv() -> None:
    """KV caches of memory blocks (activation memory): list, build, drop, stats, bench.

    A cache lets `generate` skip re-reading its memories. It is used only
    with the model it was built for, and only while its memories are unchanged.
    """


@kv.command("list")
@scope_options
@json_option
@click.pass_context
def kv_list(ctx: click.Context, as_json: bool) -> None:
    """List the caches: size, tokens, hits, state and the memories each holds."""
    current = state(ctx)
    with open_memos(ctx) as mos:
        rows = [_row(r) for r in mos.activation.list(user_id=current.user, cube=current.cube)]
    if as_json:
        from memosys.cli.output import echo_json

        echo_json(rows)
    else:
        _print_rows(rows, "KV caches")


@kv.command("build")
@scope_options
@click.option("--ids", help="Comma-separated memory ids, in block order.")
@click.option(
    "--filter", "filters", callback=json_object, help='A JSON filter, e.g. \'{"kind": "fact"}\'.'
)
@click.option("--name", help="Cache name (default: derived from the memories and the model).")
@click.option("--model", help="'smollm2', 'tiny-llama' or a local model folder (default: setting).")
@click.option("--dtype", type=click.Choice(["float32", "float16"]), help="Storage precision.")
@click.option("--rebuild", "rebuild", help="Rebuild this existing cache from its memories now.")
@json_option
@click.pass_context
def kv_build(
    ctx: click.Context,
    ids: str | None,
    filters: dict[str, Any] | None,
    name: str | None,
    model: str | None,
    dtype: str | None,
    rebuild: str | None,
    as_json: bool,
) -> None:
    """Build a cache from memories (--ids or --filter), or rebuild one (--rebuild NAME)."""
    current = state(ctx)
    with open_memos(ctx) as mos:
        if rebuild is not None:
            record = mos.activation.rebuild(rebuild, user_id=current.user, cube=current.cube)
        else:
            memory_ids = None if ids is None else [i.strip() for i in ids.split(",") if i.strip()]
            record = mos.activation.build(
                user_id=current.user,
                memory_ids=memory_ids,
                filters=filters,
                cube=current.cube,
                model=model,
                name=name,
                dtype=dtype,
            )
    if record is None:
        click.echo(f"dropped {rebuild}: none of its memories is left")
    elif as_json:
        from memosys.cli.output import echo_json

        echo_json(_row(record))
    else:
        click.echo(
            f"built {record.name}: {len(record.memory_ids)} memories, "
            f"{record.info.token_count} tokens, {record.info.byte_size} bytes"
        )


@kv.command("drop")
@click.argument("name")
@scope_options
@click.pass_context
def kv_drop(ctx: click.Context, name: str) -> None:
    """Delete cache NAME (its memories stay as text)."""
    current = state(ctx)
    with open_memos(ctx) as mos:
        record = mos.activation.drop(name, user_id=current.user, cube=current.cube)
    click.echo(f"dropped {record.name} ({record.info.byte_size} bytes)")


@kv.command("stats")
@scope_options
@json_option
@click.pass_context
def kv_stats(ctx: click.Context, as_json: bool) -> None:
    """Totals over the caches: count, stale, bytes, tokens, hits, budget and policy."""
    current = state(ctx)
    with open_memos(ctx) as mos:
        stats = mos.activation.stats(user_id=current.user, cube=current.cube)
    if as_json:
        from memosys.cli.output import echo_json

        echo_json(stats)
    else:
        from memosys.cli.output import print_mapping

        print_mapping(stats, title="KV caches")


@kv.command("bench")
@click.option("--model", default="smollm2", show_default=True, help="Model spec to measure.")
@click.option(
    "--memory-tokens",
    default="256,1024,2048,4096",
    show_default=True,
    callback=_sizes,
    help="Comma-separated sizes of the cached memory block, in tokens.",
)
@click.option(
    "--query-tokens",
    default="16,256",
    show_default=True,
    callback=_sizes,
    help="Comma-separated sizes of the question turn, in tokens.",
)
@click.option("--runs", default=5, show_default=True, type=click.IntRange(1), help="Timed runs.")
@click.option("--warmup", default=1, show_default=True, type=click.IntRange(0), help="Untimed.")
@click.option("--max-new-tokens", default=16, show_default=True, type=click.IntRange(1),
              help="Tokens to generate in each run.")
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float16"]),
    default="float32",
    show_default=True,
    help="Storage precision of the cache.",
)
@click.option("--threads", type=click.IntRange(1), help="torch CPU threads (default: torch's).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the rows, the command and the machine to this JSON file.",
)
@json_option
def kv_bench(
    model: str,
    memory_tokens: list[int],
    query_tokens: list[int],
    runs: int,
    warmup: int,
    max_new_tokens: int,
    dtype: str,
    threads: int | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Time to first token with and without a KV cache loaded from disk (medians).

    Prints one row per (memory, query) size: medians with and without the
    cache, the reduction, whether the greedy outputs were identical, and the
    cache's bytes per token. Uses a throw-away data directory.
    """
    from memosys.activation.bench import machine_info, run_ttft_bench

    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    rows = run_ttft_bench(
        model,
        memory_tokens,
        query_tokens,
        runs=runs,
        warmup=warmup,
        max_new_tokens=max_new_tokens,
        dtype=dtype,
        report=None if as_json else click.echo,
    )
    if out is not None:
        record = {
            "command": "memosys " + " ".join(sys.argv[1:]),
            "machine": machine_info(),
            "rows": rows,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    if as_json:
        click.echo(json.dumps(rows, indent=2))
