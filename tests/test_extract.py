"""`ingest.extract`: drafting a source file from a published release.

Each fixture in tests/fixtures/extract/ is an invented release written the way NGO releases and their
text exports are; the tests assert the whole draft it gives, its warnings, and that the YAML written for
it loads back and passes the schema.
"""

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from testimony_archive.ingest.extract import (
    INVERSE_RELATIONSHIP,
    PLACEHOLDER,
    RELATIONSHIP_WORDS,
    STATUS_PATTERNS,
    Draft,
    ExtractError,
    draft_to_yaml,
    extract_file,
    extract_text,
)
from testimony_archive.ingest.source import load_source

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "extract"
SCHEMA = json.loads((ROOT / "schema" / "source.schema.json").read_text(encoding="utf-8"))


def fixture(name: str) -> Path:
    return FIXTURES / name


def reloaded(draft: Draft, source_name: str = "release.txt") -> dict:
    """The draft as written to YAML and read back, checked against the schema."""
    document = yaml.safe_load(draft_to_yaml(draft, source_name))
    errors = [error.message for error in Draft202012Validator(SCHEMA).iter_errors(document)]
    assert errors == []
    return document


def paragraphs(testimony: dict) -> list[str]:
    return testimony["text"].split("\n\n")


def test_plain_text_release():
    draft = extract_file(fixture("plain_release.txt"))
    assert draft.document == {
        "source": {
            "title": "China: Families of detained Uyghurs still waiting for answers",
            "publisher": "Rights Watch Collective",
            "published": "2025-08-28",
            "note": "*Names have been changed to protect the families from reprisals.",
            "tags": ["DETENTION", "TORTURE AND OTHER ILL-TREATMENT", "NEWS"],
        },
        "testimonies": [
            {
                "speaker": "Patime*",
                "role": "family",
                "subjects": [{"name": "Ablikim*", "relationship": "brother", "status": "imprisoned"}],
                "text": "Every night I dream that my brother comes home. Then I wake up and remember that he has "
                "not seen the sun for eight years.\n\n"
                "We sent letters to every office we could find. Nobody ever wrote back.\n\n"
                "My mother asks me every week whether there is news. I have stopped knowing what to tell her.",
            },
            {
                "speaker": "Mehmet Tursun",
                "role": "family",
                "subjects": [{"name": "Erkin Tursun", "relationship": "uncle", "status": "imprisoned"}],
                "text": "My uncle taught me to read. He wrote poems about the mountains and for that they took "
                "him away.",
            },
            {
                "speaker": "Gulnar*",
                "role": "family",
                "subjects": [{"name": "Ayshem*", "relationship": "sister", "status": "detained"}],
                "text": "The police never told us anything. They took her at night and we searched the hospitals "
                "for a week.\n\n"
                "We only know she is alive because a released prisoner saw her in 2023.",
            },
            {
                "speaker": "Dilnur*",
                "role": "family",
                "subjects": [
                    {"name": None, "relationship": "relative", "status": "died_in_detention"},
                    {"name": None, "relationship": "relative", "status": "detained"},
                ],
                "text": "We buried one of them without a funeral. I cannot bury the other one in my heart.",
            },
            {
                "speaker": "Jane Doe",
                "role": "organisation",
                "text": "The authorities’ silence is a policy, not an oversight. They must tell these families "
                "where their loved ones are.",
            },
        ],
    }
    assert draft.warnings == []
    assert reloaded(draft) == draft.document


def test_plain_text_quote_over_a_stray_blank_line_is_one_paragraph():
    mehmet = extract_file(fixture("plain_release.txt")).document["testimonies"][1]
    assert paragraphs(mehmet) == [
        "My uncle taught me to read. He wrote poems about the mountains and for that they took him away."
    ]


def test_unattributed_paragraph_after_a_quote_belongs_to_its_speaker():
    patime = extract_file(fixture("plain_release.txt")).document["testimonies"][0]
    # "“…,” said Patime*" then "“…,” she said." then a quoted paragraph with no attribution at all.
    assert [(text.split()[0], text.split()[-1]) for text in paragraphs(patime)] == [
        ("Every", "years."),
        ("We", "back."),
        ("My", "her."),
    ]


