"""Time expressions in text, resolved to absolute UTC date ranges.

:func:`find_time_refs` turns "yesterday", "last Friday", "two weeks ago",
"7 May 2023", "in 2022", ... into :class:`~memosys.core.items.TimeRef` values
against a reference time (the message's ``event_time``). Ranges are
half-open, ``start <= t < end``, at whole-day boundaries in UTC. Weeks run
Monday to Sunday. Conventions for the ambiguous cases:

- "last Friday" is the latest Friday strictly before the reference day,
  "next Friday" the first one strictly after it, and "this Friday" the
  Friday of the reference day's week;
- "N weeks ago" is the week holding the day ``7*N`` days back, "N months ago"
  the calendar month ``N`` months back (likewise for years);
- "a few" and "several" count as 3, "a couple (of)" as 2;
- a date without a year ("May 7th") takes the reference year.

Without a reference time only self-contained dates ("7 May 2023",
"2023-05-07", "May 2023", "in 2022") are resolved.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from memosys.core.clock import to_utc
from memosys.core.items import TimeRef

_MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
_MONTHS["sept"] = 9
_WEEKDAYS = {calendar.day_name[i].lower(): i for i in range(7)}
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30,
    "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3, "few": 3, "several": 3,
}



def _words(phrase: str) -> str:
    """A regex for ``phrase`` that allows any run of whitespace between words."""
    return r"\s+".join(re.escape(word) for word in phrase.split())


_MON = "(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<y>(?:1[89]|2\d)\d\d)"
_NUM = (
    r"(?P<n>\d{1,3}|"
    + "|".join(_words(w) for w in sorted(_NUMBER_WORDS, key=len, reverse=True))
    + ")"
)
_UNIT = r"(?P<unit>day|week|month|year)s?"
_WDAY = "(?P<wd>" + "|".join(_WEEKDAYS) + ")"

Range = tuple[datetime, datetime, str]
_Handler = Callable[[re.Match[str], date | None], Range | None]


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def day_range(day: date, days: int = 1) -> Range:
    """The ``days`` whole days starting at ``day``."""
    return _at(day), _at(day + timedelta(days=days)), "day"


def week_range(day: date) -> Range:
    """The Monday-to-Sunday week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return _at(monday), _at(monday + timedelta(days=7)), "week"


def month_range(year: int, month: int) -> Range:
    """One calendar month."""
    next_year, next_month = add_months(year, month, 1)
    return _at(date(year, month, 1)), _at(date(next_year, next_month, 1)), "month"


def year_range(year: int) -> Range:
    """One calendar year."""
    return _at(date(year, 1, 1)), _at(date(year + 1, 1, 1)), "year"


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    """``(year, month)`` moved by ``delta`` months."""
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _shift(ref: date, unit: str, n: int) -> Range:
    """The ``unit``-sized period ``n`` units away from ``ref`` (negative: past)."""
    if unit == "day":
        return day_range(ref + timedelta(days=n))
    if unit == "week":
        return week_range(ref + timedelta(weeks=n))
    if unit == "month":
        return month_range(*add_months(ref.year, ref.month, n))
    return year_range(ref.year + n)


def _count(word: str) -> int:
    word = " ".join(word.lower().split())
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _safe_date(year: int, month: int, day: int) -> date | None:
    if 1 <= day <= calendar.monthrange(year, month)[1]:
        return date(year, month, day)
    return None


def _full_date(m: re.Match[str], ref: date | None) -> Range | None:
    day = _safe_date(int(m["y"]), _MONTHS[m["mon"].lower()], int(m["d"]))
    return None if day is None else day_range(day)


def _iso_date(m: re.Match[str], ref: date | None) -> Range | None:
    month = int(m["m"])
    if not 1 <= month <= 12:
        return None
    day = _safe_date(int(m["y"]), month, int(m["d"]))
    return None if day is None else day_range(day)


