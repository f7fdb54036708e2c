"""``memosys kv``: build, list, stats, drop and bench through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import Memosys

from memosys.models.llm.loading import device_name

BENCH_KEYS = {
    "memory_tokens",
    "query_tokens",
    "ttft_uncached_s",
    "ttft_cached_s",
    "reduction",
    "identical",
    "cache_bytes_per_token",
    "model_dtype",
}


def test_build_list_stats_and_drop(
    fresh_data_dir: Path, embedder: Any, tiny_lm: Any
) -> None:
    cli = Memosys(fresh_data_dir, embedder)
    added = cli.json("add", "--user", "ann", "--text", "Alice likes tea.", "--text", "Bob maps.")
    ids = [item["id"] for item in added]
    built = cli.json(
        "kv",
        "build",
        "--user",
        "ann",
        "--ids",
        ",".join(ids),
        "--model",
        "tiny-llama",
        "--name",
        "facts",
    )
    assert built["name"] == "facts" and built["memory_ids"] == ids and built["state"] == "fresh"
    listed = cli.json("kv", "list", "--user", "ann")
    assert [row["name"] for row in listed] == ["facts"]
    assert listed[0]["tokens"] > 0 and listed[0]["bytes"] > 0
    stats = cli.json("kv", "stats", "--user", "ann")
    assert stats["caches"] == 1 and stats["bytes"] == listed[0]["bytes"]
    table = cli.ok("kv", "list", "--user", "ann").stdout
    assert "facts" in table and "tiny-llama" in table
    assert "dropped facts" in cli.ok("kv", "drop", "facts", "--user", "ann").stdout
    assert cli.json("kv", "list", "--user", "ann") == []


def test_errors_exit_2_with_the_fix(fresh_data_dir: Path, embedder: Any) -> None:
    cli = Memosys(fresh_data_dir, embedder)
    result = cli.run("kv", "drop", "nothing")
    assert result.exit_code == 2 and "kv list" in result.stderr
    result = cli.run("kv", "build")
    assert result.exit_code == 2 and "memory_ids or filters" in result.stderr
    assert cli.run("kv", "bench", "--memory-tokens", "x").exit_code == 2


def test_bench_prints_one_json_row_per_size(tmp_path: Path, embedder: Any, tiny_lm: Any) -> None:
    cli = Memosys(tmp_path / "data", embedder)
    out = tmp_path / "bench.json"
    rows = cli.json(
        "kv",
        "bench",
        "--model",
        "tiny-llama",
        "--memory-tokens",
        "64,128",
        "--query-tokens",
        "16",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--max-new-tokens",
        "2",
        "--out",
        str(out),
    )
    assert [(r["memory_tokens"], r["query_tokens"]) for r in rows] == [(64, 16), (128, 16)]
    for row in rows:
        assert row.keys() >= BENCH_KEYS
        assert row["identical"] is True
        assert row["memory_tokens_actual"] >= row["memory_tokens"]
    saved = json.loads(out.read_text())
    assert saved["command"].startswith("memosys") and saved["rows"] == rows
    assert saved["machine"]["device"] == device_name()
    assert {row["model_dtype"] for row in rows} == {"float32"}
