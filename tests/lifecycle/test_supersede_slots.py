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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Home is Vienna now.", ("user", "residence", "vienna")),
        ("Mei calls Oslo home now.", ("mei", "residence", "oslo")),
        ("Greetings from our new flat in Ghent!", ("user", "residence", "ghent")),
        ("We bought a house in Porto.", ("user", "residence", "porto")),
        ("Tom signed a contract with Initech.", ("tom", "employer", "initech")),
        ("Pied Piper hired me last week!", ("user", "employer", "pied piper")),
        ("Priya accepted a job offer from Hooli.", ("priya", "employer", "hooli")),
        ("Today was my first day at Stark Industries.", ("user", "employer", "stark industries")),
        ("Leased a Hyundai Ioniq last month.", ("user", "car", "hyundai ioniq")),
        ("Marco traded his Fiat for a Skoda Octavia.", ("marco", "car", "skoda octavia")),
        ("Kenji is obsessed with dumplings lately.", ("kenji", "favourite:food", "dumplings")),
        ("Lately I could eat ramen every single day.", ("user", "favourite:food", "ramen")),
        ("Pizza is my favourite!", ("user", "favourite:food", "pizza")),
        ("My favourite dish is pho.", ("user", "favourite:food", "pho")),
        ("Lena was made head of marketing.", ("lena", "job", "head of marketing")),
        ("They made me senior editor.", ("user", "job", "senior editor")),
        ("Omar stepped up as team lead.", ("omar", "job", "team lead")),
        ("My title is staff engineer now.", ("user", "job", "staff engineer")),
    ],
)
def test_broad_cues_read_other_phrasings_of_a_new_value(
    text: str, expected: tuple[str, str, str]
) -> None:
    assert extract_facts(text) == [SlotFact(*expected)]


@pytest.mark.parametrize(
    "text",
    [
        "I joined a gym last week!",  # a gym is no employer
        "So I joined in.",
        "I'm seeing more sales.",  # a partner has a name
        "I'm totally obsessed with yoga these days.",  # yoga is no dish
        "I could eat pizza, but I'm not hungry.",
        "I bought a new laptop.",  # no car make
        "I saw a red Toyota Corolla parked outside.",
        "We went to Paris for a week.",
        "We stayed at my place in Paris.",
        "I got the keys to the office.",
        "I'm the one who called.",
        "My brother is the best.",
    ],
)
def test_broad_cues_want_a_value_of_the_slots_shape(text: str) -> None:
    assert extract_facts(text) == []
