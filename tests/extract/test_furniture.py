"""`extract.furniture`: lines that are not content, and the `source` they describe."""

import pytest
from testimony_archive.ingest.extract import extract_file, extract_text
from testimony_archive.ingest.extract.draft import placeholder
from testimony_archive.ingest.extract.furniture import (
    Furniture,
    contact_organisation,
    is_label,
    issuer,
    organisation_before,
    site_organisation,
)
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


NO_DATE = placeholder("when was it published (no dateline or page date found)?")
NO_PUBLISHER = placeholder("who published this release?")
FURNITURE_WARNINGS = ("no title", "no publisher", "no publication date", "publisher taken", "url ")


def furniture_warnings(draft) -> list[str]:
    """The warnings about the `source` block; those about quotations belong to other modules' tests."""
    return [warning for warning in draft.warnings if warning.startswith(FURNITURE_WARNINGS)]


def test_nothing_found_is_a_question_per_field_and_a_warning_each():
    warnings: list[str] = []
    assert Furniture({}, None, None, warnings).source(None, []) == {
        "title": "UNRESOLVED: what is the release's title?",
        "publisher": "UNRESOLVED: who published this release?",
        "published": "UNRESOLVED: when was it published (no dateline or page date found)?",
    }
    assert warnings == [
        "no title found: set source.title",
        "no publisher found: set source.publisher or pass --publisher",
        "no publication date found: set source.published before ingesting",
    ]


def test_markdown_heading_note_to_editors_and_labels_after_the_rule():
    draft = extract_file(fixture("furniture_amnesty_style.md"))
    # "# " is not part of the title; the note is not body text; "COUNTRY" and the related story are navigation.
    assert draft.document["source"] == {
        "title": "China: “My mother has not heard my voice in seven years”",
        "publisher": "Lantern Rights International",
        "published": "2024-03-12",
        "note": "*Names have been changed.",
        "tags": ["CHINA", "DETENTION", "ENFORCED DISAPPEARANCES"],
    }
    assert furniture_warnings(draft) == []
    text = " ".join(testimony["text"] for testimony in draft.document["testimonies"])
    assert "Note to Editors" not in text and "Scholars" not in text and "COUNTRY" not in text


def test_today_published_names_the_publisher_before_the_copyright_line():
    release = "Title\n\n12 March 2024\n\nHarbour Watch today published a report.\n\n© Lantern Trust 2024\n"
    draft = extract_text(release)
    assert draft.document["source"]["publisher"] == "Harbour Watch"
    assert furniture_warnings(draft) == []


def test_copyright_line_with_the_year_after_the_holder():
    draft = extract_text("Title\n\n12 March 2024\n\nFamilies wait.\n\n© Lantern Rights International 2024\n")
    assert draft.document["source"]["publisher"] == "Lantern Rights International"
    assert furniture_warnings(draft) == [
        "publisher taken from the copyright line (Lantern Rights International): check it"
    ]


def test_news_dateline_and_said_publisher_on_a_weekday():
    draft = extract_file(fixture("furniture_dateline.txt"))
    # The body's dates (an arrest, a sentence, a year in a quote) are not the publication date.
    assert draft.document["source"] == {
        "title": "Iran: Halt the execution of a young wrestler",
        "publisher": "Harbour Watch",
        "published": "2024-03-12",
    }
    assert furniture_warnings(draft) == []


def test_contact_block_names_the_publisher_and_is_not_the_title():
    draft = extract_file(fixture("furniture_contact.txt"))
    assert draft.document["source"] == {
        "title": "Exiled relatives call for an independent inquiry into deaths in custody",
        "publisher": "Silk Road Families Council",
        "published": "2022-09-27",
    }
    assert furniture_warnings(draft) == []


def test_press_office_line_and_bracketed_dateline():
    draft = extract_file(fixture("furniture_bracketed.txt"))
    assert draft.document["source"] == {
        "title": "Pastor’s wife barred from prison visit",
        "publisher": "Open Doors Monitor",
        "published": "2021-04-09",
    }
    assert furniture_warnings(draft) == []
    assert "press office" not in str(draft.document["testimonies"])


