"""Turn a validated source document into the rows the archive stores.

Pure functions: no database, no index. The rules here are the archive's contract:

- Unicode NFC everywhere; runs of whitespace collapsed in names and tags. Testimony text is kept
  verbatim apart from NFC and trimming: quotes, dashes and ellipses are never rewritten.
- A name ending in ``*`` (or the escaped ``\\*``) is a pseudonym: stored without the star and flagged
  ``is_pseudonym = 1``. Markdown bold (``**Ahmetjan**``, ``\\*\\*Ahmetjan\\*\\*``) is not a pseudonym.
  A pseudonymous person is never merged with a non-pseudonymous person of the same name: the flag is
  part of the person's id.
- Tags have one canonical form (case and whitespace folded); duplicates are dropped.
- Partial dates are stored as ISO text with their precision (year, month, day); a date that does not
  exist (2025-02-30) is an input error, never a guess.
- Ids are derived from content, so ingesting the same file twice changes nothing: a source from its
  url (else publisher + title + published), a testimony from its source, speaker and text, a person
  from name and pseudonym flag.
"""

import datetime
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field

from .source import InvalidSource

DEFAULT_LANGUAGE = "en"
DEFAULT_VISIBILITY = "public"
ID_LENGTH = 16

# **Name** or \*\*Name\*\* (Markdown bold, as press releases and their text exports write it).
MARKDOWN_BOLD = re.compile(r"^(?:\\?\*){2}(.+?)(?:\\?\*){2}$", re.DOTALL)
PSEUDONYM_STAR = re.compile(r"(?:\s*\\?\*)+$")


def make_id(*parts) -> str:
    """A short, stable id from content: the same parts always give the same id."""
    joined = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:ID_LENGTH]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def collapse(text: str) -> str:
    return " ".join(nfc(text).split())


def parse_name(raw: str) -> tuple[str, bool]:
    """'Patime*' -> ('Patime', True); '**Ahmetjan**' -> ('Ahmetjan', False); 'Ada  Lee' -> ('Ada Lee', False)."""
    name = collapse(raw)
    bold = MARKDOWN_BOLD.match(name)
    if bold:
        name = bold.group(1).strip()
    stripped = PSEUDONYM_STAR.sub("", name)
    return stripped.strip(), stripped != name


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


@dataclass
class Person:
    id: str
    name: str
    is_pseudonym: int


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
    def __init__(self, path):
        self.path = path
        self.people: dict[str, Person] = {}
        self.tags: dict[str, str] = {}

    def person(self, raw_name, where, pseudonym_flag=None) -> Person:
        name, starred = parse_name(raw_name)
        if not name:
            raise InvalidSource(self.path, where, f"{raw_name!r} is not a name")
        if pseudonym_flag is False and starred:
            raise InvalidSource(self.path, where, "pseudonym is false but the name is marked with *")
        is_pseudonym = int(bool(starred or pseudonym_flag))
        person = Person(make_id("person", name, is_pseudonym), name, is_pseudonym)
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
    norm = _Normalizer(path)
    raw_source = document["source"]
    published, published_precision = norm.date(raw_source["published"], "source.published")
    source_language = raw_source.get("language", DEFAULT_LANGUAGE)
    title = collapse(raw_source["title"])
    publisher = collapse(raw_source["publisher"])
    url = raw_source.get("url")
    source_id = make_id("source", url) if url else make_id("source", publisher, title, published)
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
            speaker = norm.person(speaker_raw["name"], f"{where}.speaker.name", speaker_raw.get("pseudonym"))
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
                norm.person(raw_subject["name"], f"{subject_where}.name", raw_subject.get("pseudonym"))
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
        # nobody can test a guessed real name against it; private_hash stays in the full archive.
        row["content_hash"] = content_hash(
            {"row": row, "subjects": subjects, "tags": testimony.tags, "source": source, "source_tags": source_tags}
        )
        row["private_hash"] = content_hash(private) if private else None
        testimonies.append(testimony)
    return NormalizedSource(source, norm.people, norm.tags, source_tags, testimonies)
