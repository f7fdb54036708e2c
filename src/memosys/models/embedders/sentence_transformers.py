"""A sentence-transformers model from a local folder (extra ``local-models``).

sentence-transformers (and torch) are imported on first use only; the
fingerprint hashes the folder's files, so it needs neither.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memosys.core.errors import ConfigurationError, missing_dependency
from memosys.models.embedders._common import Vectors, check_texts, empty, l2_normalise
from memosys.models.embedders.base import Purpose
from memosys.settings import SentenceTransformersConfig

# Files that do not change the vectors and so stay out of the fingerprint.
_IGNORED_SUFFIXES = frozenset({".md", ".lock"})


@functools.cache
def folder_sha256(folder: Path) -> str:
    """sha256 over the relative paths and contents of a model folder's files.

    Hidden entries (``.git``, ``.cache``) and documentation are skipped.
    Computed once per folder per process.
    """
    digest = hashlib.sha256()
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix not in _IGNORED_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\x00")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class SentenceTransformersEmbedder:
    """Any sentence-transformers model stored in a local folder (no download).

    If the model defines prompts named ``query`` or ``document``, they are
    applied for that ``purpose`` (asymmetric models such as E5 or BGE).
    """

    def __init__(self, config: SentenceTransformersConfig) -> None:
        self._config = config
        self._path = Path(config.path).expanduser().resolve()
        if not self._path.is_dir():
            raise ConfigurationError(
                f"sentence-transformers model folder {self._path} does not exist; "
                "set embedder.path to a folder saved with SentenceTransformer.save()"
            )
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def dimensions(self) -> int:
        """The model's sentence-embedding dimension (loads the model)."""
        return int(self._load().get_sentence_embedding_dimension())

    @property
    def fingerprint(self) -> str:
        """Provider, folder name, a short hash of its config and weights, dimensions."""
        digest = folder_sha256(self._path)[:16]
        return f"sentence-transformers:{self._path.name}:sha256-{digest}:{self.dimensions}d"

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> Vectors:
        """Unit-length float32 vectors in input order."""
        items = check_texts(texts, purpose)
        if not items:
            return empty(self.dimensions)
        model = self._load()
        prompt_name = purpose if purpose in (model.prompts or {}) else None
        vectors = model.encode(
            items,
            batch_size=self._config.batch_size,
            prompt_name=prompt_name,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return l2_normalise(np.asarray(vectors))

    def _load(self) -> Any:
        """Import sentence-transformers and load the model once (thread-safe)."""
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise missing_dependency("sentence-transformers", "local-models") from exc
                try:
                    self._model = SentenceTransformer(
                        str(self._path), device=self._config.device, local_files_only=True
                    )
                except (OSError, ValueError, RuntimeError) as exc:
                    raise ConfigurationError(
                        f"cannot load the sentence-transformers model in {self._path}: {exc}; "
                        "check that the folder holds a complete saved model"
                    ) from exc
            return self._model