def test_alt_text_section_label_and_masthead_are_not_the_title():
    draft = extract_file(fixture("furniture_junk_title.txt"))
    assert draft.document["source"] == {
        "title": "Tajikistan: Relatives of exiled activists detained",
        "publisher": "Harbour Watch",
        "published": NO_DATE,
    }
    assert furniture_warnings(draft) == ["no publication date found: set source.published before ingesting"]


def test_a_body_sentence_is_never_the_title():
    draft = extract_file(fixture("furniture_sentence_first.txt"))
    assert draft.document["source"] == {
        "title": placeholder("what is the release's title?"),
        "publisher": NO_PUBLISHER,
        "published": NO_DATE,
    }
    assert furniture_warnings(draft) == [
        "no title found: set source.title",
        "no publisher found: set source.publisher or pass --publisher",
        "no publication date found: set source.published before ingesting",
    ]


def test_html_json_ld_og_title_without_site_suffix_and_no_alt_text_or_tagline():
    draft = extract_file(fixture("furniture_jsonld.html"))
    # JSON-LD datePublished keeps its day as written (not 2023-05-05 in UTC), not the modified date or the
    # caption's; the author meta names a person, not the publisher.
    assert draft.document["source"] == {
        "title": "Belarus: Families of jailed reporters ask for proof of life",
        "publisher": "Northern Lights Rights Centre",
        "published": "2023-05-04",
        "url": "https://www.nlrc.example/en/news/families-of-jailed-reporters",
        "language": "en",
    }
    assert furniture_warnings(draft) == []
    text = str(draft.document)
    assert "Responsive Image" not in text and "Standing with the silenced" not in text


def test_the_url_names_the_publisher_when_the_page_names_the_organisation():
    page = fixture("furniture_body_dates_only.html")
    draft = extract_file(page, url="https://www.steppejustice.example/news/kazakh-families")
    assert draft.document["source"]["publisher"] == "Steppe Justice Initiative"
    # A site the page never names is no publisher: a question, not the host name.
    draft = extract_file(page, url="https://www.nlrc.example/news/kazakh-families")
    assert draft.document["source"]["publisher"] == NO_PUBLISHER
    assert "no publisher found: set source.publisher or pass --publisher" in draft.warnings


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Rights Watch Collective today published new testimony.", "Rights Watch Collective"),
        ("Families must be told, Harbour Watch said today.", "Harbour Watch"),
        ("The sentence must be quashed, said Harbour Watch on Tuesday.", "Harbour Watch"),
        ("The sentence must be quashed, said Mina Kamali on Tuesday.", None),
        ("Families gathered outside the court.", None),
    ],
)
def test_issuer(text, expected):
    assert issuer(text) == expected


def test_contact_organisation_without_phone_mail_and_web():
    assert contact_organisation("Silk Road Families Council www.srfc.example +44 20 7946 0000") == (
        "Silk Road Families Council"
    )
    assert contact_organisation("Jane Doe, +44 20 7946 0000") is None


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://www.hrw.example/news/x", "Human Rights Watch"),
        ("https://harbourwatch.example/x", "Harbour Watch"),
        ("https://www.amnesty.example/en/x", None),
        (None, None),
        ("n/a", None),
    ],
)
def test_site_organisation(url, expected):
    texts = ["Relatives spoke to Human Rights Watch and to Harbour Watch."]
    assert site_organisation(url, texts) == expected


def test_is_label():
    assert is_label("TORTURE AND OTHER ILL-TREATMENT")
    assert not is_label("Torture")
    assert not is_label("28 AUGUST 2025")
    assert not is_label("FAMILIES WAIT.")


def test_organisation_before_said_today():
    assert organisation_before("Families must be told, Rights Watch Collective") == "Rights Watch Collective"
    assert organisation_before("Families must be told, Jane Doe") is None
