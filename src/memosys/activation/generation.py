"""``MemOS.generate``: answer a query with memories, from a KV cache when one covers them.

The prompt is the memory block followed by the question, rendered with the
model's chat template. When a fresh cache for this model holds some of the
memories, its block is the prompt's prefix and is not computed again (exact
mode: the same tokens as the text would give); memories it lacks follow as a
second block of text. Time to first token counts everything after the model
is in memory: choosing memories, checking and mapping the cache, prefill.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memosys.activation.blocks import Message, block_message, continuation
from memosys.activation.manager import ActivationMemory, LoadedCache
from memosys.core.errors import InvalidInputError, NotFoundError, StaleError, StoreError
from memosys.core.items import MemoryItem
from memosys.models.llm.fingerprint import digest_of
from memosys.models.llm.runtime import Generation, LocalLM, PastKV
from memosys.stores.base import Scope

if TYPE_CHECKING:
    from memosys.api.local import MemOS


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


def generate(
    mos: MemOS, activation: ActivationMemory, lm: LocalLM, request: Request, *, stream: bool
) -> GenerateResult | GenerateStream:
    """Run one generation (see :meth:`memosys.api.local.MemOS.generate`)."""
    started = time.perf_counter()
    items = _memories(mos, request)
    use_cache = request.use_activation and not request.adapters  # caches hold base-model KV
    loaded = find_cover(activation, items, lm, request.user_id) if use_cache else None
    before: list[Message] = []
    prefix: PastKV | None = None
    head: list[int] = []
    rest = list(items)
    if loaded is not None:
        before = [block_message(loaded.items)]
        prefix = loaded.file.layers(lm.model.dtype)
        cached = set(loaded.record.memory_ids)
        rest = [item for item in items if item.id not in cached]
    elif rest:
        before, rest = [block_message(rest)], []
        head = lm.encode(lm.render_chat(before, add_generation_prompt=False))
    tail: list[Message] = [block_message(rest)] if rest else []
    tail.append({"role": "user", "content": request.query})
    prompt = head + lm.encode(continuation(lm, before, tail))
    used = [*(loaded.record.memory_ids if loaded else []), *(item.id for item in rest)]
    if loaded is None:
        used = [item.id for item in items]

    def finish(done: Generation, setup_s: float) -> GenerateResult:
        # bookkeeping after the answer, so it does not delay the first token
        if request.memories is not None:
            mos.store.record_access([item.id for item in items], activation.clock.now())
        if loaded is not None:
            activation.record_use(loaded.record)
        return GenerateResult(
            text=done.text,
            token_ids=done.token_ids,
            memory_ids=used,
            caches=[loaded.record.name] if loaded else [],
            adapters=list(request.adapters),
            model=request.model,
            prompt_tokens=done.prefix_tokens + done.prompt_tokens,
            cached_tokens=done.prefix_tokens,
            ttft_s=setup_s + done.ttft_s,
            tokens_per_s=done.tokens_per_s,
        )

    out = GenerateStream(iter(()))

    def run() -> Iterator[str]:
        with _adapters(mos, lm, request):
            setup_s = time.perf_counter() - started
            tokens = lm.generate(
                prompt, max_new_tokens=request.max_new_tokens, past_key_values=prefix, stream=True
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


def find_cover(
    activation: ActivationMemory, items: Sequence[MemoryItem], lm: LocalLM, user_id: str
) -> LoadedCache | None:
    """The fresh cache for ``lm`` holding most of ``items`` (fewest tokens on a tie), if any.

    Stale caches met on the way are rebuilt (``activation.on_stale == "rebuild"``)
    or dropped; a damaged file is marked stale and skipped.
    """
    wanted = {item.id for item in items}
    digest = lm.fingerprint.digest()
    candidates = [
        record
        for cube_id in dict.fromkeys(item.cube_id for item in items)
        for record in activation.list(user_id=user_id, cube=cube_id)
        if wanted & set(record.memory_ids) and digest_of(record.info.model_fingerprint) == digest
    ]
    candidates.sort(key=lambda r: (-len(wanted & set(r.memory_ids)), r.info.token_count))
    for record in candidates:
        try:
            return activation.checked(record, lm, user_id)
        except StoreError as exc:  # a damaged file: never used, never fatal to the answer
            activation.mark_stale(record.cube_id, [record.name], exc.message, delete_files=True)
            continue
        except StaleError:
            if activation.settings.on_stale == "drop" or record.user_id != user_id:
                activation.drop(record.name, user_id=user_id, cube=record.cube_id)
                continue
        rebuilt = activation.rebuild(record.name, user_id=user_id, cube=record.cube_id)
        if rebuilt is not None and wanted & set(rebuilt.memory_ids):
            return activation.checked(rebuilt, lm, user_id)
    return None


def _memories(mos: MemOS, request: Request) -> list[MemoryItem]:
    if request.memories is None:
        top_k = mos.settings.activation.search_top_k
        return [hit.item for hit in mos.search(request.query, user_id=request.user_id, top_k=top_k)]
    if isinstance(request.memories, str):
        raise InvalidInputError("memories must be a list of memory ids")
    ids = list(dict.fromkeys(request.memories))
    scope = Scope(request.user_id, tuple(c.id for c in mos.list_cubes(user_id=request.user_id)))
    found = {item.id: item for item in mos.store.get_items(scope, ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"memory {missing[0]!r} not found", detail={"id": missing[0]})
    return [found[i] for i in ids]


def _adapters(mos: MemOS, lm: LocalLM, request: Request) -> AbstractContextManager[None]:
    if not request.adapters:
        return nullcontext()
    from memosys.parametric.serving import adapters_applied

    return adapters_applied(
        mos,
        lm,
        list(request.adapters),
        user_id=request.user_id,
        allow_stale=request.allow_stale_adapters,
    )
