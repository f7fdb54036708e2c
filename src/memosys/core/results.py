"""What search returns: hits with a score and an explanation."""

from __future__ import annotations

from pydantic import BaseModel, Field

from memosys.core.items import MemoryItem


class RetrieverMatch(BaseModel):
    """One retriever's view of a hit."""

    retriever: str  # "bm25" | "dense" | ...
    rank: int  # 1-based rank in that retriever's list
    score: float  # the retriever's raw score


class Explain(BaseModel):
    """Why a hit was returned and how its score was made."""

    retrievers: list[RetrieverMatch] = Field(default_factory=list)
    fusion: str = ""
    fused_score: float = 0.0
    adjustments: dict[str, float] = Field(default_factory=dict)  # e.g. recency, importance
    matched_terms: list[str] = Field(default_factory=list)
    expanded_from: str | None = None  # id of the hit this neighbour was added for
    reranker: str | None = None  # the re-ranker that set the final order, e.g. "context"
    rerank_score: float | None = None  # its score (0..1) before recency/importance

    def summary(self) -> str:
        """A one-line human description, e.g. ``bm25#1 (7.21) + dense#3 (0.64)``."""
        parts = [f"{m.retriever}#{m.rank} ({m.score:.2f})" for m in self.retrievers]
        text = " + ".join(parts) if parts else "-"
        if self.expanded_from:
            text = f"neighbour of {self.expanded_from}"
        if self.rerank_score is not None:
            text += f" -> {self.reranker} {self.rerank_score:.2f}"
        if self.matched_terms:
            text += " terms: " + ", ".join(self.matched_terms[:5])
        return text


class SearchHit(BaseModel):
    """A retrieved memory with its final score and explanation."""

    item: MemoryItem
    score: float
    explain: Explain = Field(default_factory=Explain)


class SessionHit(BaseModel):
    """A session ranked by the message hits it contains."""

    session_id: str
    score: float
    hits: list[SearchHit] = Field(default_factory=list)