def test_markdown_release_with_escaped_bold_names_in_links():
    draft = extract_file(fixture("escaped_bold.md"))
    assert draft.document == {
        "source": {
            "title": "Uyghur families ask: “Where are our relatives?”",
            "publisher": "Rights Watch Collective",
            "published": "2025-08-28",
            "note": "*Names have been changed.",
            "tags": ["DETENTION", "ENFORCED DISAPPEARANCES", "NEWS"],
        },
        "testimonies": [
            {
                "speaker": "Aziz Yusup",
                "role": "family",
                "subjects": [{"name": None, "relationship": "father", "status": "disappeared", "since": "2017"}],
                "text": "I was twelve when they took my father. I am twenty now. I have spent more of my life "
                "waiting for him than living with him.\n\n"
                "Every year on his birthday we set a place for him at the table. My little sister does not "
                "remember his face.",
            },
            {
                "speaker": "Patime*",
                "role": "family",
                "subjects": [{"name": "Yusuf*", "relationship": "son", "status": "released"}],
                "text": "My son came home thin and silent. He flinches when a car stops outside the house.\n\n"
                "He does not talk about what happened to him. But at night I hear him crying.",
            },
            {
                "speaker": "Jane Doe",
                "role": "organisation",
                "text": "Every one of these families deserves an answer. Silence is not an answer.",
            },
        ],
    }
    assert draft.warnings == []
    assert reloaded(draft, "escaped_bold.md") == draft.document


def test_escaped_bold_is_not_pseudonym():
    draft = extract_file(fixture("bold_pseudonym.md"))
    speakers = [testimony["speaker"] for testimony in draft.document["testimonies"]]
    # [\*\*Serik Bekov\*\*](…) and ***Gulzhan Sadykova*** are emphasis; **Patime***, \*\*Aigerim\*\*\* and
    # **Marat\*** are bold pseudonyms: the star after the bold belongs to the name, as CommonMark renders it.
    assert speakers == ["Patime*", "Serik Bekov", "Aigerim*", "Gulzhan Sadykova", "Marat*"]


def test_bold_pseudonym_release():
    draft = extract_file(fixture("bold_pseudonym.md"))
    assert draft.document == {
        "source": {
            "title": "Relatives in Almaty describe years of silence",
            "publisher": "Rights Watch Collective",
            "published": "2025-08-28",
            "note": "*Names have been changed.",
        },
        "testimonies": [
            {
                "speaker": "Patime*",
                "role": "family",
                "subjects": [{"name": "Ablikim*", "relationship": "brother", "status": "imprisoned"}],
                "text": "They took my brother from his shop in broad daylight.",
            },
            {
                "speaker": "Serik Bekov",
                "role": "family",
                "subjects": [
                    {
                        "name": "Bolat Bekov",
                        "relationship": "father",
                        "status": "disappeared",
                        "since": "2018",
                    }
                ],
                "text": "My father was a farmer. He never hurt anyone.",
            },
            {
                "speaker": "Aigerim*",
                "role": "family",
                "subjects": [{"name": None, "relationship": "daughter", "status": "released"}],
                "text": "She came home, but part of her did not.",
            },
            {
                "speaker": "Gulzhan Sadykova",
                "role": "survivor",
                "text": "I was held for eleven months and then released without any explanation.",
            },
            {
                "speaker": "Marat*",
                "role": "family",
                "subjects": [{"name": "Nurlan*", "relationship": "cousin", "status": "detained", "since": "2019-03"}],
                "text": "Nobody from the consulate has ever called us back.",
            },
        ],
    }
    assert draft.warnings == []
    assert reloaded(draft, "bold_pseudonym.md") == draft.document


