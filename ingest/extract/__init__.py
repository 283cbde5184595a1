"""Draft a testimony source file from a published press release or report.

`extract_file` reads a release saved as plain text (PDF-to-text exports included), Markdown or HTML,
finds the quotations in it, who said them and what each speaker is to a detained person, and returns a
`Draft`: a source document in the archive's input format plus warnings for everything it could not
attribute or parse. `draft_to_yaml` writes the draft with a header telling the archivist to review every
field. Nothing here guesses silently: a guess the source does not support is left out or warned about.

One module a step: `readers` (the file into blocks of lines), `furniture` (the lines that are not content,
and the `source` they describe), `quotations`, `attribution` (who said each), `relationships` (who each
speaker is), `draft` (the testimonies and the YAML); `dates` and `names` serve them all.
"""

from __future__ import annotations

from pathlib import Path

from .attribution import attribute, resolve
from .draft import Draft, draft_to_json, draft_to_yaml, in_reading_order, marked, problem, testimonies
from .furniture import Furniture
from .quotations import Paragraph, drop_repeats, paragraphs, scan_quotations, sentences
from .readers import ExtractError, parse, read_file
from .relationships import INVERSE_RELATIONSHIP, RELATIONSHIP_WORDS, STATUS_PATTERNS, characterise

__all__ = [
    "INVERSE_RELATIONSHIP",
    "RELATIONSHIP_WORDS",
    "STATUS_PATTERNS",
    "Draft",
    "ExtractError",
    "draft_to_json",
    "draft_to_yaml",
    "marked",
    "extract_file",
    "extract_text",
    "problem",
]


def extract_file(path: Path, publisher: str | None = None, url: str | None = None) -> Draft:
    """Detect the format by suffix (.html/.htm -> HTML, .md/.markdown -> Markdown, else plain text; also
    sniff '<html' in content) and extract."""
    text, kind, decoding_warning = read_file(path)
    draft = extract_text(text, kind, publisher=publisher, url=url)
    if decoding_warning:
        draft.warnings.insert(0, decoding_warning)
    return draft


def extract_text(text: str, kind: str = "text", publisher: str | None = None, url: str | None = None) -> Draft:
    """Extract a draft source document from the text of a release; kind is "text", "markdown" or "html"."""
    try:
        return _extract(text, kind, publisher, url)
    except RecursionError:
        # HTML nested thousands of levels deep: the parsers and the walk over it recurse.
        raise ExtractError("the HTML is nested too deeply to read") from None


def _extract(text: str, kind: str, publisher: str | None, url: str | None) -> Draft:
    parsed = parse(text, kind)
    warnings: list[str] = []
    furniture = Furniture(parsed.meta, publisher, url, warnings)
    blocks = furniture.strip(parsed.blocks)
    title = furniture.take_title(blocks)
    furniture.take_tags(blocks)
    body = paragraphs(blocks)
    source = furniture.source(title, body)
    found, evidence = _testimonies(body, source["publisher"], warnings)
    if not found:
        warnings.append("no quotations found: the draft has no testimonies")
    return Draft({"source": source, "testimonies": found}, in_reading_order(warnings), evidence)


def _testimonies(body: list[Paragraph], publisher: str, warnings: list[str]) -> tuple[list[dict], list[list[str]]]:
    quotations = scan_quotations(body, warnings)
    attribute(quotations, body)
    quotations = drop_repeats(quotations, warnings)
    speakers, people = resolve(quotations, body, publisher, warnings)

    def full_name(name: str) -> str:
        person = people.person(name)
        return person.name if person is not None and not person.organisation else name

    narrative = [sentence for paragraph in body for sentence in sentences(paragraph.narrative)]
    names = {speaker.key for speaker in speakers}
    quoted: dict[str, list[str]] = {}
    for quotation in quotations:
        if quotation.speaker is not None:
            quoted.setdefault(quotation.speaker.key, []).append(quotation.text)
    for speaker in speakers:
        characterise(speaker, narrative, names, warnings, quoted.get(speaker.key, []), full_name)
    return testimonies(quotations)
