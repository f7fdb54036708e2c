"""The MemOS facade end to end on a real store and the real embedder."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from held_write import on_another_thread, write_held_open
from memosys import MemOS, NotFoundError
from memosys.core.clock import FixedClock
from memosys.core.errors import (
    ConflictError,
    EmbedderMismatchError,
    EmptyInputError,
    InvalidInputError,
)
from memosys.governance.models import AuditQuery
from memosys.settings import MemosysSettings, MiniLMOnnxConfig, load_settings

START = datetime(2024, 3, 6, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def mos(tmp_path: Path, embedder: Any, clock: FixedClock) -> Iterator[MemOS]:
    with MemOS.open(tmp_path / "data", embedder=embedder, clock=clock) as opened:
        yield opened


CONVERSATION = [
    {
        "role": "user",
        "name": "Alice",
        "content": "I adopted a golden retriever puppy named Biscuit.",
        "metadata": {"dia_id": "D1:1", "nested": {"a": [1, 2]}},
    },
    {
        "role": "assistant",
        "content": "Congratulations! How old is Biscuit?",
        "metadata": {"dia_id": "D1:2"},
    },
    {
        "role": "user",
        "name": "Alice",
        "content": "She is ten weeks old and loves chewing shoes.",
        "metadata": {"dia_id": "D1:3"},
    },
    {
        "role": "user",
        "name": "Alice",
        "content": "My sister Carol works as a nurse in Chicago.",
        "metadata": {"dia_id": "D1:4"},
    },
    {
        "role": "assistant",
        "content": "That sounds like demanding but rewarding work.",
        "metadata": {"dia_id": "D1:5"},
    },
]


def add_conversation(mos: MemOS, user: str = "alice", session: str = "s1") -> list[Any]:
    return mos.add(CONVERSATION, user_id=user, session_id=session, session_time=START)


def test_add_keeps_speaker_session_order_time_and_metadata_verbatim(mos: MemOS) -> None:
    items = add_conversation(mos)
    assert [i.metadata for i in items] == [m["metadata"] for m in CONVERSATION]
    assert [i.position for i in items] == [0, 1, 2, 3, 4]
    assert items[0].speaker == "Alice" and items[1].speaker == "assistant"
    assert {i.session_id for i in items} == {"s1"}
    assert all(i.event_time == START for i in items)
    assert mos.get(items[0].id, user_id="alice").metadata == {
        "dia_id": "D1:1",
        "nested": {"a": [1, 2]},
    }


def test_positions_continue_across_calls_in_one_session(mos: MemOS) -> None:
    add_conversation(mos)
    more = mos.add(
        [{"role": "user", "content": "Biscuit learned to sit today."}],
        user_id="alice",
        session_id="s1",
        session_time=START,
    )
    assert more[0].position == len(CONVERSATION)


def test_search_finds_the_relevant_memory_and_explains_it(mos: MemOS) -> None:
    add_conversation(mos)
    hits = mos.search("What is the name of Alice's dog?", user_id="alice", top_k=3)
    assert hits[0].item.metadata["dia_id"] == "D1:1"
    retrievers = {m.retriever for m in hits[0].explain.retrievers}
    assert retrievers == {"bm25", "dense"}
    assert hits[0].explain.fusion == "rrf"
    assert all(m.rank >= 1 for m in hits[0].explain.retrievers)
    assert hits[0].score >= hits[-1].score


@pytest.mark.parametrize("mode", ["bm25", "dense"])
def test_single_retriever_modes(mos: MemOS, mode: str) -> None:
    add_conversation(mos)
    hits = mos.search("nurse in Chicago", user_id="alice", mode=mode, top_k=2)  # type: ignore[arg-type]
    assert hits[0].item.metadata["dia_id"] == "D1:4"
    assert {m.retriever for h in hits for m in h.explain.retrievers} == {mode}


def test_weighted_fusion_is_available(mos: MemOS) -> None:
    add_conversation(mos)
    hits = mos.search("puppy chewing shoes", user_id="alice", fusion="weighted", top_k=2)
    assert hits[0].explain.fusion == "weighted"
    assert hits[0].item.metadata["dia_id"] in {"D1:1", "D1:3"}


def test_filters_on_fields_metadata_and_time(mos: MemOS, clock: FixedClock) -> None:
    add_conversation(mos)
    later = START + timedelta(days=10)
    mos.add(
        [{"role": "user", "content": "Biscuit now sleeps in her own crate."}],
        user_id="alice",
        session_id="s2",
        session_time=later,
        tags=["dog"],
    )
    only_s2 = mos.search("Biscuit", user_id="alice", filters={"session_id": "s2"})
    assert {h.item.session_id for h in only_s2} == {"s2"}
    tagged = mos.list(user_id="alice", filters={"tags": "dog"})
    assert len(tagged) == 1
    recent = mos.search(
        "Biscuit",
        user_id="alice",
        filters={"event_time": {"$gte": (START + timedelta(days=1)).isoformat()}},
    )
    assert [h.item.session_id for h in recent] == ["s2"]
    by_meta = mos.list(user_id="alice", filters={"metadata.dia_id": {"$in": ["D1:2", "D1:5"]}})
    assert sorted(i.metadata["dia_id"] for i in by_meta) == ["D1:2", "D1:5"]
    assert mos.count(user_id="alice", filters={"speaker": "assistant"}) == 2


def test_users_are_isolated(mos: MemOS) -> None:
    items = add_conversation(mos, user="alice")
    mos.add([{"role": "user", "content": "I like sailing."}], user_id="bob")
    assert mos.search("golden retriever puppy", user_id="bob")[0].item.user_id == "bob"
    assert all(h.item.user_id == "bob" for h in mos.search("Biscuit", user_id="bob"))
    assert [i.user_id for i in mos.list(user_id="bob")] == ["bob"]
    with pytest.raises(NotFoundError):
        mos.get(items[0].id, user_id="bob")
    with pytest.raises(NotFoundError):
        mos.delete(items[0].id, user_id="bob")
    with pytest.raises(NotFoundError):
        mos.update(items[0].id, user_id="bob", content="hijacked")
    assert mos.get(items[0].id, user_id="alice").content == CONVERSATION[0]["content"]


def test_exact_repeats_are_stored_once(mos: MemOS) -> None:
    first = add_conversation(mos)
    again = add_conversation(mos)
    assert [i.id for i in again] == [i.id for i in first]
    assert mos.count(user_id="alice") == len(CONVERSATION)
    mos.add(
        [{"role": "assistant", "content": CONVERSATION[1]["content"]}],
        user_id="alice",
        session_id="s9",
        session_time=START,
    )
    assert mos.count(user_id="alice") == len(CONVERSATION) + 1


def test_the_same_words_twice_in_one_conversation_are_two_messages(mos: MemOS) -> None:
    chat = [
        {"role": "user", "content": "ok"},
        {"role": "assistant", "content": "Shall I book the 9:40 train to Porto?"},
        {"role": "user", "content": "ok"},
    ]
    first = mos.add(chat, user_id="alice", session_id="s2", session_time=START)
    assert len({i.id for i in first}) == 3
    stored = mos.list(user_id="alice", filters={"session_id": "s2"}, order_by="position")
    assert [(i.position, i.content) for i in stored] == [
        (0, "ok"), (1, "Shall I book the 9:40 train to Porto?"), (2, "ok"),
    ]
    again = mos.add(chat, user_id="alice", session_id="s2", session_time=START)
    assert [i.id for i in again] == [i.id for i in first]  # a retry still adds nothing
    assert mos.count(user_id="alice", filters={"session_id": "s2"}) == 3


def test_a_document_keeps_two_chunks_with_the_same_words(mos: MemOS) -> None:
    text = '"Is the pool heated?"\n"Yes."\n"Is parking free?"\n"Yes."\n'
    first = mos.add_document("faq.jsonl", text=text, user_id="alice")
    assert [i.position for i in first] == [0, 1, 2, 3]
    assert len({i.id for i in first}) == 4
    stored = mos.list(user_id="alice", filters={"kind": "chunk"}, order_by="position")
    assert [i.content for i in stored] == [
        "Is the pool heated?", "Yes.", "Is parking free?", "Yes.",
    ]
    again = mos.add_document("faq.jsonl", text=text, user_id="alice")
    assert [i.id for i in again] == [i.id for i in first]


def test_a_leading_current_fact_explains_what_was_added_to_its_score(mos: MemOS) -> None:
    mos.add([{"role": "user", "content": "I moved to Berlin last year."}],
            user_id="alice", session_id="s3", session_time=START)
    mos.add_texts(["The song Where do I live now was a hit.",
                   "Quiz night: where do people live longest?"], user_id="alice")
    hits = mos.search("Where do I live now?", user_id="alice", recency_weight=0.1)
    assert hits[0].item.content == "I moved to Berlin last year."
    assert hits[0].score > hits[1].score
    for hit in hits:  # the score is the re-ranker's plus every adjustment, the lead's too
        assert hit.explain.rerank_score is not None
        assert hit.score == pytest.approx(
            hit.explain.rerank_score + sum(hit.explain.adjustments.values())
        )


def test_a_past_search_names_the_matched_terms_as_a_live_search_does(mos: MemOS) -> None:
    mos.add_texts(["I think the cat is on the mat and it is happy."], user_id="alice")
    question = "Is the cat on the mat?"
    (live,) = mos.search(question, user_id="alice", record_access=False)
    (past,) = mos.search(question, user_id="alice", as_of=START + timedelta(seconds=1))
    assert live.explain.matched_terms == ["cat", "mat"]  # "is", "on", "the": stopwords
    assert past.explain.matched_terms == live.explain.matched_terms


def test_a_word_bm25_matched_without_its_accents_is_a_matched_term(mos: MemOS) -> None:
    mos.add_texts(["Nous avons pris un café à Besançon.", "We met at the cafe."],
                  user_id="alice")
    def terms(query: str) -> dict[str, list[str]]:  # by content, of the BM25 hits
        hits = mos.search(query, user_id="alice", mode="bm25")
        assert all([m.retriever for m in h.explain.retrievers] == ["bm25"] for h in hits)
        return {h.item.content: h.explain.matched_terms for h in hits}

    assert terms("cafe Besancon") == {  # BM25 folds the accents: so do the matched terms
        "Nous avons pris un café à Besançon.": ["besancon", "cafe"],
        "We met at the cafe.": ["cafe"],
    }
    assert terms("CAFÉ") == {
        "Nous avons pris un café à Besançon.": ["cafe"],
        "We met at the cafe.": ["cafe"],
    }


def test_a_word_bm25_matched_by_its_stem_is_a_matched_term(mos: MemOS) -> None:
    mos.add_texts(["Ana was running late.", "The runs were long."], user_id="alice")
    hits = mos.search("When did Ana run?", user_id="alice", mode="bm25")
    assert {h.item.content: h.explain.matched_terms for h in hits} == {
        "Ana was running late.": ["ana", "run"],  # BM25 matched "running" for "run"
        "The runs were long.": ["run"],
    }
    past = mos.search("When did Ana run?", user_id="alice", mode="bm25",
                      as_of=START + timedelta(seconds=1))
    assert {h.item.content: h.explain.matched_terms for h in past} == {
        h.item.content: h.explain.matched_terms for h in hits
    }


def test_a_word_bm25_matched_in_the_speaker_is_a_matched_term(mos: MemOS) -> None:
    """BM25 indexes a memory's speaker with its content: a match there is named too."""
    mos.add([{"role": "user", "name": "Maya", "content": "I want to see Cascais."}],
            user_id="alice")
    (hit,) = mos.search("Maya Cascais", user_id="alice", mode="bm25")
    assert hit.explain.matched_terms == ["cascais", "maya"]
    (past,) = mos.search("Maya Cascais", user_id="alice", mode="bm25",
                         as_of=START + timedelta(seconds=1))
    assert past.explain.matched_terms == hit.explain.matched_terms


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed as documents."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.documents = inner, 0
        self.fingerprint, self.dimensions = inner.fingerprint, inner.dimensions

    def embed(self, texts: Any, purpose: Any = "document") -> Any:
        self.documents += len(texts) if purpose == "document" else 0
        return self.inner.embed(texts, purpose)


