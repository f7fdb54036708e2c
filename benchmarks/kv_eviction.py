"""Eviction policies of activation memory on synthetic access traces: hit rates.

A trace is a sequence of requests for memory blocks of different sizes. A
request for a cached block is a hit; a miss builds the block and then evicts,
by the policy under test, until the cube fits its byte budget (the code under
test is ``memosys.activation.eviction``, the same the cache manager calls).
Belady's clairvoyant policy (evict the block needed furthest in the future)
is the upper bound. Three traces:

- ``zipf``: independent requests, Zipf(1.1) popularity;
- ``sessions``: bursts on a few blocks (a conversation), popular blocks behind;
- ``periodic``: blocks that come back at their own period (daily digests,
  weekly reports) mixed with one-off blocks that are never seen again.

    .venv/bin/python benchmarks/kv_eviction.py --requests 20000 --budgets 0.05,0.1,0.25
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import write_result  # noqa: E402

from memosys.activation.eviction import POLICIES, Policy, Usage, victims  # noqa: E402
from memosys.activation.index import USE_HISTORY  # noqa: E402

BYTES_PER_TOKEN = 46_080  # SmolLM2-135M, float32 (30 layers x 2 x 3 heads x 64 dims x 4 bytes)
Trace = list[int]


def block_sizes(n: int, rng: random.Random) -> list[int]:
    """Block sizes in bytes: 128 to 4096 tokens, log-uniform."""
    return [int(2 ** rng.uniform(7, 12)) * BYTES_PER_TOKEN for _ in range(n)]


def zipf_trace(n_blocks: int, requests: int, rng: random.Random) -> Trace:
    weights = [1 / (rank + 1) ** 1.1 for rank in range(n_blocks)]
    return rng.choices(range(n_blocks), weights, k=requests)


def session_trace(n_blocks: int, requests: int, rng: random.Random) -> Trace:
    trace: Trace = []
    popular = zipf_trace(n_blocks, requests, rng)
    while len(trace) < requests:
        focus = rng.sample(range(n_blocks), 3)
        for _ in range(rng.randint(5, 40)):
            background = popular[len(trace) % requests]
            trace.append(rng.choice(focus) if rng.random() < 0.7 else background)
    return trace[:requests]


def periodic_trace(n_blocks: int, requests: int, rng: random.Random) -> Trace:
    periodic = n_blocks // 2
    periods = {b: rng.randint(20, 400) for b in range(periodic)}
    phases = {b: rng.randrange(periods[b]) for b in range(periodic)}
    trace: Trace = []
    one_off = periodic
    for t in range(requests):
        due = [b for b in range(periodic) if (t - phases[b]) % periods[b] == 0]
        if due:
            trace.append(rng.choice(due))
        else:  # a block seen once (the id space wraps to keep sizes defined)
            trace.append(periodic + one_off % (n_blocks - periodic))
            one_off += 1
    return trace


def simulate(trace: Trace, sizes: list[int], budget: int, policy: Policy) -> dict[str, float]:
    cached: dict[int, Usage] = {}
    hits = hit_bytes = total_bytes = 0
    for t, block in enumerate(trace):
        now = float(t)
        total_bytes += sizes[block]
        if block in cached:
            hits += 1
            hit_bytes += sizes[block]
            old = cached[block]
            cached[block] = Usage(
                old.name, old.byte_size, old.created, [*old.uses, now][-USE_HISTORY:], old.hits + 1
            )
            continue
        if sizes[block] > budget:
            continue
        cached[block] = Usage(str(block), sizes[block], now, [], 0)
        for name in victims(list(cached.values()), budget, policy, now, keep=str(block)):
            del cached[int(name)]
    return {
        "hit_rate": round(hits / len(trace), 4),
        "byte_hit_rate": round(hit_bytes / total_bytes, 4),
    }


def _next_uses_fast(trace: Trace) -> list[int]:
    """Index of the next request of the same block, per position."""
    nxt = [1 << 60] * len(trace)
    last: dict[int, int] = {}
    for t in range(len(trace) - 1, -1, -1):
        nxt[t] = last.get(trace[t], 1 << 60)
        last[trace[t]] = t
    return nxt


def simulate_belady(trace: Trace, sizes: list[int], budget: int) -> dict[str, float]:
    nxt = _next_uses_fast(trace)
    cached: dict[int, int] = {}  # block -> its next request time
    hits = hit_bytes = total_bytes = 0
    for t, block in enumerate(trace):
        total_bytes += sizes[block]
        if block in cached:
            hits += 1
            hit_bytes += sizes[block]
        elif sizes[block] > budget:
            continue
        cached[block] = nxt[t]
        used = sum(sizes[b] for b in cached)
        while used > budget:
            victim = max((b for b in cached if b != block), key=lambda b: cached[b])
            used -= sizes[victim]
            del cached[victim]
    return {
        "hit_rate": round(hits / len(trace), 4),
        "byte_hit_rate": round(hit_bytes / total_bytes, 4),
    }


TRACES: dict[str, Callable[[int, int, random.Random], Trace]] = {
    "zipf": zipf_trace,
    "sessions": session_trace,
    "periodic": periodic_trace,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=300)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--budgets", default="0.05,0.1,0.25", help="fractions of all blocks' bytes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="kv_eviction")
    args = parser.parse_args()
    rows = []
    for trace_name, make in TRACES.items():
        rng = random.Random(args.seed)
        sizes = block_sizes(args.blocks, rng)
        trace = make(args.blocks, args.requests, rng)
        for fraction in (float(f) for f in args.budgets.split(",")):
            budget = int(sum(sizes) * fraction)
            row: dict[str, object] = {"trace": trace_name, "budget_fraction": fraction}
            for policy in POLICIES:
                row[policy] = simulate(trace, sizes, budget, policy)
            row["belady"] = simulate_belady(trace, sizes, budget)
            print(row, flush=True)
            rows.append(row)
    write_result(args.out, {"blocks": args.blocks, "requests": args.requests, "rows": rows})


if __name__ == "__main__":
    main()
