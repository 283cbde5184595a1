"""`extract.quotations`: paragraphs, the quotations in them and the narrative around them."""

from testimony_archive.ingest.extract import (
    extract_file,
    extract_text,
)

from .conftest import fixture, paragraphs


def test_plain_text_quote_over_a_stray_blank_line_is_one_paragraph():
    mehmet = extract_file(fixture("plain_release.txt")).document["testimonies"][1]
    assert paragraphs(mehmet) == [
        "My uncle taught me to read. He wrote poems about the mountains and for that they took him away."
    ]


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
