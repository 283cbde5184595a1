"""The quotations in a release's body: its blocks joined into paragraphs, each quotation found with the
narrative around it (which says who spoke), and pull quotes that only repeat other words dropped."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .names import plain_stars
from .readers import Block

if TYPE_CHECKING:
    from .attribution import Ref, Speaker

TERMINAL_PUNCTUATION = '.!?:;…”’")]'
# Other ways releases write quotation marks, as the double curly quotes the scanner reads: doubled single
# quotes (‘‘…’’, ``…''), guillemets («…», »…«) and low-high quotes („…“).
OTHER_QUOTES = re.compile(r"„(.*?)[“”]|(?:‘‘|’’|``|'')(.+?)(?:’’|''|‘‘)|«\s*(.*?)\s*»|»\s*(.*?)\s*«", re.S)
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[^\W\d_“\"‘(])")


@dataclass
class Paragraph:
    text: str
    line: int
    heading: bool = False
    narrative: str = ""  # the text with each quotation replaced by “…”


@dataclass
class Quotation:
    """One continuous quotation, possibly running over several paragraphs."""

    paragraphs: list[str]
    first: int  # index of its first paragraph
    line: int
    leads: bool  # the opening quote mark starts its paragraph
    pre: str = ""  # narrative before it in its first paragraph
    post: str = ""  # narrative after it in its last paragraph
    last: int = -1
    closed: bool = False
    attribution: Ref | None = None
    speaker: Speaker | None = None
    at: int = 0  # where it stands in its first paragraph's narrative (the offset of its “…”)
    disputed: bool = False  # the release gives its words to two different speakers
    rule: str = ""  # the rule that gave it its speaker, and the sentence that rule read
    evidence: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.paragraphs)

    @property
    def snippet(self) -> str:
        """Its first words, for a warning."""
        words = self.text.split()
        return " ".join(words[:8]) + ("…" if len(words) > 8 else "")


def sentences(text: str) -> list[str]:
    return SENTENCE_BREAK.split(text)


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]


def paragraphs(blocks: list[Block]) -> list[Paragraph]:
    """The paragraphs of a release's body: a sentence cut by a page break or a stray blank line is one again."""
    merged: list[Block] = []
    for block in blocks:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and not previous.heading
            and not block.heading
            and not previous.text.endswith(tuple(TERMINAL_PUNCTUATION))
            and (block.after_page_break or block.text[:1].islower())
        ):
            previous.lines = previous.lines + block.lines
            previous.numbers = previous.numbers + block.numbers
            continue
        merged.append(replace(block, lines=list(block.lines), numbers=list(block.numbers)))
    return [
        Paragraph(normalise_quote_marks(_quote_blockquote(block)), block.line, heading=bool(block.heading))
        for block in merged
    ]


def normalise_quote_marks(text: str) -> str:
    """The text with every kind of quotation mark written as “ and ”."""
    return OTHER_QUOTES.sub(
        lambda match: "“" + next(group for group in match.groups() if group is not None) + "”", text
    )


def _quote_blockquote(block: Block) -> str:
    """A blockquote paragraph without quote marks is a quotation all the same: give it its marks."""
    text = block.text
    if block.heading or not block.in_blockquote or re.match(r"^[“\"‘'—–-]", text):
        return text
    return f"“{text}”"


class QuoteMarks:
    """Which characters open and close a quotation in this release: double quotes, or single if no double."""

    def __init__(self, paragraphs: list[Paragraph]) -> None:
        body = "".join(paragraph.text for paragraph in paragraphs)
        self.double = body.count("“") + body.count("”") + body.count('"') >= 2 or "‘" not in body

    def opens(self, text: str, index: int) -> bool:
        char = text[index]
        before = text[index - 1] if index else " "
        after = text[index + 1] if index + 1 < len(text) else " "
        if self.double:
            return char == "“" or (char == '"' and not after.isspace() and not before.isalnum())
        if char == "‘":
            return True
        return char == "'" and not before.isalnum() and after.isalpha()

    def nested(self, text: str, index: int) -> bool:
        """A straight quote opening inside a quotation, closed again before the paragraph ends."""
        before = text[index - 1] if index else " "
        return (
            self.double
            and text[index] == '"'
            and before.isspace()
            and self.opens(text, index)
            and '"' in text[index + 1 :]
        )

    def closes_first(self, text: str) -> bool:
        """Whether the first quotation mark of a paragraph closes one (a quotation begun in the paragraph before)."""
        for index in range(len(text)):
            if self.opens(text, index):
                return False
            if self.closes(text, index):
                return True
        return False

    def closes(self, text: str, index: int) -> bool:
        char = text[index]
        after = text[index + 1] if index + 1 < len(text) else " "
        if self.double:
            return char in '”"'
        return char in "’'" and not after.isalpha()


