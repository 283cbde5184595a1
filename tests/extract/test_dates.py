"""`extract.dates`: dates as releases write them, at the precision written."""

import pytest
from testimony_archive.ingest.extract import extract_file, extract_text
from testimony_archive.ingest.extract.dates import date_line, dateline_date, foreign_date, full_dates, partial_date
from testimony_archive.ingest.extract.draft import placeholder

from .conftest import fixture

NO_DATE = placeholder("when was it published (no dateline or page date found)?")
NO_DATE_WARNING = "no publication date found: set source.published before ingesting"


@pytest.mark.parametrize(
    "date_line, expected",
    [
        ("28 August 2025", "2025-08-28"),
        ("August 28, 2025", "2025-08-28"),
        ("Aug. 28, 2025", "2025-08-28"),
        ("28.08.2025", "2025-08-28"),
        ("Published: Thursday, 28 August 2025, 09:30 GMT", "2025-08-28"),
        ("Posted on 2025-08-28", "2025-08-28"),
        ("August 2025", "2025-08"),
    ],
)
def test_publication_date_line(date_line, expected):
    release = f"Title\n\n{date_line}\n\n“We wait,” said Patime*, whose brother Ablikim* is detained.\n"
    draft = extract_text(release, publisher="Rights Watch Collective")
    assert draft.document["source"]["published"] == expected
    assert draft.warnings == []


def test_full_dates_in_reading_order_and_only_days_that_exist():
    text = "Arrested on 3 March 2018, sentenced on June 4, 2019; 31.02.2020 and 2021-13-01 are no dates."
    assert full_dates(text) == [(12, "2018-03-03"), (39, "2019-06-04")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("28 August 2025, in Geneva", "2025-08-28"),
        ("March 2019 and later", "2019-03"),
        ("2017, when", "2017"),
        ("in 2017", None),  # the date must start the text
        ("31 February 2025", None),
        ("February 0000", None),  # normalize.parse_date: a date that does not exist is never drafted
        ("0000", None),
    ],
)
def test_partial_date_at_the_precision_written(text, expected):
    assert partial_date(text) == expected


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Updated: 2 September 2025", ("updated", "2025-09-02")),
        ("Date: Sept 2, 2025 at 10.30 am", ("date", "2025-09-02")),
        ("2 September 2025", ("", "2025-09-02")),
        ("2 September 2025 was the day", None),
        ("Published: soon", None),
    ],
)
def test_date_line_is_a_whole_line_of_date(line, expected):
    assert date_line(line) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("GENEVA, 28 August 2025 – Chinese authorities must act.", "2025-08-28"),
        ("28 August 2025: families gathered.", "2025-08-28"),
        ("(Wuhan, Hubei—April 9, 2021) The wife of a pastor was turned away.", "2021-04-09"),
        ("КИЇВ, 12 березня 2024 – Родини чекають.", "2024-03-12"),
        ("Paris, 3 mars 2023 – Les familles attendent.", "2023-03-03"),
        ("(Hong Kong) – The government must act.", None),  # a dateline without a date
        ("Families gathered on 28 August 2025 – again.", None),
        ("families, 28 August 2025 – again.", None),  # a dateline's place is capitalised
    ],
)
def test_dateline_date(text, expected):
    assert dateline_date(text) == expected


@pytest.mark.parametrize(
    "line, expected",
    [
        ("12 березня 2024", ("", "2024-03-12")),
        ("Опубліковано: 12 березня 2024", ("published", "2024-03-12")),
        ("14 мая 2023 г.", ("", "2023-05-14")),
        ("5 сакавіка 2023", ("", "2023-03-05")),
        ("3 mars 2023, 10:00", ("", "2023-03-03")),
        ("12 de marzo de 2024", ("", "2024-03-12")),
        ("31 лютого 2024", None),  # no such day
        ("березень 2024", None),  # no day: dateparser must not add one
    ],
)
def test_date_line_in_other_languages(line, expected):
    assert date_line(line) == expected


def test_foreign_date_never_fills_in_a_missing_part():
    assert foreign_date("12 березня") is None
    assert foreign_date("14 мая 2023") == "2023-05-14"


def test_non_english_date_line_is_the_publication_date():
    draft = extract_file(fixture("furniture_foreign_date.txt"))
    assert draft.document["source"] == {
        "title": "Родини політв’язнів просять про листи",
        "publisher": "Правозахисна група «Світанок»",
        "published": "2024-03-12",
    }
    assert draft.warnings[0] == "publisher taken from the copyright line (Правозахисна група «Світанок»): check it"


def test_dates_only_in_the_body_leave_the_date_a_question():
    # An incident, a disappearance, a photo caption and years inside a quotation: none is the release's date.
    draft = extract_file(fixture("furniture_body_dates.txt"), publisher="Rights Watch Collective")
    assert draft.document["source"] == {
        "title": "Statement on the missing teachers of Kashgar",
        "publisher": "Rights Watch Collective",
        "published": NO_DATE,
    }
    assert NO_DATE_WARNING in draft.warnings


def test_html_dates_only_in_the_body_leave_the_date_a_question():
    # A <time> in a figure caption, a class="date" paragraph after the lede, a date in <title>: none is metadata.
    draft = extract_file(fixture("furniture_body_dates_only.html"), publisher="Steppe Justice Initiative")
    assert draft.document["source"] == {
        "title": "Kazakh families still searching",
        "publisher": "Steppe Justice Initiative",
        "published": NO_DATE,
        "language": "en",
    }
    assert NO_DATE_WARNING in draft.warnings


def test_a_bare_date_line_after_the_text_starts_is_not_the_date():
    lede = "Relatives of detained teachers say they have had no word from them for many months now."
    release = f"Title\n\n{lede} {lede}\n\n22 May 2019\n\n“We wait,” said Jane Doe, its Director.\n"
    draft = extract_text(release, publisher="X")
    assert draft.document["source"]["published"] == NO_DATE


@pytest.mark.parametrize(
    "meta, expected",
    [
        ('<meta property="article:published_time" content="2023-05-04T23:30:00-04:00">', "2023-05-04"),
        ('<meta property="article:published_time" content="2023-05-04T23:30:00Z">', "2023-05-04"),
        ('<meta name="DC.date.issued" content="2024-03-12">', "2024-03-12"),
        (
            '<meta property="article:modified_time" content="2024-04-01T09:00:00Z">'
            '<meta property="article:published_time" content="2024-03-12T09:00:00Z">',
            "2024-03-12",
        ),
    ],
)
def test_html_metadata_date_keeps_its_day_as_written(meta, expected):
    page = f"<html><head>{meta}</head><body><h1>Title</h1><p>“We wait,” said Jane Doe, its Director.</p></body></html>"
    assert extract_text(page, kind="html", publisher="X").document["source"]["published"] == expected


def test_a_date_that_does_not_exist_is_not_drafted():
    page = (
        '<html><head><meta property="article:published_time" content="2025-02-30T10:00:00Z"></head>'
        "<body><h1>Title</h1><p>“We wait,” said Patime*, whose brother Ablikim* has been detained since 0000.</p>"
        "</body></html>"
    )
    draft = extract_text(page, kind="html", publisher="X")
    # htmldate mends 2025-02-30 into 2025-02-01: a day the page does not write is refused.
    assert draft.document["source"]["published"] == NO_DATE
    assert draft.document["testimonies"][0]["subjects"] == [
        {"name": "Ablikim*", "relationship": "brother", "status": "detained"}
    ]
    assert draft.warnings == [NO_DATE_WARNING]
