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
    load_settings,
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


def test_embedder_settings_without_a_provider_tune_the_bundled_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEMOSYS_EMBEDDER__BATCH_TOKENS", "128")
    monkeypatch.setenv("MEMOSYS_EMBEDDER__MODEL_PATH", str(tmp_path / "model.onnx"))
    config = load_settings().embedder
    assert isinstance(config, MiniLMOnnxConfig)
    assert (config.batch_tokens, config.model_path) == (128, tmp_path / "model.onnx")


def test_embedder_settings_that_name_a_provider_keep_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMOSYS_EMBEDDER__PROVIDER", "hash")
    monkeypatch.setenv("MEMOSYS_EMBEDDER__DIMENSIONS", "64")
    assert load_settings().embedder == HashEmbedderConfig(dimensions=64)
