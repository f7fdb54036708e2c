"""Time expressions resolved against Wednesday 2023-05-10 14:00 UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from memosys.core.items import TimeRef
from memosys.reader.timeexpr import add_months, find_time_refs

WEDNESDAY = datetime(2023, 5, 10, 14, 0, tzinfo=UTC)

# expression, first day, day after the last, granularity
CASES: list[tuple[str, str, str, str]] = [
    ("today", "2023-05-10", "2023-05-11", "day"),
    ("tonight", "2023-05-10", "2023-05-11", "day"),
    ("this morning", "2023-05-10", "2023-05-11", "day"),
    ("this evening", "2023-05-10", "2023-05-11", "day"),
    ("yesterday", "2023-05-09", "2023-05-10", "day"),
    ("Yesterday", "2023-05-09", "2023-05-10", "day"),
    ("last night", "2023-05-09", "2023-05-10", "day"),
    ("the day before yesterday", "2023-05-08", "2023-05-09", "day"),
    ("tomorrow", "2023-05-11", "2023-05-12", "day"),
    ("the day after tomorrow", "2023-05-12", "2023-05-13", "day"),
    ("last Friday", "2023-05-05", "2023-05-06", "day"),
    ("last Tuesday", "2023-05-09", "2023-05-10", "day"),
    ("last Wednesday", "2023-05-03", "2023-05-04", "day"),
    ("this past Sunday", "2023-05-07", "2023-05-08", "day"),
    ("this Monday", "2023-05-08", "2023-05-09", "day"),
    ("this Friday", "2023-05-12", "2023-05-13", "day"),
    ("next Friday", "2023-05-12", "2023-05-13", "day"),
    ("next Wednesday", "2023-05-17", "2023-05-18", "day"),
    ("next monday", "2023-05-15", "2023-05-16", "day"),
    ("last week", "2023-05-01", "2023-05-08", "week"),
    ("this week", "2023-05-08", "2023-05-15", "week"),
    ("next week", "2023-05-15", "2023-05-22", "week"),
    ("last weekend", "2023-05-06", "2023-05-08", "day"),
    ("this weekend", "2023-05-13", "2023-05-15", "day"),
    ("next weekend", "2023-05-20", "2023-05-22", "day"),
    ("last month", "2023-04-01", "2023-05-01", "month"),
    ("this month", "2023-05-01", "2023-06-01", "month"),
    ("next month", "2023-06-01", "2023-07-01", "month"),
    ("last year", "2022-01-01", "2023-01-01", "year"),
    ("this year", "2023-01-01", "2024-01-01", "year"),
    ("next year", "2024-01-01", "2025-01-01", "year"),
    ("3 days ago", "2023-05-07", "2023-05-08", "day"),
    ("ten days ago", "2023-04-30", "2023-05-01", "day"),
    ("a day ago", "2023-05-09", "2023-05-10", "day"),
    ("a week ago", "2023-05-01", "2023-05-08", "week"),
    ("two weeks ago", "2023-04-24", "2023-05-01", "week"),
    ("a couple of days ago", "2023-05-08", "2023-05-09", "day"),
    ("a few days ago", "2023-05-07", "2023-05-08", "day"),
    ("a couple of months ago", "2023-03-01", "2023-04-01", "month"),
    ("5 months ago", "2022-12-01", "2023-01-01", "month"),
    ("a few years ago", "2020-01-01", "2021-01-01", "year"),
    ("in 5 days", "2023-05-15", "2023-05-16", "day"),
    ("in a week", "2023-05-15", "2023-05-22", "week"),
    ("in two weeks", "2023-05-22", "2023-05-29", "week"),
    ("in 8 months", "2024-01-01", "2024-02-01", "month"),
    ("2 days later", "2023-05-12", "2023-05-13", "day"),
    ("three weeks later", "2023-05-29", "2023-06-05", "week"),
    ("the past 3 days", "2023-05-07", "2023-05-11", "day"),
    ("the last few weeks", "2023-04-17", "2023-05-11", "week"),
    ("7 May 2023", "2023-05-07", "2023-05-08", "day"),
    ("7th May, 2023", "2023-05-07", "2023-05-08", "day"),
    ("the 7th of May 2023", "2023-05-07", "2023-05-08", "day"),
    ("May 7, 2023", "2023-05-07", "2023-05-08", "day"),
    ("May 7th, 2023", "2023-05-07", "2023-05-08", "day"),
    ("Sept. 3, 2021", "2021-09-03", "2021-09-04", "day"),
    ("May 7th", "2023-05-07", "2023-05-08", "day"),
    ("7 May", "2023-05-07", "2023-05-08", "day"),
    ("the 3rd of June", "2023-06-03", "2023-06-04", "day"),
    ("Dec 25", "2023-12-25", "2023-12-26", "day"),
    ("2023-05-07", "2023-05-07", "2023-05-08", "day"),
    ("2024/02/29", "2024-02-29", "2024-03-01", "day"),
    ("May 2023", "2023-05-01", "2023-06-01", "month"),
    ("December, 2022", "2022-12-01", "2023-01-01", "month"),
    ("in 2022", "2022-01-01", "2023-01-01", "year"),
    ("during 1999", "1999-01-01", "2000-01-01", "year"),
    ("in March", "2023-03-01", "2023-04-01", "month"),
]


def _at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)


@pytest.mark.parametrize(("text", "start", "end", "granularity"), CASES)
def test_expression_resolves_to_exact_range(
    text: str, start: str, end: str, granularity: str
) -> None:
    refs = find_time_refs(f"We talked about it {text}, remember?", WEDNESDAY)
    assert refs == [TimeRef(text=text, start=_at(start), end=_at(end), granularity=granularity)]


@pytest.mark.parametrize(
    "text",
    ["I may go", "in may we", "2 may be enough", "31 June", "2023-13-01", "no dates here",
     "day 3 of the trip", "the 1990s", "in 4 steps", "2 days before the party"],
)
def test_non_expressions_are_ignored(text: str) -> None:
    assert find_time_refs(text, WEDNESDAY) == []


def test_invalid_day_falls_back_to_the_month() -> None:
    [ref] = find_time_refs("31 June 2023", WEDNESDAY)
    assert (ref.text, ref.granularity) == ("June 2023", "month")


def test_several_expressions_come_in_text_order() -> None:
    text = "On May 7, 2023 I said I'd go next week, not tomorrow; last year was 2022-03-01."
    assert [r.text for r in find_time_refs(text, WEDNESDAY)] == [
        "May 7, 2023", "next week", "tomorrow", "last year", "2022-03-01",
    ]


def test_without_reference_only_self_contained_dates_resolve() -> None:
    text = "Yesterday, on 7 May 2023, in 2022 and in March, last week, May 7th."
    assert [r.text for r in find_time_refs(text, None)] == ["7 May 2023", "in 2022"]


def test_reference_time_is_taken_in_utc() -> None:
    from datetime import timedelta, timezone

    late_evening_in_new_york = datetime(2023, 5, 9, 22, 0, tzinfo=timezone(timedelta(hours=-4)))
    [ref] = find_time_refs("today", late_evening_in_new_york)
    assert ref.start == _at("2023-05-10")


@pytest.mark.parametrize(
    ("reference", "text", "start", "end"),
    [
        (datetime(2023, 5, 14, tzinfo=UTC), "this weekend", "2023-05-13", "2023-05-15"),
        (datetime(2023, 5, 14, tzinfo=UTC), "last week", "2023-05-01", "2023-05-08"),
        (datetime(2023, 5, 15, tzinfo=UTC), "last Sunday", "2023-05-14", "2023-05-15"),
        (datetime(2023, 1, 3, tzinfo=UTC), "last month", "2022-12-01", "2023-01-01"),
        (datetime(2023, 12, 31, tzinfo=UTC), "next month", "2024-01-01", "2024-02-01"),
        (datetime(2023, 3, 31, tzinfo=UTC), "a month ago", "2023-02-01", "2023-03-01"),
        (datetime(2024, 1, 1, tzinfo=UTC), "last week", "2023-12-25", "2024-01-01"),
    ],
)
def test_week_and_month_boundaries(
    reference: datetime, text: str, start: str, end: str
) -> None:
    [ref] = find_time_refs(text, reference)
    assert (ref.start, ref.end) == (_at(start), _at(end))


def test_add_months_wraps_years() -> None:
    assert add_months(2023, 1, -1) == (2022, 12)
    assert add_months(2023, 12, 1) == (2024, 1)
    assert add_months(2023, 5, -29) == (2020, 12)


def test_render_time_ref_in_words() -> None:
    rendered = [r.words() for r in find_time_refs(
        "yesterday, last week, last month, in 2022, last weekend", WEDNESDAY)]
    assert rendered == [
        "Tuesday 9 May 2023",
        "week of Monday 1 May 2023",
        "April 2023",
        "2022",
        "Saturday 6 May 2023 Sunday 7 May 2023",
    ]


@pytest.mark.parametrize(
    "reference", [datetime(1, 1, 1, 0, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)]
)
def test_an_expression_beyond_the_calendar_is_left_unresolved(reference: datetime) -> None:
    text = "last friday, next week, last year, in 2 years, yesterday and tomorrow"
    refs = find_time_refs(text, reference)
    assert all(date(1, 1, 1) <= r.start.date() <= r.end.date() for r in refs)
    assert len(refs) < 6  # those that would leave the calendar are dropped, not raised
