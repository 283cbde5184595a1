"""Turn a validated source document into the rows the archive stores.

Pure functions: no database, no index. The rules here are the archive's contract:

- Unicode NFC everywhere; runs of whitespace collapsed in names and tags. Testimony text is kept
  verbatim apart from NFC and trimming: quotes, dashes and ellipses are never rewritten.
- A name ending in ``*`` (or the escaped ``\\*``) is a pseudonym: stored without the star and flagged
  ``is_pseudonym = 1``. Markdown bold (``**Ahmetjan**``, ``\\*\\*Ahmetjan\\*\\*``) is not a pseudonym.
  A pseudonymous person is never merged with a non-pseudonymous person of the same name: the flag is
  part of the person's id. A pseudonym belongs to its source (a pseudonym is chosen per publication):
  two sources' ``Patime*`` are two people, unless the archivist links them with the same ``key``.
- Tags have one canonical form (case and whitespace folded); duplicates are dropped.
- Partial dates are stored as ISO text with their precision (year, month, day); a date that does not
  exist (2025-02-30) is an input error, never a guess.
- Ids are derived from content, so ingesting the same file twice changes nothing: a source from its
  url (else publisher + title + published), a testimony from its source, speaker and text, a person
  from name and pseudonym flag (and, for a pseudonym, its source), or from the archivist's ``key``.
"""

import datetime
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from .source import InvalidSource, excerpt
from .vocabulary import display_name

DEFAULT_LANGUAGE = "en"
DEFAULT_VISIBILITY = "public"
ID_LENGTH = 16

# **Name** or \*\*Name\*\* (Markdown bold, as press releases and their text exports write it).
MARKDOWN_BOLD = re.compile(r"^(?:\\?\*){2}(.+?)(?:\\?\*){2}$", re.DOTALL)
PSEUDONYM_STAR = re.compile(r"(?:\s*\\?\*)+$")

# Characters that look like * to a reader, or that a typist may have used as one, or as the footnote
# mark that says a name was changed: every character whose Unicode name holds ASTERISK, ASTERISM,
# REFERENCE MARK or DAGGER, or the word STAR (＊ ∗ ⁎ ⁑ ﹡ ٭ ✱ ⋆ ★ ✶ ⁂ ※ † ‡ ...), less letters. A name
# ending in one is a pseudonym, exactly as if it ended in *: when in doubt, the archive protects the
# person. Anywhere else in a name one is an error, like *. A name ends with a letter, a mark, a digit
# or one of NAME_ENDINGS; any other character at the end (⁕ ⊹ ♥ ✓ ...) is refused, naming it: it may
# be a marker nobody here has seen yet.
STAR_SUBSTRINGS = ("ASTERISK", "ASTERISM", "REFERENCE MARK", "DAGGER")
NAME_ENDINGS = set(".'’)]>\"")  # Jr., O', (Ali), <b>x</b>: data, not markers


@lru_cache(maxsize=4096)
def star_like(char: str) -> bool:
    if char == "*":
        return True
    if unicodedata.category(char)[0] in "LC":
        return False
    name = unicodedata.name(char, "")
    return "STAR" in name.split() or any(part in name for part in STAR_SUBSTRINGS)


# Refused in a name because they show nothing (or reorder what is shown): a name that looks like
# another, or a star hidden from the reader, must not reach the archive. Whitespace (a Cc) is
# collapsed instead.
INVISIBLE_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible character",
    "Co": "a private-use character",
    "Cs": "a lone surrogate",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
