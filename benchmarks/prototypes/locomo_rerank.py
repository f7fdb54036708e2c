"""Offline re-ranking prototypes on LoCoMo candidates (see locomo_candidates.py).

    .venv/bin/python benchmarks/prototypes/locomo_rerank.py /tmp/memosys-bench/locomo_cands.json \
        /work/shared/data/locomo/locomo_dev.json

Each variant re-scores the candidate turns of every question from their
BM25 / dense ranks and scores, and may lift the turns next to a strong
candidate (in LoCoMo the answer often follows the turn that repeats the
question's words), and may boost turns spoken by a speaker the question names
(96% of the gold turns of questions that name one speaker are that speaker's
own turns), and may boost turns whose session date falls within a week of an
absolute date the question names ("on 25 May, 2022", "in May 2022"). Scores
are turn-level recall_any@10 / recall_all@10 over categories 1-4. Parameters
are chosen by leave-one-conversation-out, so each conversation is scored with
parameters picked on the other four.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from memosys.eval.locomo import parse_locomo_time
from memosys.eval.metrics import recall_all, recall_any

Cand = dict[str, Any]
K = 10


def _split(dia: str) -> tuple[int, int]:
    s, t = dia[1:].split(":")
    return int(s), int(t)


def rrf(c: Cand, w_bm25: float, rrf_k: int = 60) -> float:
    """Weighted reciprocal-rank fusion of the two retrievers."""
    score = 0.0
    if "bm25" in c:
        score += w_bm25 / (rrf_k + c["bm25"][0])
    if "dense" in c:
        score += (1 - w_bm25) / (rrf_k + c["dense"][0])
    return score


def rescore(
    cands: list[Cand], base: Callable[[Cand], float], before: float, after: float,
    speaker_boost: float, speakers: dict[str, str], named: set[str],
    date_boost: float = 0.0, dated_sessions: frozenset[int] = frozenset(),
) -> list[str]:
    """Rank turns by ``base`` plus a share of the preceding/following turn's base score.

    ``before`` lifts a turn by the score of the turn just before it (the answer
    to a matching question); ``after`` by the turn just after it. A turn
    spoken by a speaker the question names is multiplied by ``1 + speaker_boost``,
    and a turn of a session in ``dated_sessions`` by ``1 + date_boost``.
    """
    own = {c["id"]: base(c) for c in cands}
    top = max(own.values(), default=1.0) or 1.0
    own = {k: v / top for k, v in own.items()}
    ids = set(own)
    for dia in list(ids):
        s, t = _split(dia)
        ids.update({f"D{s}:{t - 1}", f"D{s}:{t + 1}"})
    scores: dict[str, float] = {}
    for dia in ids:
        s, t = _split(dia)
        score = (
            own.get(dia, 0.0)
            + before * own.get(f"D{s}:{t - 1}", 0.0)
            + after * own.get(f"D{s}:{t + 1}", 0.0)
        )
        if speakers.get(dia) in named:
            score *= 1 + speaker_boost
        if s in dated_sessions:
            score *= 1 + date_boost
        scores[dia] = score
    return sorted(scores, key=lambda d: -scores[d])


Params = tuple[float, float, float, float, float]  # (w_bm25, before, after, speaker, date)


def per_row(rows: list[dict[str, Any]], params: Params) -> list[tuple[float, float]]:
    """(recall_any@10, recall_all@10) of every row under ``params``."""
    w, before, after, boost, date_boost = params
    out = []
    for row in rows:
        ranked = rescore(row["cands"], lambda c: rrf(c, w), before, after, boost,
                         row["speakers"], row["named"], date_boost, row["dated"])
        out.append((recall_any(ranked, row["gold"], K), recall_all(ranked, row["gold"], K)))
    return out


def _mean(values: list[tuple[float, float]]) -> tuple[float, float]:
    return (sum(v[0] for v in values) / len(values), sum(v[1] for v in values) / len(values))


_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DAY = re.compile(rf"(\d{{1,2}}) ({_MONTHS}),? (\d{{4}})")
_MONTH = re.compile(rf"({_MONTHS}),? (\d{{4}})")


def question_dates(question: str) -> list[tuple[date, date]]:
    """Absolute dates named in a question, as (first, last) day ranges."""
    days = [datetime.strptime(" ".join(m.groups()), "%d %B %Y").date()
            for m in _DAY.finditer(question)]
    if days:
        return [(d, d) for d in days]
    ranges = []
    for m in _MONTH.finditer(question):
        first = datetime.strptime(f"1 {m[1]} {m[2]}", "%d %B %Y").date()
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        ranges.append((first, last))
    return ranges


def dated_sessions(question: str, session_dates: dict[int, date]) -> frozenset[int]:
    """Sessions held within a week of a date the question names."""
    week = timedelta(days=7)
    return frozenset(
        n for n, when in session_dates.items()
        for first, last in question_dates(question) if first - week <= when <= last + week
    )


def load(cands_path: str, data_path: str) -> list[dict[str, Any]]:
    """Candidate rows of categories 1-4 with turn speakers, named speakers, dated sessions."""
    speakers: dict[str, dict[str, str]] = {}
    people: dict[str, set[str]] = {}
    dates: dict[str, dict[int, date]] = {}
    for sample in json.loads(Path(data_path).read_text(encoding="utf-8")):
        conv = sample["conversation"]
        dates[sample["sample_id"]] = {
            int(m[1]): parse_locomo_time(v).date()
            for k, v in conv.items() if (m := re.fullmatch(r"session_(\d+)_date_time", k))
        }
        people[sample["sample_id"]] = {conv["speaker_a"], conv["speaker_b"]}
        speakers[sample["sample_id"]] = {
            t["dia_id"]: t["speaker"] for v in conv.values() if isinstance(v, list) for t in v
        }
    questions = json.loads(Path(cands_path).read_text(encoding="utf-8"))["questions"]
    rows = [r for r in questions if r["category"] != 5]
    for row in rows:
        conv = row["qid"].split("/")[0]
        row["speakers"] = speakers[conv]
        words = set(re.findall(r"\w+", row["question"]))
        row["named"] = {p for p in people[conv] if p in words}
        row["dated"] = dated_sessions(row["question"], dates[conv])
    return rows


def main() -> None:
    rows = load(sys.argv[1], sys.argv[2])
    named: dict[str, Params] = {
        "hybrid rrf (current)": (0.5, 0.0, 0.0, 0.0, 0.0),
        "bm25 only": (1.0, 0.0, 0.0, 0.0, 0.0),
        "rrf bm25-weighted 0.7": (0.7, 0.0, 0.0, 0.0, 0.0),
        "hybrid + neighbour lift 0.5/0.25": (0.5, 0.5, 0.25, 0.0, 0.0),
        "hybrid + speaker boost 0.5": (0.5, 0.0, 0.0, 0.5, 0.0),
        "hybrid + date boost 1.0": (0.5, 0.0, 0.0, 0.0, 1.0),
        "rrf 0.7 + lift 0.5/0.25 + speaker 0.5": (0.7, 0.5, 0.25, 0.5, 0.0),
        "rrf 0.7 + lift + speaker + date 1.0": (0.7, 0.5, 0.25, 0.5, 1.0),
    }
    for name, params in named.items():
        a, b = _mean(per_row(rows, params))
        print(f"{name:40s} any@10={a:.3f} all@10={b:.3f}")
    grid = list(itertools.product([0.5, 0.7, 0.8], [0.0, 0.25, 0.5], [0.0, 0.25],
                                  [0.0, 0.5, 1.0], [0.0, 1.0]))
    table = {p: per_row(rows, p) for p in grid}
    convs = sorted({r["qid"].split("/")[0] for r in rows})
    held: list[tuple[float, float]] = []
    for conv in convs:
        test = [i for i, r in enumerate(rows) if r["qid"].startswith(conv + "/")]
        train = [i for i in range(len(rows)) if i not in set(test)]
        best = max(grid, key=lambda p: sum(sum(table[p][i]) for i in train))
        fold = [table[best][i] for i in test]
        held.extend(fold)
        a, b = _mean(fold)
        print(f"LOCO {conv}: params {best} -> held-out any@10={a:.3f} all@10={b:.3f} "
              f"(n={len(test)})")
    a, b = _mean(held)
    print(f"leave-one-conversation-out overall: any@10={a:.3f} all@10={b:.3f}")


if __name__ == "__main__":
    main()
