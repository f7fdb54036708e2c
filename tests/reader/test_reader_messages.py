"""read_messages: item fields, ordering, windowing and content hashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memosys import MemOS
from memosys.core.ids import is_id
from memosys.core.items import MemoryKind, MemoryType, SourceType
from memosys.settings import ReaderSettings, load_settings

SESSION_TIME = datetime(2023, 5, 8, 9, 0, tzinfo=UTC)

CONVERSATION = [
    {"role": "user", "name": "Caroline", "content": "I went to a support group yesterday.",
     "metadata": {"dia_id": "D1:1"}, "id": "m1"},
    {"role": "user", "name": "Melanie", "content": "That sounds great!",
     "metadata": {"dia_id": "D1:2", "nested": {"a": [1, {"b": None}]}},
     "timestamp": "2023-05-08T09:05:00Z"},
    {"role": "assistant", "content": "Noted.", "id": 7},
]


def test_item_fields(read: Any, clock: Any) -> None:
    items = read(CONVERSATION, session_time=SESSION_TIME, start_position=10, tags=["chat"])
    assert [i.content for i in items] == [m["content"] for m in CONVERSATION]
    assert [i.speaker for i in items] == ["Caroline", "Melanie", "assistant"]
    assert [i.role for i in items] == ["user", "user", "assistant"]
    assert [i.position for i in items] == [10, 11, 12]
    assert [i.message_ids for i in items] == [["m1"], [], ["7"]]
    first = items[0]
    assert first.kind is MemoryKind.MESSAGE
    assert first.type is MemoryType.TEXTUAL
    assert first.source_type is SourceType.CONVERSATION
    assert (first.user_id, first.owner, first.cube_id) == ("alice", "alice", "cube-1")
    assert all(i.session_id == "s1" for i in items)
    assert all(i.created_at == i.updated_at == clock.now() for i in items)
    assert all(i.tags == ["chat"] for i in items)
    assert len({i.id for i in items}) == 3 and all(is_id(i.id) for i in items)


def test_event_time_prefers_timestamp_then_session_time_then_now(read: Any, clock: Any) -> None:
    items = read(CONVERSATION, session_time=SESSION_TIME)
    assert [i.event_time for i in items] == [
        SESSION_TIME, datetime(2023, 5, 8, 9, 5, tzinfo=UTC), SESSION_TIME,
    ]
    without = read(CONVERSATION)
    now = clock.now()
    assert [i.event_time for i in without] == [now, datetime(2023, 5, 8, 9, 5, tzinfo=UTC), now]


def test_naive_session_time_is_utc(read: Any) -> None:
    [item] = read(CONVERSATION[:1], session_time=datetime(2023, 5, 8, 9, 0))
    assert item.event_time == SESSION_TIME


def test_metadata_is_kept_verbatim_over_call_metadata(read: Any) -> None:
    call_meta = {"source": "locomo", "dia_id": "call-level"}
    items = read(CONVERSATION, metadata=call_meta)
    assert items[0].metadata == {"source": "locomo", "dia_id": "D1:1"}
    assert items[1].metadata == {
        "source": "locomo", "dia_id": "D1:2", "nested": {"a": [1, {"b": None}]},
    }
    assert items[2].metadata == call_meta
    only_message = read(CONVERSATION[:1])
    assert only_message[0].metadata == {"dia_id": "D1:1"}


def test_metadata_is_copied_not_shared(read: Any) -> None:
    messages = [{"role": "user", "content": "hi", "metadata": {"tags": ["a"]}}]
    [item] = read(messages)
    messages[0]["metadata"]["tags"].append("b")  # type: ignore[index]
    assert item.metadata == {"tags": ["a"]}


def test_missing_session_id_gives_one_new_id_per_call(read: Any) -> None:
    first = read(CONVERSATION, session_id=None)
    second = read(CONVERSATION, session_id=None)
    assert len({i.session_id for i in first}) == 1
    assert first[0].session_id is not None and is_id(first[0].session_id)
    assert first[0].session_id != second[0].session_id


def test_windows_with_size_and_stride(read: Any) -> None:
    messages = [{"role": "user", "name": f"P{i}", "content": f"line {i}",
                 "metadata": {"n": i}, "id": f"m{i}"} for i in range(5)]
    settings = ReaderSettings(window_size=2)
    items = read(messages, settings=settings, start_position=3, metadata={"call": True})
    assert [i.content for i in items] == [
        "P0: line 0\nP1: line 1", "P2: line 2\nP3: line 3", "P4: line 4",
    ]
    assert [i.position for i in items] == [3, 5, 7]
    assert [i.message_ids for i in items] == [["m0", "m1"], ["m2", "m3"], ["m4"]]
    assert [i.metadata for i in items] == [
        {"call": True, "n": [0, 1]}, {"call": True, "n": [2, 3]}, {"call": True, "n": 4},
    ]
    assert items[0].speaker is None and items[0].role == "user"

    overlapping = read(messages, settings=ReaderSettings(window_size=3, window_stride=2))
    assert [i.message_ids for i in overlapping] == [["m0", "m1", "m2"], ["m2", "m3", "m4"]]
    assert [i.position for i in overlapping] == [0, 2]


def test_a_window_carries_every_message_s_time_speaker_id_and_metadata(
    tmp_path: Path, embedder: Any
) -> None:
    conversation = [
        {"role": "user", "name": "Caroline", "content": "I went to a support group.",
         "timestamp": "2023-05-08T09:00:00Z", "id": "m1",
         "metadata": {"dia_id": "D1:1", "mood": "calm", "flag": 1}},
        {"role": "assistant", "content": "How was it?", "timestamp": "2023-05-08T09:01:00Z",
         "id": "m2", "metadata": {"dia_id": "D1:2", "mood": "calm", "flag": True}},
        {"role": "user", "name": "Caroline", "content": "Moving, honestly.", "id": "m3",
         "timestamp": "2023-05-08T09:07:00Z", "metadata": {"dia_id": "D1:3", "extra": [1]}},
    ]
    settings = load_settings(reader={"window_size": 3})
    with MemOS.open(tmp_path / "data", settings=settings, embedder=embedder) as mos:
        [added] = mos.add(conversation, user_id="ann", metadata={"source": "chat", "mood": "?"})
        item = mos.get(added.id, user_id="ann")  # as stored
        assert item.event_time == datetime(2023, 5, 8, 9, 0, tzinfo=UTC)
        assert item.event_end == datetime(2023, 5, 8, 9, 7, tzinfo=UTC)
        assert item.speakers == ["Caroline", "assistant"] and item.speaker is None
        assert item.message_ids == ["m1", "m2", "m3"] and item.message_count == 3
        assert item.metadata == {
            "source": "chat",  # the call's, where no message gives the key
            "mood": "calm",  # the messages agree: their value, over the call's
            "dia_id": ["D1:1", "D1:2", "D1:3"],  # they disagree: each value, in order
            "flag": [1, True],  # 1 and true are different JSON values
            "extra": [1],  # one message gives it: its value as given
        }
        found = mos.list(user_id="ann", filters={"metadata.dia_id": "D1:2"})
        assert [i.id for i in found] == [item.id]

        [single] = mos.add(conversation[:1], user_id="ann", session_id="s2")
        assert single.speakers == ["Caroline"] and single.event_end is None
        assert single.metadata == conversation[0]["metadata"]


def test_window_of_one_speaker_keeps_the_speaker(read: Any) -> None:
    messages = [{"role": "user", "name": "Ann", "content": c} for c in ("a b", "c d")]
    [item] = read(messages, settings=ReaderSettings(window_size=2))
    assert (item.speaker, item.content) == ("Ann", "Ann: a b\nAnn: c d")


def test_content_hash_is_idempotent_and_separates_sessions(read: Any) -> None:
    once = read(CONVERSATION, session_time=SESSION_TIME)
    again = read(CONVERSATION, session_time=SESSION_TIME, start_position=3)
    assert [i.content_hash for i in once] == [i.content_hash for i in again]
    assert {i.id for i in once}.isdisjoint(i.id for i in again)

    thanks = [{"role": "user", "content": "Thanks!"}]
    in_s1 = read(thanks, session_id="s1", session_time=SESSION_TIME)
    in_s2 = read(thanks, session_id="s2", session_time=SESSION_TIME)
    assert in_s1[0].content_hash != in_s2[0].content_hash


def test_content_hash_depends_on_speaker_and_time(read: Any) -> None:
    base = {"role": "user", "content": "Thanks!", "timestamp": "2023-05-08T10:00:00Z"}
    reference = read([base])[0].content_hash
    assert read([{**base, "name": "Bob"}])[0].content_hash != reference
    assert read([{**base, "timestamp": "2023-05-08T10:00:01Z"}])[0].content_hash != reference
    assert read([dict(base)])[0].content_hash == reference


def test_messages_are_enriched_against_their_event_time(read: Any) -> None:
    [item] = read(CONVERSATION[:1], session_time=SESSION_TIME)
    [ref] = item.time_refs
    assert (ref.text, ref.start, ref.end) == (
        "yesterday", datetime(2023, 5, 7, tzinfo=UTC), datetime(2023, 5, 8, tzinfo=UTC),
    )
    assert "support group" in item.keywords


def test_names_from_the_whole_batch_are_entities(read: Any) -> None:
    items = read([
        {"role": "user", "name": "Caroline", "content": "Melanie went hiking. Books are fun."},
        {"role": "user", "name": "Melanie", "content": "Caroline, I saw Oscar there!"},
        {"role": "user", "name": "Caroline", "content": "Oscar is sweet."},
    ])
    assert [i.entities for i in items] == [["Melanie"], ["Caroline", "Oscar"], ["Oscar"]]


def test_a_window_resolves_each_message_s_relative_times_against_its_own_time(
    tmp_path: Path, embedder: Any
) -> None:
    conversation = [
        {"role": "user", "name": "Ana", "content": "I start the new job tomorrow.",
         "timestamp": "2023-05-08T09:00:00Z"},
        {"role": "user", "name": "Bo", "content": "How did it go yesterday? And tomorrow?",
         "timestamp": "2023-05-10T18:00:00Z"},
        {"role": "user", "name": "Ana", "content": "Tomorrow I rest."},  # no timestamp
    ]
    settings = load_settings(reader={"window_size": 3})
    with MemOS.open(tmp_path / "data", settings=settings, embedder=embedder) as mos:
        [added] = mos.add(conversation, user_id="ann")
        item = mos.get(added.id, user_id="ann")  # as stored
    days = [(ref.text, ref.start.date().isoformat()) for ref in item.time_refs]
    assert days == [
        ("tomorrow", "2023-05-09"),  # Ana, on the 8th
        ("yesterday", "2023-05-09"),  # Bo, on the 10th: not the 7th
        ("tomorrow", "2023-05-11"),
        ("Tomorrow", "2023-05-11"),  # Ana, untimed, after Bo: Bo's time
    ]
    assert all(ref.end - ref.start == timedelta(days=1) for ref in item.time_refs)
