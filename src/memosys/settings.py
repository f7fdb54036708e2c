"""Configuration: one typed settings object, built once and passed down.

Values come from arguments, a JSON file, or ``MEMOSYS_*`` environment
variables (nested with ``__``, e.g. ``MEMOSYS_EMBEDDER__PROVIDER=hash``), and
are read only when :func:`load_settings` is called, never at import time.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, NonNegativeFloat, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict, SettingsError

from memosys.core.errors import ConfigurationError


class MiniLMOnnxConfig(BaseModel):
    """The bundled offline default: all-MiniLM-L6-v2, int8 ONNX."""

    provider: Literal["minilm-onnx"] = "minilm-onnx"
    # int8: every weight matrix product runs in int8, about 2.5 times as fast
    # on CPU, each text alone (a copy quantised once and cached, see
    # models/embedders/int8.py); float32: the model as shipped
    precision: Literal["int8", "float32"] = "int8"
    # float32 only: padded tokens per model call; about 384 is fastest on CPU
    # (small batches stay in cache; see benchmarks/embed_throughput.py)
    batch_tokens: int = Field(384, ge=1)
    # where the int8 copy is kept; default $XDG_CACHE_HOME/memosys or ~/.cache/memosys
    cache_dir: Path | None = None
    # another ONNX export of the same model; the cube fingerprint follows its sha256
    model_path: Path | None = None
    # longer texts are truncated to this many tokens
    max_tokens: int = Field(256, ge=8, le=512)
    # model calls run side by side, each on one thread; default: the CPU count
    threads: int | None = Field(None, ge=1)
    # those threads (they embed batches: adds, imports; a query runs in its search's
    # thread) are this much nicer than the process, so searches keep their speed
    # beside an import (Linux; 0: same priority; see core/cpu_priority.py)
    bulk_niceness: int = Field(10, ge=0, le=19)


class SentenceTransformersConfig(BaseModel):
    """A sentence-transformers model from a local folder (extra ``local-models``)."""

    provider: Literal["sentence-transformers"] = "sentence-transformers"
    path: str
    batch_size: int = Field(64, ge=1)
    device: str | None = None


class OpenAIEmbedderConfig(BaseModel):
    """An OpenAI-compatible ``/v1/embeddings`` HTTP endpoint."""

    provider: Literal["openai"] = "openai"
    base_url: str = "https://api.openai.com/v1"
    model: str = "text-embedding-3-small"
    api_key_env: str = "OPENAI_API_KEY"
    dimensions: int | None = Field(None, ge=1)
    batch_size: int = Field(128, ge=1)
    timeout_s: float = Field(30.0, gt=0)


class HashEmbedderConfig(BaseModel):
    """Deterministic feature-hashing vectors: no model, for tiny installs and tests."""

    provider: Literal["hash"] = "hash"
    dimensions: int = Field(256, ge=8)


EmbedderConfig = Annotated[
    MiniLMOnnxConfig | SentenceTransformersConfig | OpenAIEmbedderConfig | HashEmbedderConfig,
    Field(discriminator="provider"),
]


class ReaderSettings(BaseModel):
    """How messages and documents become memories."""

    window_size: int = Field(
        1,
        ge=1,
        description="messages per memory; a window's memory carries all their speakers, "
        "ids, first and last time (event_time, event_end) and metadata (a key the "
        "messages disagree on holds the list of their values)",
    )
    window_stride: int | None = Field(None, ge=1, description="defaults to window_size")
    max_message_chars: int = Field(32_000, ge=1)
    max_document_chars: int = Field(5_000_000, ge=1)
    max_batch_items: int = Field(10_000, ge=1)
    chunk_chars: int = Field(1_000, ge=100)
    chunk_overlap: int = Field(150, ge=0)


class RetrievalSettings(BaseModel):
    """How search fans out and fuses."""

    fusion: Literal["rrf", "weighted"] = "rrf"
    rrf_k: int = Field(60, ge=1)
    bm25_weight: float = Field(0.5, ge=0)
    dense_weight: float = Field(0.5, ge=0)
    candidates: int = Field(100, ge=1, description="hits taken from each retriever")
    rerank: Literal["context", "none"] = Field(
        "context", description="re-rank hybrid hits with their conversation context"
    )
    rerank_pool: int = Field(100, ge=1, description="fused hits the re-ranker re-scores")
    max_query_chars: int = Field(
        8_000, ge=1, description="longest search query; a longer one is InputTooLargeError"
    )
    concurrent_searches: int = Field(
        0,
        ge=0,
        description="searches that run at once in one process (0: one per CPU); the others "
        "wait their turn, which is faster overall than sharing the CPUs among more",
    )


class StoreSettings(BaseModel):
    """The embedded SQLite store."""

    lock_timeout_s: float = Field(10.0, gt=0)
    ann_threshold: int = Field(
        50_000, ge=1, description="vectors per cube above which search uses the HNSW index"
    )
    text_mirror_inline_rows: int = Field(
        20_000, ge=0,
        description="indexed texts up to which the first text search loads the in-memory BM25 "
        "index before answering; a larger store loads it in the background while SQLite's "
        "FTS5 answers (the same results)",
    )


class GovernanceSettings(BaseModel):
    """API keys and authentication."""

    auth_max_failures: int = Field(
        10, ge=1, description="failed authentications per client before it is refused"
    )
    auth_window_s: float = Field(60.0, gt=0, description="window the failures are counted in")
    key_touch_interval_s: float = Field(
        60.0, ge=0, description="how often a key's last_used_at is written at most"
    )


class CapPolicy(BaseModel):
    """At most ``max_items`` current memories per user (of one ``kind``, or of all kinds)."""

    max_items: int = Field(..., ge=1)
    kind: str | None = Field(None, description="a memory kind, or None for all kinds")
    evict: Literal["lru", "lfu"] = Field(
        "lru", description="archive the least recently (lru) or least often (lfu) used first"
    )


#: Seconds between runs of the upkeep jobs by default: dedup and supersede run on request.
DEFAULT_SCHEDULE: dict[str, float | None] = {"ttl-purge": 3600.0, "decay": 86400.0, "caps": 3600.0}


class LifecycleSettings(BaseModel):
    """Knowledge updates, dedup, decay and caps (see :mod:`memosys.lifecycle`)."""

    supersede: bool = Field(True, description="detect knowledge updates when memories are added")
    fact_lookup: bool = Field(
        True, description="questions about a slot (where do I live?) lead with the current fact"
    )
    supersede_min_similarity: float = Field(
        0.1, ge=-1, le=1, description="pairs of one slot less similar than this are unrelated"
    )
    dedup_threshold: float = Field(
        0.77, gt=0, le=1,
        description="cosine similarity from which two memories with the same numbers, names and "
        "negation are duplicates (tuned by benchmarks/dedup_threshold.py for the bundled MiniLM)",
    )
    dedup_kinds: list[str] = Field(
        default_factory=lambda: ["fact", "preference", "note", "event", "summary"],
        description="kinds the dedup job merges (messages and chunks keep their place)",
    )
    decay_exponent: float = Field(0.5, gt=0, description="power-law exponent of forgetting")
    decay_scale_days: float = Field(1.0, gt=0, description="time scale of the forgetting curve")
    archive_below: float | None = Field(
        None, ge=0, le=1, description="the decay job archives memories scoring below this"
    )
    caps: list[CapPolicy] = Field(default_factory=list)
    job_batch: int = Field(200, ge=1, description="items per job step (one transaction)")
    schedule: dict[str, NonNegativeFloat | None] = Field(
        default_factory=lambda: dict(DEFAULT_SCHEDULE),
        description="seconds between scheduled runs of each job (0 or null: not scheduled); "
        "the scheduler runs in `memosys serve` and in a MemOS opened with background_jobs",
    )
    background_jobs: bool = Field(
        False, description="run the scheduled jobs in a background thread of every MemOS opened"
    )


class ActivationSettings(BaseModel):
    """KV-cache (activation) memory: model, storage, budget, eviction and promotion."""

    model: str = Field("smollm2", description="'smollm2', 'tiny-llama' or a local model path")
    storage_dtype: Literal["float32", "float16"] = "float32"
    max_block_tokens: int = Field(4096, ge=16, description="tokens one cached block may hold")
    byte_budget_per_cube: int = Field(2 * 1024**3, ge=0, description="cache bytes per cube")
    eviction: Literal["lru", "lfu", "predicted"] = "predicted"
    on_stale: Literal["rebuild", "drop"] = Field(
        "rebuild", description="what generate does with a stale cache: rebuild it lazily or drop it"
    )
    compose: bool = Field(False, description="join several cached blocks (approximate)")
    search_top_k: int = Field(5, ge=1, description="memories generate retrieves when none given")
    promote_threshold: int = Field(5, ge=1, description="accesses that make a memory hot")
    cold_after_s: float = Field(
        7 * 24 * 3600.0, gt=0, description="a hot memory not accessed for this long is demoted"
    )
    auto_promote: bool = Field(False, description="run promotion in the background after generate")
    hot_max_memories: int = Field(64, ge=1, description="memories in a cube's hot cache")


class MemosysSettings(BaseSettings):
    """Every setting of a memosys instance."""

    model_config = SettingsConfigDict(
        env_prefix="MEMOSYS_", env_nested_delimiter="__", extra="forbid"
    )

    embedder: EmbedderConfig = Field(default_factory=MiniLMOnnxConfig)
    reader: ReaderSettings = Field(default_factory=ReaderSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    governance: GovernanceSettings = Field(default_factory=GovernanceSettings)
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
    activation: ActivationSettings = Field(default_factory=ActivationSettings)

    @field_validator("embedder", mode="before")
    @classmethod
    def _bundled_unless_named(cls, value: Any) -> Any:
        """An embedder section that names no provider tunes the bundled one."""
        if isinstance(value, dict) and "provider" not in value:
            return {"provider": MiniLMOnnxConfig().provider, **value}
        return value


def _saved_before_int8(values: Any) -> Any:
    """Settings saved before int8 activations became the default keep float32: their
    cubes hold float32 vectors, and the fingerprint would refuse int8 ones."""
    embedder = values.get("embedder") if isinstance(values, dict) else None
    bundled = MiniLMOnnxConfig().provider
    if isinstance(embedder, dict) and embedder.get("provider", bundled) == bundled:
        return {**values, "embedder": {"precision": "float32", **embedder}}
    return values


def load_settings(file: str | Path | None = None, **overrides: Any) -> MemosysSettings:
    """Build settings from a JSON file, the environment and keyword overrides.

    Precedence, highest first: ``overrides``, ``MEMOSYS_*`` variables, the file;
    each layer sets only what it names (``MEMOSYS_EMBEDDER__THREADS`` keeps the
    file's other embedder settings), and a section naming another ``provider``
    replaces the one below it.
    """
    values: dict[str, Any] = {}
    if file is not None:
        try:
            values = _saved_before_int8(json.loads(Path(file).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read settings file {file}: {exc}") from exc
    try:
        from_env = EnvSettingsSource(MemosysSettings)()
        _refuse_unknown(from_env, (MemosysSettings,), ())
        below_env = _layered(_default_mappings(from_env), values)
        merged = _layered(_layered(below_env, from_env), overrides)
        return MemosysSettings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigurationError(
            f"invalid settings: {_problems(exc)}", detail={"errors": _locations(exc)}
        ) from exc
    except SettingsError as exc:  # a variable that holds a section is not JSON
        raise ConfigurationError(
            f"invalid settings: {exc}{_named_variables(_field_of(exc))}; a section's "
            "variable holds "
            "a JSON object, or set its fields one by one (MEMOSYS_SECTION__FIELD)"
        ) from exc


def _refuse_unknown(
    values: dict[str, Any], models: tuple[type[BaseModel], ...], path: tuple[str, ...]
) -> None:
    """ConfigurationError for a ``MEMOSYS_SECTION__NAME`` variable that names no setting
    of its section (a misspelling the section's model would drop without a word)."""
    for key, value in values.items():
        fields = [model.model_fields[key] for model in models if key in model.model_fields]
        if not fields:
            known = sorted({name for model in models for name in model.model_fields})
            variable = "MEMOSYS_" + "__".join(part.upper() for part in (*path, key))
            raise ConfigurationError(
                f"{variable} names no setting: {'.'.join(path) or 'settings'} has no "
                f"{key!r} (it has {', '.join(known)}); correct or unset the variable",
                detail={"variable": variable},
            )
        inner = tuple(model for field in fields for model in _models_in(field.annotation))
        if isinstance(value, dict) and inner:
            _refuse_unknown(value, inner, (*path, key))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The settings models a field holds (each member of a union)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _field_of(exc: SettingsError) -> tuple[str, ...]:
    """The field pydantic-settings names in its error (``field "retrieval"``)."""
    found = re.search(r'field "([A-Za-z0-9_]+)"', str(exc))
    return (found.group(1),) if found else ("",)


def _locations(exc: ValidationError) -> list[str]:
    return [".".join(map(str, error["loc"])) for error in exc.errors()]


def _problems(exc: ValidationError) -> str:
    """Each error on one line: where, what, and the ``MEMOSYS_*`` variables that set it."""
    return "; ".join(
        f"{'.'.join(map(str, error['loc'])) or 'settings'}: {error['msg']}"
        f"{_named_variables(tuple(map(str, error['loc'])))}"
        for error in exc.errors()
    )


def _named_variables(loc: tuple[str, ...]) -> str:
    """`` (set by MEMOSYS_X__Y='v')`` for the variables at or under ``loc`` (all of them
    for an empty one), else nothing (the value came from the file or the arguments)."""
    prefix = "MEMOSYS_" + "__".join(part.upper() for part in loc)
    named = sorted(
        f"{name}={value!r}" for name, value in os.environ.items()
        if name.upper() == prefix or name.upper().startswith(prefix + ("__" if loc else ""))
    )
    return f" (set by {', '.join(named)})" if named else ""


def _default_mappings(named: dict[str, Any]) -> dict[str, Any]:
    """The defaults of the mapping settings that ``named`` reaches into (``lifecycle.schedule``),
    so that ``MEMOSYS_LIFECYCLE__SCHEDULE__DECAY=0`` keeps the other jobs' intervals."""
    found: dict[str, Any] = {}
    for section, fields in named.items():
        model = MemosysSettings.model_fields.get(section)
        if model is None or not isinstance(fields, dict):
            continue
        defaults = model.get_default(call_default_factory=True)
        for name in fields:
            value = getattr(defaults, name, None)
            if isinstance(value, dict):
                found.setdefault(section, {})[name] = dict(value)
    return found


def _layered(base: Any, top: Any) -> Any:
    """``top`` over ``base``, key by key into sections; a section that names another
    ``provider`` than ``base`` replaces it whole (its settings mean nothing to the other)."""
    if not (isinstance(base, dict) and isinstance(top, dict)):
        return top
    if "provider" in top and top["provider"] != base.get("provider", top["provider"]):
        return top
    return {**base, **{key: _layered(base.get(key), value) for key, value in top.items()}}