def _month_year(m: re.Match[str], ref: date | None) -> Range | None:
    return month_range(int(m["y"]), _MONTHS[m["mon"].lower()])


def _year_only(m: re.Match[str], ref: date | None) -> Range | None:
    return year_range(int(m["y"]))


def _day_month(m: re.Match[str], ref: date | None) -> Range | None:
    if ref is None or m["mon"] == "may":  # "2 may be" is the verb
        return None
    day = _safe_date(ref.year, _MONTHS[m["mon"].lower()], int(m["d"]))
    return None if day is None else day_range(day)


def _in_month(m: re.Match[str], ref: date | None) -> Range | None:
    if ref is None or not m["mon"][0].isupper():  # "in may" is usually the verb
        return None
    return month_range(ref.year, _MONTHS[m["mon"].lower()])


_DAY_WORDS = {
    "the day before yesterday": -2, "day before yesterday": -2,
    "the day after tomorrow": 2, "day after tomorrow": 2,
    "yesterday": -1, "last night": -1, "today": 0, "tonight": 0,
    "this morning": 0, "this afternoon": 0, "this evening": 0, "tomorrow": 1,
}


def _day_word(m: re.Match[str], ref: date | None) -> Range | None:
    if ref is None:
        return None
    return day_range(ref + timedelta(days=_DAY_WORDS[" ".join(m[0].lower().split())]))


def _direction(word: str) -> int:
    word = " ".join(word.lower().split())
    return {"last": -1, "past": -1, "this past": -1, "next": 1, "coming": 1,
            "this coming": 1}.get(word, 0)


def _weekday(m: re.Match[str], ref: date | None) -> Range | None:
    if ref is None:
        return None
    target = _WEEKDAYS[m["wd"].lower()]
    direction = _direction(m["rel"])
    if direction < 0:
        back = (ref.weekday() - target - 1) % 7 + 1
        return day_range(ref - timedelta(days=back))
    if direction > 0:
        ahead = (target - ref.weekday() - 1) % 7 + 1
        return day_range(ref + timedelta(days=ahead))
    return day_range(ref + timedelta(days=target - ref.weekday()))


def _period(m: re.Match[str], ref: date | None) -> Range | None:
    if ref is None:
        return None
    direction = _direction(m["rel"])
    unit = m["per"].lower()
    if unit == "weekend":
        saturday = ref + timedelta(days=5 - ref.weekday() + 7 * direction)
        return day_range(saturday, days=2)
    return _shift(ref, unit, direction)


def _relative(m: re.Match[str], ref: date | None) -> Range | None:
    if ref is None:
        return None
    n = _count(m["n"])
    sign = -1 if m["dir"].lower() in ("ago", "earlier") else 1
    return _shift(ref, m["unit"].lower(), sign * n)


def _in_future(m: re.Match[str], ref: date | None) -> Range | None:
    if ref is None:
        return None
    return _shift(ref, m["unit"].lower(), _count(m["n"]))


def _last_n(m: re.Match[str], ref: date | None) -> Range | None:
    """"the past 3 days": from the start of the period N units back to the end of today."""
    if ref is None:
        return None
    unit = m["unit"].lower()
    start, _, granularity = _shift(ref, unit, -_count(m["n"]))
    return start, day_range(ref)[1], granularity


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + pattern + r"(?![\w-])", re.IGNORECASE)


_REL = r"(?P<rel>this\s+past|this\s+coming|last|this|next|past|coming)"


@dataclass(frozen=True, eq=False)
class _Gate:
    """What a text must hold for a group of patterns to match it: one of ``needles``
    in its lowercase (a cheap filter), then a match of ``word``, when given (one
    search instead of one per pattern; "mon" in "Monday" is no month)."""

    needles: tuple[str, ...]
    word: re.Pattern[str] | None = None

    def opens(self, text: str, present: set[str]) -> bool:
        """Whether the patterns behind this gate can match ``text``, which holds the
        needles ``present`` (in its lowercase)."""
        if present.isdisjoint(self.needles):
            return False
        return self.word is None or self.word.search(text) is not None


