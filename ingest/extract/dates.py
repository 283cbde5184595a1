"""Dates written in a release: day-precise dates in any common spelling, partial dates, date lines and
datelines, each read at the precision written (YYYY-MM-DD, YYYY-MM or YYYY).

English dates are read by the patterns below, which keep the position of each date in its text. A date
written out in another language ("12 березня 2024", "3 mars 2023", "14 мая 2023 г.", "2024年3月12日") is read
by `dateparser`, limited to the languages of the releases the archive holds: with a fixed list it reads a
date in about 2 ms, where guessing the language takes up to a second, and it never guesses a missing day.
Nothing here decides which date is a release's publication date: `furniture` does, from date lines and
datelines only.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache

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
DATELINE = re.compile(r"^(?:(?P<place>[^\W\d_][\w .'/-]{1,40}),\s*)?(?P<date>.{6,30}?)\s*[-–—:]\s")
# "(Guiyang, Guizhou—March 28, 2017) A pastor…": the place and date in brackets opening the first paragraph.
BRACKETED_DATELINE = re.compile(r"^\((?P<inside>[^()]{6,90})\)")

# Languages other than English that releases in the archive are written in (dateparser's codes).
DATE_LANGUAGES = ["uk", "ru", "be", "kk", "ky", "uz", "tr", "fr", "de", "es", "pt", "it", "pl", "fa", "ar", "zh"]
# The shape of a date written out in one of them: day, month word, year ("12 березня 2024 р.", "3 de marzo de
# 2024"), or the CJK year-month-day. Only text of this shape is handed to dateparser.
FOREIGN_DATE = re.compile(
    r"(?P<date>\d{1,2}\.?\s+(?:de\s+)?[^\W\d_]{3,}\.?,?\s+(?:de\s+)?\d{4}"
    r"|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)"
    r"(?:\s*(?:г\.|гг\.|года|год|р\.|року|гада|г|р)(?![^\W\d_]))?"
)
FOREIGN_LABEL = re.compile(
    r"^(?:опубликовано|опубліковано|апублікавана|дата|publié\s+le|publicado|veröffentlicht(?:\s+am)?|yayınlanma)"
    r"\s*:?\s*",
    re.I,
)


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
    """(label, date) when the whole line is a date such as "Published: 28 August 2025, 09:00" or, in another
    language, "Опубликовано: 14 мая 2023 г."."""
    prefix = DATE_LINE_PREFIX.match(line)
    rest = line[prefix.end() :]
    for pattern in [*FULL_DATE_PATTERNS, MONTH_YEAR]:
        match = pattern.match(rest)
        if match and TIME_SUFFIX.match(rest[match.end() :]):
            found = partial_date(match.group(0))
            return ((prefix.group("label") or "").lower(), found) if found else None
    foreign_label = FOREIGN_LABEL.match(line)
    rest = line[foreign_label.end() :] if foreign_label else rest
    match = FOREIGN_DATE.match(rest)
    if match and TIME_SUFFIX.match(rest[match.end() :]):
        found = foreign_date(match.group("date"))
        label = "published" if foreign_label else (prefix.group("label") or "").lower()
        return (label, found) if found else None
    return None


def foreign_date(text: str) -> str | None:
    """The day written out in one of DATE_LANGUAGES ("12 березня 2024"), as YYYY-MM-DD; None if it is not one."""
    parsed = _date_parser().get_date_data(text)
    return parsed.date_obj.date().isoformat() if parsed and parsed.date_obj else None


@cache
def _date_parser():
    from dateparser.date import DateDataParser  # its import costs 0.1 s; most releases never need it

    # STRICT_PARSING: a date without its day is not a day; dateparser would otherwise fill in today's.
    return DateDataParser(languages=DATE_LANGUAGES, settings={"STRICT_PARSING": True})


def dateline_date(text: str) -> str | None:
    """The date of a paragraph's dateline: "GENEVA, 28 August 2025 – Chinese authorities must…", "(Guiyang,
    Guizhou—March 28, 2017) A pastor…" or "КИЇВ, 12 березня 2024 – …"."""
    bracketed = BRACKETED_DATELINE.match(text)
    if bracketed:
        inside = bracketed.group("inside")
        # The date follows the place: try it after each separator, the whole of the rest being the date.
        for separator in re.finditer(r"(?:^|[-–—,])\s*", inside):
            found = _whole_date(inside[separator.end() :].strip())
            if found:
                return found
        return None
    dateline = DATELINE.match(text)
    if dateline and (not dateline.group("place") or dateline.group("place")[0].isupper()):
        return _whole_date(dateline.group("date").strip())
    return None


def _whole_date(written: str) -> str | None:
    """The day that `written` is, all of it, in English or one of DATE_LANGUAGES."""
    for pattern in FULL_DATE_PATTERNS:
        match = pattern.fullmatch(written)
        if match:
            return partial_date(written)
    foreign = FOREIGN_DATE.fullmatch(written)
    return foreign_date(foreign.group("date")) if foreign else None
