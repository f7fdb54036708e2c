"""The whole recall, drift and unlearning measurement on freshly generated synthetic facts.

The facts are added as memories to a throw-away MemOS, distilled with
``distill`` like any other memories, and probed with and without the adapter
(``memosys lora eval --synthetic N``). With ``unlearning`` the memory of the
first fact is then deleted, the adapter must report itself stale, and after
``rebuild`` that fact's recall is compared with the base model's and the
others' recall with what they had before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from memosys.parametric.evaluate import (
    Probe,
    fact_probes,
    perplexity,
    recall_by_kind,
    recall_hits,
)
from memosys.parametric.service import resolve_lm
from memosys.parametric.serving import adapters_applied
from memosys.parametric.synthetic import synthetic_facts
from memosys.parametric.train import StepProgress, TrainConfig

USER = "lora-eval"
ADAPTER = "synthetic-facts"


def _flat(groups: Sequence[Sequence[Probe]]) -> list[Probe]:
    return [probe for group in groups for probe in group]


def _share(values: Sequence[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _hits_of(groups: Sequence[Sequence[Probe]], hits: Sequence[bool], index: int) -> list[bool]:
    """The hits of the cloze and direct-question probes of fact ``index``."""
    start = sum(len(group) for group in groups[:index])
    group = groups[index]
    return [hits[start + k] for k, probe in enumerate(group) if probe.kind != "heldout"]


def measure_synthetic(
    count: int,
    *,
    seed: int = 0,
    per_subject: int = 1,
    base_model: str = "smollm2",
    config: TrainConfig | None = None,
    unlearning: bool = False,
    progress: StepProgress | None = None,
    partial: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Distil ``count`` synthetic facts and return the figures as one JSON-ready dict.

    ``partial`` is given the recall and drift figures before the (long)
    unlearning part starts.
    """
    from memosys.api.local import MemOS
    from memosys.settings import HashEmbedderConfig, MemosysSettings

    config = config or TrainConfig(seed=seed)
    facts = synthetic_facts(count, seed=seed, per_subject=per_subject)
    groups = fact_probes(facts)
    probes = _flat(groups)
    lm, spec = resolve_lm(base_model)
    settings = MemosysSettings(embedder=HashEmbedderConfig())
    with MemOS.open(":memory:", settings=settings) as mos:
        items = mos.add_texts([f.statement for f in facts], user_id=USER, kind="fact")
        base_hits = recall_hits(lm, probes)
        ppl_base = perplexity(lm)
        record = mos.parametric.distill(
            user_id=USER,
            name=ADAPTER,
            memory_ids=[i.id for i in items],
            base_model=spec,
            config=config,
            progress=progress,
            evaluate=False,
        )
        with adapters_applied(mos, lm, [ADAPTER], user_id=USER):
            adapted_hits = recall_hits(lm, probes)
            ppl_adapted = perplexity(lm)
        base, adapted = recall_by_kind(probes, base_hits), recall_by_kind(probes, adapted_hits)
        result: dict[str, Any] = {
            "facts": count,
            "seed": seed,
            "facts_per_subject": per_subject,
            "base_model": spec,
            "device": str(lm.device),
            "examples": record.example_count,
            "recall_base": base["cloze"],
            "recall_with_adapter": adapted["cloze"],
            "qa_base": base["qa"],
            "qa_with_adapter": adapted["qa"],
            "qa_heldout_base": base["heldout"],
            "qa_heldout_with_adapter": adapted["heldout"],
            "ppl_base": round(ppl_base, 4),
            "ppl_with_adapter": round(ppl_adapted, 4),
            "ppl_increase": round(ppl_adapted / ppl_base - 1, 4),
            "train_seconds": record.train_seconds,
            "final_loss": record.info.loss_curve[-1],
            "hyperparameters": config.to_dict(),
            "failures": [
                {"prompt": p.prompt, "answer": p.answer, "kind": p.kind}
                for p, hit in zip(probes, adapted_hits, strict=True)
                if not hit
            ],
        }
        if partial is not None:
            partial(result)
        if unlearning:
            result["unlearning"] = _unlearning(
                mos, lm, groups, base_hits, adapted_hits, items[0].id
            )
    return result


def _unlearning(
    mos: Any,
    lm: Any,
    groups: list[list[Probe]],
    base_hits: list[bool],
    adapted_hits: list[bool],
    removed_id: str,
) -> dict[str, Any]:
    """Delete fact 0's memory, check staleness, rebuild, and compare recall."""
    mos.delete(removed_id, user_id=USER)
    stale = mos.adapter(ADAPTER, user_id=USER).stale
    started = time.perf_counter()
    mos.rebuild_adapter(ADAPTER, user_id=USER)
    rebuild_seconds = time.perf_counter() - started
    probes = _flat(groups)
    with adapters_applied(mos, lm, [ADAPTER], user_id=USER):
        rebuilt_hits = recall_hits(lm, probes)
    kept = range(1, len(groups))
    return {
        "removed_memory": removed_id,
        "stale_after_delete": stale,
        "rebuild_seconds": round(rebuild_seconds, 3),
        "removed_fact_recall_base": _share(_hits_of(groups, base_hits, 0)),
        "removed_fact_recall_before": _share(_hits_of(groups, adapted_hits, 0)),
        "removed_fact_recall_after_rebuild": _share(_hits_of(groups, rebuilt_hits, 0)),
        "kept_facts_recall_before": _share(
            [h for i in kept for h in _hits_of(groups, adapted_hits, i)]
        ),
        "kept_facts_recall_after_rebuild": _share(
            [h for i in kept for h in _hits_of(groups, rebuilt_hits, i)]
        ),
    }
