"""``memosys jobs``: list, run and watch the background upkeep jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from memosys.cli.options import json_object, json_option, open_memos, scope_options

if TYPE_CHECKING:
    from memosys.lifecycle.jobs import JobInfo
    from memosys.lifecycle.upkeep import JobRun


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


def _run_row(run: JobRun | None) -> dict[str, Any]:
    if run is None:
        return {"run": "-", "status": "never run", "progress": "", "finished": ""}
    finished = _when(run.finished_at)
    status = run.status if run.error is None else f"{run.status}: {run.error}"
    return {"run": run.id, "status": status, "progress": run.progress, "finished": finished}


def _schedule_row(info: JobInfo, now: datetime) -> dict[str, Any]:
    if info.every_s is None or info.next_run_at is None:
        return {"every": "on request", "next run (UTC)": ""}
    due = "due now" if info.next_run_at <= now else _when(info.next_run_at)
    return {"every": f"{info.every_s:g} s", "next run (UTC)": due}


def _table(rows: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in rows[0] if rows else ["job"]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    Console().print(table)


DEFAULT_WATCH = ("ttl-purge", "decay", "caps")


@click.group()
def jobs() -> None:
    """Background upkeep jobs: TTL purge, decay, caps and dedup.

    Every run is recorded; a run killed halfway is resumed by the next
    `memosys jobs run NAME`. `memosys serve` runs the jobs of the
    lifecycle.schedule setting every so many seconds.
    """


@jobs.command("list")
@scope_options
@json_option
@click.pass_context
def jobs_list(ctx: click.Context, as_json: bool) -> None:
    """List the jobs with their latest run, their interval and when they run next."""
    from memosys.cli.output import echo_json

    with open_memos(ctx) as mos:
        infos = mos.jobs()
    if as_json:
        echo_json([info.model_dump(mode="json") for info in infos])
        return
    now = datetime.now(UTC)
    rows = []
    for info in infos:
        last = _run_row(info.last_run)
        status = "interrupted (resumes)" if info.state == "interrupted" else last["status"]
        rows.append({"job": info.name, "last run": status,
                     "finished (UTC)": last["finished"], **_schedule_row(info, now),
                     "what": info.description})
    _table(rows, "jobs")


@jobs.command("run")
@click.argument("name")
@click.option(
    "--params", callback=json_object, default=None,
    help='Job parameters as a JSON object, e.g. \'{"archive_below": 0.2}\'.',
)
@scope_options
@json_option
@click.pass_context
def jobs_run(ctx: click.Context, name: str, params: dict[str, Any] | None, as_json: bool) -> None:
    """Run job NAME now (or resume its interrupted run) and show the outcome."""
    from memosys.cli.output import echo_json

    with open_memos(ctx) as mos:
        run = mos.run_job(name, params=params)
    if as_json:
        echo_json(run.model_dump(mode="json"))
    else:
        click.echo(f"{run.name} run {run.id}: {run.status}, {run.progress} processed, "
                   f"result {run.result}")


@jobs.command("watch")
@click.argument("names", nargs=-1)
@click.option("--every", type=click.FloatRange(min=0), default=3600.0, show_default=True,
              help="Seconds between rounds.")
@click.option("--rounds", type=click.IntRange(min=1), default=None,
              help="Stop after this many rounds (default: run until interrupted).")
@scope_options
@click.pass_context
def jobs_watch(
    ctx: click.Context, names: tuple[str, ...], every: float, rounds: int | None
) -> None:
    """Run jobs NAMES (default: ttl-purge, decay, caps) every --every seconds.

    Each round runs the jobs one after the other and prints one line per run;
    Ctrl-C stops between steps, and the next round or `jobs run` resumes.
    """
    import time

    chosen = names or DEFAULT_WATCH
    done = 0
    with open_memos(ctx) as mos:
        known = {info.name for info in mos.jobs()}
        unknown = [name for name in chosen if name not in known]
        if unknown:
            raise click.BadParameter(f"unknown job(s): {', '.join(unknown)}", param_hint="NAMES")
        while rounds is None or done < rounds:
            for name in chosen:
                run = mos.run_job(name)
                click.echo(f"{run.name} run {run.id}: {run.status}, result {run.result}")
            done += 1
            if rounds is None or done < rounds:
                time.sleep(every)


@jobs.command("status")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many runs to show.")
@scope_options
@json_option
@click.pass_context
def jobs_status(ctx: click.Context, name: str | None, limit: int, as_json: bool) -> None:
    """Show the latest runs (of job NAME, or of all jobs), newest first."""
    from memosys.cli.output import echo_json

    with open_memos(ctx) as mos:
        runs = mos.job_runs(name, limit=limit)
    if as_json:
        echo_json([run.model_dump(mode="json") for run in runs])
        return
    _table([{"job": r.name, **_run_row(r), "cursor": r.cursor or ""} for r in runs], "job runs")
