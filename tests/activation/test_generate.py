"""MemOS.generate: choosing memories, streaming, reporting, bounded caches, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from memosys import MemOS
from memosys.core.errors import (
    EmptyInputError,
    InputTooLargeError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)


def test_without_memory_ids_the_top_search_hits_are_used(mos: MemOS, fact_ids: list[str]) -> None:
    result = mos.generate("Who is allergic to peanuts?", user_id="ann", max_new_tokens=3)
    assert fact_ids[3] in result.memory_ids
    assert set(result.memory_ids) <= set(fact_ids)
    assert result.model == "tiny-llama" and result.ttft_s > 0


def test_stream_yields_pieces_then_the_same_result(mos: MemOS, fact_ids: list[str]) -> None:
    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    stream = mos.generate(
        "Who plays chess?", user_id="ann", memories=fact_ids, stream=True, max_new_tokens=6
    )
    pieces = list(stream)
    assert stream.result is not None
    assert "".join(pieces) == stream.result.text
    plain = mos.generate("Who plays chess?", user_id="ann", memories=fact_ids, max_new_tokens=6)
    assert plain.token_ids == stream.result.token_ids and plain.caches == ["facts"]


def test_generation_never_grows_a_cache(mos: MemOS, fact_ids: list[str], tiny_lm: Any) -> None:
    record = mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    for turn in range(4):
        mos.generate(
            f"turn {turn}: tell me more", user_id="ann", memories=fact_ids, max_new_tokens=8
        )
    after = mos.activation.load("facts", tiny_lm, user_id="ann")
    assert after.record.info.token_count == record.info.token_count
    assert after.record.info.byte_size == record.info.byte_size
    assert after.record.info.hits == 4


def test_a_block_over_the_token_limit_is_refused(mos: MemOS) -> None:
    mos.settings.activation.max_block_tokens = 64
    ids = [i.id for i in mos.add_texts(["x" * 200], user_id="ann")]
    with pytest.raises(InputTooLargeError, match="max_block_tokens"):
        mos.activation.build(memory_ids=ids, user_id="ann")
    assert mos.activation.list(user_id="ann") == []


def test_build_by_filter_and_default_name(mos: MemOS, fact_ids: list[str]) -> None:
    mos.add_texts(["a note, not a fact"], user_id="ann", kind="note")
    record = mos.activation.build(filters={"kind": "fact"}, user_id="ann")
    assert record.memory_ids == fact_ids
    assert record.name.startswith("kv-")
    assert mos.activation.build(filters={"kind": "fact"}, user_id="ann").name == record.name


def test_bad_arguments_raise_clear_errors(mos: MemOS, fact_ids: list[str]) -> None:
    with pytest.raises(InvalidInputError, match="query"):
        mos.generate("  ", user_id="ann")
    with pytest.raises(InvalidInputError, match="max_new_tokens"):
        mos.generate("q", user_id="ann", max_new_tokens=0)
    with pytest.raises(NotFoundError):
        mos.generate("q", user_id="ann", memories=["no-such-id"])
    with pytest.raises(InvalidInputError, match="either"):
        mos.activation.build(user_id="ann")
    with pytest.raises(EmptyInputError):
        mos.activation.build(memory_ids=[], user_id="ann")
    with pytest.raises(InvalidInputError, match="list of memory ids"):
        mos.activation.build(memory_ids=5, user_id="ann")  # type: ignore[arg-type]
    mos.create_cube("other", owner="ann")
    with pytest.raises(InvalidInputError, match="not in cube 'other'"):
        mos.activation.build(memory_ids=fact_ids, user_id="ann", cube="other")
    with pytest.raises(InvalidInputError, match="list of memory ids"):
        mos.generate("q", user_id="ann", memories=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="cache name"):
        mos.activation.build(memory_ids=fact_ids, user_id="ann", name="../escape")
    with pytest.raises(InvalidInputError, match="dtype"):
        mos.activation.build(memory_ids=fact_ids, user_id="ann", dtype="int8")
    with pytest.raises(NotFoundError, match="kv list"):
        mos.activation.get("nothing", user_id="ann")
    assert mos.activation.list(user_id="ann") == []


def test_other_users_neither_see_nor_drop_the_caches(mos: MemOS, fact_ids: list[str]) -> None:
    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    assert mos.activation.list(user_id="eve") == []
    with pytest.raises(NotFoundError):
        mos.activation.drop("facts", user_id="eve")
    with pytest.raises(NotFoundError):
        mos.activation.build(memory_ids=fact_ids, user_id="eve")
    cube = mos.activation.get("facts", user_id="ann").cube_id
    with pytest.raises(PermissionDeniedError):
        mos.activation._check_owner("eve", cube)


def test_a_user_without_memories_gets_a_plain_answer(mos: MemOS, tiny_lm: Any) -> None:
    result = mos.generate("Hello?", user_id="newcomer", max_new_tokens=3)
    assert result.memory_ids == [] and result.caches == [] and result.activation_mode == "none"
    prompt = tiny_lm.render_chat([{"role": "user", "content": "Hello?"}], True)
    assert result.token_ids == tiny_lm.generate(prompt, max_new_tokens=3).token_ids


def test_a_shared_cube_never_makes_a_users_own_cache_name_ambiguous(
    mos: MemOS, fact_ids: list[str]
) -> None:
    mos.create_user("eve")
    eves = [i.id for i in mos.add_texts(["Eve sails."], user_id="eve")]
    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    mos.activation.build(memory_ids=eves, user_id="eve", name="facts")
    mos.share_cube("default", user_id="ann", with_user="eve")
    assert mos.activation.get("facts", user_id="eve").memory_ids == eves
    assert mos.activation.drop("facts", user_id="eve").memory_ids == eves
    assert mos.activation.get("facts", user_id="eve").user_id == "ann"  # now the shared one


def test_a_prompt_past_the_models_context_is_refused(mos: MemOS, fact_ids: list[str]) -> None:
    with pytest.raises(InputTooLargeError, match="over the model's context of 8192"):
        mos.generate("word " * 3000, user_id="ann", memories=fact_ids, max_new_tokens=2)
    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    with pytest.raises(InputTooLargeError, match="fewer new tokens"):  # cached tokens count too
        mos.generate("word " * 800, user_id="ann", memories=fact_ids, max_new_tokens=4096)
