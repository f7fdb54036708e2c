"""A tiny randomly initialised Llama-style model for fast tests.

The tokenizer is byte-level (256 byte tokens plus the ChatML specials) and is
built in code, so nothing is downloaded or read from disk; the chat template
is the same ChatML layout SmolLM2 uses.
"""

from __future__ import annotations

from typing import Any

from memosys.models.llm.fingerprint import fingerprint_model
from memosys.models.llm.runtime import LocalLM

_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def byte_tokenizer() -> Any:
    """A byte-level tokenizer with ChatML special tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: index for index, token in enumerate(_SPECIALS)}
    for byte_char in sorted(pre_tokenizers.ByteLevel.alphabet()):  # a set: sort it
        vocab.setdefault(byte_char, len(vocab))
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=_SPECIALS[1:],
    )
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer


def tiny_llama(seed: int = 0, *, layers: int = 2, hidden: int = 64) -> LocalLM:
    """A Llama-architecture model with random weights (seeded) and the byte tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = byte_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        rope_parameters={"rope_type": "default", "rope_theta": 10_000.0},
        initializer_range=0.2,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model: Any = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(generator_state)
    return LocalLM(model, tokenizer, fingerprint_model(model, tokenizer, f"tiny-llama-seed{seed}"))
