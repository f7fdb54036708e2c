"""``memosys eval``: retrieval benchmarks (LoCoMo, LongMemEval) over the public API."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from memosys.core.errors import MemosysError

_MODE_CHOICES = ("hybrid", "bm25", "dense")


def parse_indices(text: str | None) -> list[int] | None:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,3,5-6"`` -> [0, 3, 5, 6]; None -> None (all)."""
    if text is None:
        return None
    indices: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("-")
            indices.extend(range(int(low), int(high or low) + 1))
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: use indices and ranges like 0-4 or 0,2,5-7") from exc
    return indices


def _parse_ks(text: str) -> list[int]:
    try:
        ks = sorted({int(p) for p in text.split(",") if p.strip()})
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: use comma-separated integers like 1,5,10") from exc
    if not ks or ks[0] < 1:
        raise click.BadParameter(f"{text!r}: every k must be >= 1")
    return ks


def _parse_modes(text: str) -> list[Any]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in _MODE_CHOICES]
    if unknown or not modes:
        raise click.BadParameter(f"{text!r}: modes are a comma list of {', '.join(_MODE_CHOICES)}")
    return modes


def _progress(label: str) -> Callable[[int, int], None]:
    started = time.perf_counter()

    def report(done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        click.echo(f"{label}: {done}/{total} done, {elapsed:.0f} s", err=True)

    return report


def _command_line(ctx: click.Context) -> str:
    parts = [ctx.command_path]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if isinstance(param, click.Option) and value is not None:
            parts.append(f"{param.opts[0]} {value}")
    return " ".join(parts)


def _run(
    ctx: click.Context,
    *,
    benchmark: str,
    data: Path,
    data_dir: Path | None,
    out: Path | None,
    specs: Sequence[tuple[str, int]],
    execute: Callable[[Any, Any], tuple[list[Any], int, dict[str, Any]]],
    modes: Sequence[str],
    exclude: Sequence[str] = (),
) -> None:
    from memosys.eval import report as rep
    from memosys.eval.runner.harness import open_store
    from memosys.eval.runner.measure import Timings

    timings = Timings()
    started = time.perf_counter()
    try:
        with open_store(data_dir) as mos:
            results, messages, extra = execute(mos, timings)
            settings = mos.settings.model_dump(mode="json")
        timing = rep.timing_summary(timings, messages, modes)
        timing["wall_s"] = time.perf_counter() - started
        report = rep.build_report(
            benchmark=benchmark,
            command=_command_line(ctx),
            data=data,
            settings=settings,
            summary=rep.summarise(results, specs, modes, exclude_from_overall=exclude),
            timing=timing,
            results=results,
            extra=extra,
        )
        rep.render(report, specs)
        if out is not None:
            rep.write_report(report, out)
            click.echo(f"report written to {out}")
    except MemosysError as exc:
        raise click.ClickException(exc.message) from exc


_data_option = click.option(
    "--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
    help="Dataset JSON file.",
)
_out_option = click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report here."
)
_data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path),
    help="Keep the ingested store in this directory (default: a temporary one). Must be fresh.",
)
_modes_option = click.option(
    "--modes", default=",".join(_MODE_CHOICES), show_default=True,
    help="Retrieval modes to evaluate on the same ingested data.",
)


@click.group(name="eval")
def eval_group() -> None:
    """Measure retrieval quality and speed on public benchmarks."""


@eval_group.command("locomo")
@_data_option
@click.option("--conversations", help="Conversation indices, e.g. 0-4 (default: all).")
@click.option("--k", "ks", default="1,5,10,20", show_default=True, help="Cut-offs for recall@k.")
@_out_option
@_data_dir_option
@_modes_option
@click.pass_context
def locomo_cmd(
    ctx: click.Context, data: Path, conversations: str | None, ks: str, out: Path | None,
    data_dir: Path | None, modes: str,
) -> None:
    """Turn-level recall_any@k / recall_all@k on LoCoMo (categories 1-4; 5 apart)."""
    from memosys.eval.locomo import CATEGORIES, load_locomo, run_locomo, superseded_turns

    k_values, mode_list = _parse_ks(ks), _parse_modes(modes)
    convs = load_locomo(data, parse_indices(conversations))

    def execute(mos: Any, timings: Any) -> tuple[list[Any], int, dict[str, Any]]:
        results, messages = run_locomo(
            mos, convs, top_k=max(k_values), modes=mode_list, timings=timings,
            progress=_progress("conversations"),
        )
        dropped = {c.sample_id: c.dropped_evidence for c in convs if c.dropped_evidence}
        extra = {
            "conversations": [c.sample_id for c in convs],
            "sessions": sum(len(c.sessions) for c in convs),
            "dropped_evidence": dropped,
            "superseded_turns": superseded_turns(mos, convs),
        }
        return results, messages, extra

    specs = [(name, k) for name in ("recall_any", "recall_all") for k in k_values]
    _run(
        ctx, benchmark="locomo", data=data, data_dir=data_dir, out=out, specs=specs,
        execute=execute, modes=mode_list, exclude=[f"5 {CATEGORIES[5]}"],
    )


@eval_group.command("longmemeval")
@_data_option
@click.option("--instances", help="Instance indices, e.g. 0-9 (default: all; _abs skipped).")
@_out_option
@_data_dir_option
@_modes_option
@click.pass_context
def longmemeval_cmd(
    ctx: click.Context, data: Path, instances: str | None, out: Path | None,
    data_dir: Path | None, modes: str,
) -> None:
    """Session-level recall_all@k and ndcg_any@k (k = 5, 10) on LongMemEval."""
    from memosys.eval.longmemeval import load_longmemeval, run_longmemeval

    mode_list = _parse_modes(modes)
    items = load_longmemeval(data, parse_indices(instances))

    def execute(mos: Any, timings: Any) -> tuple[list[Any], int, dict[str, Any]]:
        results, messages = run_longmemeval(
            mos, items, top_k=10, modes=mode_list, timings=timings,
            progress=_progress("instances"),
        )
        extra = {
            "instances": len(items),
            "sessions": sum(len(i.sessions) for i in items),
            "note": "recall_any is the weaker at-least-one recall, not the official recall_all",
        }
        return results, messages, extra

    specs = [(name, k) for name in ("recall_all", "ndcg_any", "recall_any") for k in (5, 10)]
    _run(
        ctx, benchmark="longmemeval", data=data, data_dir=data_dir, out=out, specs=specs,
        execute=execute, modes=mode_list,
    )
