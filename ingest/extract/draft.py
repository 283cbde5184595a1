"""The draft: the testimonies it holds, one per run of a speaker's quotations, its warnings in reading
order, and its YAML, headed by comments telling the archivist to review every field."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import yaml

from ..source import DRAFT_KEY, UNRESOLVED, one_line, placeholder_question
from .dates import PARTIAL_DATE
from .quotations import first_sentence

if TYPE_CHECKING:
    from .attribution import Speaker
    from .quotations import Quotation


def placeholder(question: str) -> str:
    """The value of a field the release did not settle: refused by validate and ingest until answered."""
    return f"{UNRESOLVED}: {question.replace('*', '')}"


SCHEMA_COMMENT = "# yaml-language-server: $schema=../schema/source.schema.json"


@dataclass
class Draft:
    """A source document extracted from a release, for an archivist to review, and what went wrong."""

    document: dict
    warnings: list[str] = field(default_factory=list)
    evidence: list[list[str]] = field(default_factory=list)  # per testimony: the rule and sentence behind it


DRAFT_NOTICE = "review every field against the release, then delete this line"


def is_placeholder(value) -> bool:
    """Whether a value is a placeholder validate and ingest refuse (the schema's rule, read by source.py)."""
    return placeholder_question(value) is not None


def testimonies(quotations: list[Quotation]) -> tuple[list[dict], list[list[str]]]:
    """One testimony per run of quotations by the same speaker, a paragraph for each quoted paragraph; and
    for each testimony the evidence an archivist checks it by: each rule that fired and the sentence it read."""
    found: list[dict] = []
    evidence: list[list[str]] = []
    current: dict | None = None
    current_speaker: Speaker | None = None
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
            current = {"speaker": speaker.name}
            if speaker.role:
                current["role"] = speaker.role
            if speaker.subjects:
                current["subjects"] = [dict(subject) for subject in speaker.subjects]
            found.append(current)
            evidence.append([])
            current_speaker, paragraphs, last_paragraph = speaker, [], -1
        if quotation.rule:
            why = f"line {quotation.line}: {quotation.rule}" + (f": {quotation.evidence}" if quotation.evidence else "")
            if why not in evidence[-1]:
                evidence[-1].append(why)
        pieces = [_tidy(piece) for piece in quotation.paragraphs]
        attribution_sentence = first_sentence(quotation.post.strip())
        if quotation.closed and pieces[-1].endswith(",") and re.search(r"[.!?]$|^[^,]*$", attribution_sentence):
            # "“…,” she said." – the comma only links the words to their attribution.
            pieces[-1] = pieces[-1][:-1] + "."
        if paragraphs and quotation.first == last_paragraph:
            paragraphs[-1] = (paragraphs[-1] + " " + pieces[0]).strip()
            pieces = pieces[1:]
        paragraphs.extend(pieces)
        last_paragraph = quotation.last
    finish()
    return found, evidence


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def in_reading_order(warnings: list[str]) -> list[str]:
    """Warnings about the whole release first, then those about a line, by line."""

    def line(warning: str) -> int:
        match = re.match(r"line (\d+):", warning)
        return int(match.group(1)) if match else 0

    return sorted(warnings, key=line)


def marked(draft: Draft) -> dict:
    """The draft's document as written out, YAML or JSON: its `draft` line first, so that it cannot be
    ingested until an archivist deletes it."""
    return {DRAFT_KEY: DRAFT_NOTICE, **draft.document}


def draft_to_json(draft: Draft) -> str:
    """JSON text of the draft (the warnings and evidence, which JSON cannot hold as comments, are left out)."""
    return json.dumps(marked(draft), ensure_ascii=False, indent=2) + "\n"


def draft_to_yaml(draft: Draft, source_name: str | None = None) -> str:
    """YAML text of the draft, headed by comments: a DRAFT notice, the schema line and one per warning; each
    testimony after the comments that say how it was attributed. A comment holds one line, whatever the
    release's text holds (line breaks, control characters and terminal escapes are escaped)."""
    origin = f" from {source_name}" if source_name else ""
    header = [
        _comment(f"DRAFT extracted{origin} by `testimony extract`: review every field before ingesting."),
        SCHEMA_COMMENT,
    ]
    header += [_comment("WARNING: " + warning) for warning in draft.warnings]
    top = marked(draft)
    testimonies = top.pop("testimonies")
    body = _dump(top)
    if testimonies:
        body += "testimonies:\n"
        for index, testimony in enumerate(testimonies):
            why = draft.evidence[index] if index < len(draft.evidence) else []
            body += "".join(_comment(line) + "\n" for line in why)
            body += _dump([testimony])
    else:
        body += "testimonies: []\n"
    return "\n".join(header) + "\n" + body


def _comment(text: str) -> str:
    return "# " + one_line(" ".join(text.split()))


def _dump(data) -> str:
    return yaml.dump(data, Dumper=_DraftDumper, allow_unicode=True, sort_keys=False, width=100_000, indent=2)


class _DraftDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as `|` blocks, so testimony paragraphs stay readable."""

    def ignore_aliases(self, data) -> bool:
        # Source files may not contain YAML aliases (the loader refuses them), even for repeated subjects.
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        style = "|"
    elif PARTIAL_DATE.fullmatch(value):
        # Quoted, so that no YAML loader reads a date object (or the number 2017) into a date field.
        style = "'"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_DraftDumper.add_representer(str, _represent_str)


def problem(draft: Draft, path) -> str | None:
    """Why the draft would not ingest even once its open fields are answered, in the words ingest would use;
    None when answering them (and deleting the `draft` line) is all it needs."""
    from ..normalize import normalize
    from ..source import InvalidSource, validate_document

    try:
        normalize(validate_document(path, _answered(draft.document)), path)
    except InvalidSource as error:
        return error.reason if not error.where else f"{error.where}: {error.reason}"
    return None


def _answered(value, key: str = ""):
    """The document with a stand-in answer for each placeholder: a year for a date, a word for the rest."""
    if isinstance(value, dict):
        return {name: _answered(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_answered(item, key) for item in value]
    if is_placeholder(value):
        return "2000" if key in {"published", "date", "since"} else "answered"
    return value