NAME_WHITESPACE = set("\t\n\r\x0b\x0c")
# Shown as nothing though Unicode files them as marks or letters (Default_Ignorable_Code_Point and the
# fillers): refused in names like the categories above.
IGNORABLE = {
    "\u034f",  # COMBINING GRAPHEME JOINER
    "\u115f",  # HANGUL CHOSEONG FILLER
    "\u1160",  # HANGUL JUNGSEONG FILLER
    "\u17b4",  # KHMER VOWEL INHERENT AQ
    "\u17b5",  # KHMER VOWEL INHERENT AA
    "\u2800",  # BRAILLE PATTERN BLANK
    "\u3164",  # HANGUL FILLER
    "\uffa0",  # HALFWIDTH HANGUL FILLER
    *map(chr, range(0x180B, 0x1810)),  # MONGOLIAN FREE VARIATION SELECTORS, VOWEL SEPARATOR
    *map(chr, range(0xFE00, 0xFE10)),  # VARIATION SELECTORS
    *map(chr, range(0xE0100, 0xE01F0)),  # VARIATION SELECTORS SUPPLEMENT
}
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Persian, Kurdish, Urdu and the Indic scripts write these inside words; anywhere else they only hide.
JOINERS = {"\u200c", "\u200d"}  # ZERO WIDTH NON-JOINER, ZERO WIDTH JOINER
INNER_STAR = "a * inside a name is ambiguous: mark a pseudonym with one * at the end"


def make_id(*parts) -> str:
    """A short, stable id from content: the same parts always give the same id."""
    joined = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:ID_LENGTH]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def collapse(text: str) -> str:
    return " ".join(nfc(text).split())


def parse_name(raw: str) -> tuple[str, bool]:
    """'Patime*' -> ('Patime', True); '**Ahmetjan**' -> ('Ahmetjan', False); 'Ada  Lee' -> ('Ada Lee', False).

    'Patime＊' (a look-alike star) -> ('Patime', True). Raises ValueError (the reason, one line) for
    a name with an invisible character, a star anywhere but at the end, or no letter.
    """
    _check_visible(raw)
    name = collapse(raw)
    bold = MARKDOWN_BOLD.match(name)
    if bold:
        name = bold.group(1).strip()
    # After the bold test, so that ＊＊Name＊＊ is not bold but a star inside a name (an error).
    name = "".join("*" if star_like(char) else char for char in name)
    stripped = PSEUDONYM_STAR.sub("", name)
    if "*" in stripped:
        raise ValueError(f"{excerpt(raw)}: {INNER_STAR}")
    if not any(unicodedata.category(char).startswith("L") for char in stripped):
        raise ValueError(f"{excerpt(raw)} is not a name: it has no letter")
    last = stripped.rstrip()[-1:]
    if last and unicodedata.category(last)[0] not in "LMN" and last not in NAME_ENDINGS:
        raise ValueError(
            f"{excerpt(raw)} ends with U+{ord(last):04X} {unicodedata.name(last, '')}: if it marks a pseudonym, write *"
        )
    return stripped.strip(), stripped != name


def _check_visible(raw: str) -> None:
    """Raise ValueError naming the first character of `raw` that a reader of the name cannot see."""
    text = nfc(raw)
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if char in IGNORABLE:
            category = "Cf"
        if category not in INVISIBLE_CATEGORIES or char in NAME_WHITESPACE:
            continue
        if char in JOINERS and _inside_word(text, position):
            continue
        if char in JOINERS:
            kind = "outside a word (allowed only between two letters)"
        elif char in BIDI_CONTROLS:
            kind = "(a bidirectional control character)"
        else:
            kind = f"({INVISIBLE_CATEGORIES[category]})"
        name = unicodedata.name(char, "")
        raise ValueError(f"{excerpt(raw)} contains U+{ord(char):04X}{' ' + name if name else ''} {kind}: remove it")


def _inside_word(text: str, position: int) -> bool:
    """A joiner with a letter (or a letter's combining mark, such as an Indic virama) on both sides."""
    if position == 0 or position == len(text) - 1:
        return False
    return all(unicodedata.category(text[side])[0] in "LM" for side in (position - 1, position + 1))


def tag_key(tag: str) -> str:
    """The canonical form two spellings of one tag share: case and whitespace folded."""
    return collapse(tag).casefold()


def tag_label(tag: str) -> str:
    """How a tag is shown: as written, except that SHOUTED labels become sentence case."""
    label = collapse(tag)
    return label[:1] + label[1:].lower() if label.isupper() else label


