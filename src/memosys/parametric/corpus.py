"""General English text (bundled), to keep an adapter close to its base model and measure drift.

The bundled file holds short encyclopedic paragraphs written for memosys.
The first half is *replay* text that training may use; the second half is
*held-out* text used only to measure perplexity.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

Split = Literal["replay", "heldout"]


def general_paragraphs(split: Split) -> list[str]:
    """The paragraphs of one split of the bundled general text."""
    text = (
        resources.files("memosys.parametric")
        .joinpath("assets/general_text.md")
        .read_text(encoding="utf-8")
    )
    paragraphs = [part.strip() for part in text.split("\n\n") if part.strip()]
    half = len(paragraphs) // 2
    return paragraphs[:half] if split == "replay" else paragraphs[half:]
