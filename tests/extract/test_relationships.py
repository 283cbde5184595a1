"""`extract.relationships`: who a speaker is, their relatives and what happened to them."""

import pytest
from testimony_archive.ingest.extract import INVERSE_RELATIONSHIP, RELATIONSHIP_WORDS, STATUS_PATTERNS, extract_text
from testimony_archive.ingest.extract.relationships import describe, subjects, unique_subjects

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


@pytest.mark.parametrize(
    "description, expected",
    [
        (
            "whose brother Ablikim* and sister Ayshem* are detained",
            [
                {"name": "Ablikim*", "relationship": "brother", "status": "detained"},
                {"name": "Ayshem*", "relationship": "sister", "status": "detained"},
            ],
        ),
        (
            "the sister of Ablikim*, who has been missing since March 2019",
            [{"name": "Ablikim*", "relationship": "sibling", "status": "disappeared", "since": "2019-03"}],
        ),
        (
            "whose sons Alim, Nur and Erkin were sentenced in 2018",
            [
                {"name": name, "relationship": "son", "status": "imprisoned", "since": "2018"}
                for name in ("Alim", "Nur", "Erkin")
            ],
        ),
        ("whose husband has not been released", [{"name": None, "relationship": "husband"}]),
        (
            "whose father died in custody and another relative was released",
            [
                {"name": None, "relationship": "father", "status": "died_in_detention"},
                {"name": None, "relationship": "relative", "status": "released"},
            ],
        ),
    ],
)
def test_subjects_of_a_description(description, expected):
    assert subjects(description) == expected


def test_describe_reads_appositives_possessives_and_inverse_relations():
    sentences = [
        "Patime*, a former detainee, said it.",
        "Ablikim*'s sister Patime* spoke.",
        "Patime*'s son Nur* was released in 2020.",
    ]
    found = describe("Patime*", sentences, set())
    assert found.subjects == [
        {"name": "Ablikim*", "relationship": "sibling"},
        {"name": "Nur*", "relationship": "son", "status": "released"},
    ]
    assert found.titles == ["a former detainee", "Ablikim*'s sister"]
    assert found.appositives == ["a former detainee"]


def test_unique_subjects_merge_mentions_of_one_name():
    mentions = [
        {"name": "Ablikim*", "relationship": "brother"},
        {"name": "Ablikim", "relationship": "sibling", "status": "detained", "since": None},
    ]
    assert unique_subjects(mentions) == [{"name": "Ablikim*", "relationship": "brother", "status": "detained"}]


def test_an_official_and_a_survivor():
    release = (
        "Title\n\n28 August 2025\n\n"
        "“Xinjiang affairs are internal affairs,” said Wang Lei, a Foreign Affairs Ministry spokesperson.\n\n"
        "“I was held for a year,” said Gulzhan Sadykova, who was detained in a camp in 2018.\n"
    )
    roles = [(t["speaker"], t["role"]) for t in extract_text(release, publisher="X").document["testimonies"]]
    assert roles == [("Wang Lei", "official"), ("Gulzhan Sadykova", "survivor")]
