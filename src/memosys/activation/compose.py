"""Composed mode: several independently cached blocks joined into one prefix.

Each block was computed from position 0. Joined after ``offset`` tokens of
earlier blocks, its keys must carry the rotary position of their new place:
RoPE rotates each (dim, dim + d/2) pair of a key by ``position * inv_freq``,
and rotations add, so rotating a cached key by ``offset * inv_freq`` moves it
exactly to ``position + offset``. Values carry no position and stay as they are.

What cannot be fixed is attention *across* blocks: tokens of a later block
never saw the earlier ones when they were computed. Composed mode is therefore
an approximation of exact mode; ``benchmarks/kv_compose.py`` measures the drift.
Only Llama-style rotary embeddings with a static frequency table qualify.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from memosys.core.errors import ConfigurationError
from memosys.models.llm.runtime import LayerKV, LocalLM

if TYPE_CHECKING:
    import torch

STATIC_ROPE_TYPES = frozenset({"default", "linear", "llama3"})
# benchmarks/results/kv_compose_smollm2.json (SmolLM2): two joined blocks keep exact mode's
# next token (12/12, mean KL 0.07) but only 1 in 12 ten-token answers stays word for word;
# four blocks change a quarter of the next tokens (KL 0.34), eight more than half (KL 0.52)
MAX_COMPOSED_BLOCKS = 2


def rope_frequencies(lm: LocalLM) -> torch.Tensor:
    """The model's rotary ``inv_freq`` (float64), after checking it can be re-rotated."""
    import torch

    rotary = getattr(getattr(lm.model, "model", None), "rotary_emb", None)
    inv_freq = getattr(rotary, "inv_freq", None)
    config = lm.model.config
    params = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    rope_type = params.get("rope_type", params.get("type", "default"))
    scaling = float(getattr(rotary, "attention_scaling", 1.0))
    if inv_freq is None or rope_type not in STATIC_ROPE_TYPES or scaling != 1.0:
        raise ConfigurationError(
            f"composed KV caches need Llama-style rotary embeddings with a static frequency "
            f"table (rope type {sorted(STATIC_ROPE_TYPES)}); this model has {rope_type!r}: "
            "use one cache per prompt (exact mode) instead",
            detail={"rope_type": rope_type},
        )
    frequencies: torch.Tensor = inv_freq.to(torch.float64)
    return frequencies


def rerotate(keys: torch.Tensor, inv_freq: torch.Tensor, offset: int) -> torch.Tensor:
    """Keys ``[batch, heads, tokens, head_dim]`` moved ``offset`` positions later."""
    import torch

    angles = offset * inv_freq
    cos = torch.cat([angles.cos(), angles.cos()]).to(keys.dtype)
    sin = torch.cat([angles.sin(), angles.sin()]).to(keys.dtype)
    half = keys.shape[-1] // 2
    rotated_half = torch.cat([-keys[..., half:], keys[..., :half]], dim=-1)
    return keys * cos + rotated_half * sin


def compose(lm: LocalLM, blocks: Sequence[Sequence[LayerKV]], *, shift: bool = True) -> list[Any]:
    """One prefix from per-block ``(keys, values)`` layers, each block placed after the last.

    ``shift=False`` joins them without moving the keys (for measuring what
    re-rotation buys; never right for generation).
    """
    import torch

    inv_freq = rope_frequencies(lm) if shift else None
    joined: list[Any] = []
    for layer in range(len(blocks[0])):
        keys, values, offset = [], [], 0
        for block in blocks:
            k, v = block[layer]
            moved = rerotate(k, inv_freq, offset) if inv_freq is not None and offset else k
            keys.append(moved)
            values.append(v)
            offset += k.shape[-2]
        joined.append((torch.cat(keys, dim=-2), torch.cat(values, dim=-2)))
    return joined
