"""Reading a saved release into blocks of lines: decoding, then plain text, Markdown or HTML.

Each reader also drops the furniture that only its format shows: the page numbers and running heads of a
PDF export, the navigation, footers, share buttons and hidden elements of an HTML page. What such furniture
says about the release (an HTML page's meta tags, its footer lines, its tag lists) is kept in `Parsed.meta`.

An HTML page's metadata is read by libraries, not by rules of our own:
- title and site name by `trafilatura.metadata.extract_metadata` (og:, twitter:, Dublin Core and JSON-LD
  `headline`/`publisher`, the <title> without its " | Site" part). It replaced our reading of og:title,
  <title> and og:site_name (and of `<meta name="author">`, which names a person, not a publisher). Its
  fallbacks that guess are refused: a host name is no site name, a title that is the site's name or a label
  such as "News" is no title.
- the publication date by `htmldate.find_date(original_date=True, extensive_search=False)`, run on the
  page's metadata only: its <head> (less <title>), its JSON-LD, its <header> elements and the <time>
  elements before the first paragraph of text. It replaced our list of five meta tags and the first
  <time>; it knows many more (article:published_time, DC.date.issued, JSON-LD datePublished, …), prefers
  the published date to the modified one and keeps an ISO timestamp's day as written
  (2023-05-04T23:30:00-04:00 is 2023-05-04). It is never given the body, the URL or the <title>: there it
  finds a caption's, an incident's or a related story's date (measured on the fixtures: a photo caption's
  <time> and a body `class="date"` paragraph both came back as the page's date).
- the main content is still walked by `_HtmlBlocks`: trafilatura's text kept the labels ("NEWS") that our
  furniture rules drop, and loses the line numbers and blockquotes that attribution reports and uses.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.exceptions import ParserRejectedMarkup
from markdown_it import MarkdownIt

from .dates import full_dates, real_date

if TYPE_CHECKING:
    from lxml.html import HtmlElement

KINDS = ("text", "markdown", "html")
SUFFIX_KINDS = {".html": "html", ".htm": "html", ".xhtml": "html", ".md": "markdown", ".markdown": "markdown"}
HTML_SNIFF = re.compile(r"<html[\s>]|<!doctype html", re.I)

# Lines of a PDF export that are not its content.
PAGE_FURNITURE = re.compile(r"(?:^|[|·•–—-]\s*)page\s+\d+(?:\s*(?:of|/)\s*\d+)?\s*$|^\d+\s*(?:of|/)\s*\d+$", re.I)
LONE_NUMBER = re.compile(r"^[-–—]?\s*\d{1,3}\s*[-–—]?$")
UNWRAPPED_LINE = 150  # characters: PDF exports and e-mail wrap lines well before this

# HTML elements that never carry a release's words, and class names of page furniture.
HTML_DROP_TAGS = [
    "script", "style", "noscript", "template", "nav", "footer", "aside", "form", "iframe", "svg",
]  # fmt: skip
HTML_DROP_CLASS = re.compile(
    r"^(?:related.*|share.*|social.*|breadcrumbs?|newsletter.*|cookie.*|menu|sidebar|skip-link"
    r"|(?:site-)?(?:tagline|slogan|description|strapline)|site-(?:name|title|branding))$",
    re.I,
)
# A plain-text export of a Markdown page keeps its heading marks: "# Title".
TEXT_HEADING = re.compile(r"^(?P<marks>#{1,6})\s+(?P<text>.+?)(?:\s+#+)?$")
# A site name that is a host name ("hrw.org") is trafilatura's guess from the URL, not the page's word.
HOST_NAME = re.compile(r"^[\w-]+(?:\.[\w-]+)+$")
HTML_TAG_CLASS = re.compile(r"^(?:tags?|topics?|categor(?:y|ies)|.*-tags?|.*-topics?|tag-?list|topic-?list)$", re.I)
HTML_BLOCK_TAGS = {
    "address", "article", "blockquote", "body", "dd", "div", "dl", "dt", "figcaption", "figure", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "li", "main", "ol", "p", "pre", "section", "table", "td", "th", "tr",
    "ul", "hr",
}  # fmt: skip
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class ExtractError(Exception):
    """The input cannot be read as a release (missing, binary, empty, or an unknown kind)."""


@dataclass
class Block:
    """Lines of one paragraph or heading, with their line numbers in the source file."""

    lines: list[str]
    numbers: list[int]
    heading: int = 0  # heading level, 0 for a paragraph
    after_page_break: bool = False
    in_blockquote: bool = False  # a quotation by layout, with or without quote marks

    @property
    def line(self) -> int:
        return self.numbers[0] if self.numbers else 0

    @property
    def text(self) -> str:
        return join_lines(self.lines)


@dataclass
class Parsed:
    blocks: list[Block]
    meta: dict = field(default_factory=dict)


def read_file(path: Path) -> tuple[str, str, str | None]:
    """The text of a saved release, its kind and a warning about its encoding (None if it is UTF-8).

    The kind comes from the suffix (.html/.htm -> HTML, .md/.markdown -> Markdown, else plain text), and is
    HTML whatever the suffix when the text starts like an HTML page."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ExtractError(f"cannot read {path}: {error.strerror or error}") from error
    text, decoding_warning = _decode(raw, path)
    kind = SUFFIX_KINDS.get(path.suffix.lower(), "text")
    if HTML_SNIFF.search(text[:2000]):
        kind = "html"
    return text, kind, decoding_warning


