"""Knowledge updates on the add path: a newer value of a slot supersedes the older one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from memosys.api.local import MemOS
from memosys.core.events import MemoryChange
from memosys.core.items import LifecycleState, MemoryItem
from memosys.lifecycle.fact_lookup import asked_slot
from memosys.lifecycle.slots import SlotFact
from memosys.lifecycle.supersede import (
    ConflictPair,
    Link,
    RuleJudge,
    Verdict,
    plan_links,
    slot_key,
)
from memosys.settings import load_settings

T1 = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
T2 = datetime(2024, 3, 5, 18, 30, tzinfo=UTC)
T3 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def say(mos: MemOS, text: str, at: datetime, speaker: str | None = None) -> str:
    message: dict[str, Any] = {"role": "user", "content": text, "timestamp": at}
    if speaker:
        message["name"] = speaker
    (item,) = mos.add([message], user_id="ann")
    return item.id


@pytest.fixture
def mos(tmp_path: Path, embedder: Any) -> MemOS:
    with MemOS.open(tmp_path, embedder=embedder) as opened:
        yield opened


def test_a_move_supersedes_the_old_residence_with_links_both_ways(mos: MemOS) -> None:
    paris = say(mos, "I live in Paris, near the canal.", T1)
    berlin = say(mos, "Big news: I moved to Berlin last week!", T2)

    old, new = mos.get(paris, user_id="ann"), mos.get(berlin, user_id="ann")
    assert old.state is LifecycleState.SUPERSEDED
    assert old.valid_to == T2
    assert old.superseded_by == berlin
    assert new.supersedes == [paris]
    assert new.state is not LifecycleState.SUPERSEDED


def test_search_prefers_current_facts_and_includes_history_on_request(mos: MemOS) -> None:
    paris = say(mos, "I live in Paris.", T1)
    berlin = say(mos, "I moved to Berlin.", T2)

    current = [h.item.id for h in mos.search("where do I live", user_id="ann")]
    history = [
        h.item.id for h in mos.search("where do I live", user_id="ann", include_history=True)
    ]
    assert current == [berlin]
    assert set(history) == {paris, berlin}
    assert [i.id for i in mos.list(user_id="ann")] == [berlin]
    assert {i.id for i in mos.list(user_id="ann", include_history=True)} == {paris, berlin}
    assert mos.count(user_id="ann") == 1


def test_a_chain_in_one_batch_links_each_value_to_the_next(mos: MemOS) -> None:
    items = mos.add(
        [
            {"role": "user", "content": "I work at Acme.", "timestamp": T1},
            {"role": "user", "content": "The weather is lovely today.", "timestamp": T1},
            {"role": "user", "content": "I joined Globex in March.", "timestamp": T2},
            {"role": "user", "content": "Now I work for Initech.", "timestamp": T3},
        ],
        user_id="ann",
    )
    acme, weather, globex, initech = (mos.get(i.id, user_id="ann") for i in items)
    assert acme.superseded_by == globex.id and acme.valid_to == T2
    assert globex.superseded_by == initech.id and globex.valid_to == T3
    assert globex.supersedes == [acme.id] and initech.supersedes == [globex.id]
    assert weather.state is LifecycleState.GENERATED
    assert initech.state is LifecycleState.GENERATED


def test_an_older_statement_added_later_is_superseded_by_the_newer_one(mos: MemOS) -> None:
    berlin = say(mos, "I moved to Berlin.", T2)
    paris = say(mos, "I live in Paris.", T1)  # imported late, happened first

    assert mos.get(paris, user_id="ann").superseded_by == berlin
    assert mos.get(berlin, user_id="ann").state is LifecycleState.GENERATED


def test_same_value_different_subject_or_hypothetical_do_not_supersede(mos: MemOS) -> None:
    first = say(mos, "I live in Paris.", T1)
    say(mos, "Yes, I still live in Paris and love it.", T2)  # same value
    say(mos, "My sister lives in Rome.", T2)  # another subject
    say(mos, "Alice moved to Madrid.", T2)  # another subject
    say(mos, "If I moved to Oslo I would need a warmer coat.", T3)  # hypothetical
    assert mos.get(first, user_id="ann").state is LifecycleState.GENERATED


def test_a_new_value_in_other_words_supersedes_and_leads_the_answer(mos: MemOS) -> None:
    golf = say(mos, "I drive a Volkswagen Golf.", T1)
    say(mos, "I saw a red Kia Niro parked outside.", T2)  # a car, but not mine
    kia = say(mos, "Traded the old car in for a Kia Niro.", T3)  # no subject: the speaker's
    assert mos.get(golf, user_id="ann").superseded_by == kia
    (first, *_) = mos.search("What car do I drive?", user_id="ann")
    assert first.item.id == kia


def test_joining_a_club_or_a_gym_is_no_new_employer(mos: MemOS) -> None:
    acme = say(mos, "I work at Acme.", T1)
    say(mos, "I joined a gym last week!", T2)
    say(mos, "I joined in, it was fun.", T3)
    assert mos.get(acme, user_id="ann").state is LifecycleState.GENERATED


def test_speakers_are_the_subjects_of_their_first_person_statements(mos: MemOS) -> None:
    ann = say(mos, "I live in Paris.", T1, speaker="Caroline")
    bob = say(mos, "I live in Lyon.", T2, speaker="Melanie")
    moved = say(mos, "Caroline moved to Boston.", T3, speaker="Melanie")
    assert mos.get(bob, user_id="ann").state is LifecycleState.GENERATED
    assert mos.get(ann, user_id="ann").superseded_by == moved


def test_a_content_update_is_checked_too(mos: MemOS) -> None:
    paris = say(mos, "I live in Paris.", T1)
    note = say(mos, "Note to self: buy milk.", T2)
    mos.update(note, user_id="ann", content="I relocated to Vienna.")
    assert mos.get(paris, user_id="ann").superseded_by == note


class _NeverJudge:
    """A judge that keeps every statement current (as a cautious LLM might)."""

    def __init__(self) -> None:
        self.pairs: list[ConflictPair] = []

    def judge(self, pair: ConflictPair) -> Verdict:
        self.pairs.append(pair)
        return Verdict.UNRELATED


def test_a_plugged_in_judge_decides(mos: MemOS) -> None:
    judge = _NeverJudge()
    mos.superseder.judge = judge
    paris = say(mos, "I live in Paris.", T1)
    say(mos, "I moved to Berlin.", T2)
    assert mos.get(paris, user_id="ann").state is LifecycleState.GENERATED
    (pair,) = judge.pairs
    assert (pair.older_fact.value, pair.newer_fact.value) == ("paris", "berlin")
    assert 0.0 < pair.similarity <= 1.0


def test_detection_can_be_switched_off(tmp_path: Path, embedder: Any) -> None:
    settings = load_settings(lifecycle={"supersede": False})
    with MemOS.open(tmp_path, embedder=embedder, settings=settings) as mos:
        paris = say(mos, "I live in Paris.", T1)
        say(mos, "I moved to Berlin.", T2)
        assert mos.get(paris, user_id="ann").state is LifecycleState.GENERATED


def test_the_supersede_job_links_memories_stored_before_detection_ran(
    tmp_path: Path, embedder: Any
) -> None:
    with MemOS.open(tmp_path, embedder=embedder,
                    settings=load_settings(lifecycle={"supersede": False})) as mos:
        paris = say(mos, "I live in Paris.", T1)
        berlin = say(mos, "I moved to Berlin.", T2)
    with MemOS.open(tmp_path, embedder=embedder,
                    settings=load_settings(lifecycle={"supersede": True})) as mos:
        assert mos.run_job("supersede").result == {"linked": 1}
        assert mos.get(paris, user_id="ann").superseded_by == berlin
        assert mos.run_job("supersede").result == {"linked": 0}


def test_superseding_writes_a_version_and_a_state_event(mos: MemOS) -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []
    mos.events.subscribe(lambda change: seen.append((change.kind, change.item_ids)))
    paris = say(mos, "I live in Paris.", T1)
    berlin = say(mos, "I moved to Berlin.", T2)
    assert ("state", (paris,)) in seen
    assert ("updated", (berlin,)) in seen
    assert mos.get(paris, user_id="ann").version == 2


def test_an_added_change_carries_the_memories_as_written(mos: MemOS) -> None:
    seen: list[MemoryChange] = []
    mos.events.subscribe(seen.append)
    items = mos.add_texts(["I live in Paris.", "Lovely weather today."], user_id="ann")
    (added,) = [change for change in seen if change.kind == "added"]
    assert added.item_ids == tuple(item.id for item in items)
    assert added.items == tuple(items)


@pytest.mark.parametrize("carried", [False, True])
def test_an_added_change_is_checked_with_or_without_its_memories(
    tmp_path: Path, embedder: Any, carried: bool
) -> None:
    with MemOS.open(tmp_path, embedder=embedder,
                    settings=load_settings(lifecycle={"supersede": False})) as mos:
        paris = say(mos, "I live in Paris.", T1)
        chat = say(mos, "Lovely weather today.", T2)
        berlin = say(mos, "I moved to Berlin.", T3)
        ids = (paris, chat, berlin)
        items = tuple(mos.get(i, user_id="ann") for i in ids) if carried else ()
        cube = mos.get(paris, user_id="ann").cube_id
        mos.superseder(MemoryChange("added", ids, cube, "ann", items))
        assert mos.get(paris, user_id="ann").superseded_by == berlin


def test_a_slot_question_leads_with_the_current_fact(mos: MemOS) -> None:
    say(mos, "I live in Paris, the city where I live happily.", T1)
    berlin = say(mos, "Quick update: I relocated to Berlin.", T2)
    say(mos, "Lovely weather for a walk today.", T3)

    (first, *_) = mos.search("Where do I live now?", user_id="ann")
    assert first.item.id == berlin
    assert first.explain.adjustments["current_fact"] >= 1.0  # put 1.0 above the best hit
    assert first.score == pytest.approx(
        (first.explain.rerank_score or 0.0) + sum(first.explain.adjustments.values())
    )
    filtered = mos.search("Where do I live now?", user_id="ann", filters={"kind": "fact"})
    assert berlin not in {h.item.id for h in filtered}  # the caller's filter still holds


def test_i_in_a_question_is_the_user_whose_messages_carry_their_name(mos: MemOS) -> None:
    say(mos, "I live in Paris.", T1, speaker="Ann")
    say(mos, "My dog Rex loves the park.", T1, speaker="Ann")
    say(mos, "I moved to Berlin.", T2, speaker="Ann")
    back = say(mos, "Actually I moved back to Paris.", T3, speaker="Ann")
    (first, *_) = mos.search("Where do I live now?", user_id="ann")
    assert first.item.id == back and first.explain.adjustments["current_fact"] >= 1.0


@pytest.mark.parametrize(
    ("question", "subject", "slot"),
    [
        ("Where do I live now?", "user", "residence"),
        ("Where does Tom live these days?", "tom", "residence"),
        ("Which company does Priya work for?", "priya", "employer"),
        ("What is my job title?", "user", "job"),
        ("What car do I drive?", "user", "car"),
        ("What is Tom's favourite food?", "tom", "favourite:food"),
        ("What is my favourite dish?", "user", "favourite:food"),
        ("What is the name of my puppy?", "user", "pet:dog"),
    ],
)
def test_questions_name_the_slot_they_ask_about(question: str, subject: str, slot: str) -> None:
    assert asked_slot(question) == SlotFact(subject, slot, "")


def test_other_questions_ask_no_slot() -> None:
    assert asked_slot("What did we eat at the party?") is None
    assert asked_slot("What is John's number one goal in his career?") is None
    assert asked_slot("What is my number?") == SlotFact("user", "phone_number", "")


def test_a_new_value_supersedes_only_what_the_judge_says_it_replaces() -> None:
    def item(name: str, text: str, at: datetime) -> MemoryItem:
        return MemoryItem(id=name, cube_id="c", user_id="u", owner="u", content=text,
                          created_at=at, updated_at=at, event_time=at)

    paris = item("paris", "I live in Paris.", T1)
    lyon = item("lyon", "I live in Lyon.", T2)
    berlin = item("berlin", "I moved to Berlin.", T3)
    key = slot_key(SlotFact("user", "residence", ""))
    unrelated = {("paris", "lyon"), ("lyon", "berlin")}

    def similarity(a: MemoryItem, b: MemoryItem) -> float:
        return 0.0 if (a.id, b.id) in unrelated else 0.9

    links = plan_links([berlin, lyon, paris], key, RuleJudge(), similarity)
    assert links == [Link("paris", "berlin")]  # lyon stays current beside berlin


def test_the_lead_fact_keeps_the_neighbours_that_were_asked_for(mos: MemOS) -> None:
    items = mos.add(
        [
            {"role": "user", "content": "Lovely weather today.", "timestamp": T1},
            {"role": "user", "content": "I moved to Berlin.", "timestamp": T1},
            {"role": "user", "content": "Unpacking all week.", "timestamp": T1},
        ],
        user_id="ann",
        session_id="s1",
    )
    hits = mos.search("Where do I live now?", user_id="ann", top_k=1, neighbours=1)
    assert [h.item.id for h in hits] == [items[1].id, items[0].id, items[2].id]


def test_deleting_the_successor_makes_the_older_fact_current_again(mos: MemOS) -> None:
    paris = say(mos, "I live in Paris.", T1)
    berlin = say(mos, "I moved to Berlin.", T2)
    mos.delete(berlin, user_id="ann")

    back = mos.get(paris, user_id="ann")
    assert back.state is LifecycleState.ACTIVATED
    assert back.valid_to is None and back.superseded_by is None
    assert [h.item.id for h in mos.search("Where do I live now?", user_id="ann")][:1] == [paris]


def test_editing_the_successor_away_from_the_fact_makes_the_older_fact_current_again(
    mos: MemOS,
) -> None:
    paris = say(mos, "I live in Paris.", T1)
    berlin = say(mos, "I moved to Berlin.", T2)
    mos.update(berlin, user_id="ann", content="I moved to Rome.")  # still the residence
    assert mos.get(paris, user_id="ann").superseded_by == berlin

    mos.update(berlin, user_id="ann", content="I bought a red bicycle.")
    back = mos.get(paris, user_id="ann")
    assert back.state is LifecycleState.ACTIVATED
    assert back.valid_to is None and back.superseded_by is None
    assert mos.get(berlin, user_id="ann").supersedes == []
    assert [h.item.id for h in mos.search("Where do I live now?", user_id="ann")][:1] == [paris]
    assert mos.history(paris, user_id="ann")[-1].note == (
        "current again: what superseded it no longer states this fact"
    )

    rome = next(v.version for v in mos.history(berlin, user_id="ann")
                if v.item.content == "I moved to Rome.")
    mos.rollback(berlin, rome, user_id="ann")  # the residence again: a knowledge update again
    assert mos.get(paris, user_id="ann").superseded_by == berlin


def test_forgetting_a_middle_value_relinks_the_chain(mos: MemOS) -> None:
    paris = say(mos, "I live in Paris.", T1)
    berlin = say(mos, "I moved to Berlin.", T2)
    rome = say(mos, "I relocated to Rome.", T3)
    mos.forget(berlin, user_id="ann")

    old = mos.get(paris, user_id="ann")
    assert old.state is LifecycleState.SUPERSEDED and old.superseded_by == rome
    assert old.valid_to == T3
    assert paris in mos.get(rome, user_id="ann").supersedes
    assert mos.verify_forgotten(ids=[berlin]).leftovers == []  # not even in version notes


def test_a_rollback_keeps_the_knowledge_update_links_both_ways(mos: MemOS) -> None:
    paris = say(mos, "I live in Paris.", T1)
    berlin = say(mos, "I moved to Berlin.", T2)
    mos.update(berlin, user_id="ann", content="I moved to Rome.")
    mos.rollback(berlin, 1, user_id="ann")  # version 1 was written before the link
    assert mos.get(berlin, user_id="ann").supersedes == [paris]
    mos.update(paris, user_id="ann", content="I live in Paris, near the canal.")
    mos.rollback(paris, 1, user_id="ann")

    old, new = mos.get(paris, user_id="ann"), mos.get(berlin, user_id="ann")
    assert old.content == "I live in Paris." and old.state is LifecycleState.SUPERSEDED
    assert old.superseded_by == berlin and old.valid_to == T2
    assert new.content == "I moved to Berlin." and new.supersedes == [paris]