def test_html_release():
    draft = extract_file(fixture("release.html"))
    assert draft.document == {
        "source": {
            "title": "China: “We only want to know he is alive”",
            "publisher": "Rights Watch Collective",
            "published": "2025-08-28",
            "url": "https://rights-watch-collective.example/news/2025/08/china-we-only-want-to-know",
            "language": "en",
            "note": "*Names have been changed for the safety of the families.",
            "tags": ["Detention", "Enforced disappearances", "China"],
        },
        "testimonies": [
            {
                "speaker": "Kamil Nurmemet",
                "role": "family",
                "subjects": [
                    {
                        "name": "Nurmemet Tohti",
                        "relationship": "father",
                        "status": "disappeared",
                        "since": "2018",
                    }
                ],
                # Two <p>, the first left open by the typographic convention; a <br> inside the second.
                "text": "My father is seventy-one and has a weak heart. We do not even know if he gets his "
                "medicine.\n\n"
                "My children draw pictures for him and ask me where to send them. I keep every one of them in "
                "a box.",
            },
            {
                "speaker": "Zohre*",
                "role": "family",
                "subjects": [{"name": None, "relationship": "son", "status": "released"}],
                "text": "He was gone for five years. Now he sits by the window all day & does not speak.",
            },
            {
                "speaker": "Jane Doe",
                "role": "organisation",
                "text": "Chinese authorities must end this cruelty and allow families to contact their relatives.",
            },
            {
                "speaker": "Wang Lei",
                "role": "official",
                "text": "Xinjiang affairs are purely China’s internal affairs.",
            },
        ],
    }
    assert draft.warnings == []
    assert reloaded(draft, "release.html") == draft.document


def test_html_furniture_is_not_content():
    text = json.dumps(extract_file(fixture("release.html")).document, ensure_ascii=False)
    # Script, style, navigation, share buttons, the related-content aside, captions and the footer.
    for furniture in (
        "Not content",
        "Nobody",
        "About us",
        "Tweet",
        "Where is my brother",
        "vigil",
        "reserved",
    ):
        assert furniture not in text


def test_pdf_export_with_page_break_mid_quote():
    draft = extract_file(fixture("pdf_export.txt"))
    assert draft.document == {
        "source": {
            "title": "Silenced Families: Testimonies from the Uyghur Region",
            "publisher": "Rights Watch Collective",
            "published": "2025-08-28",
            "note": "*Names marked with an asterisk have been changed.",
        },
        "testimonies": [
            {
                "speaker": "Roxsan*",
                "role": "family",
                "subjects": [{"name": "Ilham*", "relationship": "husband", "status": "detained", "since": "2017-04"}],
                "text": "When the police came for my husband, it was two in the morning. They did not show any "
                "paper. They told me he would be back in a week. That was eight years ago.\n\n"
                "For the first year I went to the police station every Monday. They stopped letting me in. "
                "Then they told me to stop asking, or I would join him. My daughter was four years old then; "
                "today she asks me if her father is a bad man, and I do not know what to say.",
            },
            {
                "speaker": "Adil Hasan",
                "role": "family",
                "subjects": [
                    {
                        "name": "Tursun Hasan",
                        "relationship": "cousin",
                        "status": "imprisoned",
                        "since": "2019",
                    }
                ],
                "text": "My cousin was a doctor. He treated everyone, Uyghur or Han, rich or poor. The court gave "
                "him 15 years for having a religious book on his phone.",
            },
        ],
    }
    assert draft.warnings == []
    assert reloaded(draft, "pdf_export.txt") == draft.document


def test_page_furniture_does_not_leak_into_the_quote():
    roxsan = extract_file(fixture("pdf_export.txt")).document["testimonies"][0]
    # The quote runs over "Page 1 of 4", a form feed and the running header of page 2.
    assert len(paragraphs(roxsan)) == 2
    assert "is a bad man, and I do not know" in roxsan["text"]
    assert "Page" not in roxsan["text"] and "Rights Watch Collective" not in roxsan["text"]


def test_unattributed_quote_is_reported():
    draft = extract_file(fixture("unattributed.txt"))
    assert draft.document == {
        "source": {
            "title": "Statement on the sentencing of four Uyghur students",
            "publisher": PLACEHOLDER,
            "published": "2019",
        },
        "testimonies": [
            {
                "speaker": "Abdulla Karim",
                "role": "other",
                "text": "They were among the brightest students I have taught.",
            },
            {
                "speaker": "Mihray*",
                "role": "family",
                "subjects": [{"name": "Nur*", "relationship": "sister", "status": "imprisoned"}],
                "text": "My sister is 23 and she has done nothing wrong. She wanted to be a teacher.\n\n"
                "They took her laptop as evidence.\n\n"
                "We are afraid to speak even to each other.",
            },
        ],
    }
    assert draft.warnings == [
        "no publisher found: source.publisher is 'UNKNOWN — set before ingesting', set it or pass --publisher",
        "no publication date found: used the year 2019, set the full date if known",
        'line 5: quotation with no speaker: "We have waited six years for a trial…"',
        "line 9: could not tell who Abdulla Karim is (family, organisation, ...): role is 'other'",
        'line 11: quoted words inside a sentence, not extracted as a testimony: "forced to confess on camera"',
        "line 19: quotation with no attribution given to Mihray*, the last speaker quoted: "
        '"We are afraid to speak even to each…"',
    ]
    assert reloaded(draft) == draft.document


