"""Snippets with the matched words marked, cut from the SQLite text: plain text and match spans.

Whoosh's highlighter re-analyzes each hit's whole text through the field's analyzer chain, which
costs milliseconds a hit. This walks the text's words once and asks two cached questions of each:
does its folded form, or its stem in the text's language, match a term the hit matched? The words
are the analyzer's (search.index.TOKEN_PATTERN), folded and stemmed the same way, so what is marked
is what matched. `Snippet.html` escapes everything outside the marks: a testimony holding markup stays
inert; the CLI renders the same spans as terminal text.
"""

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

from . import index as search_index

TOKEN = re.compile(search_index.TOKEN_PATTERN)
SNIPPET_CHARS = 320
CONTEXT_BEFORE = 80
SECOND_FRAGMENT_CHARS = 160


def matched_spans(text: str, terms: dict[str, set[str]], language: str | None) -> list[tuple[int, int]]:
    """Character spans of the words in text that match: `terms` maps a field name to its matched terms."""
    plain = terms.get("text", set()) | terms.get("text_other", set())
    stemmed_field = search_index.stemmed_field(language)
    stemmed = terms.get(stemmed_field, set()) if stemmed_field else set()
    lang = stemmed_field[len("text_") :] if stemmed else None
    spans = []
    for match in TOKEN.finditer(text):
        word = match.group()
        if len(word) > 2 and search_index.CJK_RUN.fullmatch(word):
            start = match.start()
            spans += [
                (start + i, start + i + 2)
                for i in range(len(word) - 1)
                if search_index.fold_word(word[i : i + 2]) in plain
            ]
        elif search_index.fold_word(word) in plain or (lang and search_index.stem_key(lang, word) in stemmed):
            spans.append(match.span())
    merged: list[tuple[int, int]] = []
    for start, end in spans:  # overlapping CJK bigrams become one mark
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, start: int, size: int) -> tuple[int, int]:
    """[start, start + size), moved to word boundaries."""
    if start > 0:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 30 else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return start, end


@dataclass(frozen=True)
class Snippet:
    """Plain text cut from a testimony and the character spans of the words that matched in it. The CLI
    (rich) and the web (HTML, through `html`) both render it from these spans."""

    text: str
    marks: tuple[tuple[int, int], ...] = ()

    def __add__(self, other: "Snippet") -> "Snippet":
        shift = len(self.text)
        return Snippet(self.text + other.text, self.marks + tuple((s + shift, e + shift) for s, e in other.marks))

    def parts(self) -> Iterator[tuple[str, bool]]:
        """The text in order, as (piece, matched) pairs."""
        position = 0
        for start, end in self.marks:
            if start > position:
                yield self.text[position:start], False
            yield self.text[start:end], True
            position = end
        if position < len(self.text):
            yield self.text[position:], False

    def html(self) -> str:
        """Escaped HTML in which `<mark>` is the only markup: a testimony holding markup stays inert."""
        return "".join(
            f"<mark>{html.escape(piece, quote=False)}</mark>" if matched else html.escape(piece, quote=False)
            for piece, matched in self.parts()
        )


ELLIPSIS_BEFORE, ELLIPSIS_AFTER = "… ", " …"


def _fragment(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> Snippet:
    """text[start:end] without its outer spaces, with the spans inside it, and an ellipsis for each cut."""
    middle = text[start:end]
    stripped = middle.strip()
    offset = start + len(middle) - len(middle.lstrip())
    marks = tuple(
        (max(s, offset) - offset, min(e, offset + len(stripped)) - offset)
        for s, e in spans
        if e > offset and s < offset + len(stripped)
    )
    before = Snippet(ELLIPSIS_BEFORE if start > 0 else "")
    return before + Snippet(stripped, marks) + Snippet(ELLIPSIS_AFTER if end < len(text) else "")


def snippet(text: str, terms: dict[str, set[str]], language: str | None) -> Snippet:
    """Up to two fragments around the matches (the opening of the text when nothing matched)."""
    spans = matched_spans(text, terms, language)
    if not spans:
        return _fragment(text, *_window(text, 0, SNIPPET_CHARS), [])
    start, end = _window(text, max(0, spans[0][0] - CONTEXT_BEFORE), SNIPPET_CHARS)
    found = _fragment(text, start, end, spans)
    later = [span for span in spans if span[0] >= end]
    if later:
        more_start, more_end = _window(text, max(end, later[0][0] - CONTEXT_BEFORE // 2), SECOND_FRAGMENT_CHARS)
        more = _fragment(text, more_start, more_end, spans)
        if found.text.endswith(ELLIPSIS_AFTER) and more.text.startswith(ELLIPSIS_BEFORE):
            # One ellipsis where the two fragments meet, not two.
            cut = len(ELLIPSIS_BEFORE)
            more = Snippet(more.text[cut:], tuple((s - cut, e - cut) for s, e in more.marks))
        found = found + Snippet(" ") + more
    return found
