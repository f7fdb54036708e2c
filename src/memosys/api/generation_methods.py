"""The facade's generation methods: answer with a local model, using activation memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, overload

from memosys.activation.generation import GenerateResult, GenerateStream, Request, generate
from memosys.activation.manager import ActivationMemory
from memosys.api.facade import FacadeBase
from memosys.core.errors import InvalidInputError
from memosys.core.events import INVALIDATING_KINDS, MemoryChange


class GenerationMethods(FacadeBase):
    """Generation with a local model and KV-cache activation memory (:mod:`memosys.activation`)."""

    @property
    def activation(self) -> ActivationMemory:
        """The KV caches of this instance (created on first use)."""
        service: ActivationMemory | None = getattr(self, "_activation_memory", None)
        if service is None:
            service = self._activation_memory = ActivationMemory(self._as_memos(), self._clock)
        return service

    def _tell_activation(self, change: MemoryChange) -> None:
        """Event listener (subscribed when the instance is made): the KV caches hear every
        change, also those on disk that this instance has not used yet, so that a delete or
        forget in any process removes the copies of the text they hold."""
        if change.kind in INVALIDATING_KINDS and self._in_use("_activation_memory", "kv"):
            self.activation.on_change(change)

    @overload
    def generate(
        self,
        query: str,
        *,
        user_id: str,
        memories: Sequence[str] | None = None,
        max_new_tokens: int = 128,
        stream: Literal[False] = False,
        model: str | None = None,
        adapters: Sequence[str] = (),
        use_activation: bool = True,
        allow_stale_adapters: bool = False,
    ) -> GenerateResult: ...

    @overload
    def generate(
        self,
        query: str,
        *,
        user_id: str,
        memories: Sequence[str] | None = None,
        max_new_tokens: int = 128,
        stream: Literal[True],
        model: str | None = None,
        adapters: Sequence[str] = (),
        use_activation: bool = True,
        allow_stale_adapters: bool = False,
    ) -> GenerateStream: ...

    def generate(
        self,
        query: str,
        *,
        user_id: str,
        memories: Sequence[str] | None = None,
        max_new_tokens: int = 128,
        stream: bool = False,
        model: str | None = None,
        adapters: Sequence[str] = (),
        use_activation: bool = True,
        allow_stale_adapters: bool = False,
    ) -> GenerateResult | GenerateStream:
        """Answer ``query`` with a local model, the memories in the prompt.

        ``memories`` are memory ids (in prompt order); ``None`` retrieves the top
        ``activation.search_top_k`` hits. A fresh KV cache holding them is used
        as the prompt's prefix (``use_activation``); ``adapters`` are LoRA
        adapters applied for this call (they turn caches off: caches hold
        base-model states). ``model`` defaults to ``activation.model``. The result
        carries text, token ids, time to first token, tokens/s and the memory
        ids, caches and adapters used; ``stream=True`` yields text pieces first.
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("query must be a non-empty string")
        if not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= 4096:
            raise InvalidInputError("max_new_tokens must be an integer from 1 to 4096")
        if isinstance(adapters, str) or not all(isinstance(a, str) for a in adapters):
            raise InvalidInputError("adapters must be a list of adapter names")
        spec = model or self.settings.activation.model
        from memosys.models.llm.registry import get_lm

        request = Request(
            query=query,
            user_id=self._cubes.ensure_user(user_id),
            memories=memories,
            max_new_tokens=max_new_tokens,
            model=spec,
            adapters=list(adapters),
            use_activation=use_activation,
            allow_stale_adapters=allow_stale_adapters,
        )
        return generate(self._as_memos(), self.activation, get_lm(spec), request, stream=stream)