def test_draft_yaml_header_lists_warnings_and_quotes_dates():
    draft = extract_file(fixture("unattributed.txt"))
    written = draft_to_yaml(draft, "unattributed.txt")
    lines = written.splitlines()
    assert lines[:3] == [
        "# DRAFT extracted from unattributed.txt by `testimony extract`: review every field before ingesting.",
        "# yaml-language-server: $schema=../schema/source.schema.json",
        "# WARNING: no publisher found: source.publisher is 'UNKNOWN — set before ingesting', set it or pass "
        "--publisher",
    ]
    assert sum(line.startswith("# WARNING: ") for line in lines) == len(draft.warnings)
    assert "  published: '2019'" in lines
    assert "  text: |-" in lines
    assert "UNKNOWN — set before ingesting" in written  # allow_unicode: no \u escapes


def test_yaml_keeps_dates_as_strings():
    draft = extract_file(fixture("pdf_export.txt"))
    written = draft_to_yaml(draft)
    assert "published: '2025-08-28'" in written and "since: '2017-04'" in written and "since: '2019'" in written
    document = yaml.safe_load(written)
    assert document["source"]["published"] == "2025-08-28"
    assert document["testimonies"][1]["subjects"][0]["since"] == "2019"
    assert written.startswith("# DRAFT extracted by `testimony extract`")


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


def test_two_quotes_in_one_paragraph_take_the_attribution_after_the_second():
    release = (
        "Title\n\n28 August 2025\n\n"
        "“They came at night.” “They took everything,” said Patime*, whose brother Ablikim* is detained.\n"
    )
    draft = extract_text(release, publisher="X")
    assert draft.document["testimonies"] == [
        {
            "speaker": "Patime*",
            "role": "family",
            "subjects": [{"name": "Ablikim*", "relationship": "brother", "status": "detained"}],
            "text": "They came at night. They took everything.",
        }
    ]


def test_split_quote_keeps_the_comma_when_the_sentence_goes_on():
    release = "Title\n\n28 August 2025\n\n“When they came,” said Jane Doe, its Director, “nobody was home.”\n"
    testimony = extract_text(release, publisher="X").document["testimonies"][0]
    assert testimony["text"] == "When they came, nobody was home."


def test_pronoun_with_nobody_named_is_reported():
    release = "Title\n\n28 August 2025\n\n“We are still waiting,” she said.\n"
    draft = extract_text(release, publisher="X")
    assert draft.document["testimonies"] == []
    assert draft.warnings == [
        "no attributed quotations found: the draft has no testimonies",
        'line 5: quotation attributed to a pronoun with no one named before it: "We are still waiting,"',
    ]


def test_unnamed_speaker_gets_a_placeholder_and_a_warning():
    release = (
        "Title\n\n28 August 2025\n\n"
        "“We are afraid to give our names,” said a relative of a detained man, who asked not to be named.\n"
    )
    draft = extract_text(release, publisher="X")
    assert draft.document["testimonies"] == [
        {
            "speaker": PLACEHOLDER,
            "role": "family",
            "subjects": [{"name": None, "relationship": "relative", "status": "detained"}],
            "text": "We are afraid to give our names.",
        }
    ]
    assert draft.warnings == [
        'line 5: speaker has no name ("a relative of a detained man, who asked not to be named"): speaker is '
        "'UNKNOWN — set before ingesting': \"We are afraid to give our names,\"",
    ]


