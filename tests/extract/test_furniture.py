"""`extract.furniture`: lines that are not content, and the `source` they describe."""

from testimony_archive.ingest.extract import PLACEHOLDER, extract_file, extract_text
from testimony_archive.ingest.extract.furniture import Furniture, is_label, organisation_before
from testimony_archive.ingest.extract.readers import Block

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


def test_furniture_lines_are_taken_out_and_recorded():
    warnings: list[str] = []
    furniture = Furniture({}, None, None, warnings)
    blocks = [
        Block(
            ["Share this page", "Photo: Jane Roe", "Published by Rights Watch Collective on 28 August 2025"], [1, 2, 3]
        ),
        Block(["*Names have been changed.", "Topics: Detention, China", "Body text."], [4, 5, 6]),
        Block(["© 2024 Rights Watch Collective. All rights reserved."], [7]),
    ]
    assert furniture.strip(blocks) == [Block(["Body text."], [6])]
    assert furniture.source("Title", []) == {
        "title": "Title",
        "publisher": "Rights Watch Collective",
        "published": "2025-08-28",
        "note": "*Names have been changed.",
        "tags": ["Detention", "China"],
    }
    assert warnings == []


def test_related_content_after_the_body_is_a_trailer():
    body = "A long paragraph of the release. " * 8
    furniture = Furniture({}, "X", None, [])
    blocks = [Block([body], [1]), Block(["Related content", "Another story", "DETENTION"], [2, 3, 4])]
    assert furniture.strip(blocks) == [Block([body], [1]), Block(["DETENTION"], [4])]


def test_nothing_found_is_a_placeholder_and_warnings():
    warnings: list[str] = []
    assert Furniture({}, None, None, warnings).source(None, []) == {"title": PLACEHOLDER, "publisher": PLACEHOLDER}
    assert warnings == [
        "no title found: set source.title",
        f"no publisher found: source.publisher is {PLACEHOLDER!r}, set it or pass --publisher",
        "no publication date found: set source.published before ingesting",
    ]


def test_is_label():
    assert is_label("TORTURE AND OTHER ILL-TREATMENT")
    assert not is_label("Torture")
    assert not is_label("28 AUGUST 2025")
    assert not is_label("FAMILIES WAIT.")


def test_organisation_before_said_today():
    assert organisation_before("Families must be told, Rights Watch Collective") == "Rights Watch Collective"
    assert organisation_before("Families must be told, Jane Doe") is None