def parse(text: str, kind: str) -> Parsed:
    """The blocks of a release's text; kind is "text", "markdown" or "html"."""
    if kind not in KINDS:
        raise ExtractError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    text = _normalise(text)
    if not text.strip():
        raise ExtractError("the release is empty")
    try:
        if kind == "html":
            return _parse_html(text)
        if kind == "markdown":
            return _parse_markdown(text)
    except ParserRejectedMarkup as error:  # markup bs4 gives up on: one line, not a traceback
        reason = str(error).strip().splitlines()[-1].strip()  # bs4's last line names the spot
        raise ExtractError(f"the HTML could not be read: {reason}") from None
    return _parse_text(text)


def _decode(raw: bytes, path: Path) -> tuple[str, str | None]:
    if raw.startswith(b"%PDF"):
        raise ExtractError(f"{path} is a PDF: convert it to text first (for example `pdftotext {path.name}`)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), None
        except UnicodeDecodeError as error:
            raise ExtractError(f"{path} starts like UTF-16 text but cannot be read as it") from error
    if b"\x00" in raw:
        raise ExtractError(f"{path} is a binary file, not a text, Markdown or HTML release")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), f"{path.name} is not UTF-8: read it as Windows-1252, check the accents"
    except UnicodeDecodeError as error:
        raise ExtractError(f"{path} is neither UTF-8 nor Windows-1252 text") from error


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    # Soft hyphens and zero-width characters are invisible layout hints, not words.
    text = re.sub("[\u00ad\u200b\u200c\u200d\u2060\ufeff]", "", text)
    return text.replace("\u00a0", " ").replace("\u202f", " ").replace("\t", " ")


