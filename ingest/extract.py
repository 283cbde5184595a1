"""Draft a testimony source file from a published press release or report.

`extract_file` reads a release saved as plain text (PDF-to-text exports included), Markdown or HTML,
finds the quotations in it, who said them and what each speaker is to a detained person, and returns a
`Draft`: a source document in the archive's input format plus warnings for everything it could not
attribute or parse. `draft_to_yaml` writes the draft with a header telling the archivist to review every
field. Nothing here guesses silently: a guess the source does not support is left out or warned about.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from markdown_it import MarkdownIt

__all__ = ["Draft", "ExtractError", "draft_to_yaml", "extract_file", "extract_text"]

PLACEHOLDER = "UNKNOWN — set before ingesting"
PARTIAL_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
SCHEMA_COMMENT = "# yaml-language-server: $schema=../schema/source.schema.json"
KINDS = ("text", "markdown", "html")
SUFFIX_KINDS = {".html": "html", ".htm": "html", ".xhtml": "html", ".md": "markdown", ".markdown": "markdown"}

# What a relationship word in the source means, as the schema's `relationship` enum.
RELATIONSHIP_WORDS = {
    "brother-in-law": "brother-in-law", "brothers-in-law": "brother-in-law", "sister-in-law": "sister-in-law",
    "sisters-in-law": "sister-in-law", "father-in-law": "father-in-law", "mother-in-law": "mother-in-law",
    "son-in-law": "son-in-law", "sons-in-law": "son-in-law", "daughter-in-law": "daughter-in-law",
    "daughters-in-law": "daughter-in-law", "grandfather": "grandfather", "grandmother": "grandmother",
    "grandparent": "grandparent", "grandparents": "grandparent", "grandson": "grandson", "grandsons": "grandson",
    "granddaughter": "granddaughter", "granddaughters": "granddaughter", "grandchild": "grandchild",
    "grandchildren": "grandchild", "brother": "brother", "brothers": "brother", "sister": "sister",
    "sisters": "sister", "sibling": "sibling", "siblings": "sibling", "father": "father", "mother": "mother",
    "parent": "parent", "parents": "parent", "son": "son", "sons": "son", "daughter": "daughter",
    "daughters": "daughter", "child": "child", "children": "child", "husband": "husband", "wife": "wife",
    "spouse": "spouse", "uncle": "uncle", "uncles": "uncle", "aunt": "aunt", "aunts": "aunt", "nephew": "nephew",
    "nephews": "nephew", "niece": "niece", "nieces": "niece", "cousin": "cousin", "cousins": "cousin",
    "relative": "relative", "relatives": "relative", "family member": "relative", "family members": "relative",
    "friend": "friend", "friends": "friend", "neighbour": "neighbour", "neighbours": "neighbour",
    "neighbor": "neighbour", "neighbors": "neighbour", "colleague": "colleague", "colleagues": "colleague",
    "client": "client", "clients": "client",
}  # fmt: skip
PLURAL_RELATIONSHIP_WORDS = {word for word in RELATIONSHIP_WORDS if word.endswith(("s", "ren")) or "s-in-" in word}
FAMILY_RELATIONSHIPS = set(RELATIONSHIP_WORDS.values()) - {"friend", "neighbour", "colleague", "client"}
# "the sister of Ablikim": what Ablikim is to the speaker, without guessing anyone's gender.
INVERSE_RELATIONSHIP = {
    "brother": "sibling", "sister": "sibling", "sibling": "sibling", "father": "child", "mother": "child",
    "parent": "child", "son": "parent", "daughter": "parent", "child": "parent", "husband": "spouse",
    "wife": "spouse", "spouse": "spouse", "grandfather": "grandchild", "grandmother": "grandchild",
    "grandparent": "grandchild", "grandson": "grandparent", "granddaughter": "grandparent",
    "grandchild": "grandparent", "cousin": "cousin", "friend": "friend", "neighbour": "neighbour",
    "colleague": "colleague",
}  # fmt: skip

# Status phrases, most specific first: "released after two years in detention" is released, "detained in
# 2017 and missing since" is disappeared.
STATUS_PATTERNS = [
    (
        "died_in_detention",
        re.compile(
            r"\bd(?:ie|ied|ies|ying)\b[^.;]{0,40}?\b(?:in|while in|in the)\s+(?:detention|custody|prison|jail"
            r"|(?:an? |the )?(?:internment |re-education |detention )?camp)"
            r"|\bdied (?:while )?(?:detained|in detention|in custody|in prison)|\bdeaths? in (?:custody|detention)",
            re.I,
        ),
    ),
    ("released", re.compile(r"\b(?:released|freed|set free)\b", re.I)),
    (
        "disappeared",
        re.compile(
            r"\b(?:missing|disappeared|whereabouts (?:are|is|remain|remains) unknown|not been heard from"
            r"|no (?:news|word) (?:of|from)|not been seen)\b",
            re.I,
        ),
    ),
    (
        "imprisoned",
        re.compile(
            r"\b(?:in prison|imprisoned|jailed|behind bars|serving (?:a|an) [\w\s-]{0,30}?sentence|sentenced)\b",
            re.I,
        ),
    ),
    (
        "detained",
        re.compile(
            r"\b(?:detained|in detention|deprived of (?:his|her|their) liberty|in custody"
            r"|held (?:in|at|incommunicado|without)|arrested|taken away"
            r"|(?:re-education|internment|political education|detention) (?:camp|centre|center|facility))\b",
            re.I,
        ),
    ),
]
NEGATED_RELEASE = re.compile(r"\b(?:not|never|yet to be)\s+(?:been\s+|be\s+)?(?:released|freed|set free)", re.I)
SURVIVOR_PHRASE = re.compile(
    r"\b(?:former (?:detainee|prisoner)|survivor|who (?:was|had been|spent)\b[^,;]{0,60}?"
    r"\b(?:detained|held|imprisoned|camp|prison|released))",
    re.I,
)

SPEECH_VERBS = [
    "said", "says", "told", "tells", "added", "adds", "stated", "states", "explained", "explains", "recalled",
    "recalls", "urged", "urges", "continued", "continues", "asked", "asks", "wrote", "writes", "noted", "notes",
    "warned", "warns", "stressed", "stresses", "insisted", "insists", "pleaded", "pleads", "remembered",
    "remembers", "described", "describes", "testified", "recounted", "recounts", "concluded", "concludes",
]  # fmt: skip
VERB = r"(?:" + "|".join(SPEECH_VERBS) + r")"
PRONOUNS = {"she", "he", "they"}
ORGANISATION_PRONOUNS = {"the organisation", "the organization", "the group"}
ARTICLES = {"a", "an", "the", "one", "another", "two", "three", "several"}

# Words that make a capitalised phrase a job title or an organisation rather than a person's name.
TITLE_WORDS = {
    "director", "researcher", "spokesperson", "spokesman", "spokeswoman", "officer", "campaigner",
    "advocate", "adviser", "advisor", "head", "chair", "chairperson", "president", "coordinator",
    "secretary-general", "manager", "analyst", "representative", "deputy", "minister", "ambassador",
    "executive", "senior", "lead",
}  # fmt: skip
ORGANISATION_WORDS = {
    "international", "watch", "rights", "collective", "network", "foundation", "project", "centre",
    "center", "institute", "coalition", "association", "society", "committee", "council", "alliance",
    "union", "group", "initiative", "congress", "organisation", "organization", "federation", "forum",
    "trust", "campaign", "commission", "defenders", "movement", "agency", "league", "ministry",
}  # fmt: skip
GOVERNMENT_WORDS = re.compile(
    r"\b(?:ministry|government|embassy|consulate|authorities|police|bureau|state council|procuratorate"
    r"|public security|foreign affairs|official)\b",
    re.I,
)
TITLE_PHRASE = re.compile(r"\b(?:" + "|".join(sorted(TITLE_WORDS, key=len, reverse=True)) + r")\b", re.I)
NOT_NAME_WORDS = {
    "the", "a", "an", "in", "on", "at", "its", "her", "his", "their", "our", "my", "she", "he", "they", "we",
    "i", "it", "according", "speaking", "but", "and", "when", "after", "since", "as", "while", "for",
    "with", "from", "this", "that", "these", "those", "however", "meanwhile", "also", "both", "one",
    "another", "said", "says", "told", "added", "today", "mr", "ms", "mrs", "dr",
}  # fmt: skip
MONTH_NUMBERS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3,
    "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

MONTH = r"(?:" + "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True)) + r")"
FULL_DATE_PATTERNS = [
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m>{MONTH})\.?,?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<m>{MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(r"\b(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})\b"),
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
]
MONTH_YEAR = re.compile(rf"\b(?P<m>{MONTH})\.?,?\s+(?P<y>\d{{4}})\b", re.I)
YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
DATE_LINE_PREFIX = re.compile(
    r"^(?:(?P<label>published|posted|updated|last updated|issued|released|date)(?:\s+on)?\s*:?\s*)?"
    r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?",
    re.I,
)
TIME_SUFFIX = re.compile(r"^\s*(?:[,|–—-]|at)?\s*(?:\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*\w{2,5})?)?\s*$", re.I)
DATELINE = re.compile(r"^(?:[A-Z][\w .'/-]{1,40},\s*)?(?P<date>.{6,30}?)\s*[-–—:]\s")
SINCE = re.compile(
    rf"\b(?:since|(?:detained|arrested|taken(?: away)?|disappeared|went missing|jailed|imprisoned|sentenced)"
    rf"\b[^.;]{{0,30}}?\s(?:in|on))\s+(?P<when>(?:\d{{1,2}}\s+)?{MONTH}\.?(?:\s+\d{{1,2}},)?\s+\d{{4}}|\d{{4}})",
    re.I,
)

# Lines of a release that are not its content.
NAVIGATION_LINE = re.compile(
    r"^(?:share(?: this)?(?: (?:page|article|story|post))?|share on \w+|tweet|print(?: this page)?|email"
    r"|read more|back to top|skip to (?:main )?content|menu|search|donate(?: now)?|subscribe\b.*"
    r"|sign up\b.*|follow us\b.*|download(?: (?:the )?(?:pdf|report|full report))?|[-–—]*\s*ends\s*[-–—]*"
    r"|#{3,}|top|press release|news release|media release|for immediate release)$",
    re.I,
)
RELATED_LINE = re.compile(
    r"^(?:related (?:content|articles?|news|stories|reading|resources)|(?:read|see) also|more on this(?: topic)?)$",
    re.I,
)
COPYRIGHT_LINE = re.compile(r"^(?:copyright\s*)?(?:©|\(c\)\s*(?:19|20)\d{2})|^copyright\b", re.I)
IMAGE_CREDIT_LINE = re.compile(
    r"^(?:(?:image|photo|photograph|picture|cover image|header image|illustration)(?: credit)?s?\s*(?::|©|[–—-]\s)"
    r"|(?:photo|image) credit\b|credit\s*:)",
    re.I,
)
LANGUAGE_NAMES = (
    "english|español|spanish|français|french|中文|简体中文|繁體中文|русский|russian|العربية|arabic|deutsch|german"
    "|português|portuguese|türkçe|turkish|uyghurche|ئۇيغۇرچە|日本語|한국어|italiano|bahasa indonesia|tiếng việt"
)
LANGUAGE_LINE = re.compile(
    rf"^(?:(?:also )?available in\b.*|(?:{LANGUAGE_NAMES})(?:\s*[|,/·•]\s*(?:{LANGUAGE_NAMES}))+)$", re.I
)
TITLE_LABELS = {"news", "statement", "public statement", "briefing", "report", "update", "urgent action"}
PUBLISHED_BY_LINE = re.compile(r"^(?:published|posted|issued|released)\s+by\s*:?\s*(?P<who>.+)$", re.I)
FOOTNOTE_LINE = re.compile(r"^\*(?:\S|\s+.{0,200}\b(?:names?|pseudonyms?|changed|real)\b)")
NAMES_CHANGED_LINE = re.compile(
    r"^(?:notes?:\s*)?(?:all )?(?:names?|pseudonyms?)\b.{0,200}\b(?:changed|pseudonyms?|withheld|asterisk)\b", re.I
)
TOPICS_LINE = re.compile(r"^(?:topics?|tags?|categories|filed under)\s*:\s*(?P<items>.+)$", re.I)
PAGE_FURNITURE = re.compile(r"(?:^|[|·•–—-]\s*)page\s+\d+(?:\s*(?:of|/)\s*\d+)?\s*$|^\d+\s*(?:of|/)\s*\d+$", re.I)
LONE_NUMBER = re.compile(r"^[-–—]?\s*\d{1,3}\s*[-–—]?$")
UNWRAPPED_LINE = 150  # characters: PDF exports and e-mail wrap lines well before this
TERMINAL_PUNCTUATION = '.!?:;…”’")]'

# HTML elements that never carry a release's words, and class names of page furniture.
HTML_DROP_TAGS = [
    "script", "style", "noscript", "template", "nav", "footer", "aside", "form", "iframe", "svg",
]  # fmt: skip
HTML_DROP_CLASS = re.compile(
    r"^(?:related.*|share.*|social.*|breadcrumbs?|newsletter.*|cookie.*|menu|sidebar|skip-link)$", re.I
)
HTML_TAG_CLASS = re.compile(r"^(?:tags?|topics?|categor(?:y|ies)|.*-tags?|.*-topics?|tag-?list|topic-?list)$", re.I)
HTML_BLOCK_TAGS = {
    "address", "article", "blockquote", "body", "dd", "div", "dl", "dt", "figcaption", "figure", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "li", "main", "ol", "p", "pre", "section", "table", "td", "th", "tr",
    "ul", "hr",
}  # fmt: skip


@dataclass
class Draft:
    """A source document extracted from a release, for an archivist to review, and what went wrong."""

    document: dict
    warnings: list[str] = field(default_factory=list)


class ExtractError(Exception):
    """The input cannot be read as a release (missing, binary, empty, or an unknown kind)."""


def extract_file(path: Path, publisher: str | None = None, url: str | None = None) -> Draft:
    """Detect the format by suffix (.html/.htm -> HTML, .md/.markdown -> Markdown, else plain text; also
    sniff '<html' in content) and extract."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ExtractError(f"cannot read {path}: {error.strerror or error}") from error
    text, decoding_warning = _decode(raw, path)
    kind = SUFFIX_KINDS.get(path.suffix.lower(), "text")
    if re.search(r"<html[\s>]|<!doctype html", text[:2000], re.I):
        kind = "html"
    draft = extract_text(text, kind, publisher=publisher, url=url)
    if decoding_warning:
        draft.warnings.insert(0, decoding_warning)
    return draft


