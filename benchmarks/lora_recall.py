"""Benchmark: recall, drift and (optionally) unlearning of a LoRA adapter on synthetic facts.

Run by hand (not a test); writes one JSON file with the exact command, the
machine load and every figure of :func:`memosys.parametric.measure.measure_synthetic`::

    .venv/bin/python benchmarks/lora_recall.py --facts 20 --unlearning \\
        --out benchmarks/results/lora_recall_smollm2_20.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from memosys.models.llm.loading import device_name
from memosys.parametric.measure import measure_synthetic
from memosys.parametric.train import TrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-subject", type=int, default=1, help="facts per fictional subject")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--rank", type=int, default=TrainConfig.rank)
    parser.add_argument("--lr", type=float, default=TrainConfig.learning_rate)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--replay-weight", type=float, default=TrainConfig.replay_weight)
    parser.add_argument("--unlearning", action="store_true")
    parser.add_argument(
        "--threads", type=int, help="torch threads (1 avoids spinning on a busy CPU)"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    config = TrainConfig(
        rank=args.rank,
        steps=args.steps,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        replay_weight=args.replay_weight,
        seed=args.seed,
    )
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    started = time.perf_counter()

    def progress(step: int, total: int, loss: float) -> None:
        if step % 10 == 0 or step == total:
            elapsed = time.perf_counter() - started
            print(f"step {step}/{total} loss {loss:.4f} ({elapsed:.0f}s)", file=sys.stderr)

    device = device_name()

    def write(result: dict[str, object]) -> None:
        result["command"] = " ".join(["python", *map(shlex.quote, sys.argv)])
        result["wall_seconds"] = round(time.perf_counter() - started, 1)
        machine: dict[str, object] = {
            "device": device,
            "cpu_count": os.cpu_count(),
            "torch_threads": args.threads or "default",
            "platform": platform.platform(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_now": [round(x, 2) for x in os.getloadavg()],
        }
        if device == "cpu":
            machine["note"] = "2 cores shared with other agents' jobs during the run"
        result["machine"] = machine
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    result = measure_synthetic(
        args.facts,
        seed=args.seed,
        per_subject=args.per_subject,
        base_model=args.model,
        config=config,
        unlearning=args.unlearning,
        progress=progress,
        partial=write,
    )
    write(result)
    print(json.dumps({k: v for k, v in result.items() if k != "failures"}, indent=2))


if __name__ == "__main__":
    main()
