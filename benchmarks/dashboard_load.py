"""How fast the dashboard feels: first load, a search, an item page, on a cube of N memories.

Runs a real server (uvicorn on loopback, bundled embedder) over ``--items``
synthetic memories (random clustered vectors, so seeding is quick) and drives
the dashboard in headless Chromium (``/usr/bin/chromium``). Each figure is the
wall time from the browser action to the result being visible, as Playwright
sees it (so it includes a few ms of Playwright overhead). The machine may be
shared with other work; the result file records the load average.

    .venv/bin/python benchmarks/dashboard_load.py --items 10000 --repeats 15
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import clustered_vectors, synthetic_texts, write_result

from memosys import MemOS
from memosys.server.app import create_app
from memosys.server.background import BackgroundServer

QUERIES = ["flight to Lisbon", "vegan lasagna", "hiking boots", "concert tickets", "old bicycle",
           "sunflower mural", "quarterly report", "tomato plants", "chess set", "wedding cake"]
BATCH = 2000


def seed(mos: MemOS, items: int) -> str:
    key = mos.create_user("ana").api_key
    texts = synthetic_texts(items)
    vectors = clustered_vectors(items, dims=mos.embedder.dimensions)
    for start in range(0, items, BATCH):
        chunk = slice(start, start + BATCH)
        mos.add_texts(texts[chunk], user_id="ana", kind="fact", embeddings=vectors[chunk])
    return key


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
        "max_ms": round(ordered[-1], 1),
    }


def measure(browser: Any, url: str, key: str, repeats: int) -> dict[str, Any]:
    first_load, searches, details, weights = [], [], [], []
    for round_ in range(repeats):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(f"sessionStorage.setItem('memosys.apiKey', {key!r})")
        page = context.new_page()
        sizes: list[int] = []
        page.on("response", lambda r, sizes=sizes: sizes.append(len(r.body())) if r.ok else None)
        cards = page.get_by_role("list", name="Memories").get_by_role("listitem")

        start = time.perf_counter()
        page.goto(url)
        cards.first.wait_for()
        first_load.append(1000 * (time.perf_counter() - start))
        weights.append(sum(sizes))

        query = QUERIES[round_ % len(QUERIES)]
        page.get_by_label("Search memories").fill(query)
        start = time.perf_counter()
        page.get_by_role("button", name="Search", exact=True).click()
        page.get_by_text(f"for “{query}”").wait_for()
        cards.first.wait_for()
        searches.append(1000 * (time.perf_counter() - start))

        start = time.perf_counter()
        cards.first.get_by_role("link").click()
        page.get_by_test_id("item-content").wait_for()
        page.get_by_role("region", name="Audit trail").get_by_role("listitem").first.wait_for()
        details.append(1000 * (time.perf_counter() - start))
        context.close()
    return {
        "first_load_to_list": summary(first_load),
        "search_to_results": summary(searches),
        "open_item_page": summary(details),
        "first_load_bytes": int(statistics.median(weights)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data, MemOS.open(Path(data)) as mos:
        started = time.perf_counter()
        key = seed(mos, args.items)
        seeded_s = time.perf_counter() - started
        with BackgroundServer(create_app(mos)) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox"]
            )
            figures = measure(browser, server.url + "/", key, args.repeats)
            browser.close()
    write_result(
        f"dashboard_load_{args.items}",
        {"items": args.items, "repeats": args.repeats, "seed_seconds": round(seeded_s, 1),
         **figures},
    )


if __name__ == "__main__":
    main()
