"""Composed-mode drift: joined, independently cached blocks vs. one exact prefix cache.

For K blocks of synthetic facts, every block is prefilled on its own (as if
cached separately) and then joined: with keys re-rotated to their new offsets
(composed mode) and, for contrast, without (naive). Each question's answer is
compared with exact mode (all blocks prefilled together): next-token agreement,
KL(exact || composed) of the next-token distribution, identical greedy
continuations, and whether the answer contains the right number.

    .venv/bin/python benchmarks/kv_compose.py --model smollm2 --blocks 2,4,8 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _common import write_result  # noqa: E402

NAMES = ["Ada", "Bruno", "Chen", "Dagny", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jun"]
THINGS = ["tea", "city", "sport", "book", "song", "tool", "colour", "dish", "river", "game"]


def fact(i: int) -> tuple[str, str, str]:
    name, thing = NAMES[i % len(NAMES)], THINGS[i // len(NAMES) % len(THINGS)]
    number = str(100 + i * 37 % 900)
    return (
        f"{name}'s favourite {thing} is number {number}.",
        f"What number is {name}'s favourite {thing}?",
        number,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--blocks", default="2,4,8")
    parser.add_argument("--facts-per-block", type=int, default=6)
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=12)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--out", default="kv_compose_smollm2")
    args = parser.parse_args()

    import torch

    from memosys.activation.blocks import BLOCK_HEADER, continuation
    from memosys.activation.compose import compose
    from memosys.models.llm.registry import get_lm

    if args.threads:
        torch.set_num_threads(args.threads)
    lm = get_lm(args.model)
    rows: list[dict[str, Any]] = []
    for k in (int(x) for x in args.blocks.split(",")):
        facts = [fact(i) for i in range(k * args.facts_per_block)]
        texts = [
            lm.render_chat(
                [
                    {
                        "role": "system",
                        "content": "\n".join([BLOCK_HEADER, *(f"- {f[0]}" for f in facts[b::k])]),
                    }
                ],
                False,
            )
            for b in range(k)
        ]
        block_ids = [lm.encode(t) for t in texts]
        started = time.perf_counter()
        exact = _layers(lm.prefill([t for ids in block_ids for t in ids]))
        exact_s = time.perf_counter() - started
        parts = [_layers(lm.prefill(ids)) for ids in block_ids]
        started = time.perf_counter()
        composed = compose(lm, parts)
        compose_s = time.perf_counter() - started
        naive = compose(lm, parts, shift=False)
        step = max(1, len(facts) // args.questions)
        per_question = []
        for _text, question, number in facts[::step][: args.questions]:
            tail = lm.encode(
                continuation(
                    lm,
                    [{"role": "system", "content": "x"}],
                    [{"role": "user", "content": question}],
                )
            )
            per_question.append(
                _compare(lm, tail, exact, composed, naive, number, args.max_new_tokens)
            )
        row = {
            "blocks": k,
            "prefix_tokens": sum(map(len, block_ids)),
            "questions": len(per_question),
            "exact_prefill_s": round(exact_s, 3),
            "compose_s": round(compose_s, 4),
        }
        for mode in ("composed", "naive"):
            row[mode] = {
                "top1_agreement": _mean(q[mode]["top1"] for q in per_question),
                "kl_mean": round(statistics.mean(q[mode]["kl"] for q in per_question), 5),
                "kl_max": round(max(q[mode]["kl"] for q in per_question), 5),
                "greedy_identical": _mean(q[mode]["identical"] for q in per_question),
                "answer_correct": _mean(q[mode]["correct"] for q in per_question),
            }
        row["exact"] = {"answer_correct": _mean(q["exact_correct"] for q in per_question)}
        print(row, flush=True)
        rows.append(row)
    write_result(
        args.out, {"model": args.model, "torch_threads": torch.get_num_threads(), "rows": rows}
    )


def _layers(cache: Any) -> list[Any]:
    return [(layer.keys, layer.values) for layer in cache.layers]


def _mean(values: Any) -> float:
    values = [float(v) for v in values]
    return round(sum(values) / len(values), 4)


def _compare(
    lm: Any,
    tail: list[int],
    exact: Any,
    composed: Any,
    naive: Any,
    number: str,
    max_new_tokens: int,
) -> dict[str, Any]:
    reference = lm.next_token_logits(tail, past_key_values=exact).log_softmax(-1)
    answer = lm.generate(tail, past_key_values=exact, max_new_tokens=max_new_tokens)
    result: dict[str, Any] = {"exact_correct": number in answer.text}
    for mode, prefix in (("composed", composed), ("naive", naive)):
        other = lm.next_token_logits(tail, past_key_values=prefix).log_softmax(-1)
        got = lm.generate(tail, past_key_values=prefix, max_new_tokens=max_new_tokens)
        result[mode] = {
            "top1": int(reference.argmax()) == int(other.argmax()),
            "kl": float((reference.exp() * (reference - other)).sum()),
            "identical": got.token_ids == answer.token_ids,
            "correct": number in got.text,
        }
    return result


if __name__ == "__main__":
    main()
