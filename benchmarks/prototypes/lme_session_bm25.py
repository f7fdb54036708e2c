"""LongMemEval: how well does BM25 over *whole sessions* rank the haystack? (prototype)

    .venv/bin/python benchmarks/prototypes/lme_session_bm25.py \
        /work/shared/data/longmemeval/longmemeval_s_dev60.json

memosys indexes one message per memory and ranks sessions from message hits
(``search_sessions``). This prototype indexes each session as one document in
an in-memory SQLite FTS5 table (the store's tokenizer, ``porter unicode61``,
and the store's query builder: stopwords out, terms ORed) and ranks sessions
by FTS5 ``bm25()``, with all turns or with the user's turns only. No
embeddings, so it runs in seconds; it shows what a session-level lexical
signal alone reaches.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import defaultdict
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


def main() -> None:
    data = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    data = [d for d in data if not d["question_id"].endswith("_abs")]
    for label, roles in (("all turns", {"user", "assistant"}), ("user turns", {"user"})):
        by_type: dict[str, list[tuple[float, ...]]] = defaultdict(list)
        for inst in data:
            ranked, gold = rank(inst, roles), inst["answer_session_ids"]
            by_type[inst["question_type"]].append((
                recall_all(ranked, gold, 5), recall_all(ranked, gold, 10),
                ndcg_any(ranked, gold, 5), ndcg_any(ranked, gold, 10),
                recall_any(ranked, gold, 5),
            ))
        rows = [v for values in by_type.values() for v in values]
        print(f"session-level BM25, {label}: n={len(rows)} " + " ".join(
            f"{name}={sum(r[i] for r in rows) / len(rows):.3f}"
            for i, name in enumerate(["recall_all@5", "recall_all@10", "ndcg_any@5",
                                      "ndcg_any@10", "recall_any@5"])))
        for qtype, values in sorted(by_type.items()):
            print(f"   {qtype:28s} n={len(values):2d} recall_all@5="
                  f"{sum(v[0] for v in values) / len(values):.3f} ndcg_any@5="
                  f"{sum(v[2] for v in values) / len(values):.3f}")


if __name__ == "__main__":
    main()
