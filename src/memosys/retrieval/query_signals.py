"""What a query names besides its words: people and absolute dates.

Questions about a conversation often name who said something ("What did
Maya say about ...") or when ("on 25 May 2022", "in May 2022"); both are
strong hints about which memories answer them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)? ({_MONTHS}),? (\d{{4}})\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTHS}) (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})\b", re.I)
_MONTH_YEAR = re.compile(rf"\b({_MONTHS}),? (\d{{4}})\b", re.I)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_WORD = re.compile(r"\w+", re.UNICODE)

DateRange = tuple[date, date]


def _day(day: str, month: str, year: str) -> date | None:
    try:
        return datetime.strptime(f"{int(day)} {month.title()} {year}", "%d %B %Y").date()
    except ValueError:
        return None


def named_dates(query: str) -> list[DateRange]:
    """Absolute dates the query names, as (first, last) day ranges; a month is its whole range."""
    days = [_day(d, m, y) for d, m, y in _DAY_MONTH_YEAR.findall(query)]
    days += [_day(d, m, y) for m, d, y in _MONTH_DAY_YEAR.findall(query)]
    days += [_iso(y, m, d) for y, m, d in _ISO.findall(query)]
    found = [(d, d) for d in days if d is not None]
    if found:
        return found
    ranges = []
    for month, year in _MONTH_YEAR.findall(query):
        first = _day("1", month, year)
        if first is not None:
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            ranges.append((first, last))
    return ranges


def _iso(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def near(when: date, ranges: list[DateRange], slack: timedelta = timedelta(days=7)) -> bool:
    """Whether ``when`` falls within ``slack`` of one of the ranges."""
    return any(first - slack <= when <= last + slack for first, last in ranges)


def named_speakers(query: str, speakers: set[str]) -> set[str]:
    """The speakers among ``speakers`` whose name (or first name) the query mentions."""
    words = {w.lower() for w in _WORD.findall(query)}
    named = set()
    for speaker in speakers:
        parts = [p.lower() for p in _WORD.findall(speaker)]
        if parts and (parts[0] in words or " ".join(parts) in query.lower()):
            named.add(speaker)
    return named
