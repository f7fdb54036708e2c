"""Adapters on a tiny random Llama: saved bit for bit, stacked, and removed without a trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from memosys.core.errors import InvalidInputError, StoreError
from memosys.core.items import ParametricInfo
from memosys.models.llm.fingerprint import weights_hash
from memosys.parametric.dataset import SourceMemory, build_examples
from memosys.parametric.serving import LoadedAdapter, applied
from memosys.parametric.store import WEIGHTS_FILE, AdapterRecord, AdapterStore
from memosys.parametric.train import TrainConfig, TrainedAdapter, train_adapter

PROBE = "The home city of Pousbrix Sorsin is"


def _trained(lm: Any, text: str, seed: int, fast: TrainConfig) -> TrainedAdapter:
    examples = build_examples([SourceMemory("m1", 1, text)])
    config = TrainConfig(**{**fast.to_dict(), "seed": seed, "learning_rate": 0.05})
    return train_adapter(lm, examples, config)


def _logits(lm: Any) -> torch.Tensor:
    ids = torch.tensor([lm.encode(PROBE)])
    with torch.inference_mode():
        return lm.model(input_ids=ids).logits[0].clone()


@pytest.fixture(scope="module")
def adapters(tiny_lm: Any, fast: TrainConfig) -> tuple[TrainedAdapter, TrainedAdapter]:
    return (
        _trained(tiny_lm, "The home city of Pousbrix Sorsin is Sterfou.", 1, fast),
        _trained(tiny_lm, "The employer of Vourtai Lathim is Talquin Works.", 2, fast),
    )


def _loaded(name: str, trained: TrainedAdapter) -> LoadedAdapter:
    return LoadedAdapter(name, trained.lora_config, trained.weights)


def _record(tiny_lm: Any, name: str) -> AdapterRecord:
    info = ParametricInfo(base_model_fingerprint={"digest": tiny_lm.fingerprint.digest()})
    return AdapterRecord(
        name=name,
        cube_id="cube",
        user_id="ana",
        created_at="2026-01-01T00:00:00Z",
        base_model="tiny-llama",
        info=info,
        weights_sha256="",
    )


def test_training_and_unloading_leave_the_base_model_bit_identical(
    tiny_lm: Any, adapters: tuple[TrainedAdapter, TrainedAdapter]
) -> None:
    before_hash, before_logits = weights_hash(tiny_lm.model), _logits(tiny_lm)
    flags = [p.requires_grad for p in tiny_lm.model.parameters()]
    layer_types = [type(m) for m in tiny_lm.model.modules()]
    with applied(tiny_lm.model, [_loaded("a", adapters[0]), _loaded("b", adapters[1])]):
        assert not torch.equal(_logits(tiny_lm), before_logits)
    assert weights_hash(tiny_lm.model) == before_hash == tiny_lm.fingerprint.weights_hash
    assert torch.equal(_logits(tiny_lm), before_logits)
    assert [p.requires_grad for p in tiny_lm.model.parameters()] == flags
    assert [type(m) for m in tiny_lm.model.modules()] == layer_types


def _q_proj_output(lm: Any, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return lm.model.model.layers[0].self_attn.q_proj(x).clone()


def test_stacked_adapters_are_all_active_and_add_their_updates(
    tiny_lm: Any, adapters: tuple[TrainedAdapter, TrainedAdapter]
) -> None:
    first, second = _loaded("a", adapters[0]), _loaded("b", adapters[1])
    x = torch.randn(3, tiny_lm.model.config.hidden_size, generator=torch.Generator().manual_seed(0))
    base, base_logits = _q_proj_output(tiny_lm, x), _logits(tiny_lm)
    with applied(tiny_lm.model, [first]):
        only_first, first_logits = _q_proj_output(tiny_lm, x), _logits(tiny_lm)
    with applied(tiny_lm.model, [second]):
        only_second = _q_proj_output(tiny_lm, x)
    with applied(tiny_lm.model, [first, second]):
        both, both_logits = _q_proj_output(tiny_lm, x), _logits(tiny_lm)
    assert not torch.equal(only_first, base) and not torch.equal(only_second, base)
    torch.testing.assert_close(both - base, (only_first - base) + (only_second - base))
    assert not torch.equal(both_logits, first_logits) and not torch.equal(both_logits, base_logits)


def test_the_same_adapter_twice_is_refused(
    tiny_lm: Any, adapters: tuple[TrainedAdapter, TrainedAdapter]
) -> None:
    with (
        pytest.raises(InvalidInputError, match="named twice"),
        applied(tiny_lm.model, [_loaded("a", adapters[0]), _loaded("a", adapters[1])]),
    ):
        pass


def test_saved_adapter_loads_bit_for_bit_and_gives_the_same_outputs(
    tmp_path: Path, tiny_lm: Any, adapters: tuple[TrainedAdapter, TrainedAdapter]
) -> None:
    trained = adapters[0]
    store = AdapterStore(tmp_path)
    record = store.save(_record(tiny_lm, "facts"), trained.weights, trained.lora_config)
    weights, config = store.weights(store.record("cube", "facts"))
    assert config == trained.lora_config
    assert weights.keys() == trained.weights.keys()
    for key, tensor in trained.weights.items():
        assert weights[key].dtype == tensor.dtype and torch.equal(weights[key], tensor)
    with applied(tiny_lm.model, [_loaded("memory", trained)]):
        from_memory = _logits(tiny_lm)
    with applied(tiny_lm.model, [LoadedAdapter("disk", config, weights)]):
        from_disk = _logits(tiny_lm)
    assert torch.equal(from_memory, from_disk)
    assert len(record.weights_sha256) == 64
    assert sorted(p.name for p in (tmp_path / "cube" / "facts").iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "provenance.json",
    ]


def test_corrupt_adapter_files_give_a_clear_error(
    tmp_path: Path, tiny_lm: Any, adapters: tuple[TrainedAdapter, TrainedAdapter]
) -> None:
    store = AdapterStore(tmp_path)
    record = store.save(_record(tiny_lm, "facts"), adapters[0].weights, adapters[0].lora_config)
    weights_file = tmp_path / "cube" / "facts" / WEIGHTS_FILE
    data = bytearray(weights_file.read_bytes())
    data[-5] ^= 0xFF
    weights_file.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged.*checksum.*memosys lora rebuild facts"):
        store.weights(record)
    weights_file.write_bytes(b"not a safetensors file")
    with pytest.raises(StoreError, match="damaged"):
        store.weights(record.model_copy(update={"weights_sha256": _sha(weights_file)}))
    (tmp_path / "cube" / "facts" / "provenance.json").write_text("{truncated", encoding="utf-8")
    with pytest.raises(StoreError, match="unreadable provenance.json"):
        store.record("cube", "facts")


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "x" * 65, "sp ace", 3])
def test_bad_adapter_names_are_refused(tmp_path: Path, name: Any) -> None:
    with pytest.raises(InvalidInputError, match="adapter name"):
        AdapterStore(tmp_path).folder("cube", name)
