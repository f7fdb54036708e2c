"""Context re-ranking: re-score fused candidates with what surrounds them.

In a conversation the memory that answers a question is often not the one
that repeats its words but the turn right after it (the reply), or a turn
of the person the question names, or one from the week the question names.
The context re-ranker scores every candidate, and the turns just before and
after it, with a small linear model over such features:

- each retriever's reciprocal rank and relative score, for the candidate and
  for its previous and next turn;
- whether its speaker (any of a window's speakers) is named in the query,
  whether its time is near a date the query names, how much BM25 evidence its
  session holds;
- how many of the query's words it contains, and whether it is a question.

The weights are learned (logistic regression) by
``benchmarks/train_reranker.py`` and shipped in ``rerank_weights.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from memosys.core.errors import ConfigurationError
from memosys.core.items import ItemView, MemoryItem, speakers_of
from memosys.retrieval.fusion import Fused
from memosys.retrieval.query_signals import named_dates, named_speakers, near
from memosys.retrieval.term_match import QueryTerms

Matrix = npt.NDArray[np.float64]
Place = tuple[str, str, int]
_OWN = ("rrank_bm25", "rrank_dense", "bm25_rel", "cosine")
FEATURES: tuple[str, ...] = (
    *(f"{who}.{name}" for who in ("self", "prev", "next") for name in _OWN),
    "speaker_named",
    "time_near_named_date",
    "query_names_date",
    "session_bm25_mass",
    "term_coverage",
    "is_question",
)
WEIGHTS_FILE = "rerank_weights.json"


@dataclass
class Candidate:
    """An item to re-rank; ``fused`` is None for a turn that joined as a neighbour of a hit."""

    item: MemoryItem | ItemView
    fused: Fused | None
    joined_for: str | None = None


def place(item: MemoryItem | ItemView) -> Place | None:
    """Where an item sits in its conversation: (cube, session, position)."""
    if item.session_id is None or item.position is None:
        return None
    return (item.cube_id, item.session_id, item.position)


def adjacent_places(item: MemoryItem | ItemView) -> list[Place]:
    """The places of the turns just before and after ``item``."""
    here = place(item)
    if here is None:
        return []
    cube, session, position = here
    step = item.message_count
    return [(cube, session, position - step), (cube, session, position + step)]


def _own(candidate: Candidate | None, top_bm25: float) -> list[float]:
    if candidate is None or candidate.fused is None:
        return [0.0, 0.0, 0.0, 0.0]
    ranks = {m.retriever: m for m in candidate.fused.matches}
    bm25, dense = ranks.get("bm25"), ranks.get("dense")
    return [
        60.0 / (60 + bm25.rank) if bm25 else 0.0,
        60.0 / (60 + dense.rank) if dense else 0.0,
        bm25.score / top_bm25 if bm25 and top_bm25 > 0 else 0.0,
        dense.score if dense else 0.0,
    ]


def feature_matrix(query: str, candidates: Sequence[Candidate]) -> Matrix:
    """One row of :data:`FEATURES` per candidate."""
    by_place = {p: c for c in candidates if (p := place(c.item)) is not None}
    top_bm25 = max(
        (m.score for c in candidates if c.fused for m in c.fused.matches if m.retriever == "bm25"),
        default=0.0,
    )
    own = {id(c): _own(c, top_bm25) for c in candidates}
    mass: dict[tuple[str, str], float] = {}
    for c in candidates:
        if c.item.session_id is not None:
            key = (c.item.cube_id, c.item.session_id)
            mass[key] = mass.get(key, 0.0) + own[id(c)][2]
    who = {id(c): speakers_of(c.item) for c in candidates}
    named = named_speakers(query, {s for c in candidates for s in who[id(c)]})
    dates = named_dates(query)
    terms = QueryTerms(query)
    rows = []
    for c in candidates:
        around = adjacent_places(c.item)
        before, after = (around[0], around[1]) if around else (None, None)
        when = c.item.event_time
        rows.append(
            [
                *own[id(c)],
                *_own(by_place.get(before) if before else None, top_bm25),
                *_own(by_place.get(after) if after else None, top_bm25),
                float(any(s in named for s in who[id(c)])),
                float(bool(dates) and when is not None and near(when.date(), dates)),
                float(bool(dates)),
                mass.get((c.item.cube_id, c.item.session_id or ""), 0.0),
                len(terms.found_in(c.item.content)) / len(terms.terms) if terms.terms else 0.0,
                float(c.item.content.rstrip().endswith("?")),
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))


@dataclass(frozen=True)
class LinearReranker:
    """Standardised features times learned weights, plus a bias; higher is better."""

    mean: Matrix
    scale: Matrix
    weights: Matrix
    bias: float

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LinearReranker:
        """Build from the JSON written by the training script; checks the feature names."""
        if data.get("features") != list(FEATURES):
            raise ConfigurationError(
                "the re-ranker weights were trained on other features; retrain them with "
                "benchmarks/train_reranker.py"
            )
        values = {k: np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")}
        return cls(values["mean"], values["scale"], values["weights"], float(str(data["bias"])))

    @classmethod
    def load(cls, path: Path) -> LinearReranker:
        """Weights from a JSON file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read re-ranker weights {path}: {exc}") from exc
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, object]:
        """The JSON form (feature names, standardisation, weights, bias)."""
        return {
            "features": list(FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias,
        }

    def logits(self, features: Matrix) -> Matrix:
        """The model's score for each row."""
        scores: Matrix = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return scores

    def scores(self, query: str, candidates: Sequence[Candidate]) -> list[float]:
        """A probability-like score in (0, 1) for each candidate."""
        if not candidates:
            return []
        return [1.0 / (1.0 + math.exp(-z)) for z in self.logits(feature_matrix(query, candidates))]


@cache
def bundled_reranker() -> LinearReranker:
    """The re-ranker shipped with memosys (loaded once)."""
    text = resources.files("memosys.retrieval").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
    return LinearReranker.from_dict(json.loads(text))
