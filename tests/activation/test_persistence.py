"""Caches survive a process restart: another process finds, checks and uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.activation.support import open_mos

from memosys.core.clock import FixedClock

CHILD = """
import json, sys
from memosys import MemOS
from memosys.settings import load_settings
settings = load_settings(embedder={"provider": "hash"}, activation={"model": "tiny-llama"})
with MemOS.open(sys.argv[1], settings=settings) as mos:
    ids = json.loads(sys.argv[2])
    records = mos.activation.list(user_id="ann")
    result = mos.generate("Who likes tea?", user_id="ann", memories=ids, max_new_tokens=6)
    print(json.dumps({"caches": [r.name for r in records], "used": result.caches,
                      "tokens": result.token_ids, "cached_tokens": result.cached_tokens}))
"""


def test_a_cache_built_here_is_used_by_a_new_process(
    tmp_path: Path, embedder: Any, clock: FixedClock, tiny_lm: Any
) -> None:
    data = tmp_path / "data"
    with open_mos(data, embedder, clock) as mos:
        ids = [i.id for i in mos.add_texts(["Alice likes tea.", "Bob likes maps."], user_id="ann")]
        record = mos.activation.build(memory_ids=ids, user_id="ann", name="facts")
        here = mos.generate("Who likes tea?", user_id="ann", memories=ids, max_new_tokens=6)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), json.dumps(ids)],
        capture_output=True,
        text=True,
        check=True,
    )
    there = json.loads(out.stdout.strip().splitlines()[-1])
    assert there["caches"] == ["facts"]
    assert there["used"] == ["facts"]
    assert there["cached_tokens"] == record.info.token_count
    assert there["tokens"] == here.token_ids
    with open_mos(data, embedder, clock) as reopened:
        assert reopened.activation.get("facts", user_id="ann").info.hits == 2


def test_threads_writing_the_same_cache_at_once_neither_fail_nor_tear_it(tmp_path: Path) -> None:
    import threading

    import torch

    from memosys.activation.kvfile import load_kv, save_kv

    path, kv, errors = tmp_path / "hot.safetensors", torch.randn(2, 2, 2, 1000, 32), []

    def write() -> None:
        for _ in range(10):
            try:
                save_kv(path, kv, list(range(1000)), {"text": "x"})
            except Exception as exc:  # a shared partial file: FileNotFoundError
                errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert torch.equal(load_kv(path).kv, kv)
    assert [p.name for p in tmp_path.iterdir()] == ["hot.safetensors"]