def parse_date(value, where: str, path) -> tuple[str, str]:
    """'2025-08' -> ('2025-08', 'month'); raises InvalidSource for dates that do not exist."""
    text = str(value)
    parts = [int(part) for part in text.split("-")]
    try:
        datetime.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        raise InvalidSource(path, where, f"{text!r} is not a real date") from None
    return text, ("year", "month", "day")[len(parts) - 1]


def content_hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def person_id(name: str, is_pseudonym, source_id: str | None = None, key: str | None = None) -> str:
    """A real name is one person archive-wide; a pseudonym is one person within its source. A `key` the
    archivist gives replaces the source: the same name, flag and key are one person wherever they appear."""
    if key:
        return make_id("person", name, int(bool(is_pseudonym)), "key", key)
    if is_pseudonym:
        return make_id("person", name, 1, "source", source_id)
    return make_id("person", name, 0)


# What a testimony's content hash covers: only what may be public, and not its position in the file
# (a public archive renumbers positions, and a hash over the full archive's position would reveal the
# restricted testimonies between two public ones).
HASHED_TESTIMONY_COLUMNS = (
    "id",
    "source_id",
    "speaker_id",
    "role",
    "text",
    "language",
    "date",
    "date_precision",
    "year",
    "location",
    "visibility",
)
HASHED_SOURCE_COLUMNS = (
    "id",
    "title",
    "publisher",
    "published",
    "published_precision",
    "year",
    "url",
    "language",
    "note",
    "visibility",
)
HASHED_SUBJECT_COLUMNS = ("testimony_id", "position", "person_id", "relationship", "status", "since", "since_precision")


def testimony_hash(row: dict, subjects: list[dict], tags: list[str], source: dict, source_tags: list[str]) -> str:
    """The hash that tells whether a testimony changed (and that the index keeps to match SQLite)."""
    return content_hash(
        {
            "row": {name: row.get(name) for name in HASHED_TESTIMONY_COLUMNS},
            "subjects": [{name: subject.get(name) for name in HASHED_SUBJECT_COLUMNS} for subject in subjects],
            "tags": sorted(tags),
            "source": {name: source.get(name) for name in HASHED_SOURCE_COLUMNS},
            "source_tags": sorted(source_tags),
        }
    )


@dataclass
class Person:
    id: str
    name: str
    is_pseudonym: int
    display_name: str  # as printed everywhere: a pseudonym keeps its star


