"""Aggregate per-question results into a report, print it and save it as JSON."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from memosys.core.errors import InvalidInputError
from memosys.eval.metrics import METRICS
from memosys.eval.runner.harness import QueryResult
from memosys.eval.runner.measure import Timings, peak_rss_mb

MetricSpec = tuple[str, int]  # (metric name in METRICS, k)


def metric_label(spec: MetricSpec) -> str:
    """``("recall_all", 5)`` -> ``"recall_all@5"``."""
    return f"{spec[0]}@{spec[1]}"


def _scores(
    results: Sequence[QueryResult], mode: str, specs: Sequence[MetricSpec]
) -> dict[str, Any]:
    row: dict[str, Any] = {"n": len(results)}
    for name, k in specs:
        fn = METRICS[name]
        values = [fn(r.ranked[mode], r.gold, k) for r in results]
        row[metric_label((name, k))] = sum(values) / len(values) if values else 0.0
    return row


def summarise(
    results: Sequence[QueryResult],
    specs: Sequence[MetricSpec],
    modes: Sequence[str],
    *,
    exclude_from_overall: Collection[str] = (),
) -> dict[str, Any]:
    """Mean of each metric per mode, overall (micro-averaged) and per group.

    Groups named in ``exclude_from_overall`` (LoCoMo's adversarial category)
    are reported on their own and left out of ``overall``.
    """
    for name, _ in specs:
        if name not in METRICS:
            raise InvalidInputError(f"unknown metric {name!r}; known: {sorted(METRICS)}")
    groups = sorted({r.group for r in results})
    scored = [r for r in results if r.group not in exclude_from_overall]
    return {
        mode: {
            "overall": _scores(scored, mode, specs),
            "groups": {
                g: _scores([r for r in results if r.group == g], mode, specs) for g in groups
            },
        }
        for mode in modes
    }


def timing_summary(timings: Timings, messages: int, modes: Sequence[str]) -> dict[str, Any]:
    """Ingest throughput, per-query latency of each mode and peak RSS."""
    ingest_s = timings.total("ingest")
    return {
        "ingest": {
            "messages": messages,
            "seconds": ingest_s,
            "messages_per_s": messages / ingest_s if ingest_s > 0 else 0.0,
        },
        "search_latency": {mode: timings.latency_ms(f"search.{mode}") for mode in modes},
        "peak_rss_mb": peak_rss_mb(),
    }


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_report(
    *,
    benchmark: str,
    command: str,
    data: str | Path,
    settings: dict[str, Any],
    summary: dict[str, Any],
    timing: dict[str, Any],
    results: Sequence[QueryResult],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-ready report: provenance, scores, timing and every question's rankings."""
    from memosys import __version__

    return {
        "benchmark": benchmark,
        "command": command,
        "memosys_version": __version__,
        "dataset": {"path": str(data), "sha256": file_sha256(data)},
        "settings": settings,
        **(extra or {}),
        "scores": summary,
        "timing": timing,
        "questions": [asdict(r) for r in results],
    }


def write_report(report: dict[str, Any], path: str | Path) -> None:
    """Save ``report`` as indented JSON, creating parent folders."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


def render(report: dict[str, Any], specs: Sequence[MetricSpec]) -> None:
    """Print one score table per mode and a timing table with rich."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # files and pipes: do not squeeze the tables to 80 columns
        console = Console(width=200)
    labels = [metric_label(s) for s in specs]
    for mode, scores in report["scores"].items():
        table = Table(title=f"{report['benchmark']} - {mode}")
        table.add_column("group")
        table.add_column("n", justify="right")
        for label in labels:
            table.add_column(label, justify="right")
        rows = [*scores["groups"].items(), ("overall", scores["overall"])]
        for group, row in rows:
            table.add_row(group, str(row["n"]), *(f"{row[label]:.3f}" for label in labels))
        console.print(table)
    timing = report["timing"]
    table = Table(title="timing")
    table.add_column("measure")
    table.add_column("value", justify="right")
    ingest = timing["ingest"]
    table.add_row("ingest", f"{ingest['messages']} msgs in {ingest['seconds']:.1f} s")
    table.add_row("ingest throughput", f"{ingest['messages_per_s']:.0f} msgs/s")
    for mode, lat in timing["search_latency"].items():
        table.add_row(f"search {mode} p50 / p95", f"{lat['p50_ms']:.1f} / {lat['p95_ms']:.1f} ms")
    table.add_row("peak RSS", f"{timing['peak_rss_mb']:.0f} MiB")
    console.print(table)
