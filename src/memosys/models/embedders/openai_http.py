"""An OpenAI-compatible ``POST {base_url}/embeddings`` client over httpx.

Works with OpenAI and with servers that speak the same protocol (vLLM,
llama.cpp, Ollama, text-embeddings-inference, LiteLLM, ...). Every upstream
failure (HTTP error, timeout, unreachable host, malformed body) becomes an
:class:`~memosys.core.errors.EmbedderError` naming the URL and the fix.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from memosys.core.errors import EmbedderError
from memosys.models.embedders._common import Vectors, check_texts, empty, l2_normalise
from memosys.models.embedders.base import Purpose
from memosys.settings import OpenAIEmbedderConfig

_PROBE_TEXT = "dimension probe"
_BODY_EXCERPT = 300


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible HTTP endpoint.

    Texts go out in batches of ``config.batch_size``; rows come back in input
    order (by the response's ``index``), L2-normalised. The API key is read
    from the environment variable ``config.api_key_env`` at call time; when
    it is unset no ``Authorization`` header is sent (for local servers).
    When ``config.dimensions`` is unset the dimension is learned from the
    first response (asking for it before any ``embed`` sends one probe text).
    """

    def __init__(self, config: OpenAIEmbedderConfig) -> None:
        self._config = config
        self._url = f"{config.base_url.rstrip('/')}/embeddings"
        self._dimensions = config.dimensions
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def dimensions(self) -> int:
        """The configured dimension, or the one the server returns."""
        if self._dimensions is None:
            self._dimensions = self._post([_PROBE_TEXT]).shape[1]
        return self._dimensions

    @property
    def fingerprint(self) -> str:
        """Provider, endpoint, model and dimensions."""
        base = self._config.base_url.rstrip("/")
        return f"openai:{base}:{self._config.model}:{self.dimensions}d"

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> Vectors:
        """Unit-length float32 vectors in input order; ``purpose`` is not sent."""
        items = check_texts(texts, purpose)
        if not items:
            return empty(self.dimensions)
        size = self._config.batch_size
        return np.concatenate([self._post(items[i : i + size]) for i in range(0, len(items), size)])

    def close(self) -> None:
        """Close the HTTP connection pool (a later ``embed`` opens a new one)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self._config.timeout_s)
            return self._client

    def _post(self, batch: list[str]) -> Vectors:
        """One request; the normalised rows of ``batch`` in order."""
        body: dict[str, Any] = {"model": self._config.model, "input": batch}
        if self._config.dimensions is not None:
            body["dimensions"] = self._config.dimensions
        headers = {}
        key = os.environ.get(self._config.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            response = self._http().post(self._url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise EmbedderError(
                f"{self._url} did not answer within {self._config.timeout_s}s; "
                "check the server or raise embedder.timeout_s",
                detail={"url": self._url},
            ) from exc
        except httpx.HTTPError as exc:
            raise EmbedderError(
                f"cannot reach {self._url}: {exc}; check embedder.base_url "
                "and that the server is running",
                detail={"url": self._url},
            ) from exc
        self._check_status(response, key_set=bool(key))
        matrix = self._parse(response, len(batch))
        if self._dimensions is None:
            self._dimensions = matrix.shape[1]
        elif matrix.shape[1] != self._dimensions:
            raise EmbedderError(
                f"{self._url} returned {matrix.shape[1]}-dimensional vectors for model "
                f"{self._config.model!r}, expected {self._dimensions}; set embedder.dimensions "
                "to what the model produces, or leave it unset",
                detail={"url": self._url},
            )
        return l2_normalise(matrix)

    def _check_status(self, response: httpx.Response, *, key_set: bool) -> None:
        status = response.status_code
        if status < 400:
            return
        excerpt = response.text[:_BODY_EXCERPT]
        env = self._config.api_key_env
        if status in (401, 403):
            fix = (
                f"check the API key in ${env}"
                if key_set
                else f"set the environment variable {env} to an API key"
            )
            message = f"{self._url} refused the request (HTTP {status}): {excerpt}; {fix}"
        else:
            message = (
                f"{self._url} answered HTTP {status}: {excerpt}; check embedder.model "
                f"({self._config.model!r}) and embedder.base_url, or retry if the server is busy"
            )
        raise EmbedderError(message, detail={"url": self._url, "upstream_status": status})

    def _parse(self, response: httpx.Response, count: int) -> Vectors:
        """The ``data[*].embedding`` rows ordered by ``index``, or EmbedderError."""
        try:
            rows = sorted(response.json()["data"], key=lambda row: row["index"])
            indices = [row["index"] for row in rows]
            matrix = np.asarray([row["embedding"] for row in rows], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if indices != list(range(count)):
                problem = f"indices {indices[:10]} do not match the {count} inputs sent"
            elif matrix.ndim != 2 or not np.isfinite(matrix).all():
                problem = "embeddings are not equal-length lists of finite numbers"
            elif not np.linalg.norm(matrix, axis=1).all():
                problem = "an embedding is all zeros"
            else:
                return matrix.astype(np.float32)
        raise EmbedderError(
            f"{self._url} sent a malformed embeddings response ({problem}); it must be "
            'JSON {"data": [{"index": i, "embedding": [floats]}]}, one entry per input; '
            "check that embedder.base_url points at an OpenAI-compatible API",
            detail={"url": self._url, "body": response.text[:_BODY_EXCERPT]},
        )
