"""The local LM runtime: loading, chat rendering, greedy generation, KV prefixes, fingerprints."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from fresh_imports import modules_after
from memosys.core.errors import InvalidInputError
from memosys.models.llm import ModelFingerprint, bundled_smollm2_path, tiny_llama

MEMORY = [{"role": "system", "content": "Facts: Alice likes green tea. Bob lives in Oslo."}]
QUESTION = [{"role": "user", "content": "Where does Bob live?"}]


def _prompt_parts(lm: Any) -> tuple[list[int], list[int]]:
    block = lm.render_chat(MEMORY, False)
    whole = lm.render_chat(MEMORY + QUESTION, True)
    assert whole.startswith(block)
    return lm.encode(block), lm.encode(whole[len(block) :])


def test_importing_the_package_loads_no_torch() -> None:
    assert "torch" not in modules_after("import memosys.models.llm")


def test_tiny_model_generates_greedily_and_repeatably(tiny_lm: Any) -> None:
    prompt = tiny_lm.render_chat(MEMORY + QUESTION, True)
    first = tiny_lm.generate(prompt, max_new_tokens=8)
    second = tiny_lm.generate(tiny_lm.encode(prompt), max_new_tokens=8)
    assert first.token_ids == second.token_ids
    assert 0 < len(first.token_ids) <= 8
    assert first.prompt_tokens == len(tiny_lm.encode(prompt))
    assert first.ttft_s > 0


def test_stream_yields_the_same_text_as_a_plain_call(tiny_lm: Any) -> None:
    prompt = tiny_lm.render_chat(QUESTION, True)
    stream = tiny_lm.generate(prompt, max_new_tokens=8, stream=True)
    pieces = list(stream)
    assert stream.result is not None
    assert "".join(pieces) == stream.result.text
    assert stream.result.token_ids == tiny_lm.generate(prompt, max_new_tokens=8).token_ids


def test_a_kv_prefix_gives_the_same_tokens_as_the_text(tiny_lm: Any) -> None:
    memory, question = _prompt_parts(tiny_lm)
    cache = tiny_lm.prefill(memory)
    layers = [(layer.keys, layer.values) for layer in cache.layers]
    with_text = tiny_lm.generate(memory + question, max_new_tokens=12)
    with_cache = tiny_lm.generate(question, past_key_values=layers, max_new_tokens=12)
    assert with_cache.token_ids == with_text.token_ids
    assert with_cache.prefix_tokens == len(memory)
    # the caller's prefix is not grown by generation
    assert layers[0][0].shape[-2] == len(memory)


def test_bad_arguments_raise_clear_errors(tiny_lm: Any) -> None:
    with pytest.raises(InvalidInputError, match="max_new_tokens"):
        tiny_lm.generate("hi", max_new_tokens=0)
    with pytest.raises(InvalidInputError, match="empty"):
        tiny_lm.generate("")
    with pytest.raises(InvalidInputError, match="layers"):
        tiny_lm.generate("hi", past_key_values=[])
    with pytest.raises(InvalidInputError, match="role"):
        tiny_lm.render_chat([{"text": "no role"}], True)


def test_fingerprint_depends_on_the_weights_only_through_their_values(tiny_lm: Any) -> None:
    same = tiny_llama(seed=0)
    other = tiny_llama(seed=1)
    assert same.fingerprint == tiny_lm.fingerprint
    assert other.fingerprint.weights_hash != tiny_lm.fingerprint.weights_hash
    assert other.fingerprint.config_hash == tiny_lm.fingerprint.config_hash
    restored = ModelFingerprint.from_dict(tiny_lm.fingerprint.to_dict())
    assert restored.digest() == tiny_lm.fingerprint.digest()


def test_fingerprint_and_output_are_the_same_in_another_process(tiny_lm: Any) -> None:
    code = (
        "from memosys.models.llm import tiny_llama; lm = tiny_llama(seed=0); "
        "print(lm.fingerprint.digest(), lm.generate('Hello there', max_new_tokens=6).token_ids)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    digest, tokens = out.stdout.strip().split(" ", 1)
    assert digest == tiny_lm.fingerprint.digest()
    assert tokens == str(tiny_lm.generate("Hello there", max_new_tokens=6).token_ids)


def test_the_tokenizer_is_part_of_the_fingerprint(tiny_lm: Any) -> None:
    from memosys.models.llm.fingerprint import config_hash

    config = tiny_lm.model.config.to_dict()
    tokenizer = tiny_lm.tokenizer
    template = tokenizer.chat_template
    try:
        tokenizer.chat_template = template + "{{ '' }}"
        changed = config_hash(config, tokenizer)
    finally:
        tokenizer.chat_template = template
    assert changed != config_hash(config, tokenizer) == tiny_lm.fingerprint.config_hash


def test_bundled_smollm2_loads_from_its_gguf_and_answers(smollm2: Any) -> None:
    assert bundled_smollm2_path().suffix == ".gguf"
    assert smollm2.fingerprint.model_id == "smollm2"
    assert smollm2.device.type in ("cpu", "cuda")
    prompt = smollm2.render_chat(
        [{"role": "user", "content": "What is the capital of France?"}], True
    )
    answer = smollm2.generate(prompt, max_new_tokens=12)
    assert "Paris" in answer.text


def test_smollm2_prefix_cache_matches_text_in_the_prompt(smollm2: Any) -> None:
    memory, question = _prompt_parts(smollm2)
    assert smollm2.encode(smollm2.render_chat(MEMORY + QUESTION, True)) == memory + question
    layers = [(layer.keys, layer.values) for layer in smollm2.prefill(memory).layers]
    with_text = smollm2.generate(memory + question, max_new_tokens=12)
    with_cache = smollm2.generate(question, past_key_values=layers, max_new_tokens=12)
    assert with_cache.token_ids == with_text.token_ids
    assert "Oslo" in with_text.text