def test_an_exact_repeat_is_not_embedded_again(
    tmp_path: Path, embedder: Any, clock: FixedClock
) -> None:
    counting = CountingEmbedder(embedder)
    with MemOS.open(tmp_path / "data", embedder=counting, clock=clock) as mos:
        first = add_conversation(mos)
        assert counting.documents == len(CONVERSATION)
        assert [i.id for i in add_conversation(mos)] == [i.id for i in first]
        assert counting.documents == len(CONVERSATION)  # the stored vectors serve
        add_conversation(mos, user="bob")  # another writer's repeat is a new memory
        assert counting.documents == 2 * len(CONVERSATION)
        mos.delete(first[2].id, user_id="alice")
        again = add_conversation(mos)
        assert counting.documents == 2 * len(CONVERSATION) + 1
        hits = mos.search(CONVERSATION[2]["content"], user_id="alice", mode="dense", top_k=1)
        assert hits[0].item.id == again[2].id != first[2].id


def test_update_reembeds_and_delete_removes(mos: MemOS) -> None:
    items = add_conversation(mos)
    updated = mos.update(
        items[3].id, user_id="alice", content="My sister Carol became a pilot.", tags=["family"]
    )
    assert updated.id == items[3].id and updated.tags == ["family"]
    assert updated.metadata == {"dia_id": "D1:4"}
    hits = mos.search("airline pilot", user_id="alice", mode="dense", top_k=1)
    assert hits[0].item.id == items[3].id
    mos.delete(items[3].id, user_id="alice")
    with pytest.raises(NotFoundError):
        mos.get(items[3].id, user_id="alice")
    assert all(h.item.id != items[3].id for h in mos.search("Carol pilot", user_id="alice"))
    with pytest.raises(NotFoundError):
        mos.delete(items[3].id, user_id="alice")


