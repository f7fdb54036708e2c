"""The slot lexicon: which statements name a subject's single-valued attribute."""

from __future__ import annotations

import pytest

from memosys.lifecycle.slots import SlotFact, extract_facts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I live in Paris.", ("user", "residence", "paris")),
        ("I moved to New York last year!", ("user", "residence", "new york")),
        ("Then I moved from Paris to Berlin in 2021.", ("user", "residence", "berlin")),
        ("I'm based in London now", ("user", "residence", "london")),
        ("Melanie has been living in Boston since May", ("melanie", "residence", "boston")),
        ("My sister lives in Lyon with her kids", ("user's sister", "residence", "lyon")),
        ("Alice works at Acme Corp as an engineer.", ("alice", "employer", "acme corp")),
        ("I started a new job at Google.", ("user", "employer", "google")),
        ("I was promoted to senior engineer", ("user", "job", "senior engineer")),
        ("My girlfriend is called Anna", ("user", "partner", "anna")),
        ("We adopted a puppy named Rex", ("user", "pet:dog", "rex")),
        ("I drive a Toyota Corolla", ("user", "car", "toyota corolla")),
        ("My new phone number is +49 170 1234567.", ("user", "phone_number", "+49 170 1234567")),
        ("my email is bob@example.com", ("user", "email", "bob@example.com")),
        ("Caroline's favorite food is sushi", ("caroline", "favourite:food", "sushi")),
        ("My favourite colour is dark blue.", ("user", "favourite:colour", "dark blue")),
        ("I just turned 31 today", ("user", "age", "31")),
        ("I'm 25 years old", ("user", "age", "25")),
    ],
)
def test_statements_become_slot_facts(text: str, expected: tuple[str, str, str]) -> None:
    assert extract_facts(text) == [SlotFact(*expected)]


@pytest.mark.parametrize(
    "text",
    [
        "If I moved to Rome I would be happy",
        "I used to live in Oslo",
        "I don't live in Paris anymore.",
        "Do you live in Paris?",
        "I will move to Madrid next spring.",
        "I'm thinking about moving to Lisbon.",
        "The weather in Paris is lovely.",
    ],
)
def test_questions_plans_and_negations_state_no_fact(text: str) -> None:
    assert extract_facts(text) == []


def test_first_person_is_the_given_speaker_and_the_last_value_wins() -> None:
    facts = extract_facts("I live in Paris. Actually, I moved to Rome.", first_person="Caroline")
    assert facts == [SlotFact("caroline", "residence", "rome")]


def test_a_leading_time_word_is_not_part_of_the_subject() -> None:
    assert extract_facts("Yesterday Tom moved to Rome") == [SlotFact("tom", "residence", "rome")]
