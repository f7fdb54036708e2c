"""The synthetic knowledge-update benchmark: its generator, its scoring rule, one small world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from memosys.api.local import MemOS
from memosys.core.errors import InvalidInputError
from memosys.eval.synthetic_updates import (
    ATTRIBUTES,
    UpdateQuery,
    World,
    generate,
    score_query,
)


def test_worlds_are_deterministic_and_record_where_each_value_is_stated() -> None:
    world = generate(3, sessions=10, seed=1)
    assert generate(3, sessions=10, seed=1) == world
    sessions = {s.session_id: s for s in world.sessions}
    for (_, _, value), places in world.statements.items():
        for sid, index in places:
            assert value in sessions[sid].messages[index]["content"]
    for query in world.queries:
        assert query.latest not in query.outdated and len(query.outdated) >= 1
    times = [s.time for s in world.sessions]
    assert times == sorted(times)


@pytest.mark.parametrize(("split", "offset"), [("dev", 0), ("held_out", 1)])
def test_unseen_phrasings_come_from_their_split_only(split: str, offset: int) -> None:
    world = generate(0, unseen=1.0, split=split)
    sessions = {s.session_id: s for s in world.sessions}
    attributes = {a.name: a for a in ATTRIBUTES}
    for (subject, name, value), places in world.statements.items():
        attribute = attributes[name]
        phrasings = attribute.unseen_first if subject == "I" else attribute.unseen_third
        allowed = {t.format(n=subject, v=value) for t in phrasings[offset::2]}
        for sid, index in places:
            line = sessions[sid].messages[index]["content"]
            assert line[0].lower() + line[1:] in {a[0].lower() + a[1:] for a in allowed}


def test_an_unknown_split_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="split must be one of"):
        generate(0, split="test")


def test_the_rule_wants_the_latest_retrieved_and_above_every_outdated_value() -> None:
    query = UpdateQuery("q", "Where do I live now?", "I", "residence", "Oslo", ("Rome", "Bern"))
    world = World("w", [], [query], {
        ("I", "residence", "Oslo"): [("s3", 0)],
        ("I", "residence", "Rome"): [("s1", 2)],
        ("I", "residence", "Bern"): [("s2", 1)],
    })
    assert score_query(query, world, [("s3", 0), ("s1", 2)])
    assert score_query(query, world, [("s9", 9), ("s3", 0)])  # outdated not retrieved: below
    assert not score_query(query, world, [("s2", 1), ("s3", 0)])
    assert not score_query(query, world, [("s1", 2)])  # the latest is missing


def test_a_small_world_answers_every_query_with_the_current_value(
    tmp_path: Path, embedder: Any
) -> None:
    world = generate(0, friends=2, sessions=12, chatter=3)
    with MemOS.open(tmp_path, embedder=embedder) as mos:
        for session in world.sessions:
            mos.add(session.messages, user_id=world.user, session_id=session.session_id,
                    session_time=session.time)
        for query in world.queries:
            hits = mos.search(query.question, user_id=world.user)
            ranked = [(h.item.session_id or "", h.item.position or 0) for h in hits]
            assert score_query(query, world, ranked), query