def test_neighbours_mmr_recency_and_sessions(mos: MemOS, clock: FixedClock) -> None:
    add_conversation(mos)
    hits = mos.search("How old is the puppy?", user_id="alice", top_k=1, neighbours=1)
    assert len(hits) >= 2
    assert all(h.explain.expanded_from == hits[0].item.id for h in hits[1:])
    positions = sorted(h.item.position for h in hits if h.item.position is not None)
    assert positions == list(range(positions[0], positions[0] + len(positions)))
    diverse = mos.search("Biscuit the puppy", user_id="alice", top_k=3, mmr=0.3)
    assert len({h.item.id for h in diverse}) == 3
    mos.add(
        [{"role": "user", "content": "Biscuit the puppy got a new collar."}],
        user_id="alice",
        session_id="s2",
        session_time=START + timedelta(days=60),
    )
    clock.set(START + timedelta(days=60))  # the first session is now two months old
    recent = mos.search("Biscuit the puppy", user_id="alice", top_k=1, recency_weight=5.0)
    assert recent[0].item.session_id == "s2" and "recency" in recent[0].explain.adjustments
    sessions = mos.search_sessions("Biscuit puppy", user_id="alice", top_k=2)
    assert {s.session_id for s in sessions} == {"s1", "s2"}
    assert sessions[0].score >= sessions[1].score


