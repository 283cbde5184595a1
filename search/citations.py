"""Citations of testimonies: ready-to-copy text styles, and BibTeX, RIS and CSL-JSON files.

Pure functions of `Reference` (one testimony as a citation names it): no I/O, no Datasette. A list of
references renders as one file (a search result page); an empty list renders as a valid empty file.

Choices, the same in every format and style:
- Author: the speaker as published, a pseudonym with its star (`Patime*`), as one name that no reader
  may split or abbreviate (CSL `literal`, BibTeX `{{Patime*}}`). Title: `Testimony of Patime*`; the
  source's title is the container (CSL `container-title`, RIS `T2`, BibTeX `howpublished` "Quoted in ...",
  since `@misc` has no container field).
- Dates: the issued date is the source's `published` date (CSL `issued`, RIS `PY`/`DA`, BibTeX
  `year`/`month`). The date the words were said goes in the note ("Testimony given 2025-08."). Partial
  dates stay partial. A date that is not YYYY[-MM[-DD]] never becomes a year: it is kept as text where
  the format has room (CSL `literal`, RIS `DA`'s free-text fourth part `///...`, BibTeX `year`).
- The testimony's stable archive URL is the item's URL (CSL `URL`, RIS `UR`, BibTeX `url`). The source's
  URL goes in the note, last: "Source: https://...". The note is one text in every format (CSL `note`,
  RIS `N1`, BibTeX `note`): the pseudonym notice, the date said, the source URL. The accessed date, when
  given, is CSL `accessed`, RIS `Y2`, BibTeX `urldate`.
- Styles are plain text, no markup. The plain style is `store.Citation.text` (cleaned, as every value is)
  and nothing else: `Reference.citation` rebuilds the store's Citation from the fields it gave
  (`Reference.of`), so the store keeps the one plain style, `Patime* (pseudonym)` and all. APA and
  Chicago write `Patime* [pseudonym]` and cite the testimony's archive URL.
- Hostile text. Every value first goes through `clean`: each run of line or paragraph breaks and tabs
  (CR, LF, VT, FF, U+001C-U+001E, U+0085, U+2028, U+2029) becomes one space, so no value spans two lines;
  other control characters (C0, DEL, C1) and bidi embeddings, overrides and isolates (U+202A-U+202E,
  U+2066-U+2069) are removed; a lone surrogate becomes U+FFFD. URLs are also percent-encoded wherever
  they hold a character a URL may not (space, braces, backslash, non-ASCII). Then each format escapes:
  - BibTeX counts every brace, even `\\{`, so braces, backslash, ^ and ~ become text commands whose only
    braces are a balanced `{}` (`\\textbraceleft{}`), and % & $ # _ take a backslash. `url` is verbatim
    (biblatex reads it so) and, percent-encoded, holds no brace. Keys are `testimony-` and the id's ASCII
    letters, digits, `_` and `-`, made unique in the file with `-2`, `-3`. Lines end in LF.
  - RIS: lines end in CRLF, as the RIS specification says; no value holds a line break, so none can
    start a tag. Each record ends `ER  - `.
  - CSL-JSON: `<`, `>`, `&`, U+2028 and U+2029 are written `\\uXXXX`, so the JSON can sit inside a
    page's `<script>`. Lines end in LF.
"""

import datetime
import json
import re
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from testimony_archive.ingest import store
from testimony_archive.ingest.vocabulary import display_name

PSEUDONYM_NOTE = "Name changed to protect the person (pseudonym)."
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip
BIBTEX_MONTHS = tuple(month[:3].lower() for month in MONTHS)  # BibTeX's own macros: jan, feb, ...

BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
URI_SAFE = "!#$%&'()*+,/:;=?@[]~"
DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
TEX_SPECIAL = re.compile(r"[\\{}^~%&$#_]")
TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    **{char: "\\" + char for char in "%&$#_"},
}
# Characters that could end a <script> element or a JavaScript string, whatever the page does with the JSON.
JSON_IN_HTML = {ord(char): f"\\u{ord(char):04x}" for char in "<>&\u2028\u2029"}


