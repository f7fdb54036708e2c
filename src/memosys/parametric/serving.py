"""Put adapters onto a base model for a while, and take them off again exactly.

LoRA layers are added beside the base weights and never merged into them, so
removing them leaves the base model bit for bit as it was. Several adapters
can be active at once (their low-rank updates add up). A model is shared by
the whole process, so everything that changes its layers holds its lock.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memosys.core.errors import InvalidInputError, missing_dependency

if TYPE_CHECKING:
    from memosys.api.local import MemOS
    from memosys.parametric.lm import LanguageModel

_locks: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def model_lock(model: Any) -> threading.RLock:
    """The lock that guards the layers of one model object."""
    with _locks_guard:
        lock = _locks.get(model)
        if lock is None:
            lock = _locks[model] = threading.RLock()
        return lock


@dataclass(frozen=True)
class LoadedAdapter:
    """An adapter read from disk: its name, peft LoRA config and weights."""

    name: str
    lora_config: dict[str, Any]
    weights: dict[str, Any]


@contextmanager
def peft_attached(model: Any, lora_config: dict[str, Any], adapter_name: str) -> Iterator[Any]:
    """A peft model around ``model`` with one new LoRA adapter; removed again on exit.

    Also restores every parameter's ``requires_grad`` flag. The caller holds
    :func:`model_lock`.
    """
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as exc:
        raise missing_dependency("peft", "lora") from exc
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    with warnings.catch_warnings():
        # peft asks transformers 5 a deprecated question about gradient checkpointing
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
        )
        peft_model = get_peft_model(model, LoraConfig(**lora_config), adapter_name=adapter_name)
    try:
        yield peft_model
    finally:
        peft_model.unload()
        for name, parameter in model.named_parameters():
            parameter.requires_grad_(flags[name])


@contextmanager
def applied(model: Any, adapters: Sequence[LoadedAdapter]) -> Iterator[None]:
    """Activate all ``adapters`` on ``model`` together for the ``with`` block."""
    try:
        from peft import LoraConfig, set_peft_model_state_dict
    except ImportError as exc:
        raise missing_dependency("peft", "lora") from exc

    if not adapters:
        yield
        return
    names = [adapter.name for adapter in adapters]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"an adapter is named twice in {names}")
    slots = [f"adapter_{index}" for index in range(len(adapters))]  # peft names may not hold dots
    first, *rest = adapters
    with model_lock(model), peft_attached(model, _inference(first), slots[0]) as peft_model:
        set_peft_model_state_dict(peft_model, first.weights, adapter_name=slots[0])
        for slot, adapter in zip(slots[1:], rest, strict=True):
            peft_model.add_adapter(slot, LoraConfig(**_inference(adapter)))
            set_peft_model_state_dict(peft_model, adapter.weights, adapter_name=slot)
        peft_model.base_model.set_adapter(slots)
        yield


def _inference(adapter: LoadedAdapter) -> dict[str, Any]:
    return {**adapter.lora_config, "inference_mode": True}


@contextmanager
def adapters_applied(
    mos: MemOS,
    lm: LanguageModel,
    names: Sequence[str],
    *,
    user_id: str,
    allow_stale: bool = False,
    cube: str | None = None,
) -> Iterator[None]:
    """The named adapters of the user, checked and active on ``lm`` for the ``with`` block.

    Raises :class:`~memosys.core.errors.ModelMismatchError` for an adapter
    trained on another base model, :class:`~memosys.core.errors.StaleError`
    for a stale one (unless ``allow_stale``), and
    :class:`~memosys.core.errors.StoreError` for a damaged adapter file.
    """
    loaded = [
        mos.parametric.load(name, lm, user_id=user_id, cube=cube, allow_stale=allow_stale)
        for name in names
    ]
    with applied(lm.model, loaded):
        yield
