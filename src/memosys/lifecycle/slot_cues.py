"""Broad cues for slot facts, beyond the exact phrasings of the slot lexicon.

Where :data:`memosys.lifecycle.slots.LEXICON` reads set phrasings ("I live
in X", "I work at X"), these read the general ways English states a new
value: a copula or possessive with a slot noun ("the new ride is a X",
"X is my favourite now"), verbs of change and acquisition ("signed a
contract with X", "traded the old car for a X", "was made X"), and sentences
that start without a subject as chat messages do ("Finally got the keys to
my X"). Because they are broad, each carries a value shape
(:mod:`.slot_values`): the value must look like a value of its slot.
"""

from __future__ import annotations

import re

from memosys.lifecycle.slot_grammar import ADV, AUX, BE, HAVE, NONE, OBJ, PROPER, P, S, V
from memosys.lifecycle.slot_values import CAR_MAKES

Row = tuple[str, str, str | None]
_WHO = "{WHO}"  # "I" / "Tom" with auxiliaries, or no subject at the start of a sentence
_OWN = "{OWN}"  # "my" / "Tom's", or no subject at the start of a sentence
_SUBJECTS = {_WHO: (rf"{S}{AUX} {ADV}", NONE), _OWN: (f"{P} ", NONE)}
_DWELLING = r"home|place|flat|apartment|house|condo|address"
_CAR_NOUN = r"car|ride|wheels|vehicle"
_FOOD_NOUN = r"food|dish|meal|snack|cuisine"
_ROLE_V = V.replace("(?P<value>", "(?P<value>(?:(?:a|an|the) )?(?:new )?")
#: a value that starts with a car make, capitalised ("Kia Niro", "BMW"; not "a smart TV")
_MAKES = "|".join(sorted({form for make in CAR_MAKES for form in (make.title(), make.upper())}))
_CAR_V = V.replace("(?P<value>", rf"(?P<value>(?:{_MAKES})\b").replace("]+?)", "]*?)", 1)
#: a bare value where the words after it are spelled out ("X is my favourite")
_W = r"(?P<value>[\w'’ -]+?)"

