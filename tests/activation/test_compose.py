"""Composed mode: independently cached blocks joined with re-rotated keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.activation.support import FACTS, open_mos

from memosys.activation.compose import compose, rerotate, rope_frequencies
from memosys.core.clock import FixedClock
from memosys.core.errors import ConfigurationError

BLOCK_A = "<|im_start|>system\nAlice likes green tea. Bob lives in Oslo.<|im_end|>\n"
BLOCK_B = "<|im_start|>system\nCarol plays chess. Dan is allergic to peanuts.<|im_end|>\n"
QUERY = "<|im_start|>user\nWhere does Bob live?<|im_end|>\n<|im_start|>assistant\n"


def _layers(lm: Any, text: str) -> list[Any]:
    return [(layer.keys, layer.values) for layer in lm.prefill(lm.encode(text)).layers]


def _log_probs(lm: Any, prefix: list[Any]) -> Any:
    return lm.next_token_logits(lm.encode(QUERY), past_key_values=prefix).log_softmax(-1)


def test_rerotated_keys_equal_keys_computed_at_the_new_position(tiny_lm: Any) -> None:
    # first-layer keys depend only on the token and its position, so they must match exactly
    offset = len(tiny_lm.encode(BLOCK_A))
    alone = _layers(tiny_lm, BLOCK_B)[0][0]
    in_place = _layers(tiny_lm, BLOCK_A + BLOCK_B)[0][0][:, :, offset:]
    moved = rerotate(alone, rope_frequencies(tiny_lm), offset)
    assert (moved - in_place).abs().max().item() < 1e-4
    assert (alone - in_place).abs().max().item() > 0.1


def test_re_rotation_keeps_the_composed_prefix_close_to_exact(tiny_lm: Any) -> None:
    exact = _log_probs(tiny_lm, _layers(tiny_lm, BLOCK_A + BLOCK_B))
    blocks = [_layers(tiny_lm, BLOCK_A), _layers(tiny_lm, BLOCK_B)]
    composed = _log_probs(tiny_lm, compose(tiny_lm, blocks))
    naive = _log_probs(tiny_lm, compose(tiny_lm, blocks, shift=False))

    def kl(p: Any, q: Any) -> float:
        return float((p.exp() * (p - q)).sum())

    assert kl(exact, composed) < kl(exact, naive) / 5
    assert exact.argmax() == composed.argmax()


def test_models_without_static_rope_are_refused(tiny_lm: Any) -> None:
    config = tiny_lm.model.config
    saved = config.rope_parameters
    config.rope_parameters = {**saved, "rope_type": "dynamic", "factor": 2.0}
    try:
        with pytest.raises(ConfigurationError, match="exact mode"):
            rope_frequencies(tiny_lm)
    finally:
        config.rope_parameters = saved


def test_generate_joins_two_caches_when_compose_is_on(
    tmp_path: Path, embedder: Any, clock: FixedClock, tiny_lm: Any
) -> None:
    with open_mos(tmp_path / "d", embedder, clock, compose=True) as mos:
        ids = [item.id for item in mos.add_texts(FACTS, user_id="ann")]
        first = mos.activation.build(memory_ids=ids[:2], user_id="ann", name="first")
        second = mos.activation.build(memory_ids=ids[2:], user_id="ann", name="second")
        result = mos.generate("Who plays chess?", user_id="ann", memories=ids, max_new_tokens=4)
        assert result.activation_mode == "composed"
        assert result.caches == ["first", "second"]
        assert result.cached_tokens == first.info.token_count + second.info.token_count
        assert result.memory_ids == ids
    with open_mos(tmp_path / "d", embedder, clock, compose=False) as mos:
        result = mos.generate("Who plays chess?", user_id="ann", memories=ids, max_new_tokens=4)
        assert result.activation_mode == "exact" and len(result.caches) == 1
