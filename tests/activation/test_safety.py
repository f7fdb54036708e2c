"""A cache is never used for another model, and a damaged file is a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from memosys import MemOS
from memosys.activation.kvfile import load_kv, read_metadata
from memosys.core.errors import ModelMismatchError, StoreError
from memosys.models.llm import tiny_llama


@pytest.fixture(scope="module")
def other_lm() -> Any:
    """Same architecture and tokenizer as the tiny model, other weights."""
    return tiny_llama(seed=1)


def _file(mos: MemOS, name: str) -> Path:
    record = mos.activation.get(name, user_id="ann")
    return mos.activation.root / record.cube_id / record.file


def test_a_cache_refuses_a_model_with_other_weights(
    mos: MemOS, fact_ids: list[str], other_lm: Any
) -> None:
    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    with pytest.raises(ModelMismatchError, match="tiny-llama-seed0"):
        mos.activation.load("facts", other_lm, user_id="ann")


def test_generate_with_another_model_does_not_use_the_cache(
    mos: MemOS, fact_ids: list[str], other_lm: Any
) -> None:
    from memosys.models.llm.registry import register_lm

    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    register_lm("/models/other-tiny", other_lm)
    result = mos.generate(
        "Who plays chess?",
        user_id="ann",
        memories=fact_ids,
        model="/models/other-tiny",
        max_new_tokens=3,
    )
    assert result.caches == []
    assert result.memory_ids == fact_ids


def test_the_file_itself_carries_the_fingerprint_and_sources(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any
) -> None:
    mos.activation.build(memory_ids=fact_ids[:2], user_id="ann", name="facts")
    meta = read_metadata(_file(mos, "facts"))
    assert meta["fingerprint_digest"] == tiny_lm.fingerprint.digest()
    assert meta["fingerprint"]["transformers_version"]
    assert [s["id"] for s in meta["sources"]] == fact_ids[:2]
    assert all(s["version"] == 1 for s in meta["sources"])
    assert "Bob moved to Oslo" in meta["text"]
    assert meta["token_count"] == len(tiny_lm.encode(meta["text"]))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: b"\xff" * 8 + data[8:],  # absurd header length
        lambda data: data[:8] + b"X" + data[9:],  # header is not JSON
        lambda data: b"",  # empty file
    ],
    ids=["truncated", "header-length", "header-json", "empty"],
)
def test_a_damaged_file_is_a_clear_error_and_generate_still_answers(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any, damage: Any
) -> None:
    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    path = _file(mos, "facts")
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(StoreError, match="corrupt.*memosys kv drop"):
        load_kv(path)
    with pytest.raises(StoreError, match="corrupt"):
        mos.activation.load("facts", tiny_lm, user_id="ann")
    result = mos.generate("Who plays chess?", user_id="ann", memories=fact_ids, max_new_tokens=3)
    assert result.caches == []  # the damaged cache was set aside ...
    again = mos.generate("Who plays chess?", user_id="ann", memories=fact_ids, max_new_tokens=3)
    assert again.caches == ["facts"]  # ... and rebuilt lazily on the next call
    assert again.token_ids == result.token_ids


def test_a_missing_file_is_a_clear_error(mos: MemOS, fact_ids: list[str], tiny_lm: Any) -> None:
    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    _file(mos, "facts").unlink()
    with pytest.raises(StoreError, match="missing"):
        mos.activation.load("facts", tiny_lm, user_id="ann")


def test_a_file_written_by_safetensors_without_metadata_is_refused(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "foreign.safetensors"
    save_file(
        {"kv": torch.zeros(1, 2, 1, 3, 4), "token_ids": torch.zeros(3, dtype=torch.int64)}, path
    )
    with pytest.raises(StoreError, match="no memosys metadata"):
        load_kv(path)


def test_another_caches_file_in_its_place_is_refused_not_injected(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any
) -> None:
    mos.activation.build(memory_ids=fact_ids[:1], user_id="ann", name="first")
    mos.activation.build(memory_ids=fact_ids[1:], user_id="ann", name="rest")
    _file(mos, "first").write_bytes(_file(mos, "rest").read_bytes())  # e.g. a botched restore
    with pytest.raises(StoreError, match="other memories than its record"):
        mos.activation.load("first", tiny_lm, user_id="ann")
    ask = {"user_id": "ann", "memories": fact_ids[:1], "max_new_tokens": 3}
    result = mos.generate("Who likes tea?", **ask)
    assert result.caches == [] and result.cached_tokens == 0
    assert result.token_ids == mos.generate("Who likes tea?", use_activation=False, **ask).token_ids


def _rewrite(path: Path, metadata: dict[str, Any], **tensors: Any) -> None:
    """Other tensors under a cache file's own metadata."""
    import json

    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata={"memosys": json.dumps(metadata)})


def test_a_file_with_the_wrong_layers_or_empty_tensors_is_a_clear_error(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any
) -> None:
    import torch

    record = mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    path, tokens = _file(mos, "facts"), record.info.token_count
    layers, _, heads, _, dim = load_kv(path).kv.shape
    meta = read_metadata(path)
    ids = torch.zeros(tokens, dtype=torch.int64)
    _rewrite(path, meta, kv=torch.zeros(layers - 1, 2, heads, tokens, dim), token_ids=ids)
    with pytest.raises(StoreError, match="layers"):
        mos.activation.load("facts", tiny_lm, user_id="ann")
    result = mos.generate("Who plays chess?", user_id="ann", memories=fact_ids, max_new_tokens=3)
    assert result.caches == []  # set aside, not an error for the answer
    _rewrite(path, meta, kv=torch.zeros(layers, 2, heads, 0, dim), token_ids=ids[:0])
    with pytest.raises(StoreError, match="empty"):
        load_kv(path)
    _rewrite(path, meta, kv=torch.zeros(layers, 2, heads, tokens, dim), token_ids=ids.float())
    with pytest.raises(StoreError, match="int64"):
        load_kv(path)