_ROWS: tuple[Row, ...] = (
    # residence: "made X home", "my new place in X", "packed up and went to X", "a house in X"
    ("residence", rf"{S}{AUX} {ADV}(?:call|calls|calling|made|make|makes) {PROPER} "
                  rf"(?:(?:my|our|his|her|their) )?home\b", "proper"),
    ("residence", rf"{P} new (?:{_DWELLING}) (?:is )?in {PROPER}", "proper"),
    ("residence", rf"{P} (?:{_DWELLING}) is {ADV}in {PROPER}", "proper"),
    ("residence", rf"(?:^|\. )(?P<subj>)Home is {ADV}{PROPER}", "proper"),
    ("residence", rf"{_WHO}(?:packed up and |upped sticks and )(?:went|headed|moved|left) "
                  rf"(?:back |over |out )?to {PROPER}", "proper"),
    ("residence", rf"{_WHO}(?:went|headed|moved) (?:back |over |out )?to {PROPER} for good",
     "proper"),
    ("residence", rf"{_WHO}(?:bought|rented|leased|signed the lease on|moved into) "
                  rf"(?:a|an|the|our|my) (?:new )?(?:{_DWELLING}) in {PROPER}", "proper"),
    # employer: contracts, offers, hiring, a first day, employment
    ("employer", rf"{_WHO}(?:signed|signing) (?:my|a|the|his|her|our) (?:new )?"
                 rf"(?:contract|employment contract) with {PROPER}", "proper"),
    ("employer", rf"{_WHO}(?:accepted|took|accepting) (?:an|the|a) (?:job )?offer "
                 rf"(?:from|at|with) {PROPER}", "proper"),
    ("employer", rf"{PROPER} (?:just |finally |officially )?hired {OBJ}", "proper"),
    ("employer", rf"{S}{AUX} {ADV}(?:got |was |been |being )?(?:employed|hired) (?:by|at) "
                 rf"{PROPER}", "proper"),
    ("employer", rf"{_WHO}(?:landed|got|took|accepted|found|started) (?:a|an|the) (?:new )?"
                 rf"(?:job|position|role|post|gig) (?:at|with) {PROPER}", "proper"),
    ("employer", rf"{_OWN}first (?:day|week|month) (?:of work )?at {PROPER}", "proper"),
    ("employer", rf"{S}{HAVE} (?:left|quit) (?:my|the|his|her|their) (?:old )?job and "
                 rf"(?:is|am|are|'m|’m|'s|’s)? ?(?:now )?(?:at|with) {PROPER}", "proper"),
    # car: a known make after a verb of buying or driving, or a car noun
    # the last car named after the verb: "traded his Fiat for a Skoda"
    ("car", rf"{_WHO}(?:bought|got|picked up|drive|drives|driving|leased|traded|trading|"
            rf"swapped|own|owns|keys to|gets around in|get around in)"
            rf"(?: [\w'’-]+){{0,6}} (?:a|an|my|our|his|her|their|the) (?:new |brand new )?{_CAR_V}",
     "car"),
    ("car", rf"{_OWN}(?:[Tt]he )?new (?:{_CAR_NOUN}) is {ADV}(?:a |an )?{V}",
     "car"),
    # favourite food: enthusiasm and habit about a known dish
    ("favourite:food", rf"{_WHO}(?:totally |completely |really )?(?:obsessed with|crazy about|"
                       rf"addicted to|hooked on|mad about|can['’]?t get enough of) {V}", "food"),
    ("favourite:food", rf"{_WHO}could eat {V} (?:every|all the time|forever)", "food"),
    ("favourite:food", rf"{_WHO}(?:eat|eats|order|orders|have|has|cook|cooks|make|makes) {V} "
                       rf"(?:every|almost every|nearly every) (?:single )?", "food"),
    ("favourite:food", rf"(?:^|\b)(?P<subj>)[Nn]othing beats {V}", "food"),
    ("favourite:food", rf"(?:^|\. )(?P<subj>){_W} is (?:my|our) (?:absolute |new |"
                       rf"all-time )?(?:favou?rite|fave)", "food"),
    ("favourite:food", rf"{S} says? {_W} is the best (?:{_FOOD_NOUN})", "food"),
    ("favourite:food", rf"{P} (?:new )?(?:go-to|favou?rite|fave) (?:{_FOOD_NOUN}) "
                       rf"(?:these days |right now |at the moment )?is {ADV}{V}", "food"),
    ("favourite:food", rf"{_WHO}(?:could|would) only eat one thing,? it(?:['’]d| would) be {V}",
     "food"),
    # job title: a role noun after a verb of appointment, "as X", "the new X"
    ("job", rf"{S}{BE} {ADV}the (?:new )?{V}", "role"),
    ("job", rf"{S}{HAVE} (?:was |were |got |been |just )+made {_ROLE_V}", "role"),
    ("job", rf"\bmade {OBJ} {_ROLE_V}", "role"),
    ("job", rf"{_WHO}(?:stepped up|stepped in|started|took over|serves|serving|appointed|"
            rf"(?:started|began) (?:my|a|the|his|her) (?:new )?(?:position|job|role)) as {_ROLE_V}",
     "role"),
    ("job", rf"{_WHO}(?:took on|took over|got|accepted|landed) the (?:role|position|job) of "
            rf"{_ROLE_V}", "role"),
    ("job", rf"{_WHO}got the (?P<value>[a-z][a-z ]+?) (?:role|job|position|promotion)\b", "role"),
)


def _expand(rows: tuple[Row, ...]) -> tuple[Row, ...]:
    """One row per subject form where a row allows several (a group name appears once)."""
    out: list[Row] = []
    for slot, pattern, shape in rows:
        marker = next((m for m in _SUBJECTS if m in pattern), None)
        if marker is None:
            out.append((slot, pattern, shape))
        else:
            out.extend((slot, pattern.replace(marker, form), shape) for form in _SUBJECTS[marker])
    return tuple(out)


CUES = _expand(_ROWS)
#: idioms that state a fact although they contain a modal or a negation word
IDIOMS = re.compile(
    r"can['’]?t get enough of|could eat|"
    r"(?:if \w+ )?(?:could|would) only eat one thing,? it(?:['’]d| would) be",
    re.IGNORECASE,
)
