"""token_lists tokenizes as FTS5 does, in a per-thread scratch index that every call finds empty."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from memosys.core.text_fold import thread_scratch
from memosys.stores.sqlite.fts_stats import token_lists


def _rows() -> int:
    with thread_scratch() as mem:
        return int(mem.execute("SELECT count(*) FROM t").fetchone()[0])


def test_texts_and_terms_get_the_index_tokenizers_tokens() -> None:
    terms, counts = token_lists(["Running to the Café, running"], ["running", "e-mail"])
    assert terms == {"running": ["run"], "e-mail": ["e", "mail"]}
    assert counts == [Counter({"run": 2, "to": 1, "the": 1, "cafe": 1})]


def test_each_call_counts_only_its_own_texts() -> None:
    token_lists(["alpha beta", "gamma"], ["delta"])
    terms, counts = token_lists(["beta"], ["alpha"])
    assert counts == [Counter({"beta": 1})] and terms == {"alpha": ["alpha"]}
    assert _rows() == 0


def test_a_block_that_fails_leaves_the_scratch_empty() -> None:
    with pytest.raises(RuntimeError), thread_scratch() as mem:
        mem.execute("INSERT INTO t (rowid, body) VALUES (1, 'left behind')")
        raise RuntimeError("interrupted")
    assert _rows() == 0
    assert token_lists(["fresh"], [])[1] == [Counter({"fresh": 1})]


def test_threads_tokenize_side_by_side_in_their_own_scratch() -> None:
    results: dict[int, list[Counter[str]]] = {}

    def tokenize(n: int) -> None:
        for _ in range(50):
            results[n] = token_lists([f"word{n} " * (n + 1)], [])[1]

    threads = [threading.Thread(target=tokenize, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: [Counter({f"word{n}": n + 1})] for n in range(4)}
