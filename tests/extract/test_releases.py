"""Whole releases, one per fixture, to whole drafts: the document, the warnings and the YAML."""

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testimony_archive.ingest.extract import (
    ExtractError,
    draft_to_yaml,
    extract_file,
    extract_text,
)
from testimony_archive.ingest.extract.draft import placeholder
from testimony_archive.ingest.source import InvalidSource, load_source

from .conftest import fixture, reloaded


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


def test_unattributed_quotes_are_kept_under_a_placeholder_never_given_to_a_guess():
    draft = extract_file(fixture("unattributed.txt"))
    unsaid = placeholder("who said this? the release does not say")
    assert draft.document["testimonies"] == [
        {"speaker": unsaid, "text": "We have waited six years for a trial that lasted one afternoon."},
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
            "They took her laptop as evidence.",
        },
        # After a sentence about Nur*'s classmates, the last words are no one's the release names.
        {"speaker": unsaid, "text": "We are afraid to speak even to each other."},
    ]
    assert [warning for warning in draft.warnings if warning.startswith("line")] == [
        'line 5: quotation with no attribution: left unattributed: "We have waited six years for a trial…"',
        "line 9: could not tell who Abdulla Karim is (family, organisation, ...): role is 'other'",
        'line 11: quoted words inside a sentence, not extracted as a testimony: "forced to confess on camera"',
        'line 19: quotation with no attribution: left unattributed: "We are afraid to speak even to each…"',
    ]
    assert reloaded(draft) == draft.document


@pytest.mark.parametrize(
    "name", ["plain_release.txt", "escaped_bold.md", "bold_pseudonym.md", "release.html", "pdf_export.txt"]
)
def test_drafts_load_with_the_archive_loader_once_the_draft_line_is_deleted(tmp_path, name):
    draft = extract_file(fixture(name))
    written = tmp_path / "draft.yml"
    text = draft_to_yaml(draft, name)
    written.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidSource):
        load_source(written)
    reviewed = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("draft:"))
    written.write_text(reviewed, encoding="utf-8")
    assert load_source(written) == draft.document


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
    document = yaml.safe_load(draft_to_yaml(draft, "fuzz.txt"))
    assert document.pop("draft")
    assert document == draft.document
