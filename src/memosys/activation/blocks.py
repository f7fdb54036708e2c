"""Memory blocks: memories rendered with the model's chat template, as a cacheable prefix.

A block is one system message listing the memories in order. Its text is
rendered alone, so its tokens do not depend on what follows; the question
that comes after it is rendered as the continuation of the same chat, and
the two token lists are joined. The same token sequence is used with and
without a KV cache, which is what makes exact mode exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from memosys.core.errors import ConfigurationError
from memosys.core.items import MemoryItem
from memosys.models.llm.runtime import LocalLM

BLOCK_HEADER = "Memories about the user (use them when they help to answer):"
Message = dict[str, str]


@dataclass(frozen=True)
class MemoryBlock:
    """A rendered block: its exact text, its tokens and its sources (id -> version)."""

    text: str
    token_ids: list[int]
    sources: dict[str, int]


def memory_line(item: MemoryItem) -> str:
    """One memory as a line of the block: date, speaker and content."""
    when = f"[{item.event_time:%Y-%m-%d}] " if item.event_time else ""
    who = f"{item.speaker}: " if item.speaker else ""
    return f"- {when}{who}{item.content}"


def block_message(items: Sequence[MemoryItem]) -> Message:
    """The system message that carries the memories."""
    return {"role": "system", "content": "\n".join([BLOCK_HEADER, *map(memory_line, items)])}


def render_block(lm: LocalLM, items: Sequence[MemoryItem]) -> MemoryBlock:
    """The block of ``items`` in this order, rendered and tokenised for ``lm``."""
    text = lm.render_chat([block_message(items)], add_generation_prompt=False)
    return MemoryBlock(text, lm.encode(text), {item.id: item.version for item in items})


def continuation(lm: LocalLM, before: Sequence[Message], messages: Sequence[Message]) -> str:
    """The text that ``messages`` (and the assistant prompt) add after ``before`` in one chat."""
    if not before:
        return lm.render_chat(list(messages), add_generation_prompt=True)
    head = lm.render_chat(list(before), add_generation_prompt=False)
    whole = lm.render_chat([*before, *messages], add_generation_prompt=True)
    if not whole.startswith(head):
        raise ConfigurationError(
            "this model's chat template renders system messages differently when more "
            "messages follow, so a memory block cannot be cached as a prefix; use a model "
            "with a prefix-stable template (ChatML, Llama 3, ...) or use_activation=False"
        )
    return whole[len(head) :]
