"""Score `testimony extract` against an archivist's reading of the same releases (issue 14):

    python -m bench.extract_score DIR [DIR...] [--json]

Each `X.annotation.yml` in a DIR is a hand annotation of the release `X.txt` (or `.md`, `.markdown`, `.html`,
`.htm`) beside it: its title, publisher, url, publication date, and every speaker quoted directly, with the
speaker's pseudonym star, aliases, role, the people they are related to, and a snippet of 5-10 consecutive words
from each sentence they speak (the format is in `load_annotation`). The release is drafted with
`extract_file(release, url=<the annotation's url>)` (an archivist extracting a page knows where it came from),
and the draft is compared with the annotation:

- speakers found: an annotated speaker is found when a draft testimony's speaker is the same name (its star,
  escapes, case and spacing aside) or one of its aliases. A placeholder speaker (UNRESOLVED..., UNKNOWN...)
  never matches a named speaker. A speaker the release does not name (`name: null`: "a relative said", or
  words no sentence attributes) is found through an alias, or when the draft keeps its words under a
  placeholder, which is what precision before recall asks for such words.
- quotes: each snippet is looked for, as a run of words (quote marks, punctuation, case and spacing aside), in
  the draft's testimonies. It is *right* under a testimony of the annotated speaker; *misattributed* when it
  sits only under other named speakers; *unattributed* when it sits only under placeholder speakers (kept for
  the archivist, as issue 14 wants); *missing* when the draft dropped it.
- silent misattributions: a misattribution is *warned* when some draft warning quotes the testimony that
  received the words (shares a run of five words with its text); every other one is *silent*, the failure an
  archive of testimony cannot have.
- extra testimonies: draft testimonies under a named speaker that hold none of the annotated quotes (a pull
  quote, a headline or a fragment given to someone): reported, not a target, since some are the speaker's own
  words the annotation left out as fragments.
- roles: of the speakers found, those whose every matching testimony has the annotated role.
- subject pairs: (speaker, subject, relationship), the subject being its name (or alias) when the annotation
  names it and any subject of that relationship with no name or a matching one when it does not. The
  relationship's gender-neutral form counts as right ("spouse" for a husband, "sibling" for a sister: extract
  does not guess anyone's gender), "relative" does not. Each draft subject pairs with one annotated subject at
  most. Statuses are scored on the pairs found.
- pseudonyms kept: annotated pseudonyms (speakers and subjects) that appear in the draft, and keep the star (or
  `pseudonym: true`) everywhere they appear; a pseudonym the draft never names is scored as a missing speaker
  or pair, not here.
- publication date: *right*; *unset* (missing or a placeholder, which carries its own question); *wrong*; or
  *from body* (wrong, and a date written in the release's text: an incident date, a caption, a year in a
  quote). When the release shows no date, unset is right.
- publisher and title: right, unset or wrong, compared as words (case and punctuation aside); a release whose
  publisher the text does not settle is annotated `publisher: null`, and then unset is right.

The table gives one row per release and the totals against the issue's targets. Nothing here asserts
anything: the numbers are the output, and the tests of `ingest.extract` set their own floors.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table
from testimony_archive.ingest import render
from testimony_archive.ingest.extract import extract_file
from testimony_archive.ingest.source import placeholder_question, schema

ANNOTATION_SUFFIX = ".annotation.yml"
RELEASE_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
# A warning "quotes" a testimony when it shares this many consecutive words with it.
WARNING_WORDS = 5
# key: (what it measures, "min" or "max", the target); the ratios are fractions, the counts are counts.
TARGETS = {
    "speakers_found": ("speakers found", "min", 0.90),
    "quotes_right": ("quoted sentences under the right speaker", "min", 0.90),
    "subject_pairs_found": ("subject pairs found", "min", 0.70),
    "statuses_right": ("statuses right, of the pairs found", "min", 0.70),
    "pseudonyms_kept": ("pseudonyms kept", "min", 1.0),
    "silent_misattributions": ("silent misattributions", "max", 0),
    "dates_from_body": ("publication dates taken from the body", "max", 0),
}
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
YEAR = r"(?P<year>(?:1[89]|20)\d\d)"
DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
BODY_DATES = [
    re.compile(rf"\b{YEAR}-(?P<month_number>[01]\d)-(?P<day>[0-3]\d)"),  # ISO, timestamps included
    re.compile(rf"\b{DAY}\s+(?:of\s+)?{MONTH},?\s+{YEAR}\b", re.IGNORECASE),  # 28 August 2025
    re.compile(rf"\b{MONTH}\s+{DAY},?\s+{YEAR}\b", re.IGNORECASE),  # August 28, 2025
    re.compile(rf"\b{MONTH},?\s+{YEAR}\b", re.IGNORECASE),  # August 2025
    re.compile(rf"\b(?P<day>[0-3]?\d)[./](?P<month_number>[01]?\d)[./]{YEAR}\b"),  # 28.08.2025
    re.compile(rf"\b{YEAR}\b"),
]


class AnnotationError(Exception):
    """An annotation that cannot be read or does not say what the scorer needs."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class Subject:
    name: str | None
    relationship: str
    status: str | None
    pseudonym: bool = False
    aliases: list[str] = field(default_factory=list)


