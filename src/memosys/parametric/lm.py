"""What parametric memory needs from a language model (met by ``memosys.models.llm.LocalLM``)."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol


class Fingerprint(Protocol):
    """Identifies a base model's exact weights; ``digest()`` is stable across processes."""

    def digest(self) -> str: ...


class LanguageModel(Protocol):
    """A loaded causal LM: the transformers model and tokenizer, its device and fingerprint."""

    @property
    def model(self) -> Any: ...

    @property
    def tokenizer(self) -> Any: ...

    @property
    def device(self) -> Any: ...

    @property
    def fingerprint(self) -> Fingerprint: ...


def fingerprint_fields(lm: LanguageModel) -> dict[str, str]:
    """The fingerprint as strings for provenance, always with its ``digest``."""
    fingerprint = lm.fingerprint
    fields: dict[str, str] = {}
    if dataclasses.is_dataclass(fingerprint) and not isinstance(fingerprint, type):
        fields = {key: str(value) for key, value in dataclasses.asdict(fingerprint).items()}
    fields["digest"] = fingerprint.digest()
    return fields
