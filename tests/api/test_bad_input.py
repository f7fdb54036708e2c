"""Bad input gets a clear MemosysError subclass and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from memosys import (
    EmbedderMismatchError,
    EmptyInputError,
    EncodingError,
    InputTooLargeError,
    InvalidInputError,
    MemOS,
    MemosysError,
    UnknownFilterFieldError,
)
from memosys.models.embedders.hashing import HashEmbedder
from memosys.settings import HashEmbedderConfig, MemosysSettings, ReaderSettings

GOOD = {"role": "user", "content": "fine message"}

BAD_MESSAGES: list[tuple[str, Any, type[MemosysError]]] = [
    ("empty list", [], EmptyInputError),
    ("blank content", [GOOD, {"role": "user", "content": "   "}], EmptyInputError),
    ("huge message", [GOOD, {"role": "user", "content": "x" * 50_001}], InputTooLargeError),
    ("non-utf8 bytes", [GOOD, {"role": "user", "content": b"\xff\xfe bad"}], EncodingError),
    ("lone surrogate", [GOOD, {"role": "user", "content": "bad \udc80"}], EncodingError),
    ("not a list", GOOD, InvalidInputError),
    ("missing role", [GOOD, {"content": "no role"}], InvalidInputError),
    ("content not str", [GOOD, {"role": "user", "content": 42}], InvalidInputError),
    (
        "metadata not dict",
        [GOOD, {"role": "user", "content": "x", "metadata": [1]}],
        InvalidInputError,
    ),
    (
        "bad timestamp",
        [GOOD, {"role": "user", "content": "x", "timestamp": "yesterday"}],
        InvalidInputError,
    ),
]


@pytest.fixture
def small_limits_mos(tmp_path: Any, embedder: Any) -> Any:
    settings = MemosysSettings(reader=ReaderSettings(max_message_chars=50_000))
    with MemOS.open(tmp_path / "d", settings=settings, embedder=embedder) as mos:
        yield mos


@pytest.mark.parametrize(
    ("case", "messages", "error"), BAD_MESSAGES, ids=[c[0] for c in BAD_MESSAGES]
)
def test_bad_messages_raise_and_write_nothing(
    small_limits_mos: MemOS, case: str, messages: Any, error: type[MemosysError]
) -> None:
    with pytest.raises(error) as raised:
        small_limits_mos.add(messages, user_id="u")
    assert raised.value.message
    assert small_limits_mos.count(user_id="u") == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"filters": {"colour": "red"}}, UnknownFilterFieldError),
        ({"filters": {"kind": {"$regex": "x"}}}, InvalidInputError),
        ({"filters": "kind=message"}, InvalidInputError),
        ({"top_k": "5"}, InvalidInputError),
        ({"top_k": 0}, InvalidInputError),
        ({"mode": "magic"}, InvalidInputError),
        ({"mmr": 2.0}, InvalidInputError),
        ({"user_id": 7}, InvalidInputError),
    ],
)
def test_bad_search_arguments(
    small_limits_mos: MemOS, kwargs: dict[str, Any], error: type[MemosysError]
) -> None:
    small_limits_mos.add([GOOD], user_id="u")
    args: dict[str, Any] = {"user_id": "u", **kwargs}
    with pytest.raises(error):
        small_limits_mos.search("fine", **args)


def test_bad_query_and_ids(small_limits_mos: MemOS) -> None:
    with pytest.raises(InvalidInputError):
        small_limits_mos.search("   ", user_id="u")
    with pytest.raises(InvalidInputError):
        small_limits_mos.search(None, user_id="u")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        small_limits_mos.get(123, user_id="u")  # type: ignore[arg-type]


def test_add_texts_validation_writes_nothing(small_limits_mos: MemOS) -> None:
    with pytest.raises(InvalidInputError):
        small_limits_mos.add_texts(["a", "b"], user_id="u", embeddings=[[0.1, 0.2]])
    with pytest.raises(InvalidInputError):
        small_limits_mos.add_texts(["a", 5], user_id="u")  # type: ignore[list-item]
    with pytest.raises(InvalidInputError):
        small_limits_mos.add_texts(["a"], user_id="u", metadatas=[{}, {}])
    with pytest.raises(InvalidInputError):
        small_limits_mos.add_texts(["a"], user_id="u", kind="gossip")
    assert small_limits_mos.count(user_id="u") == 0


def test_another_embedder_is_refused_until_reembed(tmp_path: Any, embedder: Any) -> None:
    with MemOS.open(tmp_path / "d", embedder=embedder) as mos:
        mos.add([{"role": "user", "content": "I keep bees on the roof."}], user_id="u")
    hashing = MemosysSettings(embedder=HashEmbedderConfig(dimensions=64))
    with MemOS.open(tmp_path / "d", settings=hashing) as other:
        with pytest.raises(EmbedderMismatchError) as raised:
            other.search("bees", user_id="u")
        assert "memosys reembed" in raised.value.message
        with pytest.raises(EmbedderMismatchError):
            other.add([{"role": "user", "content": "More bees."}], user_id="u")
        assert other.reembed() == 1
        assert other.search("bees", user_id="u")[0].item.content == "I keep bees on the roof."
    assert isinstance(HashEmbedder(HashEmbedderConfig()).fingerprint, str)
