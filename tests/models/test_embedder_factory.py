"""build_embedder dispatches on the config's provider."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from memosys.models.embedders.factory import build_embedder, providers
from memosys.models.embedders.hashing import HashEmbedder
from memosys.models.embedders.minilm_onnx import MiniLMOnnxEmbedder
from memosys.models.embedders.openai_http import OpenAIEmbedder
from memosys.models.embedders.sentence_transformers import SentenceTransformersEmbedder
from memosys.settings import (
    EmbedderConfig,
    HashEmbedderConfig,
    MemosysSettings,
    MiniLMOnnxConfig,
    OpenAIEmbedderConfig,
    SentenceTransformersConfig,
)


def test_every_configurable_provider_is_registered() -> None:
    union = typing.get_args(EmbedderConfig)[0]
    declared = {model.model_fields["provider"].default for model in typing.get_args(union)}
    assert set(providers()) == declared


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (MiniLMOnnxConfig(), MiniLMOnnxEmbedder),
        (HashEmbedderConfig(), HashEmbedder),
        (OpenAIEmbedderConfig(base_url="http://127.0.0.1:9/v1", dimensions=4), OpenAIEmbedder),
    ],
)
def test_config_builds_its_embedder(config: EmbedderConfig, expected: type) -> None:
    assert isinstance(build_embedder(config), expected)


def test_sentence_transformers_config_builds_its_embedder(tmp_path: Path) -> None:
    config = SentenceTransformersConfig(path=str(tmp_path))
    assert isinstance(build_embedder(config), SentenceTransformersEmbedder)


def test_default_settings_give_the_bundled_embedder(embedder: MiniLMOnnxEmbedder) -> None:
    assert isinstance(embedder, MiniLMOnnxEmbedder)
    assert isinstance(build_embedder(MemosysSettings().embedder), MiniLMOnnxEmbedder)