def test_relative_introduced_in_narrative_and_quoted_later():
    release = (
        "Title\n\n28 August 2025\n\n"
        "Patime*'s brother Ablikim* was sentenced to 17 years in 2019.\n\n"
        "“He is a teacher, not a criminal,” Patime* said.\n"
    )
    draft = extract_text(release, publisher="X")
    assert draft.document["testimonies"] == [
        {
            "speaker": "Patime*",
            "role": "family",
            "subjects": [{"name": "Ablikim*", "relationship": "brother", "status": "imprisoned", "since": "2019"}],
            "text": "He is a teacher, not a criminal.",
        }
    ]


def test_relation_without_status_is_unknown_with_a_warning():
    release = "Title\n\n28 August 2025\n\n“I miss him,” said Patime*, whose brother Ablikim* lives abroad.\n"
    draft = extract_text(release, publisher="X")
    assert draft.document["testimonies"][0]["subjects"] == [
        {"name": "Ablikim*", "relationship": "brother", "status": "unknown"}
    ]
    assert draft.warnings == ["line 5: Patime*: no status found for their brother Ablikim*: status is 'unknown'"]


def test_text_export_with_escaped_markdown_names():
    release = (
        "Title\n\n28 August 2025\n\n"
        "“We wait,” said [\\*\\*Serik Bekov\\*\\*](#), whose father Bolat\\* has been missing since 2018.\n"
    )
    testimony = extract_text(release, publisher="X").document["testimonies"][0]
    assert testimony["speaker"] == "Serik Bekov"
    assert testimony["subjects"][0]["name"] == "Bolat*"


def test_one_paragraph_per_line_export():
    long_sentence = "The authorities have detained hundreds of thousands of people in the region since 2017. " * 2
    release = (
        "Title\n28 August 2025\n"
        f"{long_sentence}\n"
        "“We wait,” said Patime*, whose brother Ablikim* is detained.\n"
        "“We wait still.”\n"
    )
    testimony = extract_text(release, publisher="X").document["testimonies"][0]
    assert paragraphs(testimony) == ["We wait.", "We wait still."]


def test_html_sniffed_in_a_text_file(tmp_path):
    saved = tmp_path / "release.txt"
    saved.write_text(
        "<!DOCTYPE html><html><head><meta property='og:site_name' content='Rights Watch Collective'></head>"
        "<body><h1>Title</h1><p>28 August 2025</p>"
        "<p>&ldquo;We wait,&rdquo; said Patime*, whose brother Ablikim* is detained.</p></body></html>",
        encoding="utf-8",
    )
    draft = extract_file(saved)
    assert draft.document["source"] == {
        "title": "Title",
        "publisher": "Rights Watch Collective",
        "published": "2025-08-28",
    }
    assert draft.document["testimonies"][0]["text"] == "We wait."


def test_windows_1252_text_is_read_with_a_warning(tmp_path):
    saved = tmp_path / "release.txt"
    saved.write_bytes(
        "Title\n\n28 August 2025\n\n“We wait,” said Patime*, whose brother is detained.\n".encode("cp1252")
    )
    draft = extract_file(saved, publisher="X")
    assert draft.document["testimonies"][0]["speaker"] == "Patime*"
    assert draft.warnings == ["release.txt is not UTF-8: read it as Windows-1252, check the accents"]


def test_no_quotations_gives_an_invalid_draft_with_a_warning():
    draft = extract_text("# Title\n\nPublished by X\n\n28 August 2025\n\nNo quotations here.\n", kind="markdown")
    assert draft.document == {
        "source": {"title": "Title", "publisher": "X", "published": "2025-08-28"},
        "testimonies": [],
    }
    assert draft.warnings == ["no attributed quotations found: the draft has no testimonies"]
    assert not Draft202012Validator(SCHEMA).is_valid(yaml.safe_load(draft_to_yaml(draft)))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"%PDF-1.7\n...", "is a PDF: convert it to text first"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is a binary file"),
        (b"  \n\n", "the release is empty"),
    ],
)
def test_unreadable_input_raises_extract_error(tmp_path, content, message):
    saved = tmp_path / "release.txt"
    saved.write_bytes(content)
    with pytest.raises(ExtractError, match=message) as raised:
        extract_file(saved)
    assert "\n" not in str(raised.value)


def test_missing_file_raises_extract_error(tmp_path):
    with pytest.raises(ExtractError, match="cannot read"):
        extract_file(tmp_path / "missing.txt")


