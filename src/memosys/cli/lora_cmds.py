"""``memosys lora``: distil memories into LoRA adapters, list, show, drop, rebuild, evaluate.

Registered lazily in :mod:`memosys.cli.app`; torch, transformers and peft are
only imported by the subcommands that train or run a model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from memosys.cli.options import json_object, json_option, open_memos, scope_options, state

if TYPE_CHECKING:
    from memosys.parametric.store import AdapterRecord

MODEL_HELP = "'smollm2' (bundled), 'tiny-llama' or a local Hugging Face model folder."


def _summary(record: AdapterRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "cube": record.cube_id,
        "base_model": record.base_model,
        "memories": len(record.memory_ids),
        "state": "stale: " + "; ".join(record.stale_reasons) if record.stale else "fresh",
        "created_at": record.created_at.isoformat(),
        "train_seconds": record.train_seconds,
    }


@contextmanager
def _training_bar(description: str) -> Iterator[Callable[[int, int, float], None]]:
    """A progress bar on stderr that shows the step and the latest loss."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(description, total=None, loss="-")

        def update(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, total=total, loss=f"{loss:.4f}")

        yield update


def _print(record: AdapterRecord, as_json: bool) -> None:
    from memosys.cli.output import echo_json, print_mapping

    if as_json:
        echo_json(record.model_dump(mode="json"))
    else:
        print_mapping({**_summary(record), **record.info.metrics}, title=f"adapter {record.name}")


@click.group()
def lora() -> None:
    """Parametric memory: memories distilled into LoRA adapters on a local model."""


@lora.command("distill")
@click.option("--name", required=True, help="Adapter name (letters, digits, '_', '.', '-').")
@click.option("--ids", help="Comma-separated memory ids to distil.")
@click.option(
    "--filter",
    "filters",
    callback=json_object,
    help='A JSON filter choosing the memories, e.g. \'{"kind": "fact"}\'.',
)
@click.option("--model", default="smollm2", show_default=True, help=MODEL_HELP)
@click.option("--rank", default=16, show_default=True, type=click.IntRange(1), help="LoRA rank.")
@click.option(
    "--steps", default=80, show_default=True, type=click.IntRange(1), help="Training steps."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@scope_options
@json_option
@click.pass_context
def lora_distill(
    ctx: click.Context,
    name: str,
    ids: str | None,
    filters: dict[str, Any] | None,
    model: str,
    rank: int,
    steps: int,
    seed: int,
    as_json: bool,
) -> None:
    """Train adapter NAME on the chosen memories (--ids or --filter) and store it in the cube."""
    memory_ids = [i.strip() for i in ids.split(",") if i.strip()] if ids else None
    with open_memos(ctx) as mos, _training_bar(f"distilling {name}") as progress:
        record = mos.distill(
            user_id=state(ctx).user,
            name=name,
            memory_ids=memory_ids,
            filters=filters,
            cube=state(ctx).cube,
            base_model=model,
            rank=rank,
            steps=steps,
            seed=seed,
            progress=progress,
        )
    _print(record, as_json)


@lora.command("list")
@scope_options
@json_option
@click.pass_context
def lora_list(ctx: click.Context, as_json: bool) -> None:
    """The user's adapters and whether each is fresh or stale."""
    from memosys.cli.output import echo_json

    with open_memos(ctx) as mos:
        records = mos.list_adapters(user_id=state(ctx).user, cube=state(ctx).cube)
    rows = [_summary(record) for record in records]
    if as_json:
        echo_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} adapter(s)", title_justify="left")
    for column in rows[0] if rows else ["name"]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    Console().print(table)


@lora.command("show")
@click.argument("name")
@scope_options
@json_option
@click.pass_context
def lora_show(ctx: click.Context, name: str, as_json: bool) -> None:
    """An adapter's provenance: memories and versions, base model, hyper-parameters, figures."""
    with open_memos(ctx) as mos:
        record = mos.adapter(name, user_id=state(ctx).user, cube=state(ctx).cube)
    _print(record, as_json)


@lora.command("drop")
@click.argument("name")
@click.option(
    "--offload", is_flag=True, help="Also report that every memory it held is still served as text."
)
@scope_options
@json_option
@click.pass_context
def lora_drop(ctx: click.Context, name: str, offload: bool, as_json: bool) -> None:
    """Delete adapter NAME; its memories stay as text."""
    from dataclasses import asdict

    from memosys.cli.output import echo_json

    user, cube = state(ctx).user, state(ctx).cube
    with open_memos(ctx) as mos:
        if offload:
            report = asdict(mos.offload(name, user_id=user, cube=cube))
        else:
            report = {"adapter": mos.drop_adapter(name, user_id=user, cube=cube).name}
    if as_json:
        echo_json(report)
    else:
        click.echo(f"dropped adapter {name}")
        if offload:
            click.echo(
                f"{len(report['served_as_text'])} memories still served as text, "
                f"{len(report['removed'])} removed earlier"
            )


@lora.command("rebuild")
@click.argument("name")
@click.option("--model", help="Base model (default: the one the adapter was trained on).")
@scope_options
@json_option
@click.pass_context
def lora_rebuild(ctx: click.Context, name: str, model: str | None, as_json: bool) -> None:
    """Retrain adapter NAME on its memories as they are now, without the removed ones."""
    with open_memos(ctx) as mos, _training_bar(f"rebuilding {name}") as progress:
        record = mos.rebuild_adapter(
            name,
            user_id=state(ctx).user,
            cube=state(ctx).cube,
            base_model=model,
            progress=progress,
        )
    _print(record, as_json)


@lora.command("eval")
@click.option(
    "--synthetic",
    "count",
    required=True,
    type=click.IntRange(1),
    help="Measure on this many freshly generated fictional facts.",
)
@click.option("--model", default="smollm2", show_default=True, help=MODEL_HELP)
@click.option(
    "--steps", default=80, show_default=True, type=click.IntRange(1), help="Training steps."
)
@click.option("--rank", default=16, show_default=True, type=click.IntRange(1), help="LoRA rank.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of facts and training.")
@click.option(
    "--per-subject",
    default=1,
    show_default=True,
    type=click.IntRange(1, 4),
    help="Facts per fictional subject (more makes the questions harder).",
)
@click.option(
    "--unlearning",
    is_flag=True,
    help="Also delete one fact, rebuild, and measure that it is forgotten.",
)
@json_option
def lora_eval(
    count: int,
    model: str,
    steps: int,
    rank: int,
    seed: int,
    per_subject: int,
    unlearning: bool,
    as_json: bool,
) -> None:
    """Distil N synthetic facts and measure recall, held-out questions, drift and time."""
    from memosys.cli.output import print_mapping
    from memosys.parametric.measure import measure_synthetic
    from memosys.parametric.train import TrainConfig

    config = TrainConfig(rank=rank, steps=steps, seed=seed)
    with _training_bar(f"distilling {count} facts") as progress:
        result = measure_synthetic(
            count,
            seed=seed,
            per_subject=per_subject,
            base_model=model,
            config=config,
            unlearning=unlearning,
            progress=progress,
        )
    if as_json:
        click.echo(json.dumps(result))
    else:
        shown = {k: v for k, v in result.items() if not isinstance(v, (dict, list))}
        print_mapping(shown, title=f"LoRA recall on {count} synthetic facts")
        if "unlearning" in result:
            print_mapping(result["unlearning"], title="unlearning")
