"""Build the embedder a configuration names: the one registry of providers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from memosys.core.errors import ConfigurationError
from memosys.models.embedders.base import Embedder
from memosys.models.embedders.hashing import HashEmbedder
from memosys.models.embedders.minilm_onnx import MiniLMOnnxEmbedder
from memosys.models.embedders.openai_http import OpenAIEmbedder
from memosys.models.embedders.sentence_transformers import SentenceTransformersEmbedder
from memosys.settings import (
    EmbedderConfig,
    HashEmbedderConfig,
    MiniLMOnnxConfig,
    OpenAIEmbedderConfig,
    SentenceTransformersConfig,
)


def _provider(config_model: type[BaseModel]) -> str:
    """The provider name a config model declares (its ``provider`` default)."""
    return str(config_model.model_fields["provider"].default)


# provider name -> embedder class; the names live only in the config models
_REGISTRY: dict[str, Callable[[Any], Embedder]] = {
    _provider(config_model): embedder
    for config_model, embedder in (
        (MiniLMOnnxConfig, MiniLMOnnxEmbedder),
        (SentenceTransformersConfig, SentenceTransformersEmbedder),
        (OpenAIEmbedderConfig, OpenAIEmbedder),
        (HashEmbedderConfig, HashEmbedder),
    )
}


def providers() -> list[str]:
    """The provider names :func:`build_embedder` knows."""
    return sorted(_REGISTRY)


def build_embedder(config: EmbedderConfig) -> Embedder:
    """The embedder for ``config``, chosen by ``config.provider``.

    Nothing heavy happens here: models load on the first ``embed``.
    """
    builder = _REGISTRY.get(config.provider)
    if builder is None:
        raise ConfigurationError(
            f"unknown embedder provider {config.provider!r}; use one of {providers()}"
        )
    return builder(config)