def test_add_texts_with_supplied_vectors_and_documents(mos: MemOS, embedder: Any) -> None:
    texts = ["The office wifi password is on the fridge.", "Quarterly taxes are due in April."]
    vectors = embedder.embed(texts)
    items = mos.add_texts(
        texts, user_id="alice", embeddings=vectors, kind="fact", metadatas=[{"n": 1}, {"n": 2}]
    )
    assert [i.metadata for i in items] == [{"n": 1}, {"n": 2}]
    assert mos.search("when do I pay taxes", user_id="alice", top_k=1)[0].item.id == items[1].id
    chunks = mos.add_document(
        "handbook.md", text="# Garden\n\nWater the tomatoes daily.\n", user_id="alice"
    )
    assert chunks[0].kind == "chunk" and chunks[0].headings == ["Garden"]


def test_cubes_scope_reads_and_names_are_unique(mos: MemOS) -> None:
    mos.create_cube("work", owner="alice")
    with pytest.raises(ConflictError):
        mos.create_cube("work", owner="alice")
    mos.add([{"role": "user", "content": "The deploy is on Friday."}], user_id="alice", cube="work")
    add_conversation(mos)
    assert {c.name for c in mos.list_cubes(user_id="alice")} == {"work", "default"}
    only_work = mos.search("deploy", user_id="alice", cube="work")
    assert {h.item.cube_id for h in only_work} == {mos.cube("work", user_id="alice").id}
    with pytest.raises(NotFoundError):
        mos.search("deploy", user_id="bob", cube="work")


