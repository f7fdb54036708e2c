"""A synthetic knowledge-update benchmark: attributes that change several times over time.

:func:`generate` builds a "world": the user and a few friends, each with
attributes (where they live, who they work for, their car, ...) whose value
changes two to four times over months of conversation. Every change is a
natural message in some session ("Quick update: I relocated to Lisbon last
month.", "Tom joined Globex."), among small talk and distractors that
mention the same values without stating them ("We spent a weekend in Oslo").
Each (subject, attribute) gives one query asking for the current value.

:func:`score_query` applies the benchmark's rule to one ranking: the latest
value must be retrieved, and rank above every outdated value (an outdated
value that is not retrieved counts as below). A value's rank is the rank of
the first hit among the messages that state it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from memosys.core.errors import InvalidInputError
from memosys.eval.runner.harness import Session

Places = dict[tuple[str, str, str], list[tuple[str, int]]]


@dataclass(frozen=True)
class Attribute:
    """A single-valued attribute: its values, how people state it, how to ask for it."""

    name: str
    values: tuple[str, ...]
    first_person: tuple[str, ...]
    third_person: tuple[str, ...]
    ask_me: str
    ask_them: str
    unseen_first: tuple[str, ...]
    """First-person phrasings written apart from the slot lexicon (see :data:`SPLITS`)."""
    unseen_third: tuple[str, ...]
    """Third-person phrasings written apart from the slot lexicon."""
    distractors: tuple[str, ...]


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "residence",
        ("Lisbon", "Berlin", "Toronto", "Melbourne", "Osaka", "Denver", "Edinburgh", "Nairobi",
         "Valencia", "Montreal", "Prague", "Seattle"),
        ("I live in {v} these days.", "We finally moved to {v}!",
         "Quick update: I relocated to {v} last month.", "I'm based in {v} now, still unpacking.",
         "Just settled into the new flat, I moved to {v}."),
        ("{n} moved to {v}.", "{n} lives in {v} now.", "{n} has been living in {v} since spring.",
         "{n} relocated to {v} for a new job."),
        "Where do I live now?", "Where does {n} live now?",
        ("Home is {v} now, finally.", "We signed the lease on a flat in {v} last week.",
         "Greetings from my new home in {v}!", "I've been calling {v} home for a few weeks now.",
         "Our new place in {v} has a balcony.",
         "After years of thinking about it, we packed up and went to {v} for good."),
        ("{n} calls {v} home these days.", "{n} just bought a house in {v}.",
         "{n} packed up and headed to {v} for good.", "{n}'s new address is in {v}.",
         "{n} now lives over in {v}.", "{n} has made {v} home."),
        ("We spent a long weekend in {v} and loved the food.",
         "There was a documentary about {v} on TV tonight."),
    ),
    Attribute(
        "employer",
        ("Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Foods", "Acme Robotics",
         "Hooli", "Vandelay Imports", "Soylent Labs", "Cyberdyne"),
        ("I started a new job at {v}.", "I work at {v} now.", "These days I'm working for {v}.",
         "I joined {v} this week, first day was chaos."),
        ("{n} works at {v}.", "{n} joined {v}.", "{n} got a job at {v}.",
         "{n} is working for {v} now."),
        "Which company do I work for?", "Which company does {n} work for?",
        ("Signed my contract with {v} today.", "Today was my first day at {v}.",
         "I accepted the offer from {v}, I start Monday.",
         "I'm with {v} now, on the platform team.",
         "{v} hired me, I can't believe it!", "I handed in my notice and I'm off to {v}."),
        ("{n} accepted an offer from {v}.", "{n} is employed by {v} these days.",
         "{n} landed a position at {v}.", "{v} just hired {n}.",
         "{n} left the old job and is at {v} now.", "{n}'s first day at {v} was Monday."),
        ("{v} was in the news today for its quarterly results.",
         "A recruiter from {v} keeps emailing people I know."),
    ),
    Attribute(
        "car",
        ("Toyota Corolla", "Honda Civic", "Tesla Model 3", "Volkswagen Golf", "Mazda CX-5",
         "Ford Focus", "Subaru Outback", "Kia Niro", "Volvo XC40"),
        ("I drive a {v} now.", "I bought a new car, a {v}.", "My car is a {v}."),
        ("{n} drives a {v}.", "{n}'s car is a {v}."),
        "What car do I drive?", "What car does {n} drive?",
        ("Picked up my new {v} from the dealer today.", "Traded in the old car for a {v}.",
         "I'm driving around in a {v} these days.", "The new ride is a {v}, love it.",
         "Finally got the keys to my {v}.", "I sold the old car and got a {v}."),
        ("{n} bought a {v}.", "{n} traded up to a {v}.", "{n} gets around in a {v} now.",
         "{n} just got the keys to a {v}.", "{n}'s new ride is a {v}.",
         "{n} swapped the old car for a {v}."),
        ("I saw a red {v} parked outside the bakery.", "The rental place only had a {v} left."),
    ),
    Attribute(
        "favourite food",
        ("ramen", "paella", "tacos", "lasagna", "pho", "falafel", "sushi", "goulash", "dumplings",
         "risotto"),
        ("My favourite food is {v} at the moment.", "These days my favourite food is {v}.",
         "My favorite food is {v}, no contest."),
        ("{n}'s favourite food is {v}.", "{n}'s favorite food is {v} now."),
        "What is my favourite food?", "What is {n}'s favourite food?",
        ("Lately I could eat {v} every single day.", "Nothing beats {v} for me right now.",
         "I'm totally obsessed with {v} these days.", "{v} is my absolute favourite now.",
         "If I could only eat one thing it would be {v}.", "My go-to meal these days is {v}."),
        ("{n} can't get enough of {v} lately.", "{n} is crazy about {v} these days.",
         "{n} says {v} is the best food in the world.", "{n}'s new favourite dish is {v}.",
         "{n} orders {v} every time we go out now.", "{n} has been obsessed with {v} lately."),
        ("We ordered {v} for the office party.", "The new place downtown sells {v}."),
    ),
    Attribute(
        "job title",
        ("data analyst", "team lead", "product manager", "staff engineer", "head of design",
         "senior accountant", "research scientist", "operations manager"),
        ("I work as a {v} now.", "I was promoted to {v}!", "My job title is {v} these days."),
        ("{n} works as a {v}.", "{n} was promoted to {v}."),
        "What is my job title?", "What is {n}'s job title?",
        ("New business cards arrived: {v}.", "I got the {v} role!",
         "I'm the {v} now, more meetings than ever.", "Started my new position as {v} this week.",
         "They made me {v} today.", "My new title is {v}."),
        ("{n} is the new {v} on the team.", "{n} got the {v} job.",
         "{n} stepped up as {v} last month.", "{n} was made {v}.",
         "{n} took on the role of {v}.", "{n}'s title is {v} now."),
        ("They are hiring a {v} at the place next door.",),
    ),
)

FRIENDS = ("Tom", "Priya", "Marco", "Aisha", "Lena", "Kenji", "Sofia", "Omar", "Hannah", "Diego",
           "Mei", "Lukas")
CHATTER = (
    "The weather has been so grey this week.", "I finally finished that mystery novel.",
    "Do you have any tips for sleeping better?", "My knee is still sore from football.",
    "I tried a new coffee place this morning, pretty good.", "Can you suggest a podcast?",
    "The neighbours are renovating again, so noisy.", "I need to call the dentist tomorrow.",
    "We watched a great film on Saturday.", "I'm thinking about learning the guitar.",
    "The garden tomatoes are finally ripe.", "Work has been hectic lately.",
    "I forgot my umbrella again, of course it rained.", "Any ideas for a birthday present?",
    "My sister sent me photos from her holiday.", "I started doing yoga in the mornings.",
    "The train was late twice this week.", "I'm trying to drink more water.",
    "We had a power cut last night.", "I cleaned out the garage on Sunday.",
    "Remind me to water the plants.", "I'm reading about the history of tea.",
)
START = datetime(2023, 1, 9, 9, 0, tzinfo=UTC)
#: The unseen phrasings split in two halves: even positions "dev" (what detection may be
#: tuned on), odd positions "held_out" (reported, never tuned on). The lists were written
#: before the detector was extended to phrasings beyond the lexicon.
SPLITS = ("dev", "held_out")


@dataclass(frozen=True)
class UpdateQuery:
    """Ask for the current value of one subject's attribute."""

    qid: str
    question: str
    subject: str
    attribute: str
    latest: str
    outdated: tuple[str, ...]


