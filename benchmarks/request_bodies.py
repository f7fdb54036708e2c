"""What an add's vectors cost on the wire: writing and reading them as a JSON list or packed.

    .venv/bin/python benchmarks/request_bodies.py --rows 20 --repeats 500

For an add of ``--rows`` texts with 384-dimensional unit vectors (float32, as
a model gives them), each way of sending the vectors is timed on the client
(building the body) and on the server (parsing it: ``json.loads``, which the
server used until 2026-11-28, and ``pydantic_core.from_json``, which it uses
now; packed vectors then go through ``unpack``). Also timed: the BM25
mirror's tokenizer call (``token_lists``) for an add's texts and for a
query's terms, and what making a scratch FTS5 index costs, which each call
paid until it kept one per thread. Best of three rounds, milliseconds per call.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pydantic_core
from _common import synthetic_texts, write_result

from memosys.api.packed_vectors import pack, unpack
from memosys.core.text_fold import TOKENIZER
from memosys.stores.sqlite.fts_stats import token_lists


def per_call_ms(call: Callable[[], Any], repeats: int) -> float:
    """The best of three rounds of ``repeats`` calls, in ms per call."""
    call()
    rounds = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeats):
            call()
        rounds.append((time.perf_counter() - started) / repeats * 1000)
    return round(min(rounds), 4)


def write(body: Callable[[], dict[str, Any]]) -> bytes:
    """The client's side: the body built and written as JSON."""
    return json.dumps(body()).encode()


def parse_packed(raw: bytes, rows: int) -> Any:
    """The server's side of a packed body: parsed, then the vectors unpacked."""
    return unpack(pydantic_core.from_json(raw)["embeddings_base64"], rows, "embeddings_base64")


def new_scratch_index() -> None:
    """Make and close the in-memory FTS5 index and vocabulary that token_lists uses."""
    mem = sqlite3.connect(":memory:")
    mem.execute(f"CREATE VIRTUAL TABLE t USING fts5 (body, tokenize = '{TOKENIZER}')")
    mem.execute("CREATE VIRTUAL TABLE vocab USING fts5vocab (t, 'instance')")
    mem.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=500)
    args = parser.parse_args()
    texts = synthetic_texts(args.rows, seed=3)
    vectors = np.random.default_rng(0).standard_normal((args.rows, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ways: dict[str, Callable[[], dict[str, Any]]] = {
        "json_list": lambda: {"texts": texts, "embeddings": vectors.tolist()},
        "json_list_6_decimals": lambda: {  # what an app may send to keep the body short
            "texts": texts, "embeddings": vectors.astype(np.float64).round(6).tolist()},
        "packed": lambda: {"texts": texts, "embeddings_base64": pack(vectors, args.rows)},
    }
    results: dict[str, Any] = {}
    for name, body in ways.items():
        raw = json.dumps(body()).encode()
        read: dict[str, Callable[[], Any]] = {
            "json_loads": partial(json.loads, raw),
            "pydantic_from_json": partial(pydantic_core.from_json, raw),
        }
        if name == "packed":
            read["pydantic_from_json_then_unpack"] = partial(parse_packed, raw, args.rows)
        results[name] = {
            "body_bytes": len(raw),
            "client_write_ms": per_call_ms(partial(write, body), args.repeats),
            "server_read_ms": {way: per_call_ms(call, args.repeats) for way, call in read.items()},
        }
    query_terms = ["alice", "painted", "blue", "vase"]
    write_result("request_bodies", {
        "rows": args.rows,
        "dimensions": 384,
        "vectors": results,
        "token_lists_ms": {
            f"{args.rows}_texts": per_call_ms(lambda: token_lists(texts, []), args.repeats),
            "query_terms": per_call_ms(lambda: token_lists([], query_terms), args.repeats),
            "new_scratch_index": per_call_ms(new_scratch_index, args.repeats),
        },
    })


if __name__ == "__main__":
    main()
