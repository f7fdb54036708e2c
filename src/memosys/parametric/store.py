"""Adapters on disk: ``<root>/<cube_id>/<name>/`` with safetensors weights and JSON.

Each adapter folder holds ``adapter_model.safetensors`` (the LoRA weights),
``adapter_config.json`` (the peft LoRA config) and ``provenance.json`` (an
:class:`AdapterRecord`: the memories and versions it holds, the base-model
fingerprint, hyper-parameters and seed, loss curve, evaluation figures and
the sha256 of the weights file). Nothing is ever pickled. A folder is written
under a temporary name and renamed into place, so a reader never sees half
an adapter.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from memosys.core.errors import InvalidInputError, NotFoundError, StoreError, missing_dependency
from memosys.core.files import replace_text
from memosys.core.items import ParametricInfo

WEIGHTS_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"
PROVENANCE_FILE = "provenance.json"
FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class AdapterRecord(BaseModel):
    """An adapter's provenance: what it holds, how it was trained, how it scored."""

    name: str
    cube_id: str
    user_id: str
    created_at: datetime
    base_model: str = Field(description="the model spec it was trained on, e.g. 'smollm2'")
    info: ParametricInfo
    weights_sha256: str
    train_seconds: float = 0.0
    example_count: int = 0
    stale_reasons: list[str] = Field(default_factory=list)
    forgotten_memory_ids: list[str] = Field(
        default_factory=list,
        description="memories it holds that were forgotten since: it is never used again",
    )
    format_version: int = FORMAT_VERSION

    @property
    def stale(self) -> bool:
        """Whether a memory it holds changed or went since it was trained."""
        return self.info.stale

    @property
    def memory_ids(self) -> list[str]:
        """The memories distilled into it."""
        return list(self.info.source_memory_versions)


def checked_adapter_name(name: object) -> str:
    """An adapter name: 1-64 letters, digits, ``_``, ``.``, ``-``, not starting with a dot."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"adapter name must be 1-64 letters, digits, '_', '.' or '-' (not starting with "
            f"'.', '_' or '-'), got {name!r}"
        )
    return name


def _damaged(record_path: Path, problem: str) -> StoreError:
    name = record_path.name
    return StoreError(
        f"adapter {name!r} at {record_path} is damaged ({problem}); rebuild it with "
        f"`memosys lora rebuild {name}` or remove it with `memosys lora drop {name}`",
        detail={"adapter": name, "path": str(record_path)},
    )


class AdapterStore:
    """Reads and writes adapter folders below one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, cube_id: str, name: str) -> Path:
        """Where an adapter lives."""
        return self.root / cube_id / checked_adapter_name(name)

    def save(
        self, record: AdapterRecord, weights: dict[str, Any], lora_config: dict[str, Any]
    ) -> AdapterRecord:
        """Write (or replace) an adapter; returns the record with its weights checksum."""
        try:
            from safetensors.torch import save_file
        except ImportError as exc:
            raise missing_dependency("safetensors", "lora") from exc
        target = self.folder(record.cube_id, record.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{record.name}.", dir=target.parent))
        try:
            save_file(weights, str(staging / WEIGHTS_FILE), metadata={"format": "pt"})
            sha = _sha256(staging / WEIGHTS_FILE)
            record = record.model_copy(update={"weights_sha256": sha})
            _write_json(staging / CONFIG_FILE, lora_config)
            _write_json(staging / PROVENANCE_FILE, record.model_dump(mode="json"))
            if target.exists():
                retired = target.with_name(f".{record.name}.old")
                shutil.rmtree(retired, ignore_errors=True)
                target.rename(retired)
                staging.rename(target)
                shutil.rmtree(retired, ignore_errors=True)
            else:
                staging.rename(target)
        except OSError as exc:
            raise StoreError(f"cannot write adapter {record.name!r} to {target}: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return record

    def record(self, cube_id: str, name: str) -> AdapterRecord:
        """The provenance of one adapter; NotFoundError if there is none."""
        folder = self.folder(cube_id, name)
        path = folder / PROVENANCE_FILE
        if not folder.is_dir():
            raise NotFoundError(f"adapter {name!r} not found", detail={"adapter": name})
        try:
            return AdapterRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            raise _damaged(folder, f"unreadable {PROVENANCE_FILE}: {exc}") from exc

    def names(self, cube_id: str) -> list[str]:
        """The names of the adapters stored for a cube, sorted."""
        cube_dir = self.root / cube_id
        if not cube_dir.is_dir():
            return []
        return sorted(p.name for p in cube_dir.iterdir() if p.is_dir() and _NAME.match(p.name))

    def records(self, cube_ids: list[str]) -> list[AdapterRecord]:
        """Every adapter in these cubes, by cube and name."""
        return [self.record(cube_id, name) for cube_id in cube_ids for name in self.names(cube_id)]

    def update_record(self, record: AdapterRecord) -> None:
        """Rewrite the provenance (e.g. to mark it stale), atomically."""
        _write_json(
            self.folder(record.cube_id, record.name) / PROVENANCE_FILE,
            record.model_dump(mode="json"),
        )

    def weights(self, record: AdapterRecord) -> tuple[dict[str, Any], dict[str, Any]]:
        """The LoRA weights and peft config, checked against the recorded checksum."""
        try:
            from safetensors import SafetensorError
            from safetensors.torch import load_file
        except ImportError as exc:
            raise missing_dependency("safetensors", "lora") from exc
        folder = self.folder(record.cube_id, record.name)
        try:
            sha = _sha256(folder / WEIGHTS_FILE)
            if sha != record.weights_sha256:
                raise _damaged(
                    folder,
                    f"{WEIGHTS_FILE} checksum {sha[:12]} is not the recorded "
                    f"{record.weights_sha256[:12]}",
                )
            config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
            return load_file(str(folder / WEIGHTS_FILE)), config
        except (OSError, ValueError, SafetensorError) as exc:
            raise _damaged(folder, str(exc)) from exc

    def delete(self, cube_id: str, name: str) -> None:
        """Remove an adapter folder; NotFoundError if there is none."""
        folder = self.folder(cube_id, name)
        if not folder.is_dir():
            raise NotFoundError(f"adapter {name!r} not found", detail={"adapter": name})
        shutil.rmtree(folder)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, value: Any) -> None:
    replace_text(path, json.dumps(value, indent=2, sort_keys=True))
