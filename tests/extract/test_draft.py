"""`extract.draft`: testimonies from quotations, and the YAML of the draft."""

import yaml
from jsonschema import Draft202012Validator
from testimony_archive.ingest.extract import Draft, draft_to_yaml, extract_file, extract_text
from testimony_archive.ingest.extract.draft import DRAFT_NOTICE, in_reading_order

from .conftest import SCHEMA, fixture


def test_draft_yaml_header_lists_warnings_and_quotes_dates():
    draft = extract_file(fixture("unattributed.txt"))
    written = draft_to_yaml(draft, "unattributed.txt")
    lines = written.splitlines()
    assert lines[:3] == [
        "# DRAFT extracted from unattributed.txt by `testimony extract`: review every field before ingesting.",
        "# yaml-language-server: $schema=../schema/source.schema.json",
        "# WARNING: no publisher found: set source.publisher or pass --publisher",
    ]
    assert sum(line.startswith("# WARNING: ") for line in lines) == len(draft.warnings)
    assert "  published: 'UNRESOLVED: when was it published (no dateline or page date found)?'" in lines
    assert "  text: |-" in lines
    assert (
        "# line 13: attribution after the quotation: “…” said Mihray*, whose sister Nur* was sentenced to 12 years."
        in lines
    )  # allow_unicode: no \u escapes


def test_yaml_keeps_dates_as_strings():
    draft = extract_file(fixture("pdf_export.txt"))
    written = draft_to_yaml(draft)
    assert "published: '2025-08-28'" in written and "since: '2017-04'" in written and "since: '2019'" in written
    document = yaml.safe_load(written)
    assert document["source"]["published"] == "2025-08-28"
    assert document["testimonies"][1]["subjects"][0]["since"] == "2019"
    assert written.startswith("# DRAFT extracted by `testimony extract`")


def test_split_quote_keeps_the_comma_when_the_sentence_goes_on():
    release = "Title\n\n28 August 2025\n\n“When they came,” said Jane Doe, its Director, “nobody was home.”\n"
    testimony = extract_text(release, publisher="X").document["testimonies"][0]
    assert testimony["text"] == "When they came, nobody was home."


def test_no_quotations_gives_an_invalid_draft_with_a_warning():
    draft = extract_text("# Title\n\nPublished by X\n\n28 August 2025\n\nNo quotations here.\n", kind="markdown")
    assert draft.document == {
        "source": {"title": "Title", "publisher": "X", "published": "2025-08-28"},
        "testimonies": [],
    }
    assert draft.warnings == ["no quotations found: the draft has no testimonies"]
    document = yaml.safe_load(draft_to_yaml(draft))
    assert document.pop("draft")
    assert not Draft202012Validator(SCHEMA).is_valid(document)


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
    assert yaml.safe_load(written) == {"draft": DRAFT_NOTICE, **draft.document}


def test_warnings_about_the_whole_release_come_first_then_by_line():
    warnings = ["line 9: b", "no title", "line 2: a", "line 10: c", "no date"]
    assert in_reading_order(warnings) == ["no title", "no date", "line 2: a", "line 9: b", "line 10: c"]


def test_yaml_of_a_hand_made_draft():
    draft = Draft(
        {"source": {"title": "T", "published": "2017"}, "testimonies": [{"speaker": "Patime*", "text": "a\n\nb"}]},
        ["line 3: a   warning\nover two lines"],
        [["line 5: attribution after the quotation: “…” said Patime*."]],
    )
    assert draft_to_yaml(draft, "r.txt") == (
        "# DRAFT extracted from r.txt by `testimony extract`: review every field before ingesting.\n"
        "# yaml-language-server: $schema=../schema/source.schema.json\n"
        "# WARNING: line 3: a warning over two lines\n"
        "draft: review every field against the release, then delete this line\n"
        "source:\n"
        "  title: T\n"
        "  published: '2017'\n"
        "testimonies:\n"
        "# line 5: attribution after the quotation: “…” said Patime*.\n"
        "- speaker: Patime*\n"
        "  text: |-\n"
        "    a\n"
        "\n"
        "    b\n"
    )