def clean_inline(text: str, unescape: bool = False) -> str:
    """Plain words of a line: Markdown escapes and literal bold markers (`**Name**`) removed.

    A bold pseudonym `**Patime***` reads as bold "Patime" followed by its star, as CommonMark renders
    it, so it stays a pseudonym: `Patime*`.
    """
    if unescape:
        # A Markdown export saved as text: [words](link) and backslash escapes.
        text = re.sub(r"!\[(?:\\.|[^\]\\])*\]\([^)\s]*(?:\s+\"[^\"]*\")?\)", "", text)
        text = re.sub(r"\[((?:\\.|[^\]\\])*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)", r"\1", text)
        text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|~<>])", r"\1", text)
    text = re.sub(r"\*\*\*(\S(?:.*?\S)?)\*\*\*", r"\1", text)
    text = re.sub(r"\*\*(\S(?:.*?\S)?)\*\*", r"\1", text)
    text = re.sub(r"__(\S(?:.*?\S)?)__", r"\1", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def join_lines(lines: list[str]) -> str:
    text = ""
    for line in lines:
        if not text:
            text = line
        elif re.search(r"[^\W\d_]-$", text) and line[:1].islower():
            # "re-\neducation": keep the hyphen, since a dictionary would be needed to tell it from "deten-\ntion".
            text += line
        else:
            text += " " + line
    return text


def _lines_block(text: str, first_line: int, heading: int = 0, in_blockquote: bool = False) -> Block:
    """A block of the non-empty lines of `text`, numbered from `first_line`."""
    block = Block([], [], heading=heading, in_blockquote=in_blockquote)
    for offset, line in enumerate(text.split("\n")):
        line = clean_inline(line)
        if line:
            block.lines.append(line)
            block.numbers.append(first_line + offset)
    return block


# Plain text ------------------------------------------------------------------------------------------


def _parse_text(text: str) -> Parsed:
    # Entries are (line number, text) or None for a page break; pdftotext puts a form feed between pages.
    entries: list[tuple[int, str] | None] = []
    for number, raw in enumerate(text.split("\n"), 1):
        for index, piece in enumerate(raw.split("\f")):
            if index:
                entries.append(None)
            entries.append((number, clean_inline(piece, unescape=True)))

    def is_blank(position: int) -> bool:
        return position < 0 or position >= len(entries) or entries[position] is None or not entries[position][1]

    for position, entry in enumerate(entries):
        if entry is None:
            continue
        if PAGE_FURNITURE.search(entry[1]) or (
            LONE_NUMBER.match(entry[1]) and is_blank(position - 1) and is_blank(position + 1)
        ):
            entries[position] = None
    _drop_running_heads(entries)

    blocks: list[Block] = []
    current: Block | None = None
    page_break = False
    for entry in entries:
        if entry is None or not entry[1]:
            if current:
                blocks.append(current)
                current = None
            page_break = page_break or entry is None
            continue
        if current is None:
            current = Block([], [], after_page_break=page_break and bool(blocks))
            page_break = False
        current.lines.append(entry[1])
        current.numbers.append(entry[0])
    if current:
        blocks.append(current)
    for block in blocks:
        heading = TEXT_HEADING.match(block.lines[0]) if len(block.lines) == 1 else None
        if heading:
            block.lines, block.heading = [heading.group("text")], len(heading.group("marks"))
    return Parsed([piece for block in blocks for piece in _split_unwrapped(block)])


def _split_unwrapped(block: Block) -> list[Block]:
    """A block with a line longer than any hard wrap was saved one paragraph per line: split it."""
    if len(block.lines) < 2 or max(len(line) for line in block.lines) <= UNWRAPPED_LINE:
        return [block]
    return [
        Block([line], [number], after_page_break=block.after_page_break and index == 0)
        for index, (line, number) in enumerate(zip(block.lines, block.numbers, strict=True))
    ]


def _drop_running_heads(entries: list) -> None:
    """Blank the running headers and footers that a PDF export repeats around its page breaks."""
    edges: list[int] = []
    for position, entry in enumerate(entries):
        if entry is not None:
            continue
        for step in (-1, 1):
            probe = position + step
            while 0 <= probe < len(entries) and entries[probe] is not None and not entries[probe][1]:
                probe += step
            if 0 <= probe < len(entries) and entries[probe] is not None:
                edges.append(probe)
    counts: dict[str, int] = {}
    for position in set(edges):
        counts[entries[position][1]] = counts.get(entries[position][1], 0) + 1
    for position in set(edges):
        number, line = entries[position]
        if counts[line] >= 2 and len(line) < 120:
            entries[position] = (number, "")


# Markdown --------------------------------------------------------------------------------------------


def _parse_markdown(text: str) -> Parsed:
    tokens = MarkdownIt("commonmark").parse(text)
    blocks: list[Block] = []
    blockquotes = 0  # how many blockquotes the current token is inside
    for index, token in enumerate(tokens):
        blockquotes += {"blockquote_open": 1, "blockquote_close": -1}.get(token.type, 0)
        if token.type in ("heading_open", "paragraph_open") and token.map:
            inline = tokens[index + 1]
            rendered = _render_markdown_inline(inline.children or [])
            heading = int(token.tag[1]) if token.type == "heading_open" else 0
            blocks.append(_lines_block(rendered, token.map[0] + 1, heading, in_blockquote=blockquotes > 0))
        elif token.type in ("code_block", "fence") and token.map:
            blocks.append(_lines_block(token.content, token.map[0] + 1))
        elif token.type == "html_block" and token.map:
            rendered = BeautifulSoup(token.content, "html.parser").get_text("\n")
            blocks.append(_lines_block(rendered, token.map[0] + 1))
    return Parsed([block for block in blocks if block.lines])


def _render_markdown_inline(children: list) -> str:
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak") or (
            child.type == "html_inline" and re.match(r"<br\b", child.content, re.I)
        ):
            parts.append("\n")
    return "".join(parts)


