"""Value shapes: does a phrase look like a place, a company, a car, a dish or a job title?

The broad cue patterns of :mod:`.slot_cues` ("I'm obsessed with X", "X hired
me") only say that *something* is a value; the shape says whether it is a
value of that slot: a proper noun for a city or a company, a known car make
for a car, a known dish for food, a role noun for a job title. Small word
lists of general knowledge, not of any one data set.
"""

from __future__ import annotations

from collections.abc import Callable

from memosys.reader.lexicon import STOPWORDS, words

CAR_MAKES = words(
    """
    acura alfa audi bentley bmw buick byd cadillac chevrolet chevy chrysler citroen cupra
    dacia dodge ferrari fiat ford genesis gmc honda hyundai infiniti jaguar jeep kia lada
    lamborghini lancia land lexus lincoln lotus maserati mazda mclaren mercedes mercedes-benz
    mini mitsubishi nissan opel peugeot polestar porsche ram renault rivian rover saab seat
    skoda smart subaru suzuki tesla toyota vauxhall volkswagen volvo vw
    """
)
FOODS = words(
    """
    bagels barbecue bbq biryani bibimbap borscht bratwurst brisket burgers burger burritos
    burrito cannoli carbonara ceviche cheesecake chili chowder couscous croissants curry
    dal dumplings empanadas enchiladas falafel fondue gnocchi goulash gumbo gyoza gyros
    hummus jambalaya kebab kebabs kimchi laksa lasagna lasagne moussaka nachos noodles
    omelette paella pancakes pasta pastries pho pierogi pizza poke poutine quesadillas
    ramen ratatouille risotto salad salmon samosas sandwiches sashimi satay schnitzel
    shakshuka shawarma soup souvlaki spaghetti steak stew sushi tacos tagine tamales tapas
    tempura tiramisu tofu udon waffles wings
    """
)
ROLES = words(
    """
    accountant administrator advisor analyst architect assistant associate attorney
    auditor barista cashier ceo cfo chef chief clerk coach consultant coordinator cto
    designer developer director doctor editor engineer executive head instructor intern
    janitor journalist lawyer lead lecturer librarian manager mechanic nurse officer
    owner pharmacist photographer physician pilot president principal producer
    professor programmer recruiter representative researcher scientist secretary
    specialist strategist supervisor surgeon teacher technician therapist trainer tutor
    vp writer
    """
)


_FILLER = {"a", "an", "the", "my", "our", "new"}
#: shape -> test on the value's words as written (leading articles dropped)
SHAPES: dict[str, Callable[[list[str]], bool]] = {
    "proper": lambda words: words[0][:1].isupper(),  # a city, a company
    "car": lambda words: words[0].lower() in CAR_MAKES,
    "food": lambda words: words[-1].lower() in FOODS,
    "role": lambda words: any(w.lower() in ROLES for w in words),
}


def fits(shape: str | None, raw: str) -> bool:
    """Whether the value text ``raw`` (as written) has the ``shape`` (None: any value)."""
    written = [t.strip("'’") for t in raw.split()]
    while written and written[0].lower() in _FILLER:
        written = written[1:]
    # "joined in", "driving around in a Kia" (but "the US" is a place)
    if not written or (written[0].lower() in STOPWORDS and not written[0].isupper()):
        return False
    return shape is None or SHAPES[shape](written)
