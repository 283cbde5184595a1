"""`extract.readers`: decoding a saved release, the three formats, and the furniture only a format shows."""

import json

import pytest
from testimony_archive.ingest.extract import ExtractError, extract_file, extract_text
from testimony_archive.ingest.extract.readers import Block, clean_inline, page_title, parse, read_file

from .conftest import fixture, paragraphs


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


def test_page_furniture_does_not_leak_into_the_quote():
    roxsan = extract_file(fixture("pdf_export.txt")).document["testimonies"][0]
    # The quote runs over "Page 1 of 4", a form feed and the running header of page 2.
    assert len(paragraphs(roxsan)) == 2
    assert "is a bad man, and I do not know" in roxsan["text"]
    assert "Page" not in roxsan["text"] and "Rights Watch Collective" not in roxsan["text"]


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


def test_text_export_with_escaped_markdown_names():
    release = (
        "Title\n\n28 August 2025\n\n"
        "“We wait,” said [\\*\\*Serik Bekov\\*\\*](#), whose father Bolat\\* has been missing since 2018.\n"
    )
    testimony = extract_text(release, publisher="X").document["testimonies"][0]
    assert testimony["speaker"] == "Serik Bekov"
    assert testimony["subjects"][0]["name"] == "Bolat*"


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


def test_text_blocks_keep_line_numbers_and_drop_pdf_page_furniture():
    text = "Title\n\nFirst line of a para-\ngraph and re-\neducation\n\nPage 1 of 2\n\fRunning head\n\nsecond page\n"
    text += "\f Running head\n\n3\n\nend."
    assert parse(text, "text").blocks == [
        Block(["Title"], [1]),
        Block(["First line of a para-", "graph and re-", "education"], [3, 4, 5]),
        Block(["second page"], [10], after_page_break=True),
        Block(["end."], [15], after_page_break=True),
    ]


def test_a_hyphen_at_a_line_end_is_kept_when_the_lines_are_joined():
    block = Block(["First line of a para-", "graph and re-", "education"], [3, 4, 5])
    assert block.text == "First line of a para-graph and re-education"


def test_markdown_blocks_know_headings_and_blockquotes():
    assert parse("# Head\n\n> quoted\n> more\n\nText with **bold** and \\*star\n", "markdown").blocks == [
        Block(["Head"], [1], heading=1),
        Block(["quoted", "more"], [3, 4], in_blockquote=True),
        Block(["Text with bold and *star"], [6]),
    ]


def test_clean_inline_keeps_the_star_of_a_bold_pseudonym():
    assert clean_inline("**Patime***") == "Patime*"
    assert clean_inline("**Patime*** and [\\*\\*Serik\\*\\*](#x) ![img](a.png)", unescape=True) == "Patime* and Serik"


def test_html_meta_and_furniture():
    page = (
        "<html lang='en'><head><title>T | RWC</title><meta property='og:site_name' content='RWC'>"
        "<link rel='canonical' href='https://x.org/a'></head><body><nav>Menu</nav>"
        "<ul class='tags'><li>Detention</li><li>China</li></ul><p>one<br>two</p>"
        "<div class='share-buttons'>Tweet</div><p hidden>Hidden</p><footer>© 2025 RWC</footer><script>x</script>"
        "</body></html>"
    )
    parsed = parse(page, "html")
    assert parsed.blocks == [Block(["one", "two"], [1, 2])]
    assert parsed.meta == {
        "publisher": "RWC",
        "url": "https://x.org/a",
        "title": "T",
        "language": "en",
        "footer_lines": ["© 2025 RWC"],
        "tags": ["Detention", "China"],
    }


def test_read_file_kind_by_suffix_and_utf16(tmp_path):
    saved = tmp_path / "release.md"
    saved.write_text("# Title\n", encoding="utf-16")
    assert read_file(saved) == ("# Title\n", "markdown", None)


def test_markup_the_html_parser_rejects_is_one_line_not_a_crash(tmp_path):
    from testimony_archive.ingest.cli import app
    from typer.testing import CliRunner

    release = tmp_path / "release.html"
    release.write_text('<html><body><p>"We wait," said Jo.</p><![ broken</body></html>', encoding="utf-8")
    result = CliRunner().invoke(app, ["extract", str(release)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Error: {release}: the HTML could not be read: ")
    assert "expected name token" in lines[0]


def test_plain_text_export_keeps_a_markdown_heading_as_the_title():
    assert parse("# Families wait\n\nText.\n", "text").blocks == [
        Block(["Families wait"], [1], heading=1),
        Block(["Text."], [3]),
    ]
    draft = extract_text("# Families wait\n\n12 March 2024\n\n“We wait,” said Jane Doe, its Director.\n", publisher="X")
    assert draft.document["source"]["title"] == "Families wait"


@pytest.mark.parametrize(
    "title, site, expected",
    [
        ("Families wait | Harbour Watch", "Harbour Watch", "Families wait"),
        ("Harbour Watch – Families wait", "Harbour Watch", "Families wait"),
        ("Harbour Watch", "Harbour Watch", None),
        ("Families wait", None, "Families wait"),
        (None, "Harbour Watch", None),
    ],
)
def test_page_title_without_the_site_name(title, site, expected):
    assert page_title(title, site) == expected


def test_html_meta_from_json_ld_and_a_byline_time_but_never_a_caption():
    lede = "Relatives of reporters jailed in the autumn say they have had no letters from them for half a year now."
    page = (
        "<html><head><title>Families wait | Harbour Watch</title>"
        '<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
        '"publisher": {"@type": "Organization", "name": "Harbour Watch"}}</script></head><body>'
        '<p class="byline">By Jo Roe, <time datetime="2024-03-12T08:00:00+03:00">12 March 2024</time></p>'
        f'<p>{lede}</p><figure><figcaption>A vigil, <time datetime="2021-11-19">19 November 2021</time>'
        "</figcaption></figure></body></html>"
    )
    meta = parse(page, "html").meta
    assert (meta["title"], meta["publisher"], meta["published"]) == ("Families wait", "Harbour Watch", "2024-03-12")
    caption_only = page.replace('<time datetime="2024-03-12T08:00:00+03:00">12 March 2024</time>', "")
    assert "published" not in parse(caption_only, "html").meta


def test_a_host_name_is_not_a_site_name():
    page = "<html><head><title>Families wait | harbourwatch.example</title></head><body><p>x</p></body></html>"
    assert "publisher" not in parse(page, "html").meta
