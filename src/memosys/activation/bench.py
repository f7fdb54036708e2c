"""The time-to-first-token benchmark behind ``memosys kv bench``.

For each memory-block size it fills a throw-away data directory with
synthetic facts, builds their KV cache, and times ``MemOS.generate`` on the
same question with the cache (``use_activation=True``: the cache is checked and
memory-mapped from the cube on disk within the timed call) and without it (the
block is prefilled). Runs alternate, after warm-up; medians are reported with
whether the greedy outputs were identical and how far the first logits drift.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from memosys.activation.blocks import block_message, continuation, render_block
from memosys.models.llm.runtime import LocalLM

Report = Callable[[str], None]
_NAMES = ["Ada", "Bruno", "Chen", "Dagny", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jun"]
_THINGS = ["tea", "city", "sport", "book", "song", "tool", "colour", "dish", "river", "game"]


def synthetic_fact(index: int) -> str:
    """A short, distinct fact sentence."""
    name, thing = _NAMES[index % len(_NAMES)], _THINGS[(index // len(_NAMES)) % len(_THINGS)]
    return f"Fact {index}: {name}'s favourite {thing} is number {index * 7919 % 1000}."


def add_memories(mos: Any, lm: LocalLM, tokens: int) -> list[str]:
    """Add synthetic facts until their rendered block has at least ``tokens`` tokens."""
    items: list[Any] = []
    per_fact = len(lm.encode(f"- [2026-01-01] {synthetic_fact(123)}\n"))
    while (have := len(render_block(lm, items).token_ids)) < tokens or not items:
        start = len(items)
        batch = [synthetic_fact(start + i) for i in range(max(1, (tokens - have) // per_fact))]
        items.extend(mos.add_texts(batch, user_id="bench"))
    return [item.id for item in items]


def question_of(lm: LocalLM, tokens: int) -> str:
    """A question whose rendered user turn (and assistant prompt) is about ``tokens`` tokens."""
    words = ["Which", "favourite", "facts", "above", "mention", "Ada", "and", "what", "numbers"]
    question = "Who likes tea?"
    before = [{"role": "system", "content": "x"}]
    index = 0
    while len(lm.encode(continuation(lm, before, [_user(question)]))) < tokens:
        question = f"{question} {words[index % len(words)]}"
        index += 1
    return question


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def run_ttft_bench(
    model: str,
    memory_tokens: Sequence[int],
    query_tokens: Sequence[int],
    *,
    runs: int = 5,
    warmup: int = 1,
    max_new_tokens: int = 16,
    dtype: str = "float32",
    report: Report | None = None,
) -> list[dict[str, Any]]:
    """One result row per (memory size, query size); see the module docstring."""
    from memosys.api.local import MemOS
    from memosys.models.llm.registry import get_lm
    from memosys.settings import load_settings

    lm = get_lm(model)
    settings = load_settings(
        embedder={"provider": "hash"},
        activation={"model": model, "max_block_tokens": 65536, "storage_dtype": dtype},
    )
    rows: list[dict[str, Any]] = []
    for size in memory_tokens:
        with tempfile.TemporaryDirectory(prefix="memosys-kv-bench-") as folder:
            mos = MemOS.open(Path(folder), settings=settings)
            try:
                ids = add_memories(mos, lm, size)
                record = mos.activation.build(memory_ids=ids, user_id="bench", name="bench")
                for query_size in query_tokens:
                    row = _measure(
                        mos, lm, ids, question_of(lm, query_size), runs, warmup, max_new_tokens
                    )
                    row.update(
                        memory_tokens=size,
                        query_tokens=query_size,
                        memory_tokens_actual=record.info.token_count,
                        cache_bytes=record.info.byte_size,
                        cache_bytes_per_token=round(
                            record.info.byte_size / record.info.token_count, 1
                        ),
                        storage_dtype=dtype,
                        model_dtype=str(lm.model.dtype).removeprefix("torch."),
                    )
                    rows.append(row)
                    if report:
                        report(_summary(row))
            finally:
                mos.close()
    return rows


def _measure(
    mos: Any,
    lm: LocalLM,
    ids: list[str],
    question: str,
    runs: int,
    warmup: int,
    max_new_tokens: int,
) -> dict[str, Any]:
    uncached: list[float] = []
    cached: list[float] = []
    identical = True
    query_tokens_actual = 0
    for run in range(warmup + runs):
        order = (False, True) if run % 2 == 0 else (True, False)
        outputs = {}
        for use in order:
            result = mos.generate(
                question,
                user_id="bench",
                memories=ids,
                max_new_tokens=max_new_tokens,
                use_activation=use,
            )
            outputs[use] = result
            if run >= warmup:
                (cached if use else uncached).append(result.ttft_s)
        if outputs[True].caches != ["bench"]:
            raise RuntimeError("the benchmark cache was not used")
        identical &= outputs[True].token_ids == outputs[False].token_ids
        query_tokens_actual = outputs[True].prompt_tokens - outputs[True].cached_tokens
    in_memory = _in_memory_ttft(mos, lm, ids, question, runs)
    median_uncached, median_cached = statistics.median(uncached), statistics.median(cached)
    return {
        "ttft_uncached_s": round(median_uncached, 5),
        "ttft_cached_s": round(median_cached, 5),
        "reduction": round(1 - median_cached / median_uncached, 4),
        "identical": identical,
        "ttft_cached_in_memory_s": round(in_memory, 5),
        "query_tokens_actual": query_tokens_actual,
        "max_abs_logit_diff": _logit_drift(mos, lm, ids, question),
        "runs": runs,
        "warmup": warmup,
    }


def _prompt_parts(mos: Any, lm: LocalLM, ids: list[str], question: str) -> tuple[Any, list[int]]:
    loaded = mos.activation.load("bench", lm, user_id="bench")
    before = [block_message(loaded.items)]
    return loaded, lm.encode(continuation(lm, before, [_user(question)]))


def _in_memory_ttft(mos: Any, lm: LocalLM, ids: list[str], question: str, runs: int) -> float:
    """TTFT with the cache already in memory (the lower bound of the loading path)."""
    loaded, rest = _prompt_parts(mos, lm, ids, question)
    layers = [(k.clone(), v.clone()) for k, v in loaded.file.layers(lm.model.dtype)]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        lm.generate(rest, max_new_tokens=1, past_key_values=layers)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _logit_drift(mos: Any, lm: LocalLM, ids: list[str], question: str) -> float:
    loaded, rest = _prompt_parts(mos, lm, ids, question)
    with_cache = lm.next_token_logits(rest, past_key_values=loaded.file.layers(lm.model.dtype))
    with_text = lm.next_token_logits(loaded.token_ids + rest)
    return round(float((with_cache - with_text).abs().max()), 6)


def _summary(row: dict[str, Any]) -> str:
    return (
        f"memory {row['memory_tokens_actual']:>5} tok, query {row['query_tokens_actual']:>4} tok: "
        f"ttft {row['ttft_uncached_s'] * 1000:8.1f} ms -> {row['ttft_cached_s'] * 1000:7.1f} ms "
        f"({row['reduction']:.1%} less), identical={row['identical']}, "
        f"{row['cache_bytes_per_token']:.0f} B/token"
    )


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: CPU count, torch threads, device, versions."""
    import os
    import platform

    import torch
    import transformers

    from memosys.models.llm.loading import device_name

    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device_name(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "load_average": os.getloadavg(),
    }
