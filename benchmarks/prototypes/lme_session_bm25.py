"""LongMemEval: how well does BM25 over *whole sessions* rank the haystack? (prototype)

    .venv/bin/python benchmarks/prototypes/lme_session_bm25.py \
        /work/shared/data/longmemeval/longmemeval_s_dev60.json [--cands lme_cands.json]

memosys indexes one message per memory and ranks sessions from message hits
(``search_sessions``). This prototype indexes each session as one document in
an in-memory SQLite FTS5 table (the store's tokenizer, ``porter unicode61``,
and the store's query builder: stopwords out, terms ORed) and ranks sessions
by FTS5 ``bm25()``, with all turns or with the user's turns only. No
embeddings, so it runs in seconds; it shows what a session-level lexical
signal alone reaches. With ``--cands`` (from ``lme_candidates.py``) it also
ranks sessions from memosys' message hits in other ways (best hit, decayed
sum as ``search_sessions`` does, user turns only) and fuses the best of them
with the session-level BM25 ranking by reciprocal rank.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memosys.eval.metrics import ndcg_any, recall_all, recall_any
from memosys.stores.sqlite.fts import fts_query, query_terms


def rank(instance: dict[str, Any], roles: set[str]) -> list[str]:
    """Session ids of the haystack ranked by FTS5 bm25 on the question."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE s USING fts5(sid UNINDEXED, body, tokenize='porter unicode61')"
    )
    for sid, turns in zip(instance["haystack_session_ids"], instance["haystack_sessions"],
                          strict=True):
        body = "\n".join(t["content"] for t in turns if t["role"] in roles)
        db.execute("INSERT INTO s VALUES (?, ?)", (sid, body))
    match = fts_query(query_terms(instance["question"]))
    rows = db.execute("SELECT sid FROM s WHERE s MATCH ? ORDER BY bm25(s)", (match,)).fetchall()
    db.close()
    return list(dict.fromkeys(r[0] for r in rows))


Ranker = Callable[[dict[str, Any]], list[str]]


def from_hits(hits: list[dict[str, Any]], how: str, roles: set[str] | None = None) -> list[str]:
    """Sessions ranked from message hits: ``max`` (best hit) or ``decay`` (sum of
    score * 0.5**i over the session's hits, the rule of ``search_sessions``)."""
    scores: dict[str, float] = {}
    seen: dict[str, int] = defaultdict(int)
    for hit in sorted(hits, key=lambda h: -h["fused"]):
        if roles is not None and hit["role"] not in roles:
            continue
        sid = hit["session"]
        if how == "max":
            scores.setdefault(sid, hit["fused"])
        else:
            scores[sid] = scores.get(sid, 0.0) + hit["fused"] * 0.5 ** seen[sid]
        seen[sid] += 1
    return sorted(scores, key=lambda sid: -scores[sid])


def fuse(*rankings: list[str], k: int = 60) -> list[str]:
    """Reciprocal-rank fusion of session rankings."""
    scores: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, sid in enumerate(ranking, start=1):
            scores[sid] += 1.0 / (k + rank)
    return sorted(scores, key=lambda sid: -scores[sid])


def report(label: str, data: list[dict[str, Any]], ranker: Ranker) -> None:
    """Print the official metrics of ``ranker`` overall and by question type."""
    by_type: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    for inst in data:
        ranked, gold = ranker(inst), inst["answer_session_ids"]
        by_type[inst["question_type"]].append((
            recall_all(ranked, gold, 5), recall_all(ranked, gold, 10),
            ndcg_any(ranked, gold, 5), ndcg_any(ranked, gold, 10), recall_any(ranked, gold, 5),
        ))
    rows = [v for values in by_type.values() for v in values]
    names = ["recall_all@5", "recall_all@10", "ndcg_any@5", "ndcg_any@10", "recall_any@5"]
    print(f"{label}: n={len(rows)} " + " ".join(
        f"{name}={sum(r[i] for r in rows) / len(rows):.3f}" for i, name in enumerate(names)))
    for qtype, values in sorted(by_type.items()):
        print(f"   {qtype:28s} n={len(values):2d} recall_all@5="
              f"{sum(v[0] for v in values) / len(values):.3f} ndcg_any@5="
              f"{sum(v[2] for v in values) / len(values):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--cands", type=Path)
    args = parser.parse_args()
    data = json.loads(args.data.read_text(encoding="utf-8"))
    data = [d for d in data if not d["question_id"].endswith("_abs")]
    both, user = {"user", "assistant"}, {"user"}
    report("session-level BM25, all turns", data, lambda i: rank(i, both))
    report("session-level BM25, user turns", data, lambda i: rank(i, user))
    if args.cands is None:
        return
    cands = json.loads(args.cands.read_text(encoding="utf-8"))
    report("message hits, decayed sum", data, lambda i: from_hits(cands[i["question_id"]], "decay"))
    report("message hits, best hit", data, lambda i: from_hits(cands[i["question_id"]], "max"))
    report("message hits, user turns, best hit", data,
           lambda i: from_hits(cands[i["question_id"]], "max", user))
    report("RRF(session BM25, best message hit)", data,
           lambda i: fuse(rank(i, both), from_hits(cands[i["question_id"]], "max")))
    report("RRF(session BM25, decayed sum)", data,
           lambda i: fuse(rank(i, both), from_hits(cands[i["question_id"]], "decay")))


if __name__ == "__main__":
    main()
