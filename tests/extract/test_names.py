"""`extract.names`: runs of capitalised words, and the pseudonym star."""

import pytest
from testimony_archive.ingest.extract import extract_file, extract_text
from testimony_archive.ingest.extract.names import bare, covers, name_pattern, plain_stars, runs

from .conftest import fixture


def test_escaped_bold_is_not_pseudonym():
    draft = extract_file(fixture("bold_pseudonym.md"))
    speakers = [testimony["speaker"] for testimony in draft.document["testimonies"]]
    # [\*\*Serik Bekov\*\*](…) and ***Gulzhan Sadykova*** are emphasis; **Patime***, \*\*Aigerim\*\*\* and
    # **Marat\*** are bold pseudonyms: the star after the bold belongs to the name, as CommonMark renders it.
    assert speakers == ["Patime*", "Serik Bekov", "Aigerim*", "Gulzhan Sadykova", "Marat*"]


def test_runs_keep_stars_and_drop_words_that_only_open_a_sentence():
    found = runs("According to Patime*, Jane Doe of Rights Watch Collective met Ms Ayshem Tursun.")
    assert [(run.text, run.is_person, run.is_organisation) for run in found] == [
        ("Patime*", True, False),
        ("Jane Doe", True, False),
        ("Rights Watch Collective", False, True),
        ("Ayshem Tursun", True, False),
    ]


def test_a_possessive_ends_a_run_and_is_no_person():
    found = runs("Patime*'s brother Ablikim* Tursun")
    assert [(run.text, run.possessive, run.is_person) for run in found] == [
        ("Patime*", True, False),
        ("Ablikim* Tursun", False, True),
    ]


def test_a_title_ends_at_the_first_word_that_is_no_title():
    found = runs("China Director Jane Doe")
    assert [(run.text, run.is_title) for run in found] == [("China Director", True), ("Jane Doe", False)]


@pytest.mark.parametrize("text", ["March 2019", "Monday"])
def test_months_and_weekdays_are_no_person(text):
    assert [run.is_person for run in runs(text)] == [False]


def test_covers_allows_only_opening_words_around_the_run():
    part = "the Rights Watch Collective"
    assert covers(part, runs(part)[0])
    part = "Rights Watch Collective researchers"
    assert not covers(part, runs(part)[0])


def test_bare_name_and_its_pattern_with_or_without_star():
    assert bare("Patime*") == "Patime"
    assert bare("Jane Doe") == "Jane Doe"
    pattern = name_pattern("Ablikim*")
    assert [match.group() for match in pattern.finditer("Ablikim said; Ablikim* said; Ablikimjan said")] == [
        "Ablikim",
        "Ablikim*",
    ]


def test_plain_stars_writes_look_alike_stars_after_a_word_as_star():
    text = "Patime＊ and Ablikim† met Nur∗; * 2019† (c) ★"
    assert plain_stars(text) == "Patime* and Ablikim* met Nur*; * 2019† (c) ★"
    assert len(plain_stars(text)) == len(text)


@pytest.mark.parametrize("mark", ["\uff0a", "\u2217", "\u2020", "\u203b"])
def test_a_look_alike_star_marks_a_pseudonym_as_normalize_reads_it(mark):
    release = (
        "Title\n\n28 August 2025\n\n"
        f"“We wait for Ablikim{mark},” said Patime{mark}, whose brother Ablikim{mark} is detained.\n"
    )
    draft = extract_text(release, publisher="X")
    assert draft.document["testimonies"] == [
        {
            "speaker": "Patime*",
            "role": "family",
            "subjects": [{"name": "Ablikim*", "relationship": "brother", "status": "detained"}],
            # The quoted words stay as the release wrote them.
            "text": f"We wait for Ablikim{mark}.",
        }
    ]
    assert draft.warnings == []
