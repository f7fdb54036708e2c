"""Core: ids, filters parsing, errors, the public surface."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import memosys
from fresh_imports import modules_after
from memosys.core.errors import (
    InputTooLargeError,
    MemosysError,
    NotFoundError,
    UnknownFilterFieldError,
    error_class,
)
from memosys.core.filters import And, Eq, Exists, In, Not, Or, Range, parse_filter
from memosys.core.ids import new_id


def test_ids_are_uuid7_and_sort_by_time() -> None:
    ids = [new_id() for _ in range(2000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i[14] == "7" for i in ids)


def test_filter_dicts_parse_to_the_ast() -> None:
    parsed = parse_filter(
        {
            "kind": "message",
            "tags": {"$in": ["a", "b"]},
            "event_time": {"$gte": "2024-01-01", "$lt": "2024-02-01T00:00:00+00:00"},
            "$or": [{"metadata.dia_id": {"$exists": True}}, {"$not": {"session_id": "s1"}}],
        }
    )
    assert parsed == And(
        (
            Eq("kind", "message"),
            In("tags", ("a", "b")),
            Range(
                "event_time",
                gte=datetime(2024, 1, 1, tzinfo=UTC),
                lt=datetime(2024, 2, 1, tzinfo=UTC),
            ),
            Or((Exists("metadata.dia_id"), Not(Eq("session_id", "s1")))),
        )
    )


@pytest.mark.parametrize(
    "spec",
    [
        {"colour": "red"},
        {"metadata.": 1},
    ],
)
def test_unknown_filter_fields_are_refused(spec: dict[str, object]) -> None:
    with pytest.raises(UnknownFilterFieldError):
        parse_filter(spec)


def test_errors_have_status_and_wire_names() -> None:
    assert NotFoundError("x").status == 404
    assert InputTooLargeError("x").status == 413
    assert error_class("NotFoundError") is NotFoundError
    assert error_class("NoSuchError") is MemosysError
    assert NotFoundError("gone", detail={"id": "1"}).to_dict() == {
        "error": "NotFoundError",
        "message": "gone",
        "detail": {"id": "1"},
    }


def test_public_names_resolve() -> None:
    for name in memosys.__all__:
        assert getattr(memosys, name) is not None


def test_import_does_no_heavy_work() -> None:
    heavy = {"numpy", "onnxruntime", "pydantic", "sqlite3"} & modules_after("import memosys")
    assert sorted(heavy) == []
