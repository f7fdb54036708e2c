"""``make demo``: ingest a sample conversation and document offline, then search them.

Run as ``python -m memosys.demo --data ./.memosys-demo``. The data directory
is wiped first when an earlier demo made it, so every run starts the same.
The sample lives in :mod:`memosys.demo_data`: a made-up conversation in four
sessions over six weeks (Maya moves from Leeds to Lisbon and changes jobs) and
the handbook of her new flat.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from memosys.api.local import MemOS
    from memosys.models.embedders.base import Embedder

DEFAULT_DATA = "./.memosys-demo"
MARKER = ".memosys-demo"
USER = "maya"


@dataclass(frozen=True)
class DemoSearch:
    """One search the demo runs, with a line saying what it shows."""

    title: str
    query: str
    note: str
    options: dict[str, Any] = field(default_factory=dict)


APRIL = {"event_time": {"$gte": "2024-04-01"}}

SEARCHES = [
    DemoSearch(
        "Hybrid retrieval",
        "Which neighbourhood is Maya's new flat in?",
        "BM25 and dense vectors fused with reciprocal rank fusion; 'why' shows each rank.",
        {"top_k": 5},
    ),
    DemoSearch(
        "Semantic match (dense only)",
        "dietary restrictions and food allergies",
        "No word of the query occurs in the answer; the embedder still finds it.",
        {"mode": "dense", "top_k": 3},
    ),
    DemoSearch(
        "Filter: document chunks only",
        "what to do if the boiler shows an error",
        'filters={"kind": "chunk"}: only handbook sections, shown with their heading path.',
        {"filters": {"kind": "chunk"}, "top_k": 3},
    ),
    DemoSearch(
        "No filter: every session answers",
        "Maya's job at Velora",
        "The March offer and the first interview match as well as the April news.",
        {"top_k": 3},
    ),
    DemoSearch(
        "Filter: a time range",
        "Maya's job at Velora",
        f"filters={json.dumps(APRIL)}: only what was said from April on.",
        {"filters": APRIL, "top_k": 3},
    ),
    DemoSearch(
        "Neighbour expansion",
        "When is Priya coming to visit?",
        "neighbours=1 adds the message before and after each hit, for context.",
        {"neighbours": 1, "top_k": 2},
    ),
]


def sample_file(name: str) -> Traversable:
    """A file of the bundled sample data."""
    return resources.files("memosys.demo_data") / name


def prepare_directory(path: Path) -> None:
    """Create ``path``, wiping it first if an earlier demo made it.

    A directory that is not empty and was not made by the demo is left alone.
    """
    from memosys.core.errors import ConfigurationError

    if (path / MARKER).exists():
        shutil.rmtree(path)
    elif path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ConfigurationError(
            f"{path} exists and was not made by the demo; pass an empty or new --data directory"
        )
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("made by python -m memosys.demo; safe to delete\n", "utf-8")


@contextmanager
def timed(console: Console, label: str) -> Iterator[None]:
    """Print how long the block took."""
    start = time.perf_counter()
    yield
    console.print(f"  {label}: [bold]{time.perf_counter() - start:.2f} s[/bold]")


def ingest(mos: MemOS, console: Console) -> None:
    """Load the embedder, then add the conversation and the handbook, timing each step."""
    conversation = json.loads(sample_file("conversation.json").read_text("utf-8"))
    sessions = conversation["sessions"]
    messages = sum(len(session["messages"]) for session in sessions)
    console.rule("[bold]Ingest")
    with timed(console, "load the embedding model"):
        mos.embedder.embed(["warm up"], purpose="query")
    with timed(console, f"add {messages} messages in {len(sessions)} sessions"):
        for session in sessions:
            mos.add(
                session["messages"],
                user_id=USER,
                session_id=session["session_id"],
                session_time=datetime.fromisoformat(session["date"]),
            )
    with (
        resources.as_file(sample_file("handbook.md")) as handbook,
        timed(console, f"add the document {handbook.name}"),
    ):
        chunks = mos.add_document(handbook, user_id=USER, title="Flat handbook")
    console.print(
        f"  stored {mos.count(user_id=USER)} memories "
        f"({messages} messages, {len(chunks)} document chunks)"
    )


def run_searches(mos: MemOS, console: Console) -> None:
    """Run the demo searches and print a table for each."""
    from memosys.cli.output import print_hits

    for number, demo in enumerate(SEARCHES, start=1):
        console.rule(f"[bold]{number}. {demo.title}")
        console.print(f"query: [bold]{demo.query}[/bold]\n[dim]{demo.note}[/dim]")
        start = time.perf_counter()
        hits = mos.search(demo.query, user_id=USER, **demo.options)
        elapsed_ms = (time.perf_counter() - start) * 1000
        print_hits(hits, title=f"{len(hits)} hits in {elapsed_ms:.0f} ms", console=console)


def run(data: Path, console: Console, *, embedder: Embedder | None = None) -> None:
    """The whole demo: fresh directory, ingest, searches (``embedder``: reuse a loaded one)."""
    from memosys.api.local import MemOS

    prepare_directory(data)
    console.print(f"memosys demo — data in [bold]{data.resolve()}[/bold] (offline)")
    with MemOS.open(data, embedder=embedder) as mos:
        ingest(mos, console)
        run_searches(mos, console)
    console.rule()
    console.print(f"Try the CLI on it: memosys --data {data} --user {USER} search 'Lisbon'")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m memosys.demo``; returns the exit code."""
    from rich.console import Console

    from memosys.core.errors import MemosysError

    parser = argparse.ArgumentParser(prog="python -m memosys.demo", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(DEFAULT_DATA),
                        help=f"demo data directory, wiped on each run (default: {DEFAULT_DATA})")
    args = parser.parse_args(argv)
    try:
        run(args.data, Console())
    except MemosysError as exc:
        print(f"error: {exc.error_name()}: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