@dataclass
class Speaker:
    name: str | None
    role: str
    quotes: list[str]
    pseudonym: bool = False
    aliases: list[str] = field(default_factory=list)
    subjects: list[Subject] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or (self.aliases[0] if self.aliases else "(unnamed)")


@dataclass
class Annotation:
    title: str | None
    publisher: str | None
    url: str | None
    published: str | None
    speakers: list[Speaker]
    publisher_aliases: list[str] = field(default_factory=list)


@dataclass
class QuoteOutcome:
    speaker: str
    snippet: str
    outcome: str  # right | misattributed | unattributed | missing
    draft_speaker: str | None = None
    warned: bool = False


@dataclass
class ReleaseScore:
    name: str
    publisher: str | None
    error: str | None = None
    speakers: int = 0
    speakers_found: int = 0
    roles_right: int = 0
    quotes: int = 0
    quotes_right: int = 0
    misattributed: int = 0
    silent_misattributions: int = 0
    unattributed: int = 0
    missing: int = 0
    extra_testimonies: int = 0
    subject_pairs: int = 0
    subject_pairs_found: int = 0
    statuses_right: int = 0
    pseudonyms: int = 0
    pseudonyms_kept: int = 0
    date: str = "unset"  # right | unset | wrong | from_body
    draft_date: str | None = None
    publisher_outcome: str = "unset"  # right | unset | wrong
    draft_publisher: str | None = None
    title: str = "unset"
    draft_title: str | None = None
    quote_outcomes: list[QuoteOutcome] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------- annotations


def vocabulary(name: str) -> list[str]:
    """A vocabulary of the source schema (role, relationship, status): the annotation uses the archive's words."""
    return schema()["$defs"][name]["enum"]


