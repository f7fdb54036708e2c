"""The local-folder sentence-transformers embedder, without its optional extra."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from memosys.core.errors import ConfigurationError, MissingDependencyError
from memosys.models.embedders.sentence_transformers import (
    SentenceTransformersEmbedder,
    folder_sha256,
)
from memosys.settings import SentenceTransformersConfig


def model_folder(root: Path, weights: bytes) -> Path:
    root.mkdir()
    (root / "config.json").write_text('{"hidden_size": 8}')
    (root / "model.safetensors").write_bytes(weights)
    (root / "README.md").write_text("docs")
    return root


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is not None,
    reason="sentence-transformers is installed",
)
def test_missing_package_raises_missing_dependency(tmp_path: Path) -> None:
    embedder = SentenceTransformersEmbedder(
        SentenceTransformersConfig(path=str(model_folder(tmp_path / "m", b"w")))
    )
    with pytest.raises(MissingDependencyError) as caught:
        embedder.embed(["hello"])
    assert caught.value.detail == {"package": "sentence-transformers", "extra": "local-models"}
    assert "memosys[local-models]" in caught.value.message


def test_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        SentenceTransformersEmbedder(SentenceTransformersConfig(path=str(tmp_path / "absent")))


def test_folder_hash_follows_weights_not_docs(tmp_path: Path) -> None:
    first = model_folder(tmp_path / "a", b"weights-1")
    same = model_folder(tmp_path / "b", b"weights-1")
    (same / "README.md").write_text("other docs")
    other = model_folder(tmp_path / "c", b"weights-2")
    assert folder_sha256(first) == folder_sha256(same) != folder_sha256(other)