def test_export_import_round_trip(mos: MemOS, tmp_path: Path) -> None:
    add_conversation(mos)
    path = tmp_path / "export.jsonl"
    assert mos.export_items(path, user_id="alice") == len(CONVERSATION)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["metadata"] == CONVERSATION[0]["metadata"]
    counts = mos.import_items(path, user_id="carol")
    assert (counts.added, counts.existing) == (len(CONVERSATION), 0)
    copied = mos.list(user_id="carol", order_by="position")
    assert [i.metadata for i in copied] == [m["metadata"] for m in CONVERSATION]
    assert mos.search("golden retriever", user_id="carol")[0].item.metadata["dia_id"] == "D1:1"


def test_an_export_with_line_separators_in_its_texts_imports(
    mos: MemOS, tmp_path: Path
) -> None:
    texts = ["Step one\u2028Step two", "Para\u2029graph", "Next\x85line", "tab\there"]
    mos.add_texts(texts, user_id="alice")
    path = tmp_path / "export.jsonl"
    assert mos.export_items(path, user_id="alice") == len(texts)
    assert mos.import_items(path, user_id="carol").added == len(texts)
    assert sorted(i.content for i in mos.list(user_id="carol")) == sorted(texts)
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(b'{"content": "one"}\r\n{"content": "two"}\r\n')
    assert mos.import_items(crlf, user_id="dave").added == 2


