"""`extract.furniture`: lines that are not content, and the `source` they describe."""

from testimony_archive.ingest.extract import (
    extract_file,
    extract_text,
)

from .conftest import fixture


def test_published_updated_prefers_published():
    release = (
        "Title\n\nUpdated: 2 September 2025\nPublished: 28 August 2025\n\n“We wait,” said Jane Doe, its Director.\n"
    )
    assert extract_text(release, publisher="X").document["source"]["published"] == "2025-08-28"


def test_options_override_what_the_release_says():
    draft = extract_file(
        fixture("release.html"), publisher="Rights Watch Collective (Geneva)", url="https://example.org/r/1"
    )
    assert draft.document["source"]["publisher"] == "Rights Watch Collective (Geneva)"
    assert draft.document["source"]["url"] == "https://example.org/r/1"


def test_bad_url_option_is_left_out_with_a_warning():
    draft = extract_text("Title\n\n28 August 2025\n\n“We wait,” said Jane Doe, its Director.", publisher="X", url="n/a")
    assert "url" not in draft.document["source"]
    assert draft.warnings == ["url 'n/a' is not an http(s) address: left out"]


def test_masthead_and_label_lines_are_not_the_title():
    release = "RIGHTS WATCH COLLECTIVE\nNEWS\n\nChina: Families wait\n\n28 August 2025\n\n“We wait,” said Jane Doe, its Director.\n"
    draft = extract_text(release)
    assert draft.document["source"] == {
        "title": "China: Families wait",
        "publisher": "RIGHTS WATCH COLLECTIVE",
        "published": "2025-08-28",
    }
    assert draft.warnings == ["publisher taken from the first line (RIGHTS WATCH COLLECTIVE): check it"]
