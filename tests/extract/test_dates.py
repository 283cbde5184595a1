"""`extract.dates`: dates as releases write them, at the precision written."""

import pytest
from testimony_archive.ingest.extract import extract_text
from testimony_archive.ingest.extract.dates import date_line, dateline_date, full_dates, partial_date


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


def test_dateline_date():
    assert dateline_date("GENEVA, 28 August 2025 – Chinese authorities must act.") == "2025-08-28"
    assert dateline_date("28 August 2025: families gathered.") == "2025-08-28"
    assert dateline_date("Families gathered on 28 August 2025 – again.") is None


def test_a_date_that_does_not_exist_is_not_drafted():
    page = (
        '<html><head><meta property="article:published_time" content="2025-02-30T10:00:00Z"></head>'
        "<body><h1>Title</h1><p>“We wait,” said Patime*, whose brother Ablikim* has been detained since 0000.</p>"
        "</body></html>"
    )
    draft = extract_text(page, kind="html", publisher="X")
    assert "published" not in draft.document["source"]
    assert draft.document["testimonies"][0]["subjects"] == [
        {"name": "Ablikim*", "relationship": "brother", "status": "detained"}
    ]
    assert draft.warnings == ["no publication date found: set source.published before ingesting"]