_DIGITS = _Gate(tuple("0123456789"))
# every month pattern has the month as a word: after a space or the start, before
# a space, a comma or a non-word character (likewise for the units below)
_MONTH = _Gate(tuple(name[:3] for name in _MONTHS), _rx(_MON))
_DAY_WORD = _Gate(
    ("yesterday", "today", "tonight", "tomorrow", "night", "morning", "afternoon", "evening")
)
_WEEKDAY = _Gate(("day",))
_PERIOD = _Gate(("week", "month", "year"))
_COUNTED = _Gate(("day", "week", "month", "year"), _rx(_UNIT))

# Priority order: the first pattern that claims a span wins it. Each pattern
# runs only when the text opens its gate.
_PATTERNS: list[tuple[_Gate, re.Pattern[str], _Handler]] = [
    (_DIGITS, _rx(r"(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d\d)(?P=sep)(?P<d>\d\d)"), _iso_date),
    (_MONTH,
     _rx(r"(?:the\s+)?" + _DAY + r"\s+(?:of\s+)?" + _MON + r",?\s+" + _YEAR), _full_date),
    (_MONTH, _rx(_MON + r"\s+" + _DAY + r",?\s+" + _YEAR), _full_date),
    (_MONTH, _rx(_MON + r",?\s+" + _YEAR), _month_year),
    (_DIGITS, _rx(r"(?:in|during)\s+" + _YEAR), _year_only),
    (_MONTH, _rx(r"(?:the\s+)?" + _DAY + r"\s+of\s+" + _MON), _day_month),
    (_MONTH, _rx(_DAY + r"\s+" + _MON), _day_month),
    (_MONTH, _rx(_MON + r"\s+" + _DAY), _day_month),
    (_MONTH, _rx(r"(?:in|during)\s+" + _MON), _in_month),
    (_DAY_WORD, _rx("|".join(_words(w) for w in _DAY_WORDS)), _day_word),
    (_WEEKDAY, _rx(_REL + r"\s+" + _WDAY), _weekday),
    (_PERIOD, _rx(_REL + r"\s+(?P<per>weekend|week|month|year)"), _period),
    (_COUNTED, _rx(r"(?:the\s+)?(?:last|past)\s+" + _NUM + r"\s+" + _UNIT), _last_n),
    (_COUNTED, _rx(_NUM + r"\s+" + _UNIT + r"\s+(?P<dir>ago|earlier|later)"), _relative),
    (_COUNTED, _rx(r"in\s+" + _NUM + r"\s+" + _UNIT), _in_future),
]
_GATES = tuple(dict.fromkeys(gate for gate, _, _ in _PATTERNS))
_NEEDLES = frozenset(needle for gate in _GATES for needle in gate.needles)


def find_time_refs(text: str, reference: datetime | None = None) -> list[TimeRef]:
    """The time expressions in ``text``, in order of appearance.

    ``reference`` is the moment the text was written (naive means UTC); when
    it is ``None`` only self-contained dates are resolved.
    """
    ref = None if reference is None else to_utc(reference).date()
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, TimeRef]] = []
    present = {needle for needle in _NEEDLES if needle in lowered}
    opened = {gate for gate in _GATES if gate.opens(text, present)}
    for gate, pattern, handler in _PATTERNS:
        if gate not in opened:
            continue
        for match in pattern.finditer(text):
            lo, hi = match.span()
            if any(lo < end and start < hi for start, end in taken):
                continue
            try:
                resolved = handler(match, ref)
            except (OverflowError, ValueError):  # it falls outside years 1 to 9999
                continue
            if resolved is None:
                continue
            taken.append((lo, hi))
            start, end, granularity = resolved
            found.append(
                (lo, TimeRef(text=match[0], start=start, end=end, granularity=granularity))
            )
    found.sort(key=lambda pair: pair[0])
    return [ref_ for _, ref_ in found]