@dataclass
class Testimony:
    row: dict
    subjects: list[dict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    private: list[dict] = field(default_factory=list)


@dataclass
class NormalizedSource:
    """Everything one source file contributes to the archive."""

    source: dict
    people: dict[str, Person]
    tags: dict[str, str]  # tag id -> label
    source_tags: list[str]
    testimonies: list[Testimony]


class _Normalizer:
    def __init__(self, path, source_id: str):
        self.path = path
        self.source_id = source_id
        self.people: dict[str, Person] = {}
        self.tags: dict[str, str] = {}

    def person(self, raw_name, where, pseudonym_flag=None, key=None) -> Person:
        try:
            name, starred = parse_name(raw_name)
        except ValueError as error:
            raise InvalidSource(self.path, where, str(error)) from None
        if not name:
            raise InvalidSource(self.path, where, f"{excerpt(raw_name)} is not a name")
        if pseudonym_flag is False and starred:
            raise InvalidSource(self.path, where, "pseudonym is false but the name is marked with *")
        is_pseudonym = int(bool(starred or pseudonym_flag))
        person = Person(
            person_id(name, is_pseudonym, self.source_id, key), name, is_pseudonym, display_name(name, is_pseudonym)
        )
        self.people[person.id] = person
        return person

    def tag_ids(self, raw_tags) -> list[str]:
        ids = []
        for raw in raw_tags or []:
            key = tag_key(raw)
            if key and key not in ids:
                ids.append(key)
                self.tags.setdefault(key, tag_label(raw))
        return ids

    def date(self, value, where):
        if value is None:
            return None, None
        return parse_date(value, where, self.path)

    def private_rows(self, private, who):
        return [{"who": who, "field": key, "value": value} for key, value in sorted((private or {}).items())]


def normalize(document: dict, path) -> NormalizedSource:
    """Normalize a document that has passed the schema. Raises InvalidSource for what the schema cannot see."""
    raw_source = document["source"]
    published, published_precision = parse_date(raw_source["published"], "source.published", path)
    source_language = raw_source.get("language", DEFAULT_LANGUAGE)
    title = collapse(raw_source["title"])
    publisher = collapse(raw_source["publisher"])
    url = raw_source.get("url")
    source_id = make_id("source", url) if url else make_id("source", publisher, title, published)
    norm = _Normalizer(path, source_id)
    source = {
        "id": source_id,
        "title": title,
        "publisher": publisher,
        "published": published,
        "published_precision": published_precision,
        "year": int(published[:4]),
        "url": url,
        "language": source_language,
        "note": nfc(raw_source["note"]).strip() if raw_source.get("note") else None,
        "visibility": raw_source.get("visibility", DEFAULT_VISIBILITY),
    }
    source_tags = norm.tag_ids(raw_source.get("tags"))

    testimonies = []
    seen = {}
    for position, raw in enumerate(document["testimonies"]):
        where = f"testimonies[{position}]"
        speaker_raw = raw["speaker"]
        if isinstance(speaker_raw, dict):
            speaker = norm.person(
                speaker_raw["name"], f"{where}.speaker.name", speaker_raw.get("pseudonym"), speaker_raw.get("key")
            )
            speaker_private = speaker_raw.get("private")
        else:
            speaker = norm.person(speaker_raw, f"{where}.speaker")
            speaker_private = None
        text = nfc(raw["text"]).strip()
        testimony_id = make_id("testimony", source_id, speaker.name, speaker.is_pseudonym, text)
        if testimony_id in seen:
            raise InvalidSource(path, where, f"duplicates testimonies[{seen[testimony_id]}] (same speaker and text)")
        seen[testimony_id] = position
        date, date_precision = norm.date(raw.get("date"), f"{where}.date")
        subjects = []
        private = norm.private_rows(raw.get("private"), "testimony") + norm.private_rows(speaker_private, "speaker")
        for index, raw_subject in enumerate(raw.get("subjects") or []):
            subject_where = f"{where}.subjects[{index}]"
            person = (
                norm.person(
                    raw_subject["name"], f"{subject_where}.name", raw_subject.get("pseudonym"), raw_subject.get("key")
                )
                if raw_subject.get("name")
                else None
            )
            since, since_precision = norm.date(raw_subject.get("since"), f"{subject_where}.since")
            subjects.append(
                {
                    "testimony_id": testimony_id,
                    "position": index,
                    "person_id": person.id if person else None,
                    "relationship": raw_subject.get("relationship"),
                    "status": raw_subject.get("status"),
                    "since": since,
                    "since_precision": since_precision,
                }
            )
            private += norm.private_rows(raw_subject.get("private"), f"subject[{index}]")
        row = {
            "id": testimony_id,
            "source_id": source_id,
            "position": position,
            "speaker_id": speaker.id,
            "role": raw.get("role"),
            "text": text,
            "language": raw.get("language", source_language),
            "date": date,
            "date_precision": date_precision,
            "year": int((date or published)[:4]),
            "location": collapse(raw["location"]) if raw.get("location") else None,
            "visibility": raw.get("visibility", DEFAULT_VISIBILITY),
        }
        testimony = Testimony(row, subjects, norm.tag_ids(raw.get("tags")), private)
        # Two hashes: content_hash (published, and kept in the index) covers only what may be public, so
        # nobody can test a guessed real name against it; private_hash, a keyed hash of the private fields,
        # is computed by the writer, which holds the archive key (see ingest.store.private_digest).
        row["content_hash"] = testimony_hash(row, subjects, testimony.tags, source, source_tags)
        row["private_hash"] = None
        testimonies.append(testimony)
    return NormalizedSource(source, norm.people, norm.tags, source_tags, testimonies)