@dataclass
class World:
    """Sessions to ingest, the queries, and which messages state which value."""

    user: str
    sessions: list[Session]
    queries: list[UpdateQuery]
    statements: Places = field(default_factory=dict)
    """(subject, attribute, value) -> [(session id, message index), ...]"""


def generate(
    world: int = 0,
    *,
    friends: int = 3,
    sessions: int = 24,
    chatter: int = 5,
    unseen: float = 0.0,
    split: str = "held_out",
    seed: int = 0,
) -> World:
    """One world of conversations with attribute changes; deterministic for a seed.

    ``unseen`` is the share of changes written in phrasings the slot lexicon
    (:mod:`memosys.lifecycle.slots`) was not written for, taken from one
    ``split`` of them (:data:`SPLITS`), to measure detection beyond its lexicon.
    """
    if split not in SPLITS:
        raise InvalidInputError(f"split must be one of {SPLITS}, not {split!r}")
    rng = random.Random(f"{seed}:{world}")
    names = rng.sample(FRIENDS, friends)
    subjects = [("I", list(ATTRIBUTES))] + [
        (name, rng.sample(list(ATTRIBUTES), 2)) for name in names
    ]
    plan: dict[int, list[tuple[str, Attribute, str]]] = {}
    queries: list[UpdateQuery] = []
    for subject, attributes in subjects:
        for attribute in attributes:
            values = rng.sample(attribute.values, rng.randint(2, 4))
            when = sorted(rng.sample(range(sessions), len(values)))
            for at, value in zip(when, values, strict=True):
                plan.setdefault(at, []).append((subject, attribute, value))
            ask = attribute.ask_me if subject == "I" else attribute.ask_them.format(n=subject)
            queries.append(UpdateQuery(
                f"w{world}-q{len(queries)}", ask, subject, attribute.name, values[-1],
                tuple(values[:-1]),
            ))
    result = World(f"world{world}", [], queries)
    for number in range(sessions):
        sid = f"w{world}-s{number:02d}"
        lines = [rng.choice(CHATTER) for _ in range(chatter)]
        lines += [_distractor(rng) for _ in range(rng.randint(0, 2))]
        rng.shuffle(lines)
        for subject, attribute, value in plan.get(number, []):
            index = rng.randint(0, len(lines))
            lines.insert(index, _statement(rng, subject, attribute, value, unseen, split))
            _shift(result.statements, sid, index)
            result.statements.setdefault((subject, attribute.name, value), []).append((sid, index))
        day = START + timedelta(days=number * 11 + rng.randint(0, 5))
        messages = [
            {"role": "user", "content": line, "timestamp": day + timedelta(minutes=3 * i)}
            for i, line in enumerate(lines)
        ]
        result.sessions.append(Session(sid, day, messages))
    return result