# HTML ------------------------------------------------------------------------------------------------


def _parse_html(text: str) -> Parsed:
    soup = BeautifulSoup(text, "html.parser")
    meta = _html_meta(soup, text)
    # The copyright line of a footer can name the publisher; the rest of the footer is furniture.
    footer_lines = [line for footer in soup.find_all("footer") for line in footer.get_text("\n").split("\n")]
    tags = []
    for element in soup.find_all(_is_tag_list):
        items = element.find_all("a") or element.find_all("li") or [element]
        tags += [item.get_text(" ", strip=True) for item in items]
        element.decompose()
    for element in soup.find_all(HTML_DROP_TAGS):
        element.decompose()
    for element in soup.find_all(_is_furniture):
        element.decompose()
    for comment in soup.find_all(string=lambda node: isinstance(node, Comment)):
        comment.extract()
    meta["footer_lines"] = footer_lines
    meta["tags"] = tags + meta.get("tags", [])
    root = soup.body or soup
    collector = _HtmlBlocks()
    collector.walk(root, root.sourceline or 1)
    collector.flush()
    return Parsed(collector.blocks, meta)


def _is_tag_list(tag: Tag) -> bool:
    return any(HTML_TAG_CLASS.match(name) for name in tag.get("class") or []) or tag.get("rel") == ["tag"]


def _is_furniture(tag: Tag) -> bool:
    hidden = tag.has_attr("hidden") or tag.get("aria-hidden") == "true"
    return hidden or any(HTML_DROP_CLASS.match(name) for name in tag.get("class") or [])


def _html_meta(soup: BeautifulSoup, text: str) -> dict:
    """What the page's metadata says: title, publisher (site name), publication date, url, language, tags."""
    from trafilatura.metadata import extract_metadata  # its import costs 0.2 s: only for HTML

    def content(**attrs) -> str | None:
        element = soup.find("meta", attrs=attrs)
        value = element.get("content") if element else None
        return value.strip() if value and value.strip() else None

    meta: dict = {}
    found = extract_metadata(text)
    sitename = (found.sitename or "").strip()
    meta["publisher"] = sitename if sitename and not HOST_NAME.match(sitename) else None
    meta["title"] = page_title(found.title, meta["publisher"])
    meta["published"] = _published_date(soup)
    canonical = soup.find("link", rel="canonical")
    meta["url"] = (canonical.get("href") if canonical else None) or content(property="og:url")
    language = soup.html.get("lang") if soup.html else None
    if language and LANGUAGE_TAG.match(language):
        meta["language"] = language
    meta["tags"] = [tag["content"] for tag in soup.find_all("meta", property="article:tag") if tag.get("content")]
    return {key: value for key, value in meta.items() if value}


TITLE_SEPARATOR = r"\s*[|–—:·•-]\s*"


def page_title(title: str | None, site: str | None) -> str | None:
    """The page's title without the site's name before or after it; None if it is only the site's name."""
    title = (title or "").strip()
    if site:
        title = re.sub(rf"{TITLE_SEPARATOR}{re.escape(site)}\s*$", "", title, flags=re.I)
        title = re.sub(rf"^\s*{re.escape(site)}{TITLE_SEPARATOR}", "", title, flags=re.I)
        if title.casefold() == site.casefold():
            return None
    return title or None