def _text(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _words(path: Path, value, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise AnnotationError(path, f"{where} must be a list of strings")
    return value


def _choice(path: Path, value, vocabulary_name: str, where: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if value not in vocabulary(vocabulary_name):
        raise AnnotationError(path, f"{where}: {value!r} is not a {vocabulary_name} of the schema")
    return value


def load_annotation(path: Path) -> Annotation:
    """Read `X.annotation.yml`:

    title, publisher, url, published (YYYY, YYYY-MM or YYYY-MM-DD; null when the release shows no date),
    optionally publisher_aliases, and speakers: a list of {name (null if unnamed), pseudonym, aliases, role,
    subjects: [{name, relationship, status, pseudonym, aliases}], quotes: [snippet, ...]}.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise AnnotationError(path, f"cannot read it: {error}") from None
    if not isinstance(data, dict):
        raise AnnotationError(path, "expected a mapping")
    speakers = []
    for number, item in enumerate(data.get("speakers") or [], start=1):
        where = f"speaker {number}"
        if not isinstance(item, dict):
            raise AnnotationError(path, f"{where} must be a mapping")
        subjects = []
        for subject_number, subject in enumerate(item.get("subjects") or [], start=1):
            subject_where = f"{where}, subject {subject_number}"
            if not isinstance(subject, dict):
                raise AnnotationError(path, f"{subject_where} must be a mapping")
            subjects.append(
                Subject(
                    name=_text(subject.get("name")),
                    relationship=_choice(path, subject.get("relationship"), "relationship", subject_where),
                    status=_choice(path, subject.get("status"), "status", subject_where, optional=True),
                    pseudonym=bool(subject.get("pseudonym")),
                    aliases=_words(path, subject.get("aliases"), f"{subject_where} aliases"),
                )
            )
        quotes = _words(path, item.get("quotes"), f"{where} quotes")
        if not quotes:
            raise AnnotationError(path, f"{where} has no quotes: annotate only speakers quoted directly")
        speakers.append(
            Speaker(
                name=_text(item.get("name")),
                role=_choice(path, item.get("role"), "role", where),
                quotes=quotes,
                pseudonym=bool(item.get("pseudonym")),
                aliases=_words(path, item.get("aliases"), f"{where} aliases"),
                subjects=subjects,
            )
        )
    return Annotation(
        title=_text(data.get("title")),
        publisher=_text(data.get("publisher")),
        url=_text(data.get("url")),
        published=_text(data.get("published")),
        speakers=speakers,
        publisher_aliases=_words(path, data.get("publisher_aliases"), "publisher_aliases"),
    )


def release_for(annotation_path: Path) -> Path:
    """The release an annotation describes: the file of the same name beside it."""
    stem = annotation_path.name.removesuffix(ANNOTATION_SUFFIX)
    for suffix in RELEASE_SUFFIXES:
        candidate = annotation_path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    raise AnnotationError(annotation_path, f"no release {stem}{{{','.join(RELEASE_SUFFIXES)}}} beside it")


def annotations_in(folders: Iterable[Path]) -> list[Path]:
    return [path for folder in folders for path in sorted(Path(folder).glob("*" + ANNOTATION_SUFFIX))]


# ------------------------------------------------------------------------------------------------ comparing


def words(text: str) -> list[str]:
    """The words of a text, for comparing quotations: quote marks (straight, curly, doubled apostrophes,
    guillemets), punctuation, Markdown escapes, case and spacing do not count."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"['‘’‚‛′`]", "", text)  # "don’t" and "don't" are one word
    return re.findall(r"\w+", text)


def contains(haystack: list[str], needle: list[str]) -> bool:
    return bool(needle) and f" {' '.join(needle)} " in f" {' '.join(haystack)} "


def name_key(name) -> str:
    """A name as compared: without its pseudonym star or escape, case or extra spaces."""
    text = unicodedata.normalize("NFKC", str(name)).replace("\\", "").strip().rstrip("*").strip()
    return " ".join(text.split()).casefold()


def has_star(name) -> bool:
    return str(name).rstrip().endswith("*")


def is_placeholder(value) -> bool:
    """No value, or one validate and ingest refuse as a draft's placeholder (the schema's rule)."""
    return value is None or not str(value).strip() or placeholder_question(value) is not None


def speaker_of(testimony: dict) -> tuple[str | None, bool]:
    """A draft testimony's speaker name and whether it is marked a pseudonym (schema: a name or a mapping)."""
    speaker = testimony.get("speaker")
    if isinstance(speaker, dict):
        name = speaker.get("name")
        return name, bool(speaker.get("pseudonym")) or (name is not None and has_star(name))
    return speaker, speaker is not None and has_star(speaker)


def names_of(person: Speaker | Subject) -> set[str]:
    return {name_key(name) for name in [person.name, *person.aliases] if name}


def speaks_as(testimony: dict, speaker: Speaker) -> bool:
    name, _ = speaker_of(testimony)
    return not is_placeholder(name) and name_key(name) in names_of(speaker)


def owned(testimonies: list[dict], speaker: Speaker) -> list[dict]:
    """The draft testimonies that are the speaker's: by name or alias; for a speaker the release does not name,
    also the placeholder testimonies that hold its words (kept, unattributed, is right for such a speaker)."""
    own = [testimony for testimony in testimonies if speaks_as(testimony, speaker)]
    if speaker.name is None:
        snippets = [words(snippet) for snippet in speaker.quotes]
        own += [
            testimony
            for testimony in testimonies
            if is_placeholder(speaker_of(testimony)[0])
            and any(contains(words(str(testimony.get("text", ""))), snippet) for snippet in snippets)
        ]
    return own


def date_key(value) -> str | None:
    """A date as YYYY, YYYY-MM or YYYY-MM-DD text."""
    if value is None:
        return None
    text = _text(value).strip()
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text)
    if not match:
        return text
    year, month, day = match.groups()
    return "-".join([year] + [f"{int(part):02d}" for part in (month, day) if part])


def dates_in(text: str) -> set[str]:
    """Every date written in a text, at the precision it is written (a year, a month, a day)."""
    found = set()
    for pattern in BODY_DATES:
        for match in pattern.finditer(text):
            parts = match.groupdict()
            month = parts.get("month_number") or MONTHS.get((parts.get("month") or "").lower().rstrip("."))
            date = [parts["year"]]
            if month:
                date.append(f"{int(month):02d}")
                if parts.get("day"):
                    date.append(f"{int(parts['day']):02d}")
            found.add("-".join(date))
    return found


def _fields_match(draft_value, annotated: str | None, aliases: Iterable[str] = ()) -> str:
    """right | unset | wrong, for a title or a publisher."""
    if is_placeholder(draft_value):
        return "right" if annotated is None else "unset"
    if annotated is None:
        return "wrong"
    return "right" if words(str(draft_value)) in [words(name) for name in [annotated, *aliases]] else "wrong"


def _warned(testimony_text: str, warnings: list[str]) -> bool:
    text = words(testimony_text)
    runs = {" ".join(text[i : i + WARNING_WORDS]) for i in range(max(len(text) - WARNING_WORDS + 1, 0))}
    return any(
        " ".join(warned[i : i + WARNING_WORDS]) in runs
        for warned in map(words, warnings)
        for i in range(max(len(warned) - WARNING_WORDS + 1, 0))
    )


# The gender-neutral form of a relationship, which a draft may give when the release does not say more.
NEUTRAL = {
    "brother": "sibling", "sister": "sibling", "husband": "spouse", "wife": "spouse", "father": "parent",
    "mother": "parent", "son": "child", "daughter": "child", "grandfather": "grandparent",
    "grandmother": "grandparent", "grandson": "grandchild", "granddaughter": "grandchild",
}  # fmt: skip


def _pair(subject: Subject, candidates: list[dict], used: set[int]) -> dict | None:
    for candidate in candidates:
        if id(candidate) in used or candidate.get("relationship") not in (
            subject.relationship,
            NEUTRAL.get(subject.relationship),
        ):
            continue
        name = candidate.get("name")
        if subject.name is None and (is_placeholder(name) or name_key(name) in names_of(subject)):
            return candidate
        if subject.name is not None and not is_placeholder(name) and name_key(name) in names_of(subject):
            return candidate
    return None


def score_draft(name: str, annotation: Annotation, document: dict, warnings: list[str], body: str) -> ReleaseScore:
    """Compare one draft document (and its warnings) with the annotation of its release; `body` is the
    release's text, where a wrong publication date is looked for."""
    testimonies = [item for item in document.get("testimonies") or [] if isinstance(item, dict)]
    score = ReleaseScore(name=name, publisher=annotation.publisher, speakers=len(annotation.speakers))
    pseudonym_appearances: dict[str, list[bool]] = {}

    def appears(key: str, starred: bool) -> None:
        pseudonym_appearances.setdefault(key, []).append(starred)

    for speaker in annotation.speakers:
        own = owned(testimonies, speaker)
        if own:
            score.speakers_found += 1
            score.roles_right += all(
                testimony.get("role") == speaker.role
                # a placeholder holding an unnamed speaker's words need not guess a role
                or (testimony.get("role") is None and is_placeholder(speaker_of(testimony)[0]))
                for testimony in own
            )
            if speaker.pseudonym:
                for testimony in own:
                    appears(f"speaker:{speaker.label}", speaker_of(testimony)[1])
        for snippet in speaker.quotes:
            score.quote_outcomes.append(_quote_outcome(speaker, snippet, testimonies, own, warnings))
        draft_subjects = [subject for testimony in own for subject in testimony.get("subjects") or []]
        used: set[int] = set()
        # Named subjects first, so that an unnamed "brother" does not take the named brother's pair.
        for subject in sorted(speaker.subjects, key=lambda subject: subject.name is None):
            score.subject_pairs += 1
            found = _pair(subject, draft_subjects, used)
            if found is None:
                continue
            used.add(id(found))
            score.subject_pairs_found += 1
            score.statuses_right += found.get("status") == subject.status or (
                subject.status is None and found.get("status") in (None, "unknown")
            )
            if subject.pseudonym:
                drafted = found.get("name")
                appears(f"subject:{subject.name}", bool(found.get("pseudonym")) or has_star(drafted or ""))
    for outcome in score.quote_outcomes:
        score.quotes += 1
        score.quotes_right += outcome.outcome == "right"
        score.misattributed += outcome.outcome == "misattributed"
        score.silent_misattributions += outcome.outcome == "misattributed" and not outcome.warned
        score.unattributed += outcome.outcome == "unattributed"
        score.missing += outcome.outcome == "missing"
    snippets = [words(snippet) for speaker in annotation.speakers for snippet in speaker.quotes]
    score.extra_testimonies = sum(
        not is_placeholder(speaker_of(testimony)[0])
        and not any(contains(words(str(testimony.get("text", ""))), snippet) for snippet in snippets)
        for testimony in testimonies
    )
    score.pseudonyms = len(pseudonym_appearances)
    score.pseudonyms_kept = sum(all(starred) for starred in pseudonym_appearances.values())
    source = document.get("source") or {}
    score.date, score.draft_date = _date_outcome(source.get("published"), annotation.published, body)
    score.draft_publisher, score.draft_title = _text(source.get("publisher")), _text(source.get("title"))
    score.publisher_outcome = _fields_match(source.get("publisher"), annotation.publisher, annotation.publisher_aliases)
    score.title = _fields_match(source.get("title"), annotation.title)
    return score


def _quote_outcome(
    speaker: Speaker, snippet: str, testimonies: list[dict], own: list[dict], warnings: list[str]
) -> QuoteOutcome:
    needle = words(snippet)
    holders = [testimony for testimony in testimonies if contains(words(str(testimony.get("text", ""))), needle)]
    if any(testimony in own for testimony in holders):
        return QuoteOutcome(speaker.label, snippet, "right")
    named = [testimony for testimony in holders if not is_placeholder(speaker_of(testimony)[0])]
    if named:
        wrong = named[0]
        return QuoteOutcome(
            speaker.label,
            snippet,
            "misattributed",
            draft_speaker=_text(speaker_of(wrong)[0]),
            warned=_warned(str(wrong.get("text", "")), warnings),
        )
    if holders:
        return QuoteOutcome(speaker.label, snippet, "unattributed", draft_speaker=_text(speaker_of(holders[0])[0]))
    return QuoteOutcome(speaker.label, snippet, "missing")


def _date_outcome(draft_value, annotated: str | None, body: str) -> tuple[str, str | None]:
    if is_placeholder(draft_value):
        return ("right" if annotated is None else "unset"), _text(draft_value)
    drafted = date_key(draft_value)
    if annotated is not None and drafted == date_key(annotated):
        return "right", drafted
    return ("from_body" if drafted in dates_in(body) else "wrong"), drafted


def score_release(annotation_path: Path) -> ReleaseScore:
    """Draft the release beside the annotation and score the draft."""
    annotation = load_annotation(annotation_path)
    release = release_for(annotation_path)
    name = annotation_path.name.removesuffix(ANNOTATION_SUFFIX)
    body = release.read_text(encoding="utf-8", errors="replace")
    try:
        draft = extract_file(release, url=annotation.url)
    except Exception as error:  # noqa: BLE001 - a crash on one release is a result to report, not a reason to stop
        crashed = score_draft(name, annotation, {}, [], body)
        crashed.error = f"{type(error).__name__}: {error}"
        return crashed
    return score_draft(name, annotation, draft.document, draft.warnings, body)


# ------------------------------------------------------------------------------------------------- totals


COUNTS = [
    "speakers",
    "speakers_found",
    "roles_right",
    "quotes",
    "quotes_right",
    "misattributed",
    "silent_misattributions",
    "unattributed",
    "missing",
    "extra_testimonies",
    "subject_pairs",
    "subject_pairs_found",
    "statuses_right",
    "pseudonyms",
    "pseudonyms_kept",
]


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def totals(scores: list[ReleaseScore]) -> dict:
    """The counts summed over releases, the ratios the targets are set on, and how dates, publishers and
    titles came out."""
    summed = {key: sum(getattr(score, key) for score in scores) for key in COUNTS}
    summed["releases"] = len(scores)
    summed["errors"] = sum(score.error is not None for score in scores)
    for key in ("date", "publisher_outcome", "title"):
        outcomes = [getattr(score, key) for score in scores]
        summed[key.removesuffix("_outcome")] = {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))}
    summed["dates_from_body"] = summed["date"].get("from_body", 0)
    summed["ratios"] = {
        "speakers_found": ratio(summed["speakers_found"], summed["speakers"]),
        "roles_right": ratio(summed["roles_right"], summed["speakers_found"]),
        "quotes_right": ratio(summed["quotes_right"], summed["quotes"]),
        "subject_pairs_found": ratio(summed["subject_pairs_found"], summed["subject_pairs"]),
        "statuses_right": ratio(summed["statuses_right"], summed["subject_pairs_found"]),
        "pseudonyms_kept": ratio(summed["pseudonyms_kept"], summed["pseudonyms"]),
    }
    return summed


def verdicts(summed: dict) -> dict:
    """Each target: its measure, the target, and met (None when there was nothing to measure)."""
    result = {}
    for key, (label, kind, target) in TARGETS.items():
        value = summed["ratios"].get(key, summed.get(key))
        met = None if value is None else (value >= target if kind == "min" else value <= target)
        result[key] = {"label": label, "value": value, "target": target, "kind": kind, "met": met}
    return result


def report(scores: list[ReleaseScore]) -> dict:
    summed = totals(scores)
    return {"releases": [asdict(score) for score in scores], "totals": summed, "targets": verdicts(summed)}


# ------------------------------------------------------------------------------------------------ printing


def _of(part: int, whole: int) -> str:
    return f"{part}/{whole}" if whole else "-"


def _shown(value, kind: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0%}" if kind == "min" else str(value)


RELEASE_COLUMNS = [
    "release\npublisher",
    "speakers\nfound",
    "quotes\nright",
    "misattr.\n(silent)",
    "unattr.",
    "missing",
    "extra",
    "subject\npairs",
    "statuses\nright",
    "roles\nright",
    "pseud.\nkept",
    "date",
    "publ.",
    "title",
]


def print_report(scores: list[ReleaseScore]) -> None:
    releases = Table(title="testimony extract against the annotations", title_justify="left")
    for column in RELEASE_COLUMNS:
        releases.add_column(column, overflow="fold", no_wrap=column != RELEASE_COLUMNS[0])
    for score in scores:
        releases.add_row(
            f"{score.name}\n{score.publisher or '-'}" + (f"\n{score.error}" if score.error else ""),
            _of(score.speakers_found, score.speakers),
            _of(score.quotes_right, score.quotes),
            f"{score.misattributed} ({score.silent_misattributions})",
            str(score.unattributed),
            str(score.missing),
            str(score.extra_testimonies),
            _of(score.subject_pairs_found, score.subject_pairs),
            _of(score.statuses_right, score.subject_pairs_found),
            _of(score.roles_right, score.speakers_found),
            _of(score.pseudonyms_kept, score.pseudonyms),
            score.date,
            score.publisher_outcome,
            score.title,
        )
    render.out.print(releases)
    summed = totals(scores)
    targets = Table(title=f"totals over {len(scores)} releases", title_justify="left")
    for column in ["measure", "value", "target", "met"]:
        targets.add_column(column)
    for verdict in verdicts(summed).values():
        sign = ">=" if verdict["kind"] == "min" else "<="
        met = {True: "yes", False: "NO", None: "-"}[verdict["met"]]
        targets.add_row(
            verdict["label"],
            _shown(verdict["value"], verdict["kind"]),
            f"{sign} {_shown(verdict['target'], verdict['kind'])}",
            met,
        )
    targets.add_row("roles right, of the speakers found", _shown(summed["ratios"]["roles_right"], "min"), "", "")
    for key, label in [
        ("misattributed", "misattributed quotes (warned or not)"),
        ("unattributed", "quotes kept under a placeholder speaker"),
        ("missing", "quotes missing from the draft"),
    ]:
        targets.add_row(label, f"{summed[key]} of {summed['quotes']}", "", "")
    targets.add_row("extra testimonies (named, holding no annotated quote)", str(summed["extra_testimonies"]), "", "")
    for key in ("date", "publisher", "title"):
        targets.add_row(key, ", ".join(f"{outcome} {count}" for outcome, count in summed[key].items()), "", "")
    render.out.print(targets)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command()
def main(
    folders: Annotated[
        list[Path], typer.Argument(help="Folders of X.annotation.yml beside X.txt/.md/.html.", exists=True)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
):
    """Score testimony extract's drafts of real releases against an archivist's annotations."""
    paths = annotations_in(folders)
    if not paths:
        typer.echo(f"Error: no *{ANNOTATION_SUFFIX} in {', '.join(map(str, folders))}", err=True)
        raise typer.Exit(2)
    try:
        scores = [score_release(path) for path in paths]
    except AnnotationError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        render.emit_json(report(scores))
    else:
        print_report(scores)


if __name__ == "__main__":
    app()