def score_query(query: UpdateQuery, world: World, ranked: Sequence[tuple[str, int]]) -> bool:
    """The benchmark rule on one ranking of (session id, message index) places."""
    def rank(value: str) -> int | None:
        places = set(world.statements.get((query.subject, query.attribute, value), []))
        return next((r for r, place in enumerate(ranked) if place in places), None)

    latest = rank(query.latest)
    if latest is None:
        return False
    return all((r := rank(v)) is None or r > latest for v in query.outdated)


def _statement(
    rng: random.Random, subject: str, attribute: Attribute, value: str, unseen: float,
    split: str,
) -> str:
    first = subject == "I"
    if rng.random() < unseen:
        phrasings = attribute.unseen_first if first else attribute.unseen_third
        template = rng.choice(phrasings[SPLITS.index(split)::2])
    else:
        template = rng.choice(attribute.first_person if first else attribute.third_person)
    text = template.format(n=subject, v=value)
    return text[0].upper() + text[1:]


def _distractor(rng: random.Random) -> str:
    attribute = rng.choice(ATTRIBUTES)
    return rng.choice(attribute.distractors).format(v=rng.choice(attribute.values))


def _shift(statements: Places, sid: str, at: int) -> None:
    """Move the recorded places of ``sid`` at or after ``at`` one down (a line was inserted)."""
    for places in statements.values():
        for i, (session, index) in enumerate(places):
            if session == sid and index >= at:
                places[i] = (session, index + 1)
