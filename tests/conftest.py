"""Shared fixtures: the real bundled embedder is loaded once per test run."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The bundled MiniLM int8 ONNX embedder, shared by every test."""
    from memosys.models.embedders.factory import build_embedder
    from memosys.settings import MiniLMOnnxConfig

    return build_embedder(MiniLMOnnxConfig())