@dataclass(frozen=True)
class Reference:
    """One testimony as a citation names it."""

    testimony_id: str
    url: str  # the testimony's stable, absolute address in the archive
    speaker: str  # the name as written, without the star
    is_pseudonym: bool
    source_title: str
    publisher: str
    published: str  # the source's publication date: YYYY, YYYY-MM or YYYY-MM-DD
    date: str | None  # when the words were said, same forms, or None
    source_url: str | None  # where the source was published
    accessed: str | None = None  # YYYY-MM-DD the reader retrieved it (the day of the request)

    @classmethod
    def of(cls, citation: store.Citation, url: str, accessed: str | None = None) -> "Reference":
        speaker = citation.speaker
        return cls(
            testimony_id=citation.id,
            url=url,
            speaker=speaker.name,
            is_pseudonym=speaker.is_pseudonym,
            source_title=citation.source_title,
            publisher=citation.publisher,
            published=citation.published,
            date=citation.date,
            source_url=citation.url,
            accessed=accessed,
        )

    @property
    def citation(self) -> store.Citation:
        """The store's Citation this reference was made `of`: its `text` is the plain style."""
        name = store.Name(self.speaker, self.is_pseudonym)
        return store.Citation(
            self.testimony_id, name, self.source_title, self.publisher, self.published, self.date, self.source_url
        )

    @property
    def speaker_as_published(self) -> str:
        return display_name(self.speaker, self.is_pseudonym)

    @property
    def note(self) -> str:
        parts = [PSEUDONYM_NOTE] if self.is_pseudonym else []
        if self.date:
            parts.append(f"Testimony given {self.date}.")
        if self.source_url:
            parts.append(f"Source: {uri(self.source_url)}")
        return clean(" ".join(parts))


def clean(text: str) -> str:
    """`text` with no line break, control character or bidi override left in it (see the module's notes)."""
    return SURROGATE.sub("\ufffd", BREAKS.sub(" ", INVISIBLE.sub("", text)))


def uri(url: str) -> str:
    """A URL cleaned, with any character a URL may not hold percent-encoded (an existing %XX is kept)."""
    return urllib.parse.quote(clean(url), safe=URI_SAFE)


def date_parts(value: str | None) -> list[int] | None:
    """[2025], [2025, 3] or [2025, 3, 1] for a real YYYY, YYYY-MM or YYYY-MM-DD; None for anything else."""
    match = DATE.fullmatch(value or "")
    if not match:
        return None
    parts = [int(part) for part in match.groups() if part]
    try:
        datetime.date(*parts, *[1] * (3 - len(parts)))
    except ValueError:
        return None
    return parts


def written_date(value: str | None, year_first: bool = False) -> str:
    """`August 28, 2025` (or APA's `2025, August 28`), as partial as the date; other text as it is."""
    parts = date_parts(value)
    if parts is None:
        return clean(value or "") or "n.d."
    year, *rest = parts
    if not rest:
        return str(year)
    month_day = " ".join([MONTHS[rest[0] - 1], *map(str, rest[1:])])
    if year_first:
        return f"{year}, {month_day}"
    return f"{month_day}, {year}" if len(rest) == 2 else f"{month_day} {year}"


def sentence(text: str) -> str:
    """`text` ending in one full stop: `Mr.` and `Why?` take none."""
    return text if text.endswith((".", "?", "!")) else f"{text}."


def styles(reference: Reference) -> dict[str, str]:
    """Ready-to-copy text citations, by name: Plain (the archive's own), APA, Chicago. Plain text, no markup."""
    ref = reference
    name = sentence(clean(ref.speaker_as_published) + (" [pseudonym]" if ref.is_pseudonym else ""))
    title, publisher, url = clean(ref.source_title), clean(ref.publisher), uri(ref.url)
    said = f" given {written_date(ref.date)}" if ref.date else ""
    apa_retrieved = f"Retrieved {written_date(ref.accessed)}, from {url}" if ref.accessed else url
    chicago_accessed = f"Accessed {written_date(ref.accessed)}. " if ref.accessed else ""
    return {
        "Plain": clean(ref.citation.text),
        "APA": f"{name} ({written_date(ref.published, year_first=True)}). Testimony{said} "
        f"[quoted in \u201c{title}\u201d]. {sentence(publisher)} {apa_retrieved}",
        "Chicago": f"{name} Testimony{said}. Quoted in \u201c{sentence(title)}\u201d {publisher}, "
        f"{written_date(ref.published)}. {chicago_accessed}{url}.",
    }


# -- BibTeX ---------------------------------------------------------------------------------------------


def tex(value: str) -> str:
    """A BibTeX field's text: literal when typeset, and brace-balanced whatever `value` holds."""
    return TEX_SPECIAL.sub(lambda match: TEX_ESCAPES[match.group()], clean(value))


def bibtex_keys(references: Sequence[Reference]) -> list[str]:
    """A key for each reference, from its id (ASCII letters, digits, `_`, `-`), unique in the list."""
    keys: list[str] = []
    for ref in references:
        base = "-".join(filter(None, ["testimony", re.sub(r"[^A-Za-z0-9_-]", "", ref.testimony_id)]))
        key, n = base, 1
        while key in keys:
            n += 1
            key = f"{base}-{n}"
        keys.append(key)
    return keys


