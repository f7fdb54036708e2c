"""Exact mode: a cached memory block gives what the same text in the prompt gives."""

from __future__ import annotations

from typing import Any

import pytest
from tests.activation.support import FACTS, open_mos

from memosys import MemOS
from memosys.activation.blocks import block_message

QUESTION = "Where does Bob live, and what is his job?"
# float32 on CPU: the prefix pass and the query pass add up in another order than one
# pass over everything; measured max |diff| is ~3e-5 on SmolLM2 (logits of magnitude ~20)
LOGIT_TOLERANCE = 1e-3


def _text_prompt(lm: Any, mos: MemOS, ids: list[str]) -> str:
    items = [mos.get(i, user_id="ann") for i in ids]
    return lm.render_chat(
        [block_message(items), {"role": "user", "content": QUESTION}], add_generation_prompt=True
    )


def test_cached_block_generates_the_same_tokens_as_the_text(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any
) -> None:
    record = mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    cached = mos.generate(QUESTION, user_id="ann", memories=fact_ids, max_new_tokens=24)
    assert cached.caches == ["facts"]
    assert cached.cached_tokens == record.info.token_count
    in_prompt = tiny_lm.generate(_text_prompt(tiny_lm, mos, fact_ids), max_new_tokens=24)
    assert cached.token_ids == in_prompt.token_ids
    assert cached.prompt_tokens == in_prompt.prompt_tokens
    uncached = mos.generate(
        QUESTION, user_id="ann", memories=fact_ids, max_new_tokens=24, use_activation=False
    )
    assert uncached.caches == [] and uncached.cached_tokens == 0
    assert uncached.token_ids == cached.token_ids


def test_next_token_logits_match_within_tolerance(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any
) -> None:
    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    loaded = mos.activation.load("facts", tiny_lm, user_id="ann")
    whole = tiny_lm.encode(_text_prompt(tiny_lm, mos, fact_ids))
    rest = whole[len(loaded.token_ids) :]
    assert whole[: len(loaded.token_ids)] == loaded.token_ids
    with_cache = tiny_lm.next_token_logits(rest, past_key_values=loaded.file.layers())
    with_text = tiny_lm.next_token_logits(whole)
    assert (with_cache - with_text).abs().max().item() < LOGIT_TOLERANCE


def test_half_precision_storage_halves_the_bytes_and_stays_close(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any
) -> None:
    full = mos.activation.build(memory_ids=fact_ids, user_id="ann", name="f32")
    half = mos.activation.build(memory_ids=fact_ids, user_id="ann", name="f16", dtype="float16")
    assert half.info.byte_size < 0.6 * full.info.byte_size
    f32 = mos.activation.load("f32", tiny_lm, user_id="ann").file
    f16 = mos.activation.load("f16", tiny_lm, user_id="ann").file
    assert str(f16.kv.dtype) == "torch.float16"
    rest = tiny_lm.encode(tiny_lm.render_chat([{"role": "user", "content": QUESTION}], True))
    a = tiny_lm.next_token_logits(rest, past_key_values=f32.layers())
    b = tiny_lm.next_token_logits(rest, past_key_values=f16.layers(f32.kv.dtype))
    assert (a - b).abs().max().item() < 0.05


def test_smollm2_cache_equals_text_in_the_prompt(
    tmp_path: Any, embedder: Any, clock: Any, smollm2: Any
) -> None:
    with open_mos(tmp_path / "s", embedder, clock, model="smollm2") as mos:
        ids = [item.id for item in mos.add_texts(FACTS, user_id="ann")]
        mos.activation.build(memory_ids=ids, user_id="ann", name="facts")
        cached = mos.generate(QUESTION, user_id="ann", memories=ids, max_new_tokens=10)
        assert cached.caches == ["facts"]
        in_prompt = smollm2.generate(_text_prompt(smollm2, mos, ids), max_new_tokens=10)
        assert cached.token_ids == in_prompt.token_ids
        assert "Oslo" in cached.text
        loaded = mos.activation.load("facts", smollm2, user_id="ann")
        whole = smollm2.encode(_text_prompt(smollm2, mos, ids))
        rest = whole[len(loaded.token_ids) :]
        diff = smollm2.next_token_logits(
            rest, past_key_values=loaded.file.layers()
        ) - smollm2.next_token_logits(whole)
        assert diff.abs().max().item() < LOGIT_TOLERANCE


@pytest.mark.parametrize("extra", [0, 2])
def test_memories_the_cache_lacks_follow_as_text(
    mos: MemOS, fact_ids: list[str], extra: int
) -> None:
    mos.activation.build(memory_ids=fact_ids[:2], user_id="ann", name="first-two")
    wanted = fact_ids[: 2 + extra]
    result = mos.generate(QUESTION, user_id="ann", memories=wanted, max_new_tokens=4)
    assert result.caches == ["first-two"]
    assert result.memory_ids == wanted
