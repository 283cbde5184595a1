"""Dates written in a release: day-precise dates in any common spelling, partial dates, date lines and
datelines, each read at the precision written (YYYY-MM-DD, YYYY-MM or YYYY)."""

from __future__ import annotations

import re
from datetime import date

from ..normalize import parse_date
from ..source import InvalidSource

MONTH_NUMBERS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3,
    "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

# A date in the archive's form, as the schema's partialDate writes it: YYYY, YYYY-MM or YYYY-MM-DD.
PARTIAL_DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
MONTH = r"(?:" + "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True)) + r")"
FULL_DATE_PATTERNS = [
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m>{MONTH})\.?,?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<m>{MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(r"\b(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})\b"),
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
]
MONTH_YEAR = re.compile(rf"\b(?P<m>{MONTH})\.?,?\s+(?P<y>\d{{4}})\b", re.I)
YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
DATE_LINE_PREFIX = re.compile(
    r"^(?:(?P<label>published|posted|updated|last updated|issued|released|date)(?:\s+on)?\s*:?\s*)?"
    r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?",
    re.I,
)
TIME_SUFFIX = re.compile(r"^\s*(?:[,|–—-]|at)?\s*(?:\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*\w{2,5})?)?\s*$", re.I)
DATELINE = re.compile(r"^(?:[A-Z][\w .'/-]{1,40},\s*)?(?P<date>.{6,30}?)\s*[-–—:]\s")


def full_dates(text: str) -> list[tuple[int, str]]:
    """Every day-precise date written in the text, as (position, YYYY-MM-DD), in reading order."""
    found: dict[int, str] = {}
    for pattern in FULL_DATE_PATTERNS:
        for match in pattern.finditer(text):
            month = match.group("m")
            month_number = int(month) if month.isdigit() else MONTH_NUMBERS[month.lower()]
            try:
                day = date(int(match.group("y")), month_number, int(match.group("d")))
            except ValueError:
                continue
            found.setdefault(match.start(), day.isoformat())
    return sorted(found.items())


def real_date(partial: str) -> str | None:
    """The partial date if it exists, by the archive's own rule (normalize.parse_date); else None."""
    try:
        parse_date(partial, "date", "release")
    except InvalidSource:
        return None
    return partial


def partial_date(text: str) -> str | None:
    """The date that `text` starts with, at the precision written: YYYY-MM-DD, YYYY-MM or YYYY."""
    dates = full_dates(text)
    if dates and dates[0][0] == 0:
        return dates[0][1]
    match = MONTH_YEAR.match(text)
    if match:
        return real_date(f"{int(match.group('y')):04d}-{MONTH_NUMBERS[match.group('m').lower()]:02d}")
    match = re.match(r"\d{4}\b", text)
    return real_date(match.group(0)) if match else None


def date_line(line: str) -> tuple[str, str] | None:
    """(label, date) when the whole line is a date such as "Published: 28 August 2025, 09:00"."""
    prefix = DATE_LINE_PREFIX.match(line)
    rest = line[prefix.end() :]
    for pattern in [*FULL_DATE_PATTERNS, MONTH_YEAR]:
        match = pattern.match(rest)
        if match and TIME_SUFFIX.match(rest[match.end() :]):
            found = partial_date(match.group(0))
            return ((prefix.group("label") or "").lower(), found) if found else None
    return None


def dateline_date(text: str) -> str | None:
    """The date of a paragraph's dateline: "GENEVA, 28 August 2025 – Chinese authorities must…"."""
    dateline = DATELINE.match(text)
    dates = full_dates(dateline.group("date")) if dateline else []
    return dates[0][1] if dates and dates[0][0] == 0 else None