def bibtex_entry(ref: Reference, key: str) -> str:
    name = tex(ref.speaker_as_published)
    published = date_parts(ref.published)
    fields = {
        "author": f"{{{{{name}}}}}",
        "title": f"{{Testimony of {{{name}}}}}",
        "howpublished": f"{{Quoted in {tex(ref.source_title)}}}",
        "publisher": f"{{{tex(ref.publisher)}}}",
        "year": f"{{{published[0] if published else tex(ref.published)}}}",
        "month": BIBTEX_MONTHS[published[1] - 1] if published and len(published) > 1 else None,
        "url": f"{{{uri(ref.url)}}}",
        "urldate": f"{{{tex(ref.accessed)}}}" if ref.accessed else None,
        "note": f"{{{tex(ref.note)}}}" if ref.note else None,
    }
    lines = [f"  {field} = {value}," for field, value in fields.items() if value and value != "{}"]
    return "\n".join([f"@misc{{{key},", *lines, "}"])


def bibtex(references: Sequence[Reference]) -> str:
    """One .bib file: an `@misc` entry for each reference, separated by blank lines."""
    entries = [bibtex_entry(ref, key) for ref, key in zip(references, bibtex_keys(references), strict=True)]
    return "\n\n".join(entries) + "\n" if entries else ""


# -- RIS ------------------------------------------------------------------------------------------------


def ris_date(value: str | None) -> str | None:
    """RIS's `YYYY/MM/DD/other`: `2025///`, `2025/03//`, `2025/03/01/`; text that is no date as `///text`."""
    parts = date_parts(value)
    if parts is None:
        return f"///{value}" if value else None
    numbers = [f"{parts[0]:04d}", *(f"{part:02d}" for part in parts[1:])]
    return "/".join(numbers + [""] * (3 - len(parts))) + "/"


def ris_record(ref: Reference) -> str:
    published = date_parts(ref.published)
    tags = [
        ("TY", "GEN"),
        ("ID", ref.testimony_id),
        ("AU", ref.speaker_as_published),
        ("TI", f"Testimony of {ref.speaker_as_published}"),
        ("T2", ref.source_title),
        ("PB", ref.publisher),
        ("PY", str(published[0]) if published else None),
        ("DA", ris_date(ref.published)),
        ("UR", uri(ref.url)),
        ("Y2", ris_date(ref.accessed)),
        ("N1", ref.note),
    ]
    lines = [f"{tag}  - {clean(value)}" for tag, value in tags if value and clean(value)]
    return "".join(line + "\r\n" for line in [*lines, "ER  - "])


def ris(references: Sequence[Reference]) -> str:
    """One .ris file: the records one after another, CRLF line endings."""
    return "".join(ris_record(ref) for ref in references)


# -- CSL-JSON -------------------------------------------------------------------------------------------


def csl_date(value: str | None) -> dict | None:
    parts = date_parts(value)
    if parts:
        return {"date-parts": [parts]}
    return {"literal": clean(value)} if value and clean(value) else None


def csl_item(ref: Reference) -> dict:
    item = {
        "id": clean(ref.testimony_id),
        "type": "document",
        "author": [{"literal": clean(ref.speaker_as_published)}],
        "title": clean(f"Testimony of {ref.speaker_as_published}"),
        "container-title": clean(ref.source_title),
        "publisher": clean(ref.publisher),
        "issued": csl_date(ref.published),
        "URL": uri(ref.url),
        "accessed": csl_date(ref.accessed),
        "note": ref.note,
    }
    return {field: value for field, value in item.items() if value}


def csl_json(references: Sequence[Reference]) -> str:
    """One CSL-JSON array, safe to embed in a page's `<script>`."""
    text = json.dumps([csl_item(ref) for ref in references], ensure_ascii=False, indent=2)
    return text.translate(JSON_IN_HTML) + "\n"


@dataclass(frozen=True)
class Format:
    """A citation file: the URL suffix that asks for it, its name, media type, file extension and renderer."""

    suffix: str
    label: str
    media_type: str
    extension: str
    render: Callable[[Sequence[Reference]], str]


FORMATS = {
    fmt.suffix: fmt
    for fmt in (
        Format("bib", "BibTeX", "application/x-bibtex", "bib", bibtex),
        Format("ris", "RIS", "application/x-research-info-systems", "ris", ris),
        Format("csl.json", "CSL-JSON", "application/vnd.citationstyles.csl+json", "json", csl_json),
    )
}
