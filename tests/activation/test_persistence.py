"""Caches survive a process restart: another process finds, checks and uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.activation.support import open_mos

from memosys import MemOS
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

    from memosys.activation.kvfile import WRITERS_LOCK, load_kv, save_kv

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
    assert sorted(p.name for p in tmp_path.iterdir()) == [WRITERS_LOCK, "hot.safetensors"]


WRITER = """
import sys, time
from pathlib import Path
import safetensors.torch, torch
from memosys.activation.kvfile import save_kv

def stuck(tensors, filename, metadata=None):  # half a file written, then the writer hangs
    Path(filename).write_bytes(b"\\0" * 4096)
    print("writing", flush=True)
    time.sleep(600)

safetensors.torch.save_file = stuck
save_kv(Path(sys.argv[1]), torch.zeros(1, 2, 1, 3, 4), [1, 2, 3], {"text": "x"})
"""


def test_opening_removes_the_unfinished_file_of_a_killed_writer_but_not_of_a_live_one(
    mos: MemOS, fact_ids: list[str], embedder: Any, clock: FixedClock
) -> None:
    record = mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    data, folder = mos.data_dir, mos.activation.root / record.cube_id
    assert data is not None
    args = [sys.executable, "-c", WRITER, str(folder / "other.safetensors")]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as writer:
        try:
            assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
            [partial] = folder.glob(".*.partial")
            with open_mos(data, embedder, clock) as other:
                assert other.activation.list(user_id="ann")
            assert partial.exists()  # its writer is alive: left alone
        finally:
            writer.kill()  # SIGKILL: no finally clause of the writer runs
    assert partial.exists()
    with open_mos(data, embedder, clock) as reopened:
        assert [r.name for r in reopened.activation.list(user_id="ann")] == ["facts"]
    assert not partial.exists()
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "facts.safetensors",
        "index.json",
    ]
