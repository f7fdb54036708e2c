"""KV cache files: safetensors on disk, memory-mapped on load, never pickles.

A file holds two tensors, ``kv`` (float32 or float16, shape ``[layers, 2,
kv_heads, tokens, head_dim]``; index 0 keys, 1 values) and ``token_ids`` (int64,
``[tokens]``), and the cache's metadata as JSON under the ``memosys`` key of the
safetensors header. Files are written atomically (temporary file, then rename),
under a shared lock on the folder's :data:`WRITERS_LOCK` that the process holds
while it writes: a temporary file left by a writer that died (kill -9, power
loss) is removed when the folder is next opened (:meth:`.index.CubeIndex.sweep`).
Loading parses the header itself and maps the tensors straight from the file
(copy-on-write mmap, no read into memory, no copy), after checking every offset,
so a truncated or corrupt file raises :class:`StoreError` instead of crashing.
"""

from __future__ import annotations

import fcntl
import json
import math
import mmap
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from memosys.core.errors import StoreError

if TYPE_CHECKING:
    import torch

FORMAT = "memosys-kv/1"
_META_KEY = "memosys"
WRITERS_LOCK = ".writers.lock"
"""Held shared by every process writing a cache file into the folder, for the write."""
PARTIAL_SUFFIX = ".partial"
_MAX_HEADER = 100_000_000
_DTYPES = {
    "F32": ("float32", 4),
    "F16": ("float16", 2),
    "BF16": ("bfloat16", 2),
    "I64": ("int64", 8),
}


@dataclass
class KVFile:
    """A loaded cache file: the KV tensor, the token ids and the metadata."""

    kv: torch.Tensor
    token_ids: torch.Tensor
    metadata: dict[str, Any]

    def layers(self, dtype: torch.dtype | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One ``(keys, values)`` pair per layer, shaped ``[1, kv_heads, tokens, head_dim]``.

        Views into the mapped file when ``dtype`` is the stored one; a cast otherwise.
        """
        kv = self.kv if dtype is None or self.kv.dtype == dtype else self.kv.to(dtype)
        return [(kv[i, 0].unsqueeze(0), kv[i, 1].unsqueeze(0)) for i in range(kv.shape[0])]


def stack_layers(layers: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Per-layer ``[1, heads, tokens, dim]`` pairs as one ``[layers, 2, heads, tokens, dim]``."""
    import torch

    return torch.stack([torch.stack([k[0], v[0]]) for k, v in layers])


def save_kv(path: Path, kv: torch.Tensor, token_ids: list[int], metadata: dict[str, Any]) -> int:
    """Write a cache file atomically; returns its size in bytes."""
    import torch
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        "kv": kv.detach().to("cpu").contiguous(),
        "token_ids": torch.tensor(token_ids, dtype=torch.int64),
    }
    header = {_META_KEY: json.dumps({"format": FORMAT, **metadata}, sort_keys=True)}
    # one partial file per writer: threads of one process may write the same cache at once
    partial = path.with_name(
        f".{path.name}.{os.getpid()}.{threading.get_ident()}{PARTIAL_SUFFIX}"
    )
    with writing(path.parent):
        try:
            save_file(tensors, str(partial), metadata=header)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return path.stat().st_size


@contextmanager
def writing(folder: Path) -> Iterator[None]:
    """Hold the folder's writers lock shared while writing a file into it through a
    temporary one: the lock tells a sweep that a writer is alive (the kernel releases
    it when the process ends, however it ends)."""
    with (folder / WRITERS_LOCK).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata of a cache file, without mapping its tensors."""
    with _open(path) as handle:
        header, _ = _read_header(path, handle.read(8), handle.read)
    return _metadata(path, header)


def load_kv(path: Path) -> KVFile:
    """Map a cache file; :class:`StoreError` naming the file if it is corrupt."""
    import torch

    with _open(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < 8:
            raise corrupt_cache(path, "shorter than a safetensors header")
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
    header, start = _read_header(path, mapped[:8], lambda n: mapped[8 : 8 + n])
    tensors: dict[str, torch.Tensor] = {}
    for name in ("kv", "token_ids"):
        entry = header.get(name)
        if not isinstance(entry, dict) or entry.get("dtype") not in _DTYPES:
            raise corrupt_cache(path, f"tensor {name!r} is missing or has an unknown dtype")
        dtype_name, width = _DTYPES[entry["dtype"]]
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if not _ints(shape) or not _ints(offsets) or len(offsets) != 2:
            raise corrupt_cache(path, f"tensor {name!r} has a malformed shape or offsets")
        if name == "token_ids" and entry["dtype"] != "I64":
            raise corrupt_cache(path, "its token ids are not int64")
        if name == "kv" and entry["dtype"] == "I64":
            raise corrupt_cache(path, "its KV tensor is not floating point")
        begin, end = offsets
        count = math.prod(shape)
        if count == 0:
            raise corrupt_cache(path, f"tensor {name!r} is empty")
        if not 0 <= begin <= end or end - begin != count * width or start + end > size:
            raise corrupt_cache(path, f"tensor {name!r} runs past the end of the file")
        dtype = getattr(torch, dtype_name)
        flat = torch.frombuffer(mapped, dtype=dtype, count=count, offset=start + begin)
        tensors[name] = flat.view(shape)
    kv, token_ids = tensors["kv"], tensors["token_ids"]
    if kv.dim() != 5 or kv.shape[1] != 2 or token_ids.dim() != 1:
        raise corrupt_cache(path, "tensor shapes are not those of a KV cache")
    if kv.shape[3] != token_ids.shape[0]:
        raise corrupt_cache(path, "the KV tensor and the token ids disagree on the token count")
    return KVFile(kv, token_ids, _metadata(path, header))


def _open(path: Path) -> Any:
    try:
        return path.open("rb")
    except FileNotFoundError as exc:
        raise StoreError(
            f"KV cache file {path} is missing; rebuild the cache with `memosys kv build` "
            "or drop it with `memosys kv drop`",
            detail={"path": str(path)},
        ) from exc


def _read_header(path: Path, prefix: bytes, read: Any) -> tuple[dict[str, Any], int]:
    if len(prefix) < 8:
        raise corrupt_cache(path, "shorter than a safetensors header")
    (length,) = struct.unpack("<Q", prefix)
    if length > _MAX_HEADER:
        raise corrupt_cache(path, "the header length is implausible")
    raw = read(length)
    if len(raw) != length:
        raise corrupt_cache(path, "the header is truncated")
    try:
        header = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise corrupt_cache(path, f"the header is not JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise corrupt_cache(path, "the header is not a JSON object")
    return header, 8 + length


def _metadata(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    try:
        metadata = json.loads(header["__metadata__"][_META_KEY])
    except (KeyError, TypeError, ValueError) as exc:
        raise corrupt_cache(path, "it has no memosys metadata") from exc
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise corrupt_cache(path, f"its format is not {FORMAT}")
    return metadata


def _ints(value: object) -> TypeGuard[list[int]]:
    return isinstance(value, list) and all(isinstance(v, int) and v >= 0 for v in value)


def corrupt_cache(path: Path, why: str) -> StoreError:
    """The error for a damaged or foreign cache file, naming the file and the fix."""
    return StoreError(
        f"KV cache file {path} is corrupt ({why}); drop it with `memosys kv drop` "
        "and build it again",
        detail={"path": str(path), "reason": why},
    )
