"""Dataset loaders on tiny hand-written fixtures in the official schemas."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from memosys.core.errors import InvalidInputError
from memosys.eval.locomo import load_locomo, normalise_evidence, parse_locomo_time
from memosys.eval.longmemeval import load_longmemeval, parse_longmemeval_time

DATA = Path(__file__).parent / "data"


def test_locomo_time_parses_12_hour_clock() -> None:
    assert parse_locomo_time("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56)
    assert parse_locomo_time("10:04 am on 21 June, 2023") == datetime(2023, 6, 21, 10, 4)
    assert parse_locomo_time("12:09 am on 1 January, 2024") == datetime(2024, 1, 1, 0, 9)


def test_locomo_time_rejects_other_formats() -> None:
    with pytest.raises(InvalidInputError, match="1:56 pm on 8 May, 2023"):
        parse_locomo_time("2023-05-08")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["D1:3"], ["D1:3"]),
        (["D8:6; D9:17"], ["D8:6", "D9:17"]),
        (["D:11:26"], ["D11:26"]),
        (["D"], []),
        (["D1:3", "D1:3", " D2:1 "], ["D1:3", "D2:1"]),
    ],
)
def test_normalise_evidence(raw: list[str], expected: list[str]) -> None:
    assert normalise_evidence(raw) == expected


def test_locomo_sessions_come_from_session_lists_not_date_keys() -> None:
    (conv,) = load_locomo(DATA / "locomo_tiny.json")
    assert [s.session_id for s in conv.sessions] == ["session_1", "session_2"]
    assert conv.sessions[1].time == datetime(2023, 6, 21, 10, 4)
    assert conv.message_count == 6


def test_locomo_turn_becomes_named_message_with_caption_and_dia_id() -> None:
    (conv,) = load_locomo(DATA / "locomo_tiny.json")
    photo = conv.sessions[0].messages[2]
    assert photo == {
        "role": "user",
        "name": "Ana",
        "content": (
            "Look at my new garden. [shares a photo: a photo of tomato plants in a raised bed]"
        ),
        "metadata": {"dia_id": "D1:3"},
    }


def test_locomo_questions_keep_usable_evidence_only() -> None:
    (conv,) = load_locomo(DATA / "locomo_tiny.json")
    by_question = {q.question: q for q in conv.questions}
    assert by_question["What did Ben make in pottery class?"].evidence == ["D1:2", "D2:1"]
    assert by_question["Where is Ben flying in July?"].evidence == ["D2:3"]
    assert by_question["What grows in Ana's garden?"].evidence == ["D1:3"]
    assert "Unanswerable without evidence" not in by_question
    assert "Evidence that names no turn" not in by_question
    assert conv.dropped_evidence == ["D9:9"]
    assert sorted(q.category for q in conv.questions) == [1, 2, 3, 4, 5]


def test_locomo_index_out_of_range_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="out of range"):
        load_locomo(DATA / "locomo_tiny.json", [3])


def test_longmemeval_time_parses_weekday_format() -> None:
    assert parse_longmemeval_time("2023/05/30 (Tue) 23:40") == datetime(2023, 5, 30, 23, 40)


def test_longmemeval_skips_abstention_and_keeps_plain_messages() -> None:
    instances = load_longmemeval(DATA / "longmemeval_tiny.json")
    assert [i.question_id for i in instances] == ["q-single", "q-multi"]
    first = instances[0]
    assert [s.session_id for s in first.sessions] == ["s-a", "answer_s1", "s-b"]
    assert first.sessions[1].time == datetime(2023, 5, 30, 23, 40)
    assert first.sessions[1].messages[0] == {
        "role": "user",
        "content": "I just brought home my new dog, a beagle, and need name ideas.",
    }
    assert instances[1].answer_session_ids == ["answer_m1", "answer_m2"]


def test_longmemeval_drops_blank_turns() -> None:
    multi = load_longmemeval(DATA / "longmemeval_tiny.json")[1]
    assert [len(s.messages) for s in multi.sessions] == [1, 1, 1]


def test_longmemeval_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="cannot read LongMemEval file"):
        load_longmemeval(bad)