def test_a_bad_import_line_is_named_by_its_line_and_field(mos: MemOS, tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text('{"content": "a"}\n\n{"content": "b", "event_time": "yesterday"}\n')
    with pytest.raises(InvalidInputError) as caught:
        mos.import_items(path, user_id="carol")
    assert caught.value.message.startswith(f"{path}:3: event_time 'yesterday'")
    assert caught.value.detail["line"] == 3
    path.write_text('{"content": "a"}\n\n{"content": "  "}\n')
    with pytest.raises(EmptyInputError, match=r":3: content is blank"):
        mos.import_items(path, user_id="carol")
    assert mos.count(user_id="carol") == 0


def test_metadata_comes_back_from_add_as_it_is_stored_and_filtered(mos: MemOS) -> None:
    noon = datetime(2024, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    meta = {"when": noon, "day": date(2024, 1, 1), "pair": (1, 2), "deep": {"at": [noon]}}
    (item,) = mos.add_texts(["Ana's flight lands at noon."], user_id="alice", metadatas=[meta])
    assert item.metadata == {"when": "2024-01-01T12:00:00Z", "day": "2024-01-01",
                             "pair": [1, 2], "deep": {"at": ["2024-01-01T12:00:00Z"]}}
    assert mos.get(item.id, user_id="alice").metadata == item.metadata
    for spec in ({"metadata.when": noon}, {"metadata.when": {"$gte": noon, "$lte": noon}}):
        assert [i.id for i in mos.list(user_id="alice", filters=spec)] == [item.id]
    for bad, where in (({"s": {1, 2}}, "metadatas[0].s"), ({"b": b"x"}, "metadatas[0].b"),
                       ({"d": {1: "x"}}, "metadatas[0].d"), ({"o": object()}, "metadatas[0].o")):
        with pytest.raises(InvalidInputError, match=re.escape(where)):
            mos.add_texts(["refused"], user_id="alice", metadatas=[bad])
    assert mos.count(user_id="alice") == 1


def test_reopen_keeps_data_and_settings(tmp_path: Path, embedder: Any) -> None:
    with MemOS.open(tmp_path / "d", embedder=embedder) as mos:
        add_conversation(mos)
    assert (tmp_path / "d" / "settings.json").exists()
    with MemOS.open(tmp_path / "d", embedder=embedder) as mos:
        assert mos.count(user_id="alice") == len(CONVERSATION)
        assert mos.search("nurse", user_id="alice")[0].item.metadata["dia_id"] == "D1:4"


def test_settings_file_is_replaced_whole_and_only_when_it_changes(
    tmp_path: Path, embedder: Any
) -> None:
    # other processes (--workers, write processes) read it while one opens the directory
    saved = tmp_path / "d" / "settings.json"
    with MemOS.open(tmp_path / "d", embedder=embedder):
        pass
    first = saved.stat()
    with MemOS.open(tmp_path / "d", embedder=embedder):
        pass
    assert (saved.stat().st_ino, saved.stat().st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    changed = load_settings(retrieval={"candidates": 50})
    with MemOS.open(tmp_path / "d", settings=changed, embedder=embedder):
        pass
    assert saved.stat().st_ino != first.st_ino  # a new file renamed over it, not rewritten
    assert json.loads(saved.read_text())["retrieval"]["candidates"] == 50
    assert sorted(p.name for p in saved.parent.glob("settings.json*")) == ["settings.json"]


def test_data_directory_saved_before_int8_keeps_float32_vectors(tmp_path: Path) -> None:
    directory = tmp_path / "old"
    directory.mkdir()
    old_embedder = {"provider": "minilm-onnx", "batch_size": 64, "max_tokens": 256}
    (directory / "settings.json").write_text(json.dumps({"embedder": old_embedder}))
    with MemOS.open(directory) as mos:
        assert mos.settings.embedder == MiniLMOnnxConfig(precision="float32")
    with MemOS.open(directory) as mos:  # the file it saved keeps it so
        assert mos.settings.embedder == MiniLMOnnxConfig(precision="float32")
    with MemOS.open(tmp_path / "new") as mos:
        assert mos.settings.embedder == MiniLMOnnxConfig(precision="int8")


def test_a_float32_directory_moves_to_int8_by_reembedding(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    float32 = MemosysSettings(embedder=MiniLMOnnxConfig(precision="float32"))
    with MemOS.open(directory, settings=float32) as mos:
        add_conversation(mos)
    int8 = MemosysSettings(embedder=MiniLMOnnxConfig(precision="int8"))
    with MemOS.open(directory, settings=int8) as mos:
        with pytest.raises(EmbedderMismatchError, match="reembed --data DIR --all-users"):
            mos.search("nurse", user_id="alice")
        assert mos.reembed() == len(CONVERSATION)
        assert mos.search("nurse", user_id="alice")[0].item.metadata["dia_id"] == "D1:4"


def test_search_records_access(mos: MemOS) -> None:
    items = add_conversation(mos)
    mos.search("golden retriever", user_id="alice", top_k=1)
    seen = mos.get(items[0].id, user_id="alice")
    assert seen.access_count == 1 and seen.last_accessed_at is not None
    assert mos.count(user_id="alice", filters={"access_count": 1}) == 1


def test_accesses_gathered_in_the_background_are_all_counted_and_kept_at_close(
    tmp_path: Path, embedder: Any
) -> None:
    with MemOS.open(tmp_path / "d", embedder=embedder) as mos:
        items = add_conversation(mos)
        for _ in range(30):
            mos.search("golden retriever", user_id="alice", top_k=1)
        assert mos.get(items[0].id, user_id="alice").access_count == 30
        mos.search("golden retriever", user_id="alice", top_k=1)  # pending at close
    with MemOS.open(tmp_path / "d", embedder=embedder) as mos:
        assert mos.get(items[0].id, user_id="alice").access_count == 31


def test_search_does_not_wait_for_a_write_held_by_another_thread(mos: MemOS) -> None:
    items = add_conversation(mos)
    with write_held_open(mos.store.transaction):
        hits = on_another_thread(lambda: mos.search("golden retriever", user_id="alice", top_k=1))
        assert [h.item.id for h in hits] == [items[0].id]
    assert mos.get(items[0].id, user_id="alice").access_count == 1  # written once it could


def test_timestamps_are_aware_utc(mos: MemOS) -> None:
    items = mos.add(
        [{"role": "user", "content": "hello there", "timestamp": "2024-01-02T03:04:05+02:00"}],
        user_id="alice",
    )
    assert items[0].event_time == datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert items[0].created_at.tzinfo is not None
    assert np.all([i.created_at.utcoffset().total_seconds() == 0 for i in items])  # type: ignore[union-attr]


def test_windowed_sessions_continue_after_the_messages_stored(
    tmp_path: Path, embedder: Any
) -> None:
    from memosys.settings import MemosysSettings, ReaderSettings

    settings = MemosysSettings(reader=ReaderSettings(window_size=2))
    with MemOS.open(tmp_path / "w", settings=settings, embedder=embedder) as mos:
        first = mos.add(CONVERSATION[:3], user_id="alice", session_id="s1", session_time=START)
        assert [(i.position, i.message_count) for i in first] == [(0, 2), (2, 1)]
        more = mos.add(CONVERSATION[3:], user_id="alice", session_id="s1", session_time=START)
        assert [i.position for i in more] == [3]


def test_reads_in_an_unknown_users_name_create_no_user(mos: MemOS) -> None:
    assert mos.search("anything", user_id="ghost") == []
    assert mos.list(user_id="ghost") == [] and mos.count(user_id="ghost") == 0
    assert mos.list_cubes(user_id="ghost") == []
    with pytest.raises(NotFoundError):
        mos.cube("default", user_id="ghost")
    assert mos.store.get_user("ghost") is None
    assert not [r for r in mos.governance.audit_log(AuditQuery()) if r.actor == "ghost"]
    mos.add_texts(["a first write creates the user"], user_id="ghost")
    assert mos.store.get_user("ghost") is not None


def test_an_import_links_its_memories_to_each_other_never_to_the_exporters(
    mos: MemOS, tmp_path: Path
) -> None:
    paris = mos.add([{"role": "user", "content": "I live in Paris."}], user_id="sup")[0]
    berlin = mos.add([{"role": "user", "content": "I moved to Berlin."}], user_id="sup")[0]
    assert mos.get(paris.id, user_id="sup").superseded_by == berlin.id
    path = tmp_path / "sup.jsonl"
    mos.export_items(path, user_id="sup", cube="default")
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["content"] == "I live in Paris."
    (path.parent / "half.jsonl").write_text(lines[0] + "\n")  # the superseded one alone
    mos.import_items(path, user_id="sup2")
    copies = {i.content: i for i in mos.list(user_id="sup2", include_history=True)}
    old, new = copies["I live in Paris."], copies["I moved to Berlin."]
    assert (old.superseded_by, new.supersedes) == (new.id, [old.id])
    mos.import_items(path.parent / "half.jsonl", user_id="sup3")
    (alone,) = mos.list(user_id="sup3")  # nothing supersedes it there: it is current
    assert alone.superseded_by is None and alone.state == "activated"


def test_an_import_drops_links_to_lines_that_repeat_stored_memories(
    mos: MemOS, tmp_path: Path, clock: FixedClock
) -> None:
    mos.add_texts(["I live in Paris."], user_id="eva")
    clock.set(clock.now() + timedelta(days=1))
    mos.add_texts(["I moved to Berlin."], user_id="eva")
    path = tmp_path / "eva.jsonl"
    mos.export_items(path, user_id="eva")
    clock.set(clock.now() + timedelta(days=1))
    (kept,) = mos.add_texts(["I moved to Berlin."], user_id="max")
    counts = mos.import_items(path, user_id="max")  # its Berlin line repeats max's own
    assert (counts.added, counts.existing) == (1, 1)
    stored = {i.id: i for i in mos.list(user_id="max", include_history=True)}
    links = [i for item in stored.values() for i in (
        *item.supersedes, *item.merged_from, *item.previous_versions, item.superseded_by) if i]
    assert links and set(links) <= set(stored)  # no link to a line that was never stored
    paris = next(i for i in stored.values() if i.content == "I live in Paris.")
    # then the knowledge-update check linked the two afresh: max's Berlin is the newer
    assert paris.superseded_by == kept.id and stored[kept.id].supersedes == [paris.id]


def test_importing_a_file_again_adds_nothing_whatever_the_states(
    mos: MemOS, tmp_path: Path
) -> None:
    mos.add_texts(["I live in Paris."], user_id="ana")
    mos.add_texts(["I moved to Berlin."], user_id="ana")
    (memo,) = mos.add_texts(["Old memo about a printer."], user_id="ana")
    mos.archive(memo.id, user_id="ana")
    path = tmp_path / "ana.jsonl"
    mos.export_items(path, user_id="ana")
    first = mos.import_items(path, user_id="ben")
    again = mos.import_items(path, user_id="ben")
    assert (first.added, first.existing) == (3, 0) and (again.added, again.existing) == (0, 3)
    copies = mos.list(user_id="ben", include_history=True, include_archived=True)
    assert len(copies) == 3
    ids = {i.id for i in copies}
    assert all(i.superseded_by in ids for i in copies if i.superseded_by)


def test_an_update_to_the_text_of_another_current_memory_names_it(mos: MemOS) -> None:
    paris, acme = mos.add_texts(["Ana lives in Paris.", "Ana works at Acme."], user_id="ana")
    with pytest.raises(ConflictError) as refused:
        mos.update(acme.id, user_id="ana", content="Ana lives in Paris.")
    assert paris.id in refused.value.message and refused.value.detail["holder"] == paris.id
    assert mos.get(acme.id, user_id="ana").content == "Ana works at Acme."


def test_an_update_may_take_the_text_of_an_archived_memory(mos: MemOS) -> None:
    paris, acme = mos.add_texts(["Ana lives in Paris.", "Ana works at Acme."], user_id="ana")
    mos.archive(paris.id, user_id="ana")
    moved = mos.update(acme.id, user_id="ana", content="Ana lives in Paris.")
    assert moved.content == "Ana lives in Paris." and moved.content_hash == paris.content_hash
    assert mos.get(paris.id, user_id="ana").content == "Ana lives in Paris."
    again = mos.add_texts(["Ana lives in Paris."], user_id="ana")
    assert [item.id for item in again] == [acme.id]
