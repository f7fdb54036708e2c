"""The facade's parametric-memory methods: distil memories into LoRA adapters and manage them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from memosys.api.facade import FacadeBase
from memosys.core.events import INVALIDATING_KINDS, MemoryChange
from memosys.parametric.lm import LanguageModel
from memosys.parametric.service import OffloadReport, ParametricMemory
from memosys.parametric.store import AdapterRecord
from memosys.parametric.train import StepProgress

AdapterRecords: TypeAlias = list[AdapterRecord]


class ParametricMethods(FacadeBase):
    """LoRA adapters distilled from memories (see :mod:`memosys.parametric`)."""

    @property
    def parametric(self) -> ParametricMemory:
        """The adapters of this instance (created on first use)."""
        service: ParametricMemory | None = getattr(self, "_parametric_memory", None)
        if service is None:
            service = self._parametric_memory = ParametricMemory(self._as_memos(), self._clock)
        return service

    def _tell_parametric(self, change: MemoryChange) -> None:
        """Event listener (subscribed when the instance is made): the adapters hear every
        change, also those on disk that this instance has not used yet."""
        if change.kind in INVALIDATING_KINDS and self._in_use("_parametric_memory", "adapters"):
            self.parametric.on_change(change)

    def distill(
        self,
        *,
        user_id: str,
        name: str,
        memory_ids: Sequence[str] | None = None,
        filters: dict[str, Any] | None = None,
        cube: str | None = None,
        base_model: str | LanguageModel = "smollm2",
        rank: int = 16,
        steps: int = 80,
        seed: int = 0,
        llm_questions: bool = False,
        progress: StepProgress | None = None,
    ) -> AdapterRecord:
        """Distil the chosen memories (``memory_ids`` or ``filters``) into LoRA adapter ``name``.
        An id given more than once is distilled once (its first place kept).

        Trains on ``base_model`` (a spec such as ``"smollm2"`` or a local model
        folder); the adapter is stored in the memories' cube with its provenance.
        Training data is made by rules; ``llm_questions`` lets the model add
        questions. ``progress(step, steps, loss)`` is called after each step.
        """
        from memosys.parametric.train import TrainConfig

        config = TrainConfig(rank=rank, steps=steps, seed=seed)
        return self.parametric.distill(
            user_id=self._cubes.ensure_user(user_id), name=name, memory_ids=memory_ids,
            filters=filters, cube=cube, base_model=base_model, config=config,
            llm_questions=llm_questions, progress=progress,
        )

    def list_adapters(self, *, user_id: str, cube: str | None = None) -> AdapterRecords:
        """The user's adapters with their provenance; stale ones are marked."""
        return self.parametric.list_adapters(user_id=self._cubes.reader(user_id), cube=cube)

    def adapter(self, name: str, *, user_id: str, cube: str | None = None) -> AdapterRecord:
        """One adapter's provenance by name; NotFoundError if the user has none."""
        return self.parametric.adapter(name, user_id=self._cubes.reader(user_id), cube=cube)

    def drop_adapter(self, name: str, *, user_id: str, cube: str | None = None) -> AdapterRecord:
        """Delete an adapter (its memories stay as text); returns its last record."""
        return self.parametric.drop(name, user_id=self._cubes.ensure_user(user_id), cube=cube)

    def rebuild_adapter(
        self,
        name: str,
        *,
        user_id: str,
        cube: str | None = None,
        base_model: str | None = None,
        progress: StepProgress | None = None,
    ) -> AdapterRecord:
        """Retrain an adapter on its memories as they are now, leaving out removed ones."""
        return self.parametric.rebuild(
            name, user_id=self._cubes.ensure_user(user_id), cube=cube, base_model=base_model,
            progress=progress,
        )

    def offload(self, adapter: str, *, user_id: str, cube: str | None = None) -> OffloadReport:
        """Drop an adapter after checking that every memory it held is still served as text."""
        return self.parametric.offload(adapter, user_id=self._cubes.ensure_user(user_id), cube=cube)
