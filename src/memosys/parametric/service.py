"""Parametric memory of one MemOS: distil, list, load, drop, rebuild and offload adapters.

Adapters live in ``<data>/adapters/<cube_id>/<name>/`` (a temporary folder
owned by the instance for ``MemOS.open(":memory:")``). Memories are read
through the facade's public methods, so every call is scoped to its user.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memosys.core.clock import Clock
from memosys.core.errors import (
    ConflictError,
    EmptyInputError,
    InvalidInputError,
    ModelMismatchError,
    NotFoundError,
    PermissionDeniedError,
    StaleError,
    StoreError,
)
from memosys.core.items import MemoryItem, MemoryType, ParametricInfo
from memosys.parametric.dataset import Example, QuestionWriter, SourceMemory, build_examples
from memosys.parametric.evaluate import example_probes, perplexity, recall_by_kind, recall_hits
from memosys.parametric.invalidation import StaleMarker, is_gone, mark_stale, stale_reasons
from memosys.parametric.lm import LanguageModel, fingerprint_fields
from memosys.parametric.questions import lm_question_writer
from memosys.parametric.serving import LoadedAdapter, applied
from memosys.parametric.store import AdapterRecord, AdapterStore, checked_adapter_name
from memosys.parametric.train import StepProgress, TrainConfig, TrainedAdapter, train_adapter

if TYPE_CHECKING:
    from memosys.api.local import MemOS

_log = logging.getLogger(__name__)
MAX_MEMORIES = 10_000
BaseModelRef = str | LanguageModel


@dataclass
class OffloadReport:
    """What happened to an adapter's memories when it was dropped."""

    adapter: str
    served_as_text: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def resolve_lm(base_model: BaseModelRef) -> tuple[LanguageModel, str]:
    """The loaded model and the spec to record (a spec string is loaded once per process)."""
    if isinstance(base_model, str):
        from memosys.models.llm.registry import get_lm

        return get_lm(base_model), base_model
    spec = str(getattr(base_model.fingerprint, "model_id", "custom"))
    return base_model, spec


