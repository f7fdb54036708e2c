"""The four backends give the same answers to the same scenario, side by side."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from memosys.core.errors import MemosysError

TURNS = [
    "We booked a cabin in the Alps for the second week of February",
    "My sister Lea is allergic to peanuts",
    "The cabin has a wood stove and no wifi",
    "Lea will bring her dog Pixel on the trip",
]


def _scenario(api: Any, user: str) -> dict[str, Any]:
    added = api.add(
        [{"role": "user", "content": text} for text in TURNS], user_id=user, session_id="trip"
    )
    api.add_texts(["Pixel is a border collie"], user_id=user, cube="pets", kind="fact")
    api.update(added[1].id, user_id=user, metadata={"checked": True})
    api.delete(added[2].id, user_id=user)
    result: dict[str, Any] = {}
    for mode in ("hybrid", "bm25", "dense"):
        hits = api.search("who is coming on the cabin trip?", user_id=user, mode=mode)
        result[mode] = [
            (h.item.content, [(m.retriever, m.rank) for m in h.explain.retrievers]) for h in hits
        ]
    result["sessions"] = [  # an item outside any session is its own session, named by its id
        (s.session_id if s.session_id == "trip" else "<item>", [h.item.content for h in s.hits])
        for s in api.search_sessions("peanuts allergy", user_id=user)
    ]
    result["list"] = [
        (i.content, i.kind, i.position, i.version, i.metadata)
        for i in api.list(user_id=user, order_by="position")
    ]
    result["cubes"] = sorted(c.name for c in api.list_cubes(user_id=user))
    result["audit"] = sorted(r.action for r in api.audit_log(user_id=user))
    try:
        api.get(added[2].id, user_id=user)
    except MemosysError as exc:
        result["error"] = (type(exc).__name__, exc.message.replace(added[2].id, "<id>"))
    return result


@pytest.mark.parametrize("other", ["asgi", "http", "writers"])
def test_remote_backends_agree_with_local(backends: Any, other: str) -> None:
    user = f"congruence-{uuid.uuid4().hex[:8]}"
    assert _scenario(backends.get(other), user) == _scenario(backends.get("local"), user)
