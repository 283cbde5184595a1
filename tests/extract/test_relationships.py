"""`extract.relationships`: who a speaker is, their relatives and what happened to them."""

from testimony_archive.ingest.extract import (
    INVERSE_RELATIONSHIP,
    RELATIONSHIP_WORDS,
    STATUS_PATTERNS,
    extract_text,
)

from .conftest import SCHEMA


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


def test_vocabularies_match_the_schema():
    definitions = SCHEMA["$defs"]
    relationships = set(definitions["relationship"]["enum"])
    assert set(RELATIONSHIP_WORDS.values()) <= relationships
    assert set(INVERSE_RELATIONSHIP.values()) <= relationships
    assert {status for status, _ in STATUS_PATTERNS} == set(definitions["status"]["enum"]) - {"unknown"}