def _published_date(soup: BeautifulSoup) -> str | None:
    """The publication date the page's metadata gives, by htmldate, never a date from its body."""
    from htmldate import find_date
    from lxml.html import tostring

    metadata_only = _metadata_document(soup)
    if metadata_only is None:
        return None
    # original_date: the first publication, not the last update; extensive_search=False: no guessing from text.
    found = find_date(metadata_only, original_date=True, extensive_search=False)
    # htmldate mends what it cannot read (2025-02-30 comes back as 2025-02-01, a month as its first day): a
    # day the metadata does not write is a guess, and is refused.
    if not found or found not in _written_days(tostring(metadata_only, encoding="unicode")):
        return None
    return real_date(found)


ISO_DAY = re.compile(r"(?<!\d)(?P<y>\d{4})[-/.]?(?P<m>\d{2})[-/.]?(?P<d>\d{2})(?!\d)")


def _written_days(markup: str) -> set[str]:
    """Every day written in the markup, in ISO-like (2023-05-04T…, 2023/05/04, 20230504) or English form."""
    days = {f"{match['y']}-{match['m']}-{match['d']}" for match in ISO_DAY.finditer(markup)}
    return days | {day for _, day in full_dates(markup)}


def _metadata_document(soup: BeautifulSoup) -> HtmlElement | None:
    """A page of the metadata alone: <head> but <title>, JSON-LD, <header>s and the <time>s before the text."""
    from lxml.html import fromstring

    parts: list[str] = []
    if soup.head:
        parts += [str(child) for child in soup.head.children if getattr(child, "name", None) != "title"]
    parts += [str(script) for script in soup.find_all("script", type="application/ld+json")]
    body = soup.body or soup
    first_text = next((p for p in body.find_all("p") if len(p.get_text(" ", strip=True)) > 100), None)
    text_starts = (first_text.sourceline or 0, first_text.sourcepos or 0) if first_text else None
    content = ["figure", "figcaption", "aside", "footer", "blockquote"]  # captions, quotes, sidebars: not metadata
    parts += [str(header) for header in body.find_all("header") if not header.find_parent(content)]
    for time in body.find_all("time"):
        if time.find_parent(["header", *content]):
            continue  # in a header it is taken already
        line = time.find_parent(["p", "li", "div"])
        if line is not None and len(line.get_text(" ", strip=True)) > 80:
            continue  # a date inside a sentence of the text, not a byline
        if text_starts is None or (time.sourceline or 0, time.sourcepos or 0) < text_starts:
            parts.append(str(time))
    if not parts:
        return None
    return fromstring("<html><head></head><body>" + "".join(parts) + "</body></html>")


class _HtmlBlocks:
    """Walks an HTML tree into blocks: block elements end a block, <br> ends a line."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.line = 1
        self.heading = 0  # level of the heading being walked, 0 outside headings
        self.in_blockquote = False

    def walk(self, node: Tag, line: int) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                self.parts.append(re.sub(r"\s+", " ", str(child)) if node.name != "pre" else str(child))
            elif isinstance(child, Tag):
                child_line = child.sourceline or line
                if child.name == "br":
                    self.parts.append("\n")
                elif child.name in HTML_BLOCK_TAGS:
                    self.flush()
                    outer = (self.line, self.heading, self.in_blockquote)
                    self.line = child_line
                    self.heading = int(child.name[1]) if re.fullmatch(r"h[1-6]", child.name) else self.heading
                    self.in_blockquote = self.in_blockquote or child.name == "blockquote"
                    self.walk(child, child_line)
                    self.flush()
                    self.line, self.heading, self.in_blockquote = outer
                else:
                    self.walk(child, child_line)

    def flush(self) -> None:
        text = "".join(self.parts)
        self.parts = []
        # Two line breaks in a row separate paragraphs, as <p> would.
        for chunk in re.split(r"\n[ ]*\n", text):
            block = _lines_block(chunk, self.line, self.heading, self.in_blockquote)
            if block.lines:
                self.blocks.append(block)