def test_unknown_kind_raises_extract_error():
    with pytest.raises(ExtractError, match="unknown kind 'pdf'"):
        extract_text("Title", kind="pdf")


@pytest.mark.parametrize(
    "name", ["plain_release.txt", "escaped_bold.md", "bold_pseudonym.md", "release.html", "pdf_export.txt"]
)
def test_drafts_load_with_the_archive_loader(tmp_path, name):
    draft = extract_file(fixture(name))
    written = tmp_path / "draft.yml"
    written.write_text(draft_to_yaml(draft, name), encoding="utf-8")
    assert load_source(written) == draft.document


def test_repeated_speaker_is_written_without_yaml_aliases():
    release = (
        "Title\n\n28 August 2025\n\n"
        "“They came at night,” said Patime*, whose brother Ablikim* is detained.\n\n"
        "“Families deserve answers,” said Jane Doe, its China Director.\n\n"
        "“We are still waiting,” Patime* said.\n"
    )
    draft = extract_text(release, publisher="X")
    assert [testimony["speaker"] for testimony in draft.document["testimonies"]] == ["Patime*", "Jane Doe", "Patime*"]
    written = draft_to_yaml(draft)
    assert "&id" not in written and "*id" not in written
    assert yaml.safe_load(written) == draft.document


def test_blockquote_without_quote_marks_is_a_quotation():
    page = (
        "<html><body><h1>Title</h1><p>28 August 2025</p>"
        "<p>Patime*, whose husband was detained in 2019, said:</p>"
        "<blockquote><p>We have written to every office.</p><p>Nobody answers.</p></blockquote>"
        "<blockquote><p>He was a good man.</p><p>— Gulnar*, whose brother Alim* is in prison</p></blockquote>"
        "</body></html>"
    )
    draft = extract_text(page, kind="html", publisher="X")
    assert draft.document["testimonies"] == [
        {
            "speaker": "Patime*",
            "role": "family",
            "subjects": [{"name": None, "relationship": "husband", "status": "detained", "since": "2019"}],
            "text": "We have written to every office.\n\nNobody answers.",
        },
        {
            "speaker": "Gulnar*",
            "role": "family",
            "subjects": [{"name": "Alim*", "relationship": "brother", "status": "imprisoned"}],
            "text": "He was a good man.",
        },
    ]
    assert draft.warnings == []


def test_masthead_and_label_lines_are_not_the_title():
    release = "RIGHTS WATCH COLLECTIVE\nNEWS\n\nChina: Families wait\n\n28 August 2025\n\n“We wait,” said Jane Doe, its Director.\n"
    draft = extract_text(release)
    assert draft.document["source"] == {
        "title": "China: Families wait",
        "publisher": "RIGHTS WATCH COLLECTIVE",
        "published": "2025-08-28",
    }
    assert draft.warnings == ["publisher taken from the first line (RIGHTS WATCH COLLECTIVE): check it"]


RELEASE_PIECES = st.sampled_from(
    list("ab C“”‘’\"'*\\,.:;—-\n\f #[]()!<>&")
    + ["said ", "Patime* ", ", whose brother ", "is detained", "she ", "28 August 2025", "Page 2 of 3", "**"]
    + ["<p>", "</p>", "<br>", "<h1>", "DETENTION\n", "Related Content\n", "© 2025 X\n", "*Names changed\n", "> "]
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(RELEASE_PIECES, max_size=60).map("".join), st.sampled_from(["text", "markdown", "html"]))
def test_any_text_gives_a_draft_whose_yaml_reloads(text, kind):
    try:
        draft = extract_text(text, kind)
    except ExtractError as error:
        assert "\n" not in str(error)
        return
    assert yaml.safe_load(draft_to_yaml(draft, "fuzz.txt")) == draft.document


def test_vocabularies_match_the_schema():
    definitions = SCHEMA["$defs"]
    relationships = set(definitions["relationship"]["enum"])
    assert set(RELATIONSHIP_WORDS.values()) <= relationships
    assert set(INVERSE_RELATIONSHIP.values()) <= relationships
    assert {status for status, _ in STATUS_PATTERNS} == set(definitions["status"]["enum"]) - {"unknown"}