def scan_quotations(paragraphs: list[Paragraph], warnings: list[str]) -> list[Quotation]:
    """The quotations in the paragraphs, in order; sets each paragraph's narrative."""
    marks = QuoteMarks([paragraph for paragraph in paragraphs if not paragraph.heading])
    quotations: list[Quotation] = []
    current: Quotation | None = None
    for index, paragraph in enumerate(paragraphs):
        text = paragraph.text
        # The narrative names the speakers: its pseudonym marks are all *; the quoted words stay as written.
        narrative = plain_stars(text)
        if paragraph.heading:
            paragraph.narrative = narrative
            if current:
                _unterminated(current, warnings)
                current = None
            continue
        position = 0
        spans: list[tuple[int, int]] = []  # (start, end) of each quoted stretch in this paragraph
        closed_here: list[tuple[Quotation, int]] = []
        quote_start = 0
        if current is not None:
            if text and marks.opens(text, 0):
                position = quote_start = 1
            elif not marks.closes_first(text):
                _unterminated(current, warnings)
                current = None
            # else: the quotation goes on into this paragraph without an opening mark, and closes in it.
        narrative_start = 0
        while position < len(text):
            if current is not None and position > quote_start and marks.nested(text, position):
                # “…his so-called "crime" is…”: straight quotes inside a quotation do not close it.
                position = text.find('"', position + 1) + 1
                continue
            if current is not None and marks.closes(text, position) and position >= quote_start:
                current.paragraphs.append(text[quote_start:position].strip())
                current.last, current.closed = index, True
                spans.append((quote_start, position + 1))
                closed_here.append((current, position + 1))
                current, narrative_start = None, position + 1
            elif current is None and marks.opens(text, position):
                before = narrative[narrative_start:position]
                current = Quotation([], index, paragraph.line, leads=not text[:position].strip(), pre=before)
                quotations.append(current)
                quote_start = current.at = position + 1
            position += 1
        if current is not None:
            current.paragraphs.append(text[quote_start:].strip())
            current.last = index
            spans.append((quote_start, len(text)))
        span_starts = [start for start, _ in spans]  # in order: one paragraph may hold thousands
        for quotation, end in closed_here:
            following = bisect_right(span_starts, end)
            next_start = span_starts[following] - 1 if following < len(span_starts) else len(text)
            quotation.post = narrative[end:next_start]
        paragraph.narrative, offsets = _blank_spans(narrative, spans)
        starts = {start: offset for (start, _end), offset in zip(spans, offsets, strict=True)}
        for quotation in reversed(quotations):
            if quotation.first != index:
                break  # the ones opened in this paragraph are the last ones found
            quotation.at = starts.get(quotation.at, 0)
    if current:
        _unterminated(current, warnings)
    return [quotation for quotation in quotations if quotation.text.strip()]


def _unterminated(quotation: Quotation, warnings: list[str]) -> None:
    warnings.append(f'line {quotation.line}: quotation never closed, ended at its paragraph: "{quotation.snippet}"')


def _blank_spans(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[int]]:
    """The text with each quoted span written “…”, and where each “…” stands in it."""
    offsets, shift = [], 0
    for start, end in spans:
        offsets.append(max(start - 1, 0) - shift)
        shift += end - max(start - 1, 0) - 3
    for start, end in reversed(spans):
        text = text[: max(start - 1, 0)] + "“…”" + text[end:]
    return text, offsets


def drop_repeats(quotations: list[Quotation], warnings: list[str]) -> list[Quotation]:
    """Drop pull quotes: a quotation of six words or more whose words all appear in another quotation that
    is longer, or as long and attributed where this one is not, or as long and earlier. When the release
    gives the same words to two different people, neither is believed: the words stay, unattributed."""
    words = [" " + " ".join(re.findall(r"\w+", quotation.text.lower())) + " " for quotation in quotations]
    everything = "\n".join(words)  # one search for all the others: each quotation's words are in it once

    def better(other: Quotation, theirs: str, quotation: Quotation, own: str) -> bool:
        if len(theirs) != len(own):
            return len(theirs) > len(own)
        if (other.attribution is None) != (quotation.attribution is None):
            return other.attribution is not None
        return other.line < quotation.line or (other.line == quotation.line and other.at < quotation.at)

    kept = []
    for quotation, own in zip(quotations, words, strict=True):
        if len(own.split()) < 6 or everything.count(own) < 2:
            kept.append(quotation)
            continue
        container = next(
            (
                other
                for other, theirs in zip(quotations, words, strict=True)
                if other is not quotation and own in theirs and better(other, theirs, quotation, own)
            ),
            None,
        )
        if container is None:
            kept.append(quotation)
            continue
        warnings.append(
            f"line {quotation.line}: quotation repeats words quoted at line {container.line} "
            f'(a pull quote?), left out: "{quotation.snippet}"'
        )
        ours, theirs = quotation.attribution, container.attribution
        if (
            ours
            and theirs
            and (ours.kind, ours.name, ours.description) != (theirs.kind, theirs.name, theirs.description)
        ):
            warnings.append(
                f"line {container.line}: the release gives these words to two speakers (lines {quotation.line} "
                f'and {container.line}): left unattributed: "{container.snippet}"'
            )
            container.attribution = None
            container.disputed = True
    return kept
