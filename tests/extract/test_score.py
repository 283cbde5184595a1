"""The scorer of `testimony extract` (bench/extract_score.py): that it can fail, and that it runs.

The hand-built drafts below are what a broken extractor could write; each test says which failure the scorer
must count. The fixture folder run asserts the shape of a report, never today's scores: the extractor is
changing, and its own tests set the floors.
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench import extract_score
from bench.extract_score import AnnotationError, QuoteOutcome, load_annotation, score_draft

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "extract"
FIXTURE_RELEASES = [
    "bold_pseudonym", "escaped_bold", "pdf_export", "plain_release", "release", "seed_patterns", "unattributed",
]  # fmt: skip

RELEASE = """\
Families still waiting

Published by Rights Watch Collective, 3 March 2024

Ayten*, whose brother Kerim* was detained on 12 May 2019, said: "No one has told us where he is. We write every week."

"Every family deserves an answer," said Jane Doe, director of Rights Watch Collective.
"""

ANNOTATION = """\
title: "Families still waiting"
publisher: "Rights Watch Collective"
url: null
published: "2024-03-03"
speakers:
  - name: "Ayten*"
    pseudonym: true
    aliases: ["Ayten"]
    role: family
    subjects:
      - {name: "Kerim*", pseudonym: true, aliases: ["Kerim"], relationship: brother, status: detained}
    quotes:
      - "no one has told us where he is"
      - "we write every week"
  - name: "Jane Doe"
    role: organisation
    quotes:
      - "every family deserves an answer"
