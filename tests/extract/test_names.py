"""`extract.names`: runs of capitalised words, and the pseudonym star."""

from testimony_archive.ingest.extract import (
    extract_file,
)

from .conftest import fixture


def test_escaped_bold_is_not_pseudonym():
    draft = extract_file(fixture("bold_pseudonym.md"))
    speakers = [testimony["speaker"] for testimony in draft.document["testimonies"]]
    # [\*\*Serik Bekov\*\*](…) and ***Gulzhan Sadykova*** are emphasis; **Patime***, \*\*Aigerim\*\*\* and
    # **Marat\*** are bold pseudonyms: the star after the bold belongs to the name, as CommonMark renders it.
    assert speakers == ["Patime*", "Serik Bekov", "Aigerim*", "Gulzhan Sadykova", "Marat*"]
