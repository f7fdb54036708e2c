"""Bad input to read_messages raises a clear error before any item is built."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from memosys.core.errors import (
    ConfigurationError,
    EmptyInputError,
    EncodingError,
    InputTooLargeError,
    InvalidInputError,
)
from memosys.settings import ReaderSettings

GOOD = {"role": "user", "content": "hello there"}


def expect(read: Any, clock: Any, error: type[Exception], messages: Any, match: str,
           **overrides: Any) -> None:
    with pytest.raises(error, match=match) as info:
        read(messages, **overrides)
    assert type(info.value) is error
    assert clock.calls == 0, "items were being built before validation finished"


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([], "messages is empty"),
        ([GOOD, {"role": "user", "content": "   \n"}], r"messages\[1\]\.content is blank"),
        ([{"role": "user", "content": b"  "}], r"messages\[0\]\.content is blank"),
    ],
)
def test_empty_input(read: Any, clock: Any, messages: Any, match: str) -> None:
    expect(read, clock, EmptyInputError, messages, match)


def test_message_over_max_chars(read: Any, clock: Any) -> None:
    settings = ReaderSettings(max_message_chars=10)
    messages = [{"role": "user", "content": "x" * 10}, {"role": "user", "content": "y" * 11}]
    expect(read, clock, InputTooLargeError, messages, r"messages\[1\].*11 characters.*10",
           settings=settings)


def test_batch_over_max_items(read: Any, clock: Any) -> None:
    settings = ReaderSettings(max_batch_items=3)
    expect(read, clock, InputTooLargeError, [GOOD] * 4, "4 messages.*limit of 3.*smaller batches",
           settings=settings)


def test_invalid_utf8_bytes(read: Any, clock: Any) -> None:
    messages = [GOOD, {"role": "user", "content": b"caf\xe9"}]
    expect(read, clock, EncodingError, messages, r"messages\[1\]\.content is not valid UTF-8")


def test_lone_surrogate(read: Any, clock: Any) -> None:
    messages = [{"role": "user", "content": "bad \ud800 text"}]
    expect(read, clock, EncodingError, messages, "unpaired surrogate")


def test_valid_utf8_bytes_are_decoded(read: Any) -> None:
    [item] = read([{"role": "user", "content": "café ☕".encode()}])
    assert item.content == "café ☕"


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ({"role": "user", "content": "hi"}, "must be a list.*wrap a single message in a list"),
        ("hello", "must be a list"),
        ([GOOD, "hello"], r"messages\[1\] must be a dict"),
        ([{"content": "hi"}], r"messages\[0\] has no 'role'"),
        ([{"role": "user"}], r"messages\[0\] has no 'content'"),
        ([{"role": 3, "content": "hi"}], r"messages\[0\]\.role must be a non-empty string"),
        ([{"role": " ", "content": "hi"}], r"messages\[0\]\.role must be a non-empty string"),
        ([{"role": "user", "content": 42}], r"messages\[0\]\.content must be a string"),
        ([{"role": "user", "content": "hi", "name": 7}], r"messages\[0\]\.name must be a string"),
        ([{"role": "user", "content": "hi", "timestamp": 1683700000}],
         r"messages\[0\]\.timestamp must be a datetime or an ISO 8601 string"),
        ([{"role": "user", "content": "hi", "timestamp": "last tuesday"}],
         r"messages\[0\]\.timestamp 'last tuesday' is not an ISO 8601"),
        ([{"role": "user", "content": "hi", "metadata": ["a"]}],
         r"messages\[0\]\.metadata must be a dict"),
        ([{"role": "user", "content": "hi", "metadata": {1: "a"}}],
         r"messages\[0\]\.metadata keys must be strings"),
        ([{"role": "user", "content": "hi", "id": 1.5}], r"messages\[0\]\.id must be a string"),
    ],
)
def test_invalid_input(read: Any, clock: Any, messages: Any, match: str) -> None:
    expect(read, clock, InvalidInputError, messages, match)


def test_invalid_call_arguments(read: Any, clock: Any) -> None:
    expect(read, clock, InvalidInputError, [GOOD], "metadata must be a dict", metadata="x")
    expect(read, clock, InvalidInputError, [GOOD], "tags must be a list", tags="a,b")
    expect(read, clock, InvalidInputError, [GOOD], "session_time", session_time=12)


def test_unknown_keys_are_accepted(read: Any) -> None:
    [item] = read([{**GOOD, "extra": {"anything": 1}, "name": None, "metadata": None}])
    assert item.content == "hello there"
    assert item.metadata == {}


def test_timestamp_forms(read: Any) -> None:
    items = read([
        {**GOOD, "timestamp": "2023-05-07T14:30:00Z"},
        {**GOOD, "timestamp": "2023-05-07T16:30:00+02:00"},
        {**GOOD, "timestamp": datetime(2023, 5, 7, 14, 30)},
        {**GOOD, "timestamp": date(2023, 5, 7)},
    ])
    expected = datetime(2023, 5, 7, 14, 30, tzinfo=UTC)
    assert [i.event_time for i in items] == [expected, expected, expected,
                                             datetime(2023, 5, 7, tzinfo=UTC)]


def test_stride_larger_than_window_is_a_configuration_error(read: Any) -> None:
    settings = ReaderSettings(window_size=2, window_stride=3)
    with pytest.raises(ConfigurationError, match="window_stride"):
        read([GOOD] * 4, settings=settings)
