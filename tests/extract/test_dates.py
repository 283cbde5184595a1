"""`extract.dates`: dates as releases write them, at the precision written."""

import pytest
from testimony_archive.ingest.extract import (
    extract_text,
)


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
