"""Shared fixtures: the real bundled embedder is loaded once per test run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The bundled MiniLM int8 ONNX embedder, shared by every test."""
    from memosys.models.embedders.factory import build_embedder
    from memosys.settings import MiniLMOnnxConfig

    return build_embedder(MiniLMOnnxConfig())


@pytest.fixture
def fresh_data_dir(tmp_path: Path, embedder: Any) -> Path:
    """``tmp_path/data`` made as ``memosys init`` makes it, without the admin key (the
    CLI, the MCP server and ``memosys serve`` open only an existing data directory)."""
    from memosys import MemOS

    MemOS.open(tmp_path / "data", embedder=embedder).close()
    return tmp_path / "data"


def _one_torch_thread() -> None:
    """Run torch on one CPU thread in tests.

    On the shared 2-core test machine, torch's two OpenMP threads stall each other
    whenever another process holds a core: a SmolLM2 test took 33.7 s with two
    threads and 2.0 s with one.
    """
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def smollm2() -> Any:
    """The bundled SmolLM2-135M-Instruct (GGUF), loaded once per test run."""
    from memosys.models.llm.registry import get_lm

    _one_torch_thread()
    return get_lm("smollm2")


@pytest.fixture(scope="session")
def tiny_lm() -> Any:
    """A tiny randomly initialised Llama-style model (seed 0) with a byte tokenizer."""
    from memosys.models.llm.registry import get_lm

    _one_torch_thread()
    return get_lm("tiny-llama")
