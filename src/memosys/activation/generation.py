"""``MemOS.generate``: answer a query with memories, from a KV cache when one covers them.

The prompt is the memory block followed by the question, rendered with the
model's chat template. When a fresh cache for this model holds some of the
memories, its block is the prompt's prefix and is not computed again (exact
mode: the same tokens as the text would give); memories it lacks follow as a
second block of text. Time to first token counts everything after the model
is in memory: choosing memories, checking and mapping the cache, prefill.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memosys.activation.blocks import Message, block_message, continuation
from memosys.activation.compose import MAX_COMPOSED_BLOCKS, compose
from memosys.activation.index import CacheRecord
from memosys.activation.manager import ActivationMemory, LoadedCache
from memosys.core.errors import (
    InputTooLargeError,
    InvalidInputError,
    NotFoundError,
    StaleError,
    StoreError,
)
from memosys.core.items import MemoryItem
from memosys.models.llm.fingerprint import digest_of
from memosys.models.llm.runtime import Generation, LocalLM, PastKV
from memosys.stores.base import Scope

if TYPE_CHECKING:
    from memosys.api.local import MemOS

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateResult:
    """An answer with the memories, caches and adapters it used, and its timing."""

    text: str
    token_ids: list[int]
    memory_ids: list[str]
    caches: list[str]
    adapters: list[str]
    model: str
    prompt_tokens: int
    cached_tokens: int
    ttft_s: float
    tokens_per_s: float
    activation_mode: str = "none"


@dataclass
class GenerateStream:
    """Text pieces as they are generated; :attr:`result` once the stream is exhausted."""

    pieces: Iterator[str]
    result: GenerateResult | None = field(default=None)

    def __iter__(self) -> Iterator[str]:
        return self.pieces


@dataclass
class Request:
    """What one ``generate`` call asked for."""

    query: str
    user_id: str
    memories: Sequence[str] | None
    max_new_tokens: int
    model: str
    adapters: Sequence[str]
    use_activation: bool
    allow_stale_adapters: bool


@dataclass
class Plan:
    """The prompt of one call: cached prefix (if any), tokens to compute, memories used."""

    prompt: list[int]
    prefix: PastKV | None
    covers: list[LoadedCache]
    memory_ids: list[str]

    @property
    def mode(self) -> str:
        """``"none"``, ``"exact"`` (one cache) or ``"composed"`` (several joined)."""
        if not self.covers:
            return "none"
        return "exact" if len(self.covers) == 1 else "composed"


def generate(
    mos: MemOS, activation: ActivationMemory, lm: LocalLM, request: Request, *, stream: bool
) -> GenerateResult | GenerateStream:
    """Run one generation (see :meth:`memosys.api.local.MemOS.generate`)."""
    started = time.perf_counter()
    items = _memories(mos, request)
    use_cache = request.use_activation and not request.adapters  # caches hold base-model KV
    covers = find_covers(activation, items, lm, request.user_id) if use_cache else []
    plan = plan_prompt(lm, items, covers, request.query)
    _check_context(lm, plan, request.max_new_tokens)

    def finish(done: Generation, setup_s: float) -> GenerateResult:
        # bookkeeping after the answer, so it does not delay the first token
        if request.memories is not None:
            mos.store.record_access([item.id for item in items], activation.clock.now())
        for cover in plan.covers:
            activation.record_use(cover.record)
        if activation.settings.auto_promote:
            activation.scheduler.schedule(user_id=request.user_id)
        return GenerateResult(
            text=done.text,
            token_ids=done.token_ids,
            memory_ids=plan.memory_ids,
            caches=[cover.record.name for cover in plan.covers],
            adapters=list(request.adapters),
            model=request.model,
            prompt_tokens=done.prefix_tokens + done.prompt_tokens,
            cached_tokens=done.prefix_tokens,
            ttft_s=setup_s + done.ttft_s,
            tokens_per_s=done.tokens_per_s,
            activation_mode=plan.mode,
        )

    out = GenerateStream(iter(()))
    adapters = _adapters(mos, lm, request)  # checked now: a stream is refused before its start

    def run() -> Iterator[str]:
        with adapters:
            setup_s = time.perf_counter() - started
            tokens = lm.generate(
                plan.prompt,
                max_new_tokens=request.max_new_tokens,
                past_key_values=plan.prefix,
                stream=True,
            )
            yield from tokens
        assert tokens.result is not None
        out.result = finish(tokens.result, setup_s)

    out.pieces = run()
    if stream:
        return out
    for _ in out:
        pass
    assert out.result is not None
    return out.result


def plan_prompt(
    lm: LocalLM, items: Sequence[MemoryItem], covers: list[LoadedCache], query: str
) -> Plan:
    """Cached blocks first (their tokens are not computed), then the other memories, the query."""
    if len(covers) > 1:
        texts = [cover.file.metadata.get("text") for cover in covers]
        joined = lm.render_chat([block_message(c.items) for c in covers], False)
        if joined != "".join(str(t) for t in texts):  # the template does not just concatenate
            covers = covers[:1]
    before: list[Message] = [block_message(cover.items) for cover in covers]
    cached = {i for cover in covers for i in cover.record.memory_ids}
    rest = [item for item in items if item.id not in cached]
    head: list[int] = []
    if not covers and rest:
        before, rest = [block_message(rest)], []
        head = lm.encode(lm.render_chat(before, add_generation_prompt=False))
    tail: list[Message] = [block_message(rest)] if rest else []
    tail.append({"role": "user", "content": query})
    prefix: PastKV | None = None
    if len(covers) == 1:
        prefix = covers[0].file.layers(lm.model.dtype)
    elif covers:
        prefix = compose(lm, [cover.file.layers(lm.model.dtype) for cover in covers])
    used = [i for cover in covers for i in cover.record.memory_ids]
    used += [item.id for item in items if item.id not in cached]
    return Plan(head + lm.encode(continuation(lm, before, tail)), prefix, covers, used)


def _check_context(lm: LocalLM, plan: Plan, max_new_tokens: int) -> None:
    """InputTooLargeError when memories, query and answer do not fit the model's context
    (past it the model's positions are untrained and its answer is noise)."""
    context = getattr(lm.model.config, "max_position_embeddings", None)
    cached = sum(len(cover.file.token_ids) for cover in plan.covers)
    needed = cached + len(plan.prompt) + max_new_tokens
    if isinstance(context, int) and needed > context:
        raise InputTooLargeError(
            f"memories, query and max_new_tokens need {needed} tokens, over the model's "
            f"context of {context}; pass fewer memories, a shorter query or fewer new tokens",
            detail={"tokens": needed, "context": context},
        )


def find_covers(
    activation: ActivationMemory, items: Sequence[MemoryItem], lm: LocalLM, user_id: str
) -> list[LoadedCache]:
    """Fresh caches for ``lm`` holding the most of ``items``, best first.

    One cache (exact mode) unless ``activation.compose`` is on; then a second
    cache with other wanted memories (and none already covered) is joined (up
    to :data:`~memosys.activation.compose.MAX_COMPOSED_BLOCKS`, set from the drift benchmark).
    Stale caches met on the way are rebuilt or dropped (``activation.on_stale``);
    a damaged file is marked stale and skipped.
    """
    wanted = {item.id for item in items}
    digest = lm.fingerprint.digest()
    candidates = [
        record
        for cube_id in dict.fromkeys(item.cube_id for item in items)
        for record in _listed(activation, user_id, cube_id)
        if wanted & set(record.memory_ids) and digest_of(record.info.model_fingerprint) == digest
    ]
    candidates.sort(key=lambda r: (-len(wanted & set(r.memory_ids)), r.info.token_count))
    chosen: list[LoadedCache] = []
    covered: set[str] = set()
    for record in candidates:
        ids = set(record.memory_ids)
        if ids & covered or not ids & (wanted - covered):
            continue
        loaded = _fresh(activation, record, lm, user_id, wanted)
        if loaded is None:
            continue
        chosen.append(loaded)
        covered |= set(loaded.record.memory_ids)
        if not activation.settings.compose or len(chosen) >= MAX_COMPOSED_BLOCKS:
            break
    order = {item.id: index for index, item in enumerate(items)}  # blocks in the asked order
    chosen.sort(key=lambda c: min(order.get(i, len(order)) for i in c.record.memory_ids))
    return chosen


def _listed(activation: ActivationMemory, user_id: str, cube_id: str) -> list[CacheRecord]:
    """A cube's caches; none when its index is unreadable (the answer does without them)."""
    try:
        return activation.list(user_id=user_id, cube=cube_id)
    except StoreError as exc:
        _log.warning("%s", exc.message)
        return []


def _fresh(
    activation: ActivationMemory,
    record: CacheRecord,
    lm: LocalLM,
    user_id: str,
    wanted: set[str],
) -> LoadedCache | None:
    try:
        return activation.checked(record, lm, user_id)
    except StoreError as exc:  # a damaged file: never used, never fatal to the answer
        activation.mark_stale(record.cube_id, [record.name], exc.message, delete_files=True)
        return None
    except StaleError:
        if record.user_id != user_id:  # another user's cache: leave it to its owner
            return None
        if activation.settings.on_stale == "drop":
            activation.drop(record.name, user_id=user_id, cube=record.cube_id)
            return None
    rebuilt = activation.rebuild(record.name, user_id=user_id, cube=record.cube_id)
    if rebuilt is None or not wanted & set(rebuilt.memory_ids):
        return None
    return activation.checked(rebuilt, lm, user_id)


def _memories(mos: MemOS, request: Request) -> list[MemoryItem]:
    if request.memories is None:
        top_k = mos.settings.activation.search_top_k
        return [hit.item for hit in mos.search(request.query, user_id=request.user_id, top_k=top_k)]
    if isinstance(request.memories, str) or not isinstance(request.memories, Sequence):
        raise InvalidInputError("memories must be a list of memory ids")
    ids = list(dict.fromkeys(request.memories))
    scope = Scope(request.user_id, tuple(c.id for c in mos.list_cubes(user_id=request.user_id)))
    found = {item.id: item for item in mos.store.get_items(scope, ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"memory {missing[0]!r} not found", detail={"id": missing[0]})
    return [found[i] for i in ids]


def _adapters(mos: MemOS, lm: LocalLM, request: Request) -> AbstractContextManager[None]:
    """The request's adapters, loaded and checked (stale, other model, damaged) now, to be
    applied on entering the returned context."""
    if not request.adapters:
        return nullcontext()
    from memosys.parametric.serving import applied

    names = list(request.adapters)
    if len(set(names)) != len(names):
        raise InvalidInputError(f"an adapter is named twice in {names}")
    loaded = [
        mos.parametric.load(
            name, lm, user_id=request.user_id, allow_stale=request.allow_stale_adapters
        )
        for name in names
    ]
    return applied(lm.model, loaded)
