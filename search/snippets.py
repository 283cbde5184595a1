"""Snippets with the matched words marked, cut from the SQLite text and HTML-escaped.

Whoosh's highlighter re-analyzes each hit's whole text through the field's analyzer chain, which
costs milliseconds a hit. This walks the text's words once and asks two cached questions of each:
does its folded form, or its stem in the text's language, match a term the hit matched? The words
are the analyzer's (search.index.TOKEN_PATTERN), folded and stemmed the same way, so what is marked
is what matched. Everything outside the marks is escaped: a testimony holding markup stays inert.
"""

import html
import re

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


def _render(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    out, position = [], start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        span_start, span_end = max(span_start, start), min(span_end, end)
        out.append(html.escape(text[position:span_start], quote=False))
        out.append("<mark>" + html.escape(text[span_start:span_end], quote=False) + "</mark>")
        position = span_end
    out.append(html.escape(text[position:end], quote=False))
    return ("… " if start > 0 else "") + "".join(out).strip() + (" …" if end < len(text) else "")


def snippet(text: str, terms: dict[str, set[str]], language: str | None) -> str:
    """Up to two fragments around the matches (the opening of the text when nothing matched)."""
    spans = matched_spans(text, terms, language)
    if not spans:
        return _render(text, *_window(text, 0, SNIPPET_CHARS), [])
    start, end = _window(text, max(0, spans[0][0] - CONTEXT_BEFORE), SNIPPET_CHARS)
    fragments = [_render(text, start, end, spans)]
    later = [span for span in spans if span[0] >= end]
    if later:
        more_start, more_end = _window(text, max(end, later[0][0] - CONTEXT_BEFORE // 2), SECOND_FRAGMENT_CHARS)
        fragments.append(_render(text, more_start, more_end, spans))
    return " ".join(fragments).replace(" … … ", " … ")
