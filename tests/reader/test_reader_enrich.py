"""Keywords, entities and the analyse entry point."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memosys.core.items import MemoryItem
from memosys.reader.enrich import analyse
from memosys.reader.entities import extract_entities, name_evidence
from memosys.reader.keywords import extract_keywords, fold

WEDNESDAY = datetime(2023, 5, 10, 14, 0, tzinfo=UTC)


def test_keywords_prefer_content_phrases() -> None:
    text = ("I went to the LGBTQ support group yesterday and it was so powerful. "
            "The support group members shared their transgender stories.")
    assert extract_keywords(text) == [
        "lgbtq support group", "support group members", "transgender stories", "powerful",
        "shared",
    ]


def test_keywords_fold_plurals_and_drop_stopwords_and_numbers() -> None:
    # "Dogs", "dogs" and "dog" count as one word, covered by the phrase "love dogs"
    keywords = extract_keywords("Dogs! I love dogs, my dog and 3 cats. Thanks, it's OK.")
    assert keywords == ["love dogs", "cats"]


def test_keywords_are_lowercase_deterministic_and_limited() -> None:
    text = " ".join(f"Topic{i} matters." for i in range(20))
    first = extract_keywords(text)
    assert first == extract_keywords(text)
    assert len(first) == 8 and all(k == k.lower() for k in first)
    assert extract_keywords("") == [] and extract_keywords("ok thanks!") == []


@pytest.mark.parametrize(
    ("word", "lemma"),
    [("dogs", "dog"), ("stories", "story"), ("classes", "class"), ("bus", "bus"),
     ("analysis", "analysis"), ("yes", "yes")],
)
def test_fold(word: str, lemma: str) -> None:
    assert fold(word) == lemma


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("Caroline went to New York with Melanie Smith last Friday.",
         ["New York", "Melanie Smith"]),
        ("Oliver's hilarious! NYC was fun. Books are great.", ["Oliver", "NYC"]),
        ("Thanks, Mel! Walking in Central Park was great. Anyway, see you Monday.",
         ["Mel", "Central Park"]),
        ("The University of Michigan hosts LGBTQ events.", ["University of Michigan", "LGBTQ"]),
        ("I met @jon_doe at Barnes & Noble, mail a.b@example.com or see "
         "https://Example.com/Path. #Pride",
         ["@jon_doe", "Barnes & Noble", "a.b@example.com", "https://Example.com/Path", "#Pride"]),
        ("Caroline's mom lives in São Paulo, near caroline's aunt. CAROLINE!",
         ["Caroline", "São Paulo"]),
        ("Hey Caroline! I think so.", ["Caroline"]),
        ("Painting helps me relax. Honestly it does.", []),
        ("Melanie: I love it.\nCaroline: Me too.", []),
        ("In May and on Tuesday it rained.", []),
        ("We saw The Louvre. OK, LOL.", ["Louvre"]),
    ],
)
def test_entities(text: str, entities: list[str]) -> None:
    assert extract_entities(text) == entities


def test_sentence_initial_word_counts_when_seen_mid_sentence() -> None:
    assert extract_entities("Rex is my dog. I walk Rex daily.") == ["Rex"]
    assert extract_entities("Rex barks. Bo sleeps. I walk Bo daily.") == ["Bo"]


def test_known_names_count_at_sentence_start() -> None:
    text = "Caroline went to New York.\nMelanie: Me too. Hey Caroline!"
    assert extract_entities(text, known={"Melanie", "Caroline"}) == [
        "Caroline", "New York", "Melanie",
    ]
    assert name_evidence("Caroline left. I saw Melanie's dog and New York.") == {"Melanie"}


def _item(content: str, **fields: object) -> MemoryItem:
    return MemoryItem(id="x", cube_id="c", user_id="u", owner="u", content=content,
                      created_at=WEDNESDAY, updated_at=WEDNESDAY, **fields)  # type: ignore[arg-type]


def test_analyse_finds_keywords_entities_and_time_refs() -> None:
    found = analyse("Melanie painted a sunrise at the lake last weekend with Oscar.",
                    WEDNESDAY, {"Melanie"})
    assert found.entities == ["Melanie", "Oscar"]
    assert "sunrise" in found.keywords and "lake" in found.keywords
    assert [(r.text, r.start) for r in found.time_refs] == [
        ("last weekend", datetime(2023, 5, 6, tzinfo=UTC)),
    ]


def test_analyse_resolves_against_the_reference_time() -> None:
    found = analyse("see you tomorrow", datetime(2020, 2, 28, tzinfo=UTC))
    assert found.time_refs[0].start == datetime(2020, 2, 29, tzinfo=UTC)


def test_search_text_renders_headings_and_dates() -> None:
    refs = analyse("We shipped it yesterday.", WEDNESDAY).time_refs
    item = _item("We shipped it yesterday.", headings=["Guide", "Install"], time_refs=refs)
    assert item.search_text() == "We shipped it yesterday. | Guide > Install | Tuesday 9 May 2023"
    assert _item("nothing").search_text() == "nothing"
