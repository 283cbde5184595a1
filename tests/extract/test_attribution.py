"""`extract.attribution`: who said each quotation, and a warning where the text does not say."""

import pytest
from testimony_archive.ingest.extract import extract_file, extract_text
from testimony_archive.ingest.extract.attribution import Ref, attribution_before, parse_who
from testimony_archive.ingest.extract.draft import placeholder
from testimony_archive.ingest.extract.people import People

from .conftest import fixture, paragraphs


def test_unattributed_paragraph_after_a_quote_belongs_to_its_speaker():
    patime = extract_file(fixture("plain_release.txt")).document["testimonies"][0]
    # "“…,” said Patime*" then "“…,” she said." then a quoted paragraph with no attribution at all.
    assert [(text.split()[0], text.split()[-1]) for text in paragraphs(patime)] == [
        ("Every", "years."),
        ("We", "back."),
        ("My", "her."),
    ]


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


def test_pronoun_with_nobody_named_is_kept_unattributed():
    release = "Title\n\n28 August 2025\n\n“We are still waiting,” she said.\n"
    draft = extract_text(release, publisher="X")
    assert draft.document["testimonies"] == [
        {"speaker": placeholder('who said this? "she", but no one named before it'), "text": "We are still waiting."}
    ]
    assert draft.warnings == [
        'line 5: "she" with no one named before it who could be "she": left unattributed: "We are still waiting,"',
    ]


def test_unnamed_speaker_gets_a_placeholder_and_a_warning():
    release = (
        "Title\n\n28 August 2025\n\n"
        "“We are afraid to give our names,” said a relative of a detained man, who asked not to be named.\n"
    )
    draft = extract_text(release, publisher="X")
    assert draft.document["testimonies"] == [
        {
            "speaker": placeholder('who is "a relative of a detained man, who asked not to be named"? no name given'),
            "role": "family",
            "subjects": [{"name": None, "relationship": "relative", "status": "detained"}],
            "text": "We are afraid to give our names.",
        }
    ]
    assert draft.warnings == [
        'line 5: the speaker is not named ("a relative of a detained man, who asked not to be named"): name them: '
        '"We are afraid to give our names,"',
    ]


@pytest.mark.parametrize(
    "who, inverted, expected",
    [
        ("Patime*, whose brother Ablikim* is detained", True, "Patime*"),
        ("a relative of Ablikim*", True, None),
        ("In a statement, Jane Doe, its Director", False, "Jane Doe"),
        ("the sister of Ablikim*", False, None),
        ("Rights Watch Collective", False, "Rights Watch Collective"),
    ],
)
def test_parse_who_names_the_speaker_or_no_one(who, inverted, expected):
    ref = parse_who(who, inverted)
    assert ref == (Ref("name", expected, who) if expected else Ref("unnamed", description=who))


def test_pronouns_and_the_organisation():
    assert parse_who("she", inverted=False) == Ref("pronoun", description="she")
    assert parse_who("the group", inverted=True) == Ref("unnamed", description="the group")


def test_attribution_before_needs_a_sentence_that_introduces_the_quotation():
    assert attribution_before("It was late. In a statement, Jane Doe said:") == Ref(
        "name", "Jane Doe", "In a statement, Jane Doe"
    )
    assert attribution_before("According to Patime*,") == Ref("name", "Patime*", "Patime*")
    assert attribution_before("Jane Doe spoke. The weather was fine.") is None


def test_a_short_form_is_the_person_named_in_full_unless_two_share_it():
    people = People([(0, "Jane Doe met Ehtem Ebey and Shakir Ebey. Doe left.")])
    assert people.person("Doe").key == "Jane Doe"
    assert people.person("Jane").key == "Jane Doe"
    assert people.person("Ebey") is None
    assert [person.key for person in people.ambiguous("Ebey")] == ["Ehtem Ebey", "Shakir Ebey"]


def test_the_organisation_speaks_for_the_publisher():
    release = "Title\n\n28 August 2025\n\n“Families deserve answers,” the organisation said.\n"
    draft = extract_text(release, publisher="Rights Watch Collective")
    assert draft.document["testimonies"] == [
        {"speaker": "Rights Watch Collective", "role": "organisation", "text": "Families deserve answers."}
    ]