class ParametricMemory:
    """The adapters of one MemOS instance, checked against their memories before use."""

    def __init__(self, mos: MemOS, clock: Clock) -> None:
        self._mos = mos
        self._clock = clock
        if mos.data_dir is not None:
            root = mos.data_dir / "adapters"
        else:  # removed when this object goes away
            root = Path(tempfile.mkdtemp(prefix="memosys-adapters-"))
            weakref.finalize(self, shutil.rmtree, root, ignore_errors=True)
        self.store = AdapterStore(root)
        self.on_change = StaleMarker(self.store, self._cube_exists)
        """Marks adapters stale when their memories change (``MemOS`` passes every change on)."""

    # -- distil and rebuild ------------------------------------------------------

    def distill(
        self,
        *,
        user_id: str,
        name: str,
        memory_ids: Sequence[str] | None = None,
        filters: dict[str, Any] | None = None,
        cube: str | None = None,
        base_model: BaseModelRef = "smollm2",
        config: TrainConfig | None = None,
        question_writer: QuestionWriter | None = None,
        llm_questions: bool = False,
        progress: StepProgress | None = None,
        evaluate: bool = True,
    ) -> AdapterRecord:
        """Train adapter ``name`` on the chosen memories and store it with its provenance.

        With ``llm_questions`` the base model also writes questions about each
        memory (kept only when their answer is in the memory); ``question_writer``
        is any other source of such questions.
        """
        name = checked_adapter_name(name)
        memories = self._chosen(user_id, memory_ids, filters, cube)
        cube_id = _single_cube(memories)
        self._check_owner(user_id, cube_id)
        if (self.store.root / cube_id / name).exists():
            raise ConflictError(
                f"adapter {name!r} already exists; pick another name, rebuild it with "
                f"`memosys lora rebuild {name}` or drop it first",
                detail={"adapter": name},
            )
        lm, spec = resolve_lm(base_model)
        if llm_questions and question_writer is None:
            question_writer = lm_question_writer(lm)
        saved = self._train_and_save(
            name,
            cube_id,
            user_id,
            memories,
            lm,
            spec,
            config or TrainConfig(),
            question_writer,
            progress,
            evaluate,
            removed=[],
        )
        return self._audited("adapter.distill", saved, user_id)

    def rebuild(
        self,
        name: str,
        *,
        user_id: str,
        cube: str | None = None,
        base_model: BaseModelRef | None = None,
        progress: StepProgress | None = None,
        evaluate: bool = True,
    ) -> AdapterRecord:
        """Retrain an adapter on its memories as they are now, without the removed ones."""
        record = self.adapter(name, user_id=user_id, cube=cube)
        self._check_owner(user_id, record.cube_id)
        current = self._current(user_id, record.memory_ids)
        kept = [item for item in current.values() if item is not None and not is_gone(item)]
        removed = [i for i, item in current.items() if is_gone(item)]
        if not kept:
            raise EmptyInputError(
                f"every memory of adapter {name!r} was removed; drop it with "
                f"`memosys lora drop {name}`",
                detail={"adapter": name},
            )
        lm, spec = resolve_lm(base_model if base_model is not None else record.base_model)
        config = TrainConfig.from_dict(record.info.hyperparameters)
        writer = (
            lm_question_writer(lm) if record.info.hyperparameters.get("llm_questions") else None
        )
        history = [*record.info.hyperparameters.get("removed_memory_ids", []), *removed]
        rebuilt = self._train_and_save(
            record.name,
            record.cube_id,
            user_id,
            kept,
            lm,
            spec,
            config,
            writer,
            progress,
            evaluate,
            removed=history,
        )
        return self._audited("adapter.rebuild", rebuilt, user_id)

    def _train_and_save(
        self,
        name: str,
        cube_id: str,
        user_id: str,
        memories: list[MemoryItem],
        lm: LanguageModel,
        spec: str,
        config: TrainConfig,
        question_writer: QuestionWriter | None,
        progress: StepProgress | None,
        evaluate: bool,
        removed: list[str],
    ) -> AdapterRecord:
        sources = [SourceMemory(m.id, m.version, m.content) for m in memories]
        examples = build_examples(sources, question_writer=question_writer)
        trained = train_adapter(lm, examples, config, progress=progress)
        metrics = self._metrics(lm, name, trained, examples) if evaluate else {}
        info = ParametricInfo(
            base_model_fingerprint=fingerprint_fields(lm),
            source_memory_versions={m.id: m.version for m in memories},
            hyperparameters={
                **config.to_dict(),
                "lora": trained.lora_config,
                "bf16_autocast": trained.bf16,
                "llm_questions": question_writer is not None,
                "removed_memory_ids": removed,
            },
            seed=config.seed,
            loss_curve=trained.loss_curve,
            metrics=metrics,
            path=str(self.store.folder(cube_id, name)),
        )
        record = AdapterRecord(
            name=name,
            cube_id=cube_id,
            user_id=user_id,
            created_at=self._clock.now(),
            base_model=spec,
            info=info,
            weights_sha256="",
            train_seconds=round(trained.seconds, 3),
            example_count=len(examples),
        )
        return self.store.save(record, trained.weights, trained.lora_config)

    @staticmethod
    def _metrics(
        lm: LanguageModel, name: str, trained: TrainedAdapter, examples: list[Example]
    ) -> dict[str, float]:
        """Recall of the trained cloze/question forms, and perplexity with and without it."""
        probes = example_probes(examples)
        ppl_base = perplexity(lm)
        with applied(lm.model, [LoadedAdapter(name, trained.lora_config, trained.weights)]):
            hits = recall_hits(lm, probes)
            ppl_adapter = perplexity(lm)
        metrics = {
            f"recall_{kind}": round(v, 4) for kind, v in recall_by_kind(probes, hits).items()
        }
        metrics.update(ppl_base=round(ppl_base, 4), ppl_with_adapter=round(ppl_adapter, 4))
        return metrics

    # -- read, check, load -------------------------------------------------------

    def list_adapters(self, *, user_id: str, cube: str | None = None) -> list[AdapterRecord]:
        """The user's adapters (one cube, or all their cubes), checked for staleness.

        A damaged adapter is left out, with a warning in the log: asking for it by
        name raises its StoreError, and :meth:`drop` removes it.
        """
        found: list[AdapterRecord] = []
        for cube_id in self._cube_ids(user_id, cube):
            for name in self.store.names(cube_id):
                try:
                    record = self.store.record(cube_id, name)
                except StoreError as exc:
                    _log.warning("%s", exc.message)
                    continue
                found.append(self._checked(record, user_id))
        return found

    def adapter(self, name: str, *, user_id: str, cube: str | None = None) -> AdapterRecord:
        """One adapter by name, checked for staleness; NotFoundError if the user has none,
        StoreError if it is damaged (other adapters, damaged or not, play no part)."""
        cube_id = self._cube_of(name, user_id, cube)
        return self._checked(self.store.record(cube_id, name), user_id)

    def _cube_of(self, name: str, user_id: str, cube: str | None) -> str:
        """The one cube of the user's (or ``cube``) holding an adapter folder ``name``; the
        user's own cubes first, so a cube shared with them never makes their name ambiguous."""
        name = checked_adapter_name(name)
        found = [c for c in self._cube_ids(user_id, cube) if name in self.store.names(c)]
        if len(found) > 1 and cube is None:
            own = {c.id for c in self._mos.list_cubes(user_id=user_id) if c.owner == user_id}
            found = [c for c in found if c in own] or found
        if not found:
            raise NotFoundError(f"adapter {name!r} not found", detail={"adapter": name})
        if len(found) > 1:
            raise InvalidInputError(
                f"several cubes have an adapter named {name!r}; name the cube",
                detail={"adapter": name},
            )
        return found[0]

    def load(
        self,
        name: str,
        lm: LanguageModel,
        *,
        user_id: str,
        cube: str | None = None,
        allow_stale: bool = False,
    ) -> LoadedAdapter:
        """The adapter's weights, refused for another base model, (unless allowed) when
        stale, and always once a memory it holds was forgotten."""
        record = self.adapter(name, user_id=user_id, cube=cube)
        expected, actual = record.info.base_model_fingerprint.get("digest"), lm.fingerprint.digest()
        if expected != actual:
            raise ModelMismatchError(
                f"adapter {name!r} was trained on base model {record.base_model!r} "
                f"(fingerprint {expected}), not on this model ({actual}); use that model or "
                f"rebuild the adapter on this one",
                detail={"adapter": name, "expected": expected, "actual": actual},
            )
        if record.forgotten_memory_ids:  # forgotten for good: not even when stale is allowed
            raise StaleError(
                f"adapter {name!r} holds forgotten memories "
                f"({', '.join(record.forgotten_memory_ids)}) and is never used again; rebuild "
                f"it without them with `memosys lora rebuild {name}` or drop it",
                detail={"adapter": name, "forgotten": record.forgotten_memory_ids},
            )
        if record.stale and not allow_stale:
            raise StaleError(
                f"adapter {name!r} is stale ({'; '.join(record.stale_reasons)}); rebuild it "
                f"with `memosys lora rebuild {name}` or pass allow_stale to use it anyway",
                detail={"adapter": name, "reasons": record.stale_reasons},
            )
        weights, lora_config = self.store.weights(record)
        return LoadedAdapter(name, lora_config, weights)

    # -- drop and offload --------------------------------------------------------

    def drop(self, name: str, *, user_id: str, cube: str | None = None) -> AdapterRecord:
        """Delete an adapter, a damaged one too; returns its last record (for a damaged
        one: its name and cube, marked stale with the damage as the reason)."""
        try:
            record = self.adapter(name, user_id=user_id, cube=cube)
        except StoreError as exc:  # unreadable provenance: the folder can still go
            cube_id = self._cube_of(name, user_id, cube)
            record = AdapterRecord(
                name=name,
                cube_id=cube_id,
                user_id=user_id,
                created_at=self._clock.now(),
                base_model="unknown",
                info=ParametricInfo(path=str(self.store.folder(cube_id, name)), stale=True),
                weights_sha256="",
                stale_reasons=[exc.message],
            )
        self._check_owner(user_id, record.cube_id)
        self.store.delete(record.cube_id, record.name)
        return self._audited("adapter.drop", record, user_id)

    def offload(self, name: str, *, user_id: str, cube: str | None = None) -> OffloadReport:
        """Drop an adapter after checking that each memory it held is still stored as text."""
        record = self.adapter(name, user_id=user_id, cube=cube)
        self._check_owner(user_id, record.cube_id)
        report = OffloadReport(adapter=record.name)
        for memory_id, item in self._current(user_id, record.memory_ids).items():
            if is_gone(item):
                report.removed.append(memory_id)
            else:
                report.served_as_text.append(memory_id)
        self.store.delete(record.cube_id, record.name)
        self._audited("adapter.offload", record, user_id)
        return report

    # -- helpers -----------------------------------------------------------------

    def _cube_exists(self, cube_id: str) -> bool:
        return self._mos.store.get_cube(cube_id) is not None

    def _check_owner(self, user_id: str, cube_id: str) -> None:
        """Only a cube's owner writes its adapters (a share, even read-write, is for memories)."""
        found = self._mos.store.get_cube(cube_id)
        if found is None or found.owner != user_id:
            raise PermissionDeniedError(
                "only the owner of a cube distils, rebuilds, drops or offloads its adapters; "
                "ask its owner",
                detail={"cube": cube_id},
            )

    def _audited(self, action: str, record: AdapterRecord, user_id: str) -> AdapterRecord:
        """``record`` after its change is audited (the files are not in the database, so
        the audit record follows the change instead of sharing its transaction)."""
        detail = {"name": record.name, "memories": len(record.memory_ids)}
        self._mos.governance.record(action, user_id, cube_id=record.cube_id, detail=detail)
        return record

    def _checked(self, record: AdapterRecord, user_id: str) -> AdapterRecord:
        reasons = stale_reasons(record, self._current(user_id, record.memory_ids))
        return mark_stale(self.store, record, reasons) if reasons else record

    def _current(self, user_id: str, ids: Sequence[str]) -> dict[str, MemoryItem | None]:
        current: dict[str, MemoryItem | None] = {}
        for memory_id in ids:
            try:
                current[memory_id] = self._mos.get(memory_id, user_id=user_id)
            except NotFoundError:
                current[memory_id] = None
        return current

    def _cube_ids(self, user_id: str, cube: str | None) -> list[str]:
        if cube is not None:
            return [self._mos.cube(cube, user_id=user_id).id]
        return [c.id for c in self._mos.list_cubes(user_id=user_id)]

    def _chosen(
        self,
        user_id: str,
        memory_ids: Sequence[str] | None,
        filters: dict[str, Any] | None,
        cube: str | None,
    ) -> list[MemoryItem]:
        if (memory_ids is None) == (filters is None):
            raise InvalidInputError("choose the memories with memory_ids or with filters (one)")
        if memory_ids is not None:
            listed = isinstance(memory_ids, Sequence) and not isinstance(memory_ids, str)
            if not listed or not memory_ids:
                raise InvalidInputError("memory_ids must be a non-empty list of memory ids")
            # an id given twice is one memory, trained on once (as activation.build and
            # generate(memories=...) treat repeats): first place kept
            items = [self._mos.get(i, user_id=user_id) for i in dict.fromkeys(memory_ids)]
        else:
            items = self._mos.list(user_id=user_id, cube=cube, filters=filters, limit=MAX_MEMORIES)
        items = [item for item in items if item.type == MemoryType.TEXTUAL and not is_gone(item)]
        if not items:
            raise EmptyInputError("no textual memories match; check the ids or the filter")
        if cube is not None and items[0].cube_id != self._mos.cube(cube, user_id=user_id).id:
            raise InvalidInputError(f"the chosen memories are not in cube {cube!r}")
        return items


def _single_cube(memories: Sequence[MemoryItem]) -> str:
    cube_ids = {m.cube_id for m in memories}
    if len(cube_ids) != 1:
        raise InvalidInputError(
            "an adapter lives in one cube; choose memories from a single cube "
            f"(these come from {len(cube_ids)})"
        )
    return cube_ids.pop()
