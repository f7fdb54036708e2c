"""Measure what an adapter knows: exact-match recall of cloze prompts and questions, and drift.

A cloze probe counts as recalled when the greedy completion starts with the
answer (case-insensitive, followed by a non-word character or the end). A
question probe counts when the answer appears as whole words in the first line
of the greedy answer. Drift is the perplexity on the bundled held-out general
text (:mod:`memosys.parametric.corpus`), which no adapter is trained on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from memosys.parametric.corpus import general_paragraphs
from memosys.parametric.dataset import Example, qa_prompt
from memosys.parametric.synthetic import SyntheticFact

ProbeKind = Literal["cloze", "qa", "heldout"]
EXTRA_TOKENS = 4
BATCH = 32


@dataclass(frozen=True)
class Probe:
    """A prompt and the answer it should produce."""

    prompt: str
    answer: str
    kind: ProbeKind


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def is_recalled(probe: Probe, completion: str) -> bool:
    """Whether ``completion`` gives the probe's answer (see the module docstring)."""
    answer = _words(probe.answer)
    if probe.kind == "cloze":
        head = _words(completion)
        return head == answer or head.startswith(answer + " ")
    first_line = completion.strip().split("\n", 1)[0]
    return f" {answer} " in f" {_words(first_line)} "


def fact_probes(facts: Sequence[SyntheticFact]) -> list[list[Probe]]:
    """For each synthetic fact: its cloze probe, its question and its held-out questions."""
    return [
        [
            Probe(fact.cloze_prompt, fact.value, "cloze"),
            Probe(qa_prompt(fact.question), fact.value, "qa"),
            *(Probe(qa_prompt(q), fact.value, "heldout") for q in fact.heldout_questions),
        ]
        for fact in facts
    ]


def example_probes(examples: Sequence[Example]) -> list[Probe]:
    """Probes for the cloze and question examples a model was trained on."""
    return [
        Probe(e.prompt, e.completion.strip().rstrip("."), "cloze" if e.kind == "cloze" else "qa")
        for e in examples
        if e.kind in ("cloze", "qa")
    ]


def greedy_completions(lm: Any, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
    """Greedy completions of many prompts, batched (left-padded) through ``generate``."""
    import torch
    from transformers import GenerationConfig

    tokenizer = lm.tokenizer
    pad = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
    config = GenerationConfig(  # type: ignore[no-untyped-call]
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=pad,
        eos_token_id=tokenizer.eos_token_id,
    )
    completions: list[str] = []
    for start in range(0, len(prompts), BATCH):
        rows = [
            tokenizer(p, add_special_tokens=False)["input_ids"]
            for p in prompts[start : start + BATCH]
        ]
        width = max(len(row) for row in rows)
        ids = torch.tensor([[pad] * (width - len(row)) + row for row in rows], device=lm.device)
        mask = torch.tensor(
            [[0] * (width - len(row)) + [1] * len(row) for row in rows], device=lm.device
        )
        with torch.inference_mode():
            out = lm.model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
        completions.extend(
            tokenizer.decode(row[width:], skip_special_tokens=True) for row in out.tolist()
        )
    return completions


def recall_hits(lm: Any, probes: Sequence[Probe]) -> list[bool]:
    """Whether each probe is recalled by the model as it is now."""
    if not probes:
        return []
    budget = max(
        len(lm.tokenizer(" " + probe.answer, add_special_tokens=False)["input_ids"])
        for probe in probes
    )
    completions = greedy_completions(lm, [p.prompt for p in probes], budget + EXTRA_TOKENS)
    return [is_recalled(p, c) for p, c in zip(probes, completions, strict=True)]


def recall_by_kind(probes: Sequence[Probe], hits: Sequence[bool]) -> dict[str, float]:
    """The share recalled per probe kind (kinds without probes are left out)."""
    result: dict[str, float] = {}
    for kind in ("cloze", "qa", "heldout"):
        chosen = [hit for probe, hit in zip(probes, hits, strict=True) if probe.kind == kind]
        if chosen:
            result[kind] = sum(chosen) / len(chosen)
    return result


def perplexity(lm: Any, texts: Sequence[str] | None = None) -> float:
    """Token-level perplexity on ``texts`` (default: the held-out general text)."""
    import torch

    texts = general_paragraphs("heldout") if texts is None else texts
    total_nll, total_tokens = 0.0, 0
    with torch.inference_mode():
        for text in texts:
            ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
            tensor = torch.tensor([ids], device=lm.device)
            loss = lm.model(input_ids=tensor, labels=tensor).loss
            total_nll += float(loss) * (len(ids) - 1)
            total_tokens += len(ids) - 1
    return math.exp(total_nll / max(total_tokens, 1))
