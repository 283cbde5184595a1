"""`extract.quotations`: paragraphs, the quotations in them and the narrative around them."""

from testimony_archive.ingest.extract import extract_file, extract_text
from testimony_archive.ingest.extract.quotations import Paragraph, drop_repeats, scan_quotations
from testimony_archive.ingest.extract.quotations import paragraphs as body_paragraphs
from testimony_archive.ingest.extract.readers import Block

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


def test_scan_finds_each_quotation_with_the_narrative_around_it():
    body = [Paragraph("“We came,” said Patime*. “Nobody answered.”", 3), Paragraph("“Still", 5)]
    warnings: list[str] = []
    found = scan_quotations(body, warnings)
    assert [(q.paragraphs, q.pre, q.post, q.closed, q.leads) for q in found] == [
        (["We came,"], "", " said Patime*. ", True, True),
        (["Nobody answered."], " said Patime*. ", "", True, False),
        (["Still"], "", "", False, True),
    ]
    assert [paragraph.narrative for paragraph in body] == ["“…” said Patime*. “…”", "“…”"]
    assert warnings == ['line 5: quotation never closed, ended at its paragraph: "Still"']


def test_a_quotation_runs_on_into_a_paragraph_that_opens_with_a_quote_mark():
    body = [Paragraph("“We waited.", 1), Paragraph("“Nobody came,” she said.", 3)]
    found = scan_quotations(body, [])
    assert [(q.paragraphs, q.first, q.last, q.post) for q in found] == [
        (["We waited.", "Nobody came,"], 0, 1, " she said.")
    ]


def test_single_quotes_when_the_release_has_no_double_ones():
    found = scan_quotations([Paragraph("‘We can't sleep,’ said Patime*.", 1)], [])
    assert [(q.text, q.post) for q in found] == [("We can't sleep,", " said Patime*.")]


def test_a_pull_quote_repeating_longer_words_is_dropped_with_a_warning():
    body = [
        Paragraph("“They took him at night and never told us why,” said Patime*.", 1),
        Paragraph("“They took him at night and never”", 9),
        Paragraph("“They took him at night and never told us why”", 12),
    ]
    warnings: list[str] = []
    kept = drop_repeats(scan_quotations(body, warnings), warnings)
    assert [q.line for q in kept] == [1]
    assert warnings == [
        'line 9: quotation repeats words quoted at line 1 (a pull quote?), left out: "They took him at night and never"',
        "line 12: quotation repeats words quoted at line 1 (a pull quote?), left out: "
        '"They took him at night and never told…"',
    ]


def test_paragraphs_join_a_sentence_cut_by_a_page_break():
    blocks = [Block(["They took my"], [1]), Block(["Brother away.", "Then"], [5, 6], after_page_break=True)]
    assert body_paragraphs(blocks) == [Paragraph("They took my Brother away. Then", 1)]
    assert blocks[0].lines == ["They took my"]  # the blocks are left as they were
