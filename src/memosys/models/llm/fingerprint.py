"""Which exact model produced a KV cache or trained an adapter.

A :class:`ModelFingerprint` names the model, hashes its configuration and its
base weights, and records the dtype and the transformers version. Caches and
adapters store its :meth:`~ModelFingerprint.digest` and refuse to load into a
model whose digest differs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

# config keys that name or describe a checkout rather than the network itself
_VOLATILE_CONFIG_KEYS = frozenset({"_name_or_path", "transformers_version", "_commit_hash"})


@dataclass(frozen=True)
class ModelFingerprint:
    """Model id, config (and tokenizer) hash, base-weights hash, dtype, transformers version."""

    model_id: str
    config_hash: str
    weights_hash: str
    dtype: str
    transformers_version: str

    def digest(self) -> str:
        """A short stable hash of every field (the same in every process)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def to_dict(self) -> dict[str, str]:
        """The fields as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelFingerprint:
        """The inverse of :meth:`to_dict`."""
        return cls(**{name: str(data[name]) for name in cls.__dataclass_fields__})


def digest_of(fields: dict[str, Any]) -> str | None:
    """The digest of fingerprint fields read from a file; None if they are incomplete."""
    try:
        return ModelFingerprint.from_dict(fields).digest()
    except (KeyError, TypeError):
        return None


def config_hash(config: dict[str, Any], tokenizer: Any = None) -> str:
    """sha256 of the model configuration (without checkout-specific keys) and the tokenizer.

    The tokenizer part is its vocabulary and chat template: the same weights
    behind another token mapping are another model.
    """
    kept = {k: v for k, v in config.items() if k not in _VOLATILE_CONFIG_KEYS}
    if tokenizer is not None:
        kept["__tokenizer__"] = {
            "vocab": sorted(tokenizer.get_vocab().items()),
            "chat_template": tokenizer.chat_template,
        }
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def weights_hash(model: Any) -> str:
    """blake2b over every named parameter and buffer of ``model`` (names, shapes, bytes)."""
    import torch

    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{flat.dtype}|{tuple(flat.shape)}".encode())
        digest.update(memoryview(flat.reshape(-1).view(torch.uint8).numpy()))
    return digest.hexdigest()


def fingerprint_model(model: Any, tokenizer: Any, model_id: str) -> ModelFingerprint:
    """The fingerprint of a loaded model and its tokenizer (before adapters are applied)."""
    import transformers

    return ModelFingerprint(
        model_id=model_id,
        config_hash=config_hash(model.config.to_dict(), tokenizer),
        weights_hash=weights_hash(model),
        dtype=str(model.dtype).removeprefix("torch."),
        transformers_version=transformers.__version__,
    )