def extract_text(text: str, kind: str = "text", publisher: str | None = None, url: str | None = None) -> Draft:
    """Extract a draft source document from the text of a release; kind is "text", "markdown" or "html"."""
    if kind not in KINDS:
        raise ExtractError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    text = _normalise(text)
    if not text.strip():
        raise ExtractError("the release is empty")
    if kind == "html":
        parsed = _parse_html(text)
    elif kind == "markdown":
        parsed = _parse_markdown(text)
    else:
        parsed = _parse_text(text)
    return _Extraction(parsed, publisher=publisher, url=url).run()


def draft_to_yaml(draft: Draft, source_name: str | None = None) -> str:
    """YAML text of the draft, headed by comments: a DRAFT notice, the schema line and one per warning."""
    origin = f" from {source_name}" if source_name else ""
    header = [
        f"# DRAFT extracted{origin} by `testimony extract`: review every field before ingesting.",
        SCHEMA_COMMENT,
    ]
    header += ["# WARNING: " + " ".join(warning.split()) for warning in draft.warnings]
    body = yaml.dump(draft.document, Dumper=_DraftDumper, allow_unicode=True, sort_keys=False, width=100_000, indent=2)
    return "\n".join(header) + "\n" + body


class _DraftDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as `|` blocks, so testimony paragraphs stay readable."""

    def ignore_aliases(self, data) -> bool:
        # Source files may not contain YAML aliases (the loader refuses them), even for repeated subjects.
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        style = "|"
    elif PARTIAL_DATE.match(value):
        # Quoted, so that no YAML loader reads a date object (or the number 2017) into a date field.
        style = "'"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_DraftDumper.add_representer(str, _represent_str)


# Reading ---------------------------------------------------------------------------------------------


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


def _clean_inline(text: str, unescape: bool) -> str:
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


@dataclass
class _Block:
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
        return _join_lines(self.lines)


def _join_lines(lines: list[str]) -> str:
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


@dataclass
class _Parsed:
    blocks: list[_Block]
    meta: dict = field(default_factory=dict)


def _parse_text(text: str) -> _Parsed:
    # Entries are (line number, text) or None for a page break; pdftotext puts a form feed between pages.
    entries: list[tuple[int, str] | None] = []
    for number, raw in enumerate(text.split("\n"), 1):
        for index, piece in enumerate(raw.split("\f")):
            if index:
                entries.append(None)
            entries.append((number, _clean_inline(piece, unescape=True)))

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

    blocks: list[_Block] = []
    current: _Block | None = None
    page_break = False
    for entry in entries:
        if entry is None or not entry[1]:
            if current:
                blocks.append(current)
                current = None
            page_break = page_break or entry is None
            continue
        if current is None:
            current = _Block([], [], after_page_break=page_break and bool(blocks))
            page_break = False
        current.lines.append(entry[1])
        current.numbers.append(entry[0])
    if current:
        blocks.append(current)
    return _Parsed([piece for block in blocks for piece in _split_unwrapped(block)])


def _split_unwrapped(block: _Block) -> list[_Block]:
    """A block with a line longer than any hard wrap was saved one paragraph per line: split it."""
    if len(block.lines) < 2 or max(len(line) for line in block.lines) <= UNWRAPPED_LINE:
        return [block]
    return [
        _Block([line], [number], after_page_break=block.after_page_break and index == 0)
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


def _parse_markdown(text: str) -> _Parsed:
    tokens = MarkdownIt("commonmark").parse(text)
    blocks: list[_Block] = []
    blockquotes = 0  # how many blockquotes the current token is inside
    for index, token in enumerate(tokens):
        blockquotes += {"blockquote_open": 1, "blockquote_close": -1}.get(token.type, 0)
        if token.type in ("heading_open", "paragraph_open") and token.map:
            inline = tokens[index + 1]
            rendered = _render_markdown_inline(inline.children or [])
            heading = int(token.tag[1]) if token.type == "heading_open" else 0
            blocks.append(_lines_block(rendered, token.map[0] + 1, heading))
            blocks[-1].in_blockquote = blockquotes > 0
        elif token.type in ("code_block", "fence") and token.map:
            blocks.append(_lines_block(token.content, token.map[0] + 1, 0))
        elif token.type == "html_block" and token.map:
            rendered = BeautifulSoup(token.content, "html.parser").get_text("\n")
            blocks.append(_lines_block(rendered, token.map[0] + 1, 0))
    return _Parsed([block for block in blocks if block.lines])


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


def _lines_block(text: str, first_line: int, heading: int) -> _Block:
    block = _Block([], [], heading=heading)
    for offset, line in enumerate(text.split("\n")):
        line = _clean_inline(line, unescape=False)
        if line:
            block.lines.append(line)
            block.numbers.append(first_line + offset)
    return block


def _parse_html(text: str) -> _Parsed:
    soup = BeautifulSoup(text, "html.parser")
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
    meta = _html_meta(soup)
    meta["footer_lines"] = footer_lines
    meta["tags"] = tags + meta.get("tags", [])
    root = soup.body or soup
    collector = _HtmlBlocks()
    collector.walk(root, root.sourceline or 1)
    collector.flush()
    return _Parsed(collector.blocks, meta)


def _is_tag_list(tag: Tag) -> bool:
    return any(HTML_TAG_CLASS.match(name) for name in tag.get("class") or []) or tag.get("rel") == ["tag"]


def _is_furniture(tag: Tag) -> bool:
    if tag.attrs is None:
        return False
    hidden = tag.has_attr("hidden") or tag.get("aria-hidden") == "true"
    return hidden or any(HTML_DROP_CLASS.match(name) for name in tag.get("class") or [])


def _html_meta(soup: BeautifulSoup) -> dict:
    def content(**attrs) -> str | None:
        element = soup.find("meta", attrs=attrs)
        value = element.get("content") if element else None
        return value.strip() if value and value.strip() else None

    meta: dict = {}
    meta["publisher"] = content(property="og:site_name") or content(name="author") or content(name="publisher")
    published = (
        content(property="article:published_time")
        or content(name="date")
        or content(name="dc.date")
        or content(itemprop="datePublished")
    )
    time_element = soup.find("time", attrs={"datetime": True})
    if not published and time_element:
        published = time_element["datetime"]
    if published and re.match(r"^\d{4}(-\d{2}(-\d{2})?)?", published):
        meta["published"] = re.match(r"^\d{4}(-\d{2}(-\d{2})?)?", published).group(0)
    canonical = soup.find("link", rel="canonical")
    meta["url"] = (canonical.get("href") if canonical else None) or content(property="og:url")
    title = content(property="og:title") or (soup.title.get_text(" ", strip=True) if soup.title else None)
    if title and meta["publisher"]:
        title = re.sub(rf"\s*[|–—-]\s*{re.escape(meta['publisher'])}\s*$", "", title)
    meta["title"] = title
    language = soup.html.get("lang") if soup.html else None
    if language and re.match(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", language):
        meta["language"] = language
    meta["tags"] = [tag["content"] for tag in soup.find_all("meta", property="article:tag") if tag.get("content")]
    return {key: value for key, value in meta.items() if value}


class _HtmlBlocks:
    """Walks an HTML tree into blocks: block elements end a block, <br> ends a line."""

    def __init__(self) -> None:
        self.blocks: list[_Block] = []
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
            block = _Block([], [], heading=self.heading, in_blockquote=self.in_blockquote)
            for offset, line in enumerate(chunk.split("\n")):
                line = _clean_inline(line, unescape=False)
                if line:
                    block.lines.append(line)
                    block.numbers.append(self.line + offset)
            if block.lines:
                self.blocks.append(block)


# Dates -----------------------------------------------------------------------------------------------


def _full_dates(text: str) -> list[tuple[int, str]]:
    """Every day-precise date written in the text, as (position, YYYY-MM-DD), in reading order."""
    found: dict[int, str] = {}
    for pattern in FULL_DATE_PATTERNS:
        for match in pattern.finditer(text):
            month = match.group("m")
            month_number = int(month) if month.isdigit() else MONTH_NUMBERS[month.lower()]
            try:
                day = date(int(match.group("y")), month_number, int(match.group("d")))
            except ValueError:
                continue
            found.setdefault(match.start(), day.isoformat())
    return sorted(found.items())


def _partial_date(text: str) -> str | None:
    """The date that `text` starts with, at the precision written: YYYY-MM-DD, YYYY-MM or YYYY."""
    dates = _full_dates(text)
    if dates and dates[0][0] == 0:
        return dates[0][1]
    match = MONTH_YEAR.match(text)
    if match:
        return f"{int(match.group('y')):04d}-{MONTH_NUMBERS[match.group('m').lower()]:02d}"
    match = re.match(r"\d{4}\b", text)
    return match.group(0) if match else None


def _date_line(line: str) -> tuple[str, str] | None:
    """(label, date) when the whole line is a date such as "Published: 28 August 2025, 09:00"."""
    prefix = DATE_LINE_PREFIX.match(line)
    rest = line[prefix.end() :]
    for pattern in [*FULL_DATE_PATTERNS, MONTH_YEAR]:
        match = pattern.match(rest)
        if match and TIME_SUFFIX.match(rest[match.end() :]):
            found = _partial_date(match.group(0))
            return ((prefix.group("label") or "").lower(), found) if found else None
    return None


# Names -----------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"(?P<word>[^\W\d_](?:[\w-]|['’](?=\w))*)(?P<star>\*?)(?P<possessive>['’]s\b)?")


@dataclass
class _Run:
    """Consecutive capitalised words: a candidate name, organisation or job title."""

    start: int
    end: int
    words: list[str]
    possessive: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def bare_words(self) -> list[str]:
        return [word.rstrip("*").lower() for word in self.words]

    @property
    def is_title(self) -> bool:
        return any(word in TITLE_WORDS for word in self.bare_words)

    @property
    def is_organisation(self) -> bool:
        return not self.possessive and any(word in ORGANISATION_WORDS for word in self.bare_words)

    @property
    def is_person(self) -> bool:
        words = self.bare_words
        return (
            bool(words)
            and len(words) <= 5
            and not self.possessive
            and not self.is_title
            and not any(word in ORGANISATION_WORDS for word in words)
            and not any(word in MONTH_NUMBERS or word in WEEKDAYS for word in words)
        )


def _is_capitalised(word: str) -> bool:
    first = word[0]
    return first.isupper() or (first.isalpha() and not first.islower())


def _runs(text: str) -> list[_Run]:
    runs: list[_Run] = []
    current: _Run | None = None
    previous_end = None
    for match in _TOKEN.finditer(text):
        word = match.group("word")
        possessive = bool(match.group("possessive")) or bool(re.search(r"['’]s$", word))
        shown = re.sub(r"['’]s$", "", word) + match.group("star")
        contiguous = previous_end is not None and re.fullmatch(r"[ ]+", text[previous_end : match.start()])
        if not _is_capitalised(word):
            current = None
        else:
            breaks = (
                current is None
                or not contiguous
                or current.possessive
                or (current.is_title and word.lower() not in TITLE_WORDS)
            )
            if breaks:
                current = _Run(match.start(), match.end(), [])
                runs.append(current)
            current.words.append(shown)
            current.end = match.end()
            current.possessive = possessive
        previous_end = match.end()
    for run in runs:
        while run.words and run.words[0].rstrip("*").lower() in NOT_NAME_WORDS:
            run.words.pop(0)
    return [run for run in runs if run.words]


def _bare(name: str) -> str:
    return name.rstrip("*").strip()


def _name_pattern(name: str) -> re.Pattern:
    return re.compile(rf"(?<![\w*]){re.escape(_bare(name))}\*?(?![\w])")


# Quotations ------------------------------------------------------------------------------------------


@dataclass
class _Paragraph:
    text: str
    line: int
    heading: bool = False
    narrative: str = ""  # the text with each quotation replaced by “…”


@dataclass
class _Quotation:
    """One continuous quotation, possibly running over several paragraphs."""

    paragraphs: list[str]
    first: int  # index of its first paragraph
    line: int
    leads: bool  # the opening quote mark starts its paragraph
    pre: str = ""  # narrative before it in its first paragraph
    post: str = ""  # narrative after it in its last paragraph
    last: int = -1
    closed: bool = False
    attribution: _Ref | None = None
    speaker: _Speaker | None = None

    @property
    def text(self) -> str:
        return " ".join(self.paragraphs)


@dataclass
class _Ref:
    """Who an attribution names: a person or organisation, a pronoun, or an unnamed description."""

    kind: str  # "name" | "pronoun" | "unnamed"
    name: str = ""
    description: str = ""


@dataclass
class _Speaker:
    key: str
    name: str
    line: int
    description: str = ""  # for unnamed speakers: what the release calls them
    role: str = "other"
    subjects: list[dict] = field(default_factory=list)


class _QuoteMarks:
    """Which characters open and close a quotation in this release: double quotes, or single if no double."""

    def __init__(self, paragraphs: list[_Paragraph]) -> None:
        body = "".join(paragraph.text for paragraph in paragraphs)
        self.double = body.count("“") + body.count('"') >= 2 or "‘" not in body

    def opens(self, text: str, index: int) -> bool:
        char = text[index]
        before = text[index - 1] if index else " "
        after = text[index + 1] if index + 1 < len(text) else " "
        if self.double:
            return char == "“" or (char == '"' and not after.isspace() and not before.isalnum())
        if char == "‘":
            return True
        return char == "'" and not before.isalnum() and after.isalpha()

    def closes(self, text: str, index: int) -> bool:
        char = text[index]
        after = text[index + 1] if index + 1 < len(text) else " "
        if self.double:
            return char in '”"'
        return char in "’'" and not after.isalpha()


def _scan_quotations(paragraphs: list[_Paragraph], warnings: list[str]) -> list[_Quotation]:
    marks = _QuoteMarks([paragraph for paragraph in paragraphs if not paragraph.heading])
    quotations: list[_Quotation] = []
    current: _Quotation | None = None
    for index, paragraph in enumerate(paragraphs):
        text = paragraph.text
        if paragraph.heading:
            paragraph.narrative = text
            if current:
                _unterminated(current, warnings)
                current = None
            continue
        position = 0
        spans: list[tuple[int, int]] = []  # (start, end) of each quoted stretch in this paragraph
        closed_here: list[tuple[_Quotation, int]] = []
        quote_start = 0
        if current is not None:
            if text and marks.opens(text, 0):
                position = quote_start = 1
            else:
                _unterminated(current, warnings)
                current = None
        narrative_start = 0
        while position < len(text):
            if current is not None and marks.closes(text, position) and position >= quote_start:
                current.paragraphs.append(text[quote_start:position].strip())
                current.last, current.closed = index, True
                spans.append((quote_start, position + 1))
                closed_here.append((current, position + 1))
                current, narrative_start = None, position + 1
            elif current is None and marks.opens(text, position):
                before = text[narrative_start:position]
                current = _Quotation([], index, paragraph.line, leads=not text[:position].strip(), pre=before)
                quotations.append(current)
                quote_start = position + 1
            position += 1
        if current is not None:
            current.paragraphs.append(text[quote_start:].strip())
            current.last = index
            spans.append((quote_start, len(text)))
        for quotation, end in closed_here:
            following = [start for start, _ in spans if start > end]
            next_start = following[0] - 1 if following else len(text)
            quotation.post = text[end:next_start]
        paragraph.narrative = _blank_spans(text, spans)
    if current:
        _unterminated(current, warnings)
    return [quotation for quotation in quotations if quotation.text.strip()]


def _unterminated(quotation: _Quotation, warnings: list[str]) -> None:
    quotation.closed = False
    warnings.append(f'line {quotation.line}: quotation never closed, ended at its paragraph: "{_snippet(quotation)}"')


def _blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in reversed(spans):
        text = text[: max(start - 1, 0)] + "“…”" + text[end:]
    return text


def _snippet(quotation_or_text: _Quotation | str, words: int = 8) -> str:
    text = quotation_or_text if isinstance(quotation_or_text, str) else quotation_or_text.text
    parts = text.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


# Attribution -----------------------------------------------------------------------------------------

PRE_ATTRIBUTION = re.compile(
    rf"^(?P<who>.*?)\s*,?\s+(?P<verb>{VERB})\b(?P<object>[^:;.!?“”\"]{{0,80}}?)\s*(?:\bthat\s*)?[:,]?\s*$",
    re.I,
)
DASH_ATTRIBUTION = re.compile(r"^\s*[—–]\s*(?P<who>[^\W\d_].*?)\s*\.?\s*$")  # "“…” — Patime*, whose…"
ACCORDING_TO = re.compile(r"^according to (?P<who>.+?)\s*,\s*$", re.I)
POST_VERB_FIRST = re.compile(rf"^[\s,;:—–-]*(?P<verb>{VERB})\s+(?P<who>[^.!?;]*)", re.I)
POST_SUBJECT_FIRST = re.compile(rf"^[\s,;:—–-]*(?P<who>[^.!?;“”\"]{{1,160}}?)\s*,?\s+(?P<verb>{VERB})\b", re.I)


def _last_clause(text: str) -> str:
    """The sentence that `text` ends in: what may introduce a quotation that follows it."""
    parts = re.split(r"(?<=[.!?])\s+(?=[^\W\d_“\"‘(])", text.strip())
    return parts[-1] if parts else ""


def _attribution_after(post: str, quotation: _Quotation) -> _Ref | None:
    sentence = re.split(r"(?<=[.!?])\s", post, maxsplit=1)[0]
    dash = DASH_ATTRIBUTION.match(post)
    if dash:
        return _parse_who(dash.group("who"), inverted=True)
    match = POST_VERB_FIRST.match(sentence)
    if match:
        return _parse_who(match.group("who"), inverted=True)
    match = POST_SUBJECT_FIRST.match(sentence)
    if not match or len(match.group("who").split()) > 14:
        return None
    linked = quotation.paragraphs[-1].endswith((",", "?", "!", "—", "–", "…"))
    rest = sentence[match.end() :].strip(" .")
    if not linked and (len(rest.split()) > 4 or re.search(r"\bthat\b", rest)):
        # "“….” Jane Doe said the authorities must act." reports other words; "“….” Jane Doe said." does not.
        return None
    ref = _parse_who(match.group("who"), inverted=False)
    # "“….” The authorities said nothing." is narrative, not an attribution; "“…,” a relative said" is.
    if ref and (ref.kind != "unnamed" or linked):
        return ref
    return None


def _attribution_before(pre: str) -> _Ref | None:
    clause = _last_clause(pre)
    if not clause or not re.search(r"[:,]\s*$|\b(?:" + "|".join(SPEECH_VERBS) + r"|that)\s*$", clause, re.I):
        return None
    match = ACCORDING_TO.match(clause)
    if match:
        return _parse_who(match.group("who"), inverted=False)
    match = PRE_ATTRIBUTION.match(clause)
    if match and match.group("who").strip():
        return _parse_who(match.group("who"), inverted=False)
    return None


def _parse_who(who: str, inverted: bool) -> _Ref | None:
    who = who.strip(" ,;:—–-")
    if not who:
        return None
    lowered = who.lower()
    if lowered in PRONOUNS:
        return _Ref("pronoun")
    if lowered in ORGANISATION_PRONOUNS:
        return _Ref("unnamed", description=who)
    parts = [part.strip() for part in who.split(",") if part.strip()]
    if inverted:
        # "said Patime*, whose brother…": the name comes first; "said a relative of Ablikim*" names no speaker.
        first = parts[0]
        if first.split()[0].lower() in ARTICLES or not _is_capitalised(first):
            return _Ref("unnamed", description=who)
        runs = [run for run in _runs(first) if run.is_person] or [run for run in _runs(first) if run.is_organisation]
        return _Ref("name", runs[0].text, who) if runs else _Ref("unnamed", description=who)
    # "Speaking from Istanbul, Patime*, whose brother…, said": the name is a comma-separated part of its own.
    for part in parts:
        runs = _runs(part)
        if len(runs) == 1 and (runs[0].is_person or runs[0].is_organisation) and _covers(part, runs[0]):
            return _Ref("name", runs[0].text, who)
    for part in parts:
        if part.split()[0].lower() in {"whose", "who", "which"}:
            continue
        candidates = [run for run in _runs(part) if run.is_person and not re.search(r"\bof\s+$", part[: run.start])]
        if candidates:
            return _Ref("name", candidates[-1].text, who)
    return _Ref("unnamed", description=who)


def _covers(part: str, run: _Run) -> bool:
    leading = part[: run.start].strip().lower().split()
    return all(word in NOT_NAME_WORDS for word in leading) and not part[run.end :].strip(" *")


# Descriptions ----------------------------------------------------------------------------------------

RELATIONSHIP_PATTERN = re.compile(
    r"\b(?P<relationship>" + "|".join(sorted(map(re.escape, RELATIONSHIP_WORDS), key=len, reverse=True)) + r")\b",
    re.I,
)
ANOTHER = re.compile(r"\b(?:another|a second|the other|one other)\b", re.I)
SUBJECT_DETERMINERS = {
    "whose", "her", "his", "their", "a", "an", "one", "two", "three", "four", "several", "both", "and",
    "another", "other", "second", "younger", "older", "elder", "eldest", "youngest", "late",
}  # fmt: skip
NAME_AFTER = re.compile(r"^\s*,?\s*(?P<name>(?:[^\W\d_][\w'’-]*\*?)(?:\s+[^\W\d_][\w'’-]*\*?){0,3})")


def _status(clause: str) -> str | None:
    for status, pattern in STATUS_PATTERNS:
        for match in pattern.finditer(clause):
            if status == "released" and NEGATED_RELEASE.search(clause[: match.end()]):
                continue
            return status
    return None


def _since(clause: str) -> str | None:
    match = SINCE.search(clause)
    return _partial_date(match.group("when")) if match else None


def _names_after(text: str, plural: bool) -> list[str]:
    match = NAME_AFTER.match(text)
    if not match:
        return []
    runs = [run for run in _runs(match.group("name")) if run.is_person and run.start == 0]
    if not runs:
        return []
    names = [runs[0].text]
    if plural:
        rest = text[match.start("name") + runs[0].end :]
        while True:
            more = re.match(r"^\s*(?:,\s*(?:and\s+)?|\s+and\s+)(?P<name>[^\W\d_][\w'’-]*\*?)", rest)
            if not more or not _is_capitalised(more.group("name")):
                break
            names.append(more.group("name"))
            rest = rest[more.end() :]
    return names


def _subjects(description: str) -> list[dict]:
    """The people a description says the speaker is related to, with what happened to them."""
    # Each mention of a relative: (start, end, relationship, names). "another" repeats the last relationship.
    mentions: list[tuple[int, int, str, list[str | None]]] = []
    candidates = [
        (match.start(), match.end(), match.group("relationship").lower())
        for match in RELATIONSHIP_PATTERN.finditer(description)
    ] + [
        (match.start(), match.end(), None)
        for match in ANOTHER.finditer(description)
        if not RELATIONSHIP_PATTERN.match(description[match.end() :].lstrip())
    ]
    for start, end, word in sorted(candidates):
        after = description[end:]
        of = re.match(r"^\s+of\s+", after)
        if word is None:
            relationship = mentions[-1][2] if mentions else "relative"
            names: list[str | None] = [None]
        elif of:
            # "the sister of Ablikim*": what Ablikim* is to the speaker.
            relationship = INVERSE_RELATIONSHIP.get(RELATIONSHIP_WORDS[word], "relative")
            names = _names_after(after[of.end() :], plural=False) or [None]
        elif _introduces_subject(description[:start].lower().split()[-2:], first=not mentions):
            relationship = RELATIONSHIP_WORDS[word]
            names = _names_after(after, plural=word in PLURAL_RELATIONSHIP_WORDS) or [None]
        else:
            continue
        mentions.append((start, end, relationship, names))

    subjects: list[dict] = []
    pending: list[dict] = []  # "whose brother and sister are detained": the status comes after the last
    for index, (_start, end, relationship, names) in enumerate(mentions):
        following = mentions[index + 1][0] if index + 1 < len(mentions) else len(description)
        clause = description[end:following]
        found = [{"name": name, "relationship": relationship} for name in names]
        subjects += found
        pending += found
        status, since = _status(clause), _since(clause)
        if status:
            for subject in pending:
                subject["status"] = status
                if since:
                    subject["since"] = since
            pending = []
        else:
            named = names[-1]
            rest = clause[clause.find(named) + len(named) :] if named and named in clause else clause
            if not re.fullmatch(r"[\s,]*(?:and|or|&)?[\s,]*", rest):
                pending = []  # no status here and none shared with the next relative: left for the caller
    return subjects


def _introduces_subject(preceding: list[str], first: bool) -> bool:
    """Whether the words before a relationship word make it a relative of the speaker.

    "her brother" is the speaker's brother only as the first relative mentioned: in "whose brother Ablikim*
    and his wife", the wife is Ablikim's.
    """
    possessives = {"her", "his", "their"}
    if not preceding or (preceding[-1] in possessives and not first):
        return False
    return any(word in SUBJECT_DETERMINERS for word in preceding)


@dataclass
class _Description:
    subjects: list[dict]
    titles: list[str]
    appositives: list[str]


def _describe(name: str, sentences: list[str], speaker_names: set[str]) -> _Description:
    """What the release says about a speaker anywhere: appositives, possessives and reported speech."""
    pattern = _name_pattern(name)
    found = _Description([], [], [])
    for sentence in sentences:
        for match in pattern.finditer(sentence):
            before, after = sentence[: match.start()], sentence[match.end() :]
            possessive = re.match(r"^['’]s\s+", after)
            if possessive:
                # "Patime*'s brother Ablikim* was sentenced…" tells us about her own relatives.
                found.subjects += _subjects("her " + after[possessive.end() :])
                continue
            tail = before.rstrip(" ,").split(",")[-1].strip()
            if tail:
                found.titles.append(tail)
                inverse = re.search(
                    rf"(?P<other>[^\W\d_][\w'’-]*\*?)['’]s\s+(?P<rel>{RELATIONSHIP_PATTERN.pattern})\s*$",
                    tail,
                    re.I,
                )
                if inverse and _bare(inverse.group("other")) not in speaker_names:
                    relationship = RELATIONSHIP_WORDS[inverse.group("rel").lower()]
                    found.subjects.append(
                        {
                            "name": inverse.group("other"),
                            "relationship": INVERSE_RELATIONSHIP.get(relationship, "relative"),
                        }
                    )
            appositive = re.match(rf"^\s*,\s*(?P<text>.*?)(?:,?\s+{VERB}\b|$)", after, re.I)
            relative_clause = re.match(r"^\s+(?P<text>(?:who|whose)\b.*)$", after, re.I)
            reported = re.match(rf"^\s+{VERB}\b(?P<text>.*)$", after, re.I)
            for clause_match in (appositive, relative_clause, reported):
                if clause_match and clause_match.group("text").strip():
                    text = clause_match.group("text").strip()
                    found.appositives.append(text)
                    found.subjects += _subjects(text)
                    if clause_match is appositive and not re.match(r"^(?:who|whose)\b", text, re.I):
                        found.titles.append(text.split(",")[0])
    return found


# The extraction --------------------------------------------------------------------------------------


class _Extraction:
    def __init__(self, parsed: _Parsed, publisher: str | None, url: str | None) -> None:
        self.parsed = parsed
        self.meta = parsed.meta
        self.publisher_option = publisher
        self.url_option = url
        self.warnings: list[str] = []
        self.date_lines: list[tuple[int, str, int]] = []  # (rank, date, line)
        self.publishers: list[tuple[int, str]] = []  # (rank, name)
        self.copyright_years: list[str] = []
        self.notes: list[str] = []
        self.tags: list[str] = list(self.meta.get("tags", []))

    def run(self) -> Draft:
        blocks = self._strip_furniture(self.parsed.blocks)
        title = self._take_title(blocks)
        self._take_tags(blocks)
        paragraphs = self._paragraphs(blocks)
        source = self._source(title, paragraphs)
        testimonies = self._testimonies(paragraphs, source["publisher"])
        if not testimonies:
            self.warnings.append("no attributed quotations found: the draft has no testimonies")
        return Draft({"source": source, "testimonies": testimonies}, _in_reading_order(self.warnings))

    # Metadata and furniture

    def _strip_furniture(self, blocks: list[_Block]) -> list[_Block]:
        kept: list[_Block] = []
        in_trailer = False
        for line in self.meta.get("footer_lines", []):
            self._metadata_line(_clean_inline(line, unescape=False), 0)
        for block in blocks:
            lines, numbers = [], []
            for line, number in zip(block.lines, block.numbers, strict=True):
                if RELATED_LINE.match(line):
                    # Related-content lists follow the body of a release; before it they are a sidebar.
                    in_trailer = in_trailer or any(len(kept_block.text) > 200 for kept_block in kept)
                    continue
                if self._metadata_line(line, number):
                    continue
                if in_trailer and not _is_label(line):
                    continue
                lines.append(line)
                numbers.append(number)
            if lines:
                kept.append(_Block(lines, numbers, block.heading, block.after_page_break, block.in_blockquote))
            elif kept and block.after_page_break:
                kept[-1].after_page_break = True
        return kept

    def _metadata_line(self, line: str, number: int) -> bool:
        """Record what a line of furniture says about the release; True when the line is not content."""
        if not line:
            return True
        if NAVIGATION_LINE.match(line) or IMAGE_CREDIT_LINE.match(line) or LANGUAGE_LINE.match(line):
            return True
        if COPYRIGHT_LINE.match(line):
            years = YEAR.findall(line)
            self.copyright_years += years
            holder = re.sub(r"^(?:copyright\s*)?(?:©|\(c\))?\s*(?:(?:19|20)\d{2}\s*[-–]?\s*)*", "", line, flags=re.I)
            holder = re.split(r"\.\s|\bAll rights reserved\b|\|", holder, flags=re.I)[0].strip(" .,")
            if years and holder and _runs(holder):
                self.publishers.append((4, holder))
            return True
        published_by = PUBLISHED_BY_LINE.match(line)
        if published_by:
            who = published_by.group("who")
            dates = _full_dates(who)
            if dates:
                self.date_lines.append((1, dates[0][1], number))
                who = who[: dates[0][0]]
            who = re.sub(r"\s*(?:\bon\b|[,|–—-])\s*$", "", who.strip()).strip(" .")
            if who:
                self.publishers.append((1, who))
            return True
        if FOOTNOTE_LINE.match(line) or (NAMES_CHANGED_LINE.match(line) and len(line) < 250):
            self.notes.append(line)
            return True
        topics = TOPICS_LINE.match(line)
        if topics:
            self.tags += [item.strip() for item in re.split(r"[,;|]", topics.group("items")) if item.strip()]
            return True
        dated = _date_line(line)
        if dated:
            label, found = dated
            rank = 1 if label in {"published", "posted", "issued", "released"} else 3 if "updated" in label else 2
            self.date_lines.append((rank, found, number))
            return True
        return False

    def _take_title(self, blocks: list[_Block]) -> str | None:
        headings = [block for block in blocks if block.heading]
        chosen = next((block for block in headings if block.heading == 1), None)
        if chosen is None and self.meta.get("title"):
            title = self.meta["title"]
            if blocks and blocks[0].text == title:
                blocks.pop(0)
            return title
        chosen = chosen or (headings[0] if headings else None)
        if chosen is not None:
            blocks.remove(chosen)
            return chosen.text
        # Plain text: the first line that is not the publisher's name or a label such as "NEWS".
        known = {name.casefold() for _, name in self.publishers} | {(self.publisher_option or "").casefold()}
        while blocks:
            first = blocks[0]
            line = first.lines[0]
            runs = _runs(line)
            is_masthead = len(runs) == 1 and runs[0].is_organisation and _covers(line, runs[0])
            if not (line.casefold() in known or line.casefold() in TITLE_LABELS or is_masthead):
                break
            if is_masthead:
                self.publishers.append((3, line))
            first.lines, first.numbers = first.lines[1:], first.numbers[1:]
            if not first.lines:
                blocks.pop(0)
        if not blocks:
            return None
        first = blocks[0]
        # A title wrapped over two lines continues in lower case.
        taken = 1
        while taken < len(first.lines) and first.lines[taken][:1].islower():
            taken += 1
        title = _join_lines(first.lines[:taken])
        first.lines, first.numbers = first.lines[taken:], first.numbers[taken:]
        if not first.lines:
            blocks.pop(0)
        return title

    def _take_tags(self, blocks: list[_Block]) -> None:
        labels: list[str] = []
        while blocks and not blocks[-1].heading and all(_is_label(line) for line in blocks[-1].lines):
            labels = blocks.pop().lines + labels
        seen: set[str] = set()
        tags = []
        for tag in self.tags + labels:
            if tag and tag.casefold() not in seen:
                seen.add(tag.casefold())
                tags.append(tag)
        self.tags = tags

    def _paragraphs(self, blocks: list[_Block]) -> list[_Paragraph]:
        merged: list[_Block] = []
        for block in blocks:
            previous = merged[-1] if merged else None
            if (
                previous is not None
                and not previous.heading
                and not block.heading
                and not previous.text.endswith(tuple(TERMINAL_PUNCTUATION))
                and (block.after_page_break or block.text[:1].islower())
            ):
                # A sentence cut by a page break or a stray blank line: one paragraph again.
                previous.lines = previous.lines + block.lines
                previous.numbers = previous.numbers + block.numbers
                continue
            merged.append(
                _Block(
                    list(block.lines), list(block.numbers), block.heading, block.after_page_break, block.in_blockquote
                )
            )
        return [_Paragraph(_quote_blockquote(block), block.line, heading=bool(block.heading)) for block in merged]

    def _source(self, title: str | None, paragraphs: list[_Paragraph]) -> dict:
        source: dict = {}
        if not title:
            title = PLACEHOLDER
            self.warnings.append("no title found: set source.title")
        source["title"] = title
        source["publisher"] = self._publisher(paragraphs)
        published = self._published(paragraphs)
        if published:
            source["published"] = published
        url = self.url_option or self.meta.get("url")
        if url:
            if re.match(r"^https?://\S+$", url):
                source["url"] = url
            else:
                self.warnings.append(f"url {url!r} is not an http(s) address: left out")
        if self.meta.get("language"):
            source["language"] = self.meta["language"]
        if self.notes:
            source["note"] = " ".join(self.notes)
        if self.tags:
            source["tags"] = self.tags
        return source

    def _publisher(self, paragraphs: list[_Paragraph]) -> str:
        if self.publisher_option:
            return self.publisher_option
        if self.meta.get("publisher"):
            return self.meta["publisher"]
        for paragraph in paragraphs:
            match = re.search(r"\b(?:said|says|stated|warned|urged|called)\s+today\b", paragraph.text)
            if match:
                organisation = _organisation_before(paragraph.text[: match.start()])
                if organisation:
                    self.publishers.append((2, organisation))
                    break
        if self.publishers:
            rank, name = min(self.publishers, key=lambda item: item[0])
            if rank >= 3:
                where = "first line" if rank == 3 else "copyright line"
                self.warnings.append(f"publisher taken from the {where} ({name}): check it")
            return name
        self.warnings.append(f"no publisher found: source.publisher is {PLACEHOLDER!r}, set it or pass --publisher")
        return PLACEHOLDER

    def _published(self, paragraphs: list[_Paragraph]) -> str | None:
        if self.meta.get("published"):
            return self.meta["published"]
        if self.date_lines:
            return min(self.date_lines, key=lambda item: (item[0], item[2]))[1]
        body = [paragraph for paragraph in paragraphs if not paragraph.heading]
        for paragraph in body[:3]:
            # "GENEVA, 28 August 2025 – Chinese authorities must…"
            dateline = DATELINE.match(paragraph.text)
            dates = _full_dates(dateline.group("date")) if dateline else []
            if dates and dates[0][0] == 0:
                return dates[0][1]
        for paragraph in body:
            dates = _full_dates(paragraph.text)
            if dates:
                self.warnings.append(
                    f"line {paragraph.line}: no publication date line; used the first date in the text, "
                    f"{dates[0][1]}: check it"
                )
                return dates[0][1]
        years = self.copyright_years or [year for paragraph in body for year in YEAR.findall(paragraph.text)]
        if years:
            year = self.copyright_years[-1] if self.copyright_years else max(years)
            self.warnings.append(f"no publication date found: used the year {year}, set the full date if known")
            return year
        self.warnings.append("no publication date found: set source.published before ingesting")
        return None

    # Testimonies

    def _testimonies(self, paragraphs: list[_Paragraph], publisher: str) -> list[dict]:
        quotations = _scan_quotations(paragraphs, self.warnings)
        quotations = self._drop_repeats(quotations)
        for quotation in quotations:
            quotation.attribution = _attribution_after(quotation.post, quotation) or _attribution_before(quotation.pre)
            if quotation.attribution is None and quotation.leads and not quotation.pre.strip() and quotation.first:
                # "Patime* said:" closing the paragraph before a quoted one (often a blockquote).
                previous = paragraphs[quotation.first - 1]
                if not previous.heading and previous.text.rstrip().endswith(":"):
                    quotation.attribution = _attribution_before(previous.narrative)
            following = quotation.last + 1
            if quotation.attribution is None and not quotation.post.strip() and following < len(paragraphs):
                # A pull quote or blockquote signed on the next line: "— Patime*, whose brother…".
                signature = DASH_ATTRIBUTION.match(paragraphs[following].narrative)
                if signature:
                    quotation.attribution = _parse_who(signature.group("who"), inverted=True)
        speakers = self._resolve(quotations, paragraphs, publisher)
        sentences = [
            sentence
            for paragraph in paragraphs
            for sentence in re.split(r"(?<=[.!?])\s+(?=[^\W\d_“\"‘(])", paragraph.narrative)
        ]
        names = {speaker.key for speaker in speakers}
        for speaker in speakers:
            self._characterise(speaker, sentences, names)
        return self._assemble(quotations)

    def _drop_repeats(self, quotations: list[_Quotation]) -> list[_Quotation]:
        """Drop pull quotes: a quotation whose words all appear in a longer quotation elsewhere."""

        def words(quotation: _Quotation) -> str:
            return " ".join(re.findall(r"\w+", quotation.text.lower()))

        kept = []
        for quotation in quotations:
            own = words(quotation)
            longer = [
                other
                for other in quotations
                if other is not quotation
                and f" {own} " in f" {words(other)} "
                and (len(words(other)) > len(own) or other.line < quotation.line)
            ]
            if len(own.split()) >= 6 and longer:
                self.warnings.append(
                    f"line {quotation.line}: quotation repeats words quoted at line {longer[0].line} "
                    f'(a pull quote?), left out: "{_snippet(quotation)}"'
                )
                continue
            kept.append(quotation)
        return kept

    def _resolve(self, quotations: list[_Quotation], paragraphs: list[_Paragraph], publisher: str) -> list[_Speaker]:
        speakers: dict[str, _Speaker] = {}
        last: _Speaker | None = None

        def speaker_for(ref: _Ref, quotation: _Quotation) -> _Speaker | None:
            nonlocal last
            if ref.kind == "pronoun":
                if last is None:
                    self.warnings.append(
                        f"line {quotation.line}: quotation attributed to a pronoun with no one named before it: "
                        f'"{_snippet(quotation)}"'
                    )
                return last
            if ref.kind == "unnamed":
                if ref.description.lower() in ORGANISATION_PRONOUNS and publisher != PLACEHOLDER:
                    ref = _Ref("name", publisher, ref.description)
                else:
                    self.warnings.append(
                        f'line {quotation.line}: speaker has no name ("{ref.description}"): speaker is '
                        f'{PLACEHOLDER!r}: "{_snippet(quotation)}"'
                    )
                    unnamed = _Speaker(f"unnamed {quotation.line}", PLACEHOLDER, quotation.line, ref.description)
                    speakers[unnamed.key] = unnamed
                    return unnamed
            key = self._speaker_key(ref.name, speakers)
            speaker = speakers.get(key)
            if speaker is None:
                speaker = speakers[key] = _Speaker(key, ref.name, quotation.line)
            if ref.name.endswith("*") and not speaker.name.endswith("*"):
                speaker.name += "*"
            last = speaker
            return speaker

        resolved: set[int] = set()  # quotations whose attribution has been read already
        for index, quotation in enumerate(quotations):
            if index in resolved:
                continue
            if quotation.attribution:
                quotation.speaker = speaker_for(quotation.attribution, quotation)
                continue
            attributed_later = [
                position
                for position in range(index + 1, len(quotations))
                if quotations[position].first == quotation.last and quotations[position].attribution is not None
            ]
            previous = quotations[index - 1] if index else None
            if previous is not None and previous.last == quotation.first and previous.speaker is not None:
                quotation.speaker = previous.speaker
            elif attributed_later:
                # "“…” “…,” she said.": the attribution after the second covers both.
                later = quotations[attributed_later[0]]
                later.speaker = quotation.speaker = speaker_for(later.attribution, later)
                resolved.add(attributed_later[0])
            elif quotation.leads:
                spoken_before = previous is not None and previous.speaker is not None
                if spoken_before and previous.last == quotation.first - 1:
                    quotation.speaker = previous.speaker
                elif last is not None:
                    quotation.speaker = last
                    self.warnings.append(
                        f"line {quotation.line}: quotation with no attribution given to {last.name}, the last "
                        f'speaker quoted: "{_snippet(quotation)}"'
                    )
                else:
                    self.warnings.append(f'line {quotation.line}: quotation with no speaker: "{_snippet(quotation)}"')
            elif (
                re.search(rf"\b{VERB}\b", paragraphs[quotation.first].narrative, re.I)
                and len(quotation.text.split()) >= 4
            ):
                self.warnings.append(
                    f"line {quotation.line}: quoted words inside a sentence, not extracted as a testimony: "
                    f'"{_snippet(quotation)}"'
                )
        return list(speakers.values())

    @staticmethod
    def _speaker_key(name: str, speakers: dict[str, _Speaker]) -> str:
        key = _bare(name)
        if key in speakers:
            return key
        # "Jane Doe … Doe said": a surname alone is the person named in full before.
        for known in speakers:
            if " " not in key and key in known.split():
                return known
        return key

    def _characterise(self, speaker: _Speaker, sentences: list[str], speaker_names: set[str]) -> None:
        if speaker.name == PLACEHOLDER:
            description = _Description(
                _subjects(speaker.description), [speaker.description.split(",")[0]], [speaker.description]
            )
        else:
            description = _describe(speaker.name, sentences, speaker_names - {speaker.key})
        subjects = _unique_subjects(description.subjects)
        titles = " ".join(description.titles)
        appositives = " ".join(description.appositives)
        is_organisation_name = any(run.is_organisation for run in _runs(speaker.name)) and speaker.name != PLACEHOLDER
        if is_organisation_name or TITLE_PHRASE.search(titles):
            official = GOVERNMENT_WORDS.search(titles) and not is_organisation_name
            speaker.role = "official" if official else "organisation"
            return
        family = [subject for subject in subjects if subject["relationship"] in FAMILY_RELATIONSHIPS]
        if subjects:
            speaker.role = "family" if family else "other"
            for subject in subjects:
                if "status" not in subject:
                    status = self._status_elsewhere(subject.get("name"), sentences)
                    subject["status"] = status or "unknown"
                    if not status:
                        self.warnings.append(
                            f"line {speaker.line}: {speaker.name}: no status found for their "
                            f"{subject['relationship']}{' ' + subject['name'] if subject.get('name') else ''}: "
                            "status is 'unknown'"
                        )
            speaker.subjects = subjects
        elif SURVIVOR_PHRASE.search(appositives):
            speaker.role = "survivor"
        else:
            speaker.role = "other"
            self.warnings.append(
                f"line {speaker.line}: could not tell who {speaker.name} is (family, organisation, ...): "
                "role is 'other'"
            )

    @staticmethod
    def _status_elsewhere(name: str | None, sentences: list[str]) -> str | None:
        if not name:
            return None
        pattern = _name_pattern(name)
        for sentence in sentences:
            match = pattern.search(sentence)
            if match:
                status = _status(sentence[match.end() :])
                if status:
                    return status
        return None

    def _assemble(self, quotations: list[_Quotation]) -> list[dict]:
        testimonies: list[dict] = []
        current: dict | None = None
        current_speaker: _Speaker | None = None
        paragraphs: list[str] = []
        last_paragraph = -1

        def finish() -> None:
            if current is not None:
                current["text"] = "\n\n".join(paragraph for paragraph in paragraphs if paragraph)

        for quotation in quotations:
            speaker = quotation.speaker
            if speaker is None:
                continue
            if speaker is not current_speaker:
                finish()
                current = {"speaker": speaker.name, "role": speaker.role}
                if speaker.subjects:
                    current["subjects"] = [dict(subject) for subject in speaker.subjects]
                testimonies.append(current)
                current_speaker, paragraphs, last_paragraph = speaker, [], -1
            pieces = [_tidy(piece) for piece in quotation.paragraphs]
            attribution_sentence = re.split(r"(?<=[.!?])\s", quotation.post.strip(), maxsplit=1)[0]
            if quotation.closed and pieces[-1].endswith(",") and re.search(r"[.!?]$|^[^,]*$", attribution_sentence):
                # "“…,” she said." – the comma only links the words to their attribution.
                pieces[-1] = pieces[-1][:-1] + "."
            if paragraphs and quotation.first == last_paragraph:
                paragraphs[-1] = (paragraphs[-1] + " " + pieces[0]).strip()
                pieces = pieces[1:]
            paragraphs.extend(pieces)
            last_paragraph = quotation.last
        finish()
        return testimonies


def _quote_blockquote(block: _Block) -> str:
    """A blockquote paragraph without quote marks is a quotation all the same: give it its marks."""
    text = block.text
    if block.heading or not block.in_blockquote or re.match(r"^[“\"‘'—–-]", text):
        return text
    return f"“{text}”"


def _in_reading_order(warnings: list[str]) -> list[str]:
    """Warnings about the whole release first, then those about a line, by line."""

    def line(warning: str) -> int:
        match = re.match(r"line (\d+):", warning)
        return int(match.group(1)) if match else 0

    return sorted(warnings, key=line)


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _unique_subjects(subjects: list[dict]) -> list[dict]:
    unique: list[dict] = []
    for subject in subjects:
        subject = {key: value for key, value in subject.items() if value is not None or key == "name"}
        same = next(
            (
                other
                for other in unique
                if subject.get("name") and other.get("name") and _bare(other["name"]) == _bare(subject["name"])
            ),
            None,
        )
        if same is not None:
            for key, value in subject.items():
                same.setdefault(key, value)
            continue
        unique.append(subject)
    return [
        {key: subject[key] for key in ("name", "relationship", "status", "since") if key in subject}
        for subject in unique
    ]


def _organisation_before(text: str) -> str | None:
    """The organisation named just before "said today": "…, Rights Watch Collective said today"."""
    words = text.rstrip().split(" ")
    taken: list[str] = []
    for word in reversed(words):
        if word and (_is_capitalised(word) or word in {"for", "of", "in", "and", "on", "the"}):
            taken.insert(0, word)
        else:
            break
    while taken and not _is_capitalised(taken[0]):
        taken.pop(0)
    name = " ".join(taken).strip(" ,")
    runs = _runs(name)
    return name if runs and any(word.lower() in ORGANISATION_WORDS for word in name.split()) else None


def _is_label(line: str) -> bool:
    """An upper-case topic label such as "TORTURE AND OTHER ILL-TREATMENT"."""
    letters = [char for char in line if char.isalpha()]
    return (
        len(letters) >= 3
        and not any(char.islower() for char in line)
        and any(char.isupper() for char in line)
        and len(line) <= 60
        and len(line.split()) <= 8
        and not line.endswith((".", ":", ";", ",", "!", "?"))
        and not _full_dates(line)
    )