"""

GOOD_TESTIMONIES = [
    {
        "speaker": "Ayten*",
        "role": "family",
        "subjects": [{"name": "Kerim*", "relationship": "brother", "status": "detained"}],
        "text": "No one has told us where he is. We write every week.",
    },
    {"speaker": "Jane Doe", "role": "organisation", "text": "Every family deserves an answer."},
]
GOOD_SOURCE = {"title": "Families still waiting", "publisher": "Rights Watch Collective", "published": "2024-03-03"}


@pytest.fixture
def annotation(tmp_path):
    path = tmp_path / "families.annotation.yml"
    path.write_text(ANNOTATION, encoding="utf-8")
    return load_annotation(path)


def scored(annotation, testimonies=GOOD_TESTIMONIES, source=GOOD_SOURCE, warnings=()):
    return score_draft("families", annotation, {"source": source, "testimonies": testimonies}, list(warnings), RELEASE)


def counts(score) -> dict:
    return {key: getattr(score, key) for key in extract_score.COUNTS}


def test_a_faithful_draft_scores_everything_right(annotation):
    score = scored(annotation)
    assert counts(score) == {
        "speakers": 2,
        "speakers_found": 2,
        "roles_right": 2,
        "quotes": 3,
        "quotes_right": 3,
        "misattributed": 0,
        "silent_misattributions": 0,
        "unattributed": 0,
        "missing": 0,
        "extra_testimonies": 0,
        "subject_pairs": 1,
        "subject_pairs_found": 1,
        "statuses_right": 1,
        "pseudonyms": 2,
        "pseudonyms_kept": 2,
    }
    assert (score.date, score.publisher_outcome, score.title) == ("right", "right", "right")


def test_quote_under_the_wrong_speaker_is_a_silent_misattribution(annotation):
    # The sister's second sentence went to the director quoted next: the failure issue 14 names.
    testimonies = [
        {**GOOD_TESTIMONIES[0], "text": "No one has told us where he is."},
        {
            "speaker": "Jane Doe",
            "role": "organisation",
            "text": "We write every week. Every family deserves an answer.",
        },
    ]
    score = scored(annotation, testimonies)
    assert score.quote_outcomes == [
        QuoteOutcome("Ayten*", "no one has told us where he is", "right"),
        QuoteOutcome("Ayten*", "we write every week", "misattributed", draft_speaker="Jane Doe", warned=False),
        QuoteOutcome("Jane Doe", "every family deserves an answer", "right"),
    ]
    assert (score.misattributed, score.silent_misattributions, score.quotes_right) == (1, 1, 2)


def test_misattribution_quoted_in_a_warning_is_not_silent(annotation):
    testimonies = [
        {**GOOD_TESTIMONIES[0], "text": "No one has told us where he is."},
        {
            "speaker": "Jane Doe",
            "role": "organisation",
            "text": "We write every week. Every family deserves an answer.",
        },
    ]
    warnings = ['line 7: two speakers are as near: given to Jane Doe, check: "We write every week. Every family…"']
    score = scored(annotation, testimonies, warnings=warnings)
    assert (score.misattributed, score.silent_misattributions) == (1, 0)


def test_a_warning_about_another_testimony_does_not_excuse_a_misattribution(annotation):
    testimonies = [
        {**GOOD_TESTIMONIES[0], "text": "No one has told us where he is."},
        {
            "speaker": "Jane Doe",
            "role": "organisation",
            "text": "We write every week. Every family deserves an answer.",
        },
    ]
    warnings = ['line 5: check the speaker of: "No one has told us where he is."']
    assert scored(annotation, testimonies, warnings=warnings).silent_misattributions == 1


def test_words_given_to_someone_who_is_not_quoted_are_an_extra_testimony(annotation):
    # A pull quote or headline drafted as the testimony of an organisation named nearby.
    pull_quote = {"speaker": "Rights Watch Collective", "role": "organisation", "text": "Families still waiting"}
    placeholder = {"speaker": "UNRESOLVED: who said this?", "text": "Families still waiting"}
    assert scored(annotation, [*GOOD_TESTIMONIES, pull_quote, placeholder]).extra_testimonies == 1


def test_placeholder_speaker_never_matches_and_keeps_the_quote_unattributed(annotation):
    testimonies = [
        {"speaker": "UNRESOLVED: who said this? the release does not say", "text": GOOD_TESTIMONIES[0]["text"]},
        GOOD_TESTIMONIES[1],
    ]
    score = scored(annotation, testimonies)
    assert (score.speakers_found, score.quotes_right, score.unattributed, score.misattributed) == (1, 1, 2, 0)


def test_the_old_unknown_placeholder_is_a_placeholder_too(annotation):
    testimonies = [{"speaker": "UNKNOWN — set before ingesting", "text": GOOD_TESTIMONIES[0]["text"]}]
    assert scored(annotation, testimonies).unattributed == 2


def test_dropped_quotes_are_missing(annotation):
    score = scored(annotation, [GOOD_TESTIMONIES[1]])
    assert (score.speakers_found, score.missing, score.quotes_right) == (1, 2, 1)


def test_quotes_match_across_quote_marks_case_and_line_breaks(annotation):
    testimonies = [{**GOOD_TESTIMONIES[0], "text": "NO ONE has told\nus where he’s— is. We write every week"}]
    outcomes = [outcome.outcome for outcome in scored(annotation, testimonies).quote_outcomes]
    # "he’s— is" is not "he is": a changed word is a miss, whatever the marks around it.
    assert outcomes == ["missing", "right", "missing"]


def test_a_dropped_star_is_a_lost_pseudonym(annotation):
    testimonies = [
        {**GOOD_TESTIMONIES[0], "speaker": "Ayten", "subjects": [{**GOOD_TESTIMONIES[0]["subjects"][0]}]},
        GOOD_TESTIMONIES[1],
    ]
    score = scored(annotation, testimonies)
    assert (score.speakers_found, score.pseudonyms, score.pseudonyms_kept) == (2, 2, 1)


def test_pseudonym_flag_keeps_a_pseudonym_without_a_star(annotation):
    testimonies = [{**GOOD_TESTIMONIES[0], "speaker": {"name": "Ayten", "pseudonym": True}}, GOOD_TESTIMONIES[1]]
    assert scored(annotation, testimonies).pseudonyms_kept == 2


def test_subject_pair_needs_the_relationship_in_the_right_direction_and_scores_its_status(annotation):
    # "Kerim is Ayten's brother": a draft that makes him her "sister" or "son" has not found the pair.
    wrong_direction = [{**GOOD_TESTIMONIES[0], "subjects": [{"name": "Kerim*", "relationship": "son"}]}]
    assert scored(annotation, wrong_direction).subject_pairs_found == 0
    wrong_status = [
        {**GOOD_TESTIMONIES[0], "subjects": [{"name": "Kerim", "relationship": "brother", "status": "released"}]}
    ]
    score = scored(annotation, wrong_status)
    # Found, its status wrong, and Kerim lost his star (Ayten* kept hers).
    assert (score.subject_pairs_found, score.statuses_right, score.pseudonyms, score.pseudonyms_kept) == (1, 0, 2, 1)


def test_the_gender_neutral_relationship_is_right_and_relative_is_not(annotation):
    def found(relationship: str) -> int:
        subjects = [{"name": "Kerim*", "relationship": relationship, "status": "detained"}]
        return scored(annotation, [{**GOOD_TESTIMONIES[0], "subjects": subjects}]).subject_pairs_found

    assert (found("brother"), found("sibling"), found("relative"), found("spouse")) == (1, 1, 0, 0)


def test_wrong_role_is_counted(annotation):
    testimonies = [GOOD_TESTIMONIES[0], {**GOOD_TESTIMONIES[1], "role": "family"}]
    assert scored(annotation, testimonies).roles_right == 1


def test_a_date_from_the_body_is_never_the_publication_date(annotation):
    # 12 May 2019 is when Kerim* was detained, written in the body.
    score = scored(annotation, source={**GOOD_SOURCE, "published": "2019-05-12"})
    assert (score.date, score.draft_date) == ("from_body", "2019-05-12")
    assert scored(annotation, source={**GOOD_SOURCE, "published": 2019}).date == "from_body"
    assert scored(annotation, source={**GOOD_SOURCE, "published": "2023-01-01"}).date == "wrong"


def test_an_unset_date_is_unset_and_right_when_the_release_shows_none(annotation):
    unresolved = {**GOOD_SOURCE, "published": "UNRESOLVED: when was it published?"}
    assert scored(annotation, source=unresolved).date == "unset"
    annotation.published = None
    assert scored(annotation, source=unresolved).date == "right"
    assert scored(annotation, source=GOOD_SOURCE).date == "from_body"


def test_publisher_and_title_outcomes(annotation):
    source = {"title": "Responsive Image", "publisher": "UNRESOLVED: who published this?", "published": "2024-03-03"}
    score = scored(annotation, source=source)
    assert (score.title, score.publisher_outcome) == ("wrong", "unset")
    source = {**GOOD_SOURCE, "title": "families STILL waiting.", "publisher": "The Rights Watch Collective"}
    assert (scored(annotation, source=source).title, scored(annotation, source=source).publisher_outcome) == (
        "right",
        "wrong",
    )


def test_dates_in_a_text_at_the_precision_written():
    text = "Posted 2011-11-01T17:02:55+0300. On 14 May 2012, and on August 28, 2025, in Sept. 2020, on 28.08.2021."
    assert extract_score.dates_in(text) == {
        "2011-11-01",
        "2011",
        "2012-05-14",
        "2012-05",
        "2012",
        "2025-08-28",
        "2025",
        "2020-09",
        "2020",
        "2021-08-28",
        "2021",
    }


def test_an_annotation_outside_the_schema_vocabulary_is_refused(tmp_path):
    path = tmp_path / "x.annotation.yml"
    path.write_text(ANNOTATION.replace("role: family", "role: sister"), encoding="utf-8")
    with pytest.raises(AnnotationError, match="'sister' is not a role"):
        load_annotation(path)


def test_every_fixture_release_is_scored_and_the_report_adds_up():
    paths = extract_score.annotations_in([FIXTURES])
    scores = [extract_score.score_release(path) for path in paths]
    assert [score.name for score in scores] == FIXTURE_RELEASES
    for path, score in zip(paths, scores, strict=True):
        annotation = load_annotation(path)
        assert score.error is None
        assert score.speakers == len(annotation.speakers)
        assert score.quotes == sum(len(speaker.quotes) for speaker in annotation.speakers)
        assert score.quotes == score.quotes_right + score.misattributed + score.unattributed + score.missing
        assert score.subject_pairs == sum(len(speaker.subjects) for speaker in annotation.speakers)
        assert 0 <= score.statuses_right <= score.subject_pairs_found <= score.subject_pairs
        assert 0 <= score.pseudonyms_kept <= score.pseudonyms
    summed = extract_score.report(scores)["totals"]
    count = len(FIXTURE_RELEASES)
    assert summed["releases"] == count
    assert sum(summed["date"].values()) == sum(summed["publisher"].values()) == sum(summed["title"].values()) == count


def test_cli_json_on_the_fixture_folder():
    result = CliRunner().invoke(extract_score.app, [str(FIXTURES), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {"releases", "totals", "targets"}
    assert [release["name"] for release in report["releases"]] == FIXTURE_RELEASES
    assert set(report["targets"]) == set(extract_score.TARGETS)


def test_cli_table_names_every_release_and_target():
    result = CliRunner().invoke(extract_score.app, [str(FIXTURES)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in FIXTURE_RELEASES:
        assert name in result.output
    for label, _, _ in extract_score.TARGETS.values():
        assert label in result.output


def test_cli_refuses_a_folder_without_annotations(tmp_path):
    result = CliRunner().invoke(extract_score.app, [str(tmp_path)])
    assert result.exit_code == 2


def test_the_invented_releases_meet_every_target_of_issue_14():
    """The fixtures hold one release per convention; on them extract must meet the issue's targets, and never
    misattribute or take a body date (the scores on real releases are measured outside the repository)."""
    report = extract_score.report(
        [extract_score.score_release(path) for path in extract_score.annotations_in([FIXTURES])]
    )
    totals = report["totals"]
    assert totals["errors"] == 0 and totals["releases"] >= 7
    assert totals["misattributed"] == 0 and totals["silent_misattributions"] == 0
    assert totals["dates_from_body"] == 0
    assert totals["pseudonyms_kept"] == totals["pseudonyms"] > 0
    ratios = totals["ratios"]
    assert ratios["speakers_found"] >= 0.9 and ratios["quotes_right"] >= 0.9
    assert ratios["subject_pairs_found"] >= 0.7 and ratios["statuses_right"] >= 0.7
