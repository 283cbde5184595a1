"""Who said each quotation: the attribution before or after it ("said Patime*", "— Patime*, whose…",
"according to the group,"), then one speaker per person across the release, pronouns and unattributed
paragraphs given to the speaker the text supports, and a warning wherever it supports none."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .draft import PLACEHOLDER
from .names import bare, covers, is_capitalised, runs
from .quotations import Paragraph, Quotation, first_sentence, sentences

SPEECH_VERBS = [
    "said", "says", "told", "tells", "added", "adds", "stated", "states", "explained", "explains", "recalled",
    "recalls", "urged", "urges", "continued", "continues", "asked", "asks", "wrote", "writes", "noted", "notes",
    "warned", "warns", "stressed", "stresses", "insisted", "insists", "pleaded", "pleads", "remembered",
    "remembers", "described", "describes", "testified", "recounted", "recounts", "concluded", "concludes",
]  # fmt: skip
VERB = r"(?:" + "|".join(SPEECH_VERBS) + r")"
SPEECH_VERB = re.compile(rf"\b{VERB}\b", re.I)
PRONOUNS = {"she", "he", "they"}
ORGANISATION_PRONOUNS = {"the organisation", "the organization", "the group"}
ARTICLES = {"a", "an", "the", "one", "another", "two", "three", "several"}

INTRODUCES = re.compile(rf"[:,]\s*$|\b(?:{VERB}|that)\s*$", re.I)  # "Patime* said:", "…, she said that"
PRE_ATTRIBUTION = re.compile(
    rf"^(?P<who>.*?)\s*,?\s+(?P<verb>{VERB})\b(?P<object>[^:;.!?“”\"]{{0,80}}?)\s*(?:\bthat\s*)?[:,]?\s*$",
    re.I,
)
DASH_ATTRIBUTION = re.compile(r"^\s*[—–]\s*(?P<who>[^\W\d_].*?)\s*\.?\s*$")  # "“…” — Patime*, whose…"
ACCORDING_TO = re.compile(r"^according to (?P<who>.+?)\s*,\s*$", re.I)
POST_VERB_FIRST = re.compile(rf"^[\s,;:—–-]*(?P<verb>{VERB})\s+(?P<who>[^.!?;]*)", re.I)
POST_SUBJECT_FIRST = re.compile(rf"^[\s,;:—–-]*(?P<who>[^.!?;“”\"]{{1,160}}?)\s*,?\s+(?P<verb>{VERB})\b", re.I)


@dataclass
class Ref:
    """Who an attribution names: a person or organisation, a pronoun, or an unnamed description."""

    kind: str  # "name" | "pronoun" | "unnamed"
    name: str = ""
    description: str = ""


@dataclass
class Speaker:
    key: str
    name: str
    line: int
    description: str = ""  # for unnamed speakers: what the release calls them
    role: str = "other"
    subjects: list[dict] = field(default_factory=list)


def attribute(quotations: list[Quotation], paragraphs: list[Paragraph]) -> None:
    """Set each quotation's attribution from the narrative around it, where the narrative gives one."""
    for quotation in quotations:
        quotation.attribution = attribution_after(quotation.post, quotation) or attribution_before(quotation.pre)
        if quotation.attribution is None and quotation.leads and not quotation.pre.strip() and quotation.first:
            # "Patime* said:" closing the paragraph before a quoted one (often a blockquote).
            previous = paragraphs[quotation.first - 1]
            if not previous.heading and previous.text.rstrip().endswith(":"):
                quotation.attribution = attribution_before(previous.narrative)
        following = quotation.last + 1
        if quotation.attribution is None and not quotation.post.strip() and following < len(paragraphs):
            # A pull quote or blockquote signed on the next line: "— Patime*, whose brother…".
            signature = DASH_ATTRIBUTION.match(paragraphs[following].narrative)
            if signature:
                quotation.attribution = parse_who(signature.group("who"), inverted=True)


def attribution_after(post: str, quotation: Quotation) -> Ref | None:
    """Who the narrative just after a quotation says spoke it: "“…,” said Patime*", "“…” — Patime*"."""
    sentence = first_sentence(post)
    dash = DASH_ATTRIBUTION.match(post)
    if dash:
        return parse_who(dash.group("who"), inverted=True)
    match = POST_VERB_FIRST.match(sentence)
    if match:
        return parse_who(match.group("who"), inverted=True)
    match = POST_SUBJECT_FIRST.match(sentence)
    if not match or len(match.group("who").split()) > 14:
        return None
    linked = quotation.paragraphs[-1].endswith((",", "?", "!", "—", "–", "…"))
    rest = sentence[match.end() :].strip(" .")
    if not linked and (len(rest.split()) > 4 or re.search(r"\bthat\b", rest)):
        # "“….” Jane Doe said the authorities must act." reports other words; "“….” Jane Doe said." does not.
        return None
    ref = parse_who(match.group("who"), inverted=False)
    # "“….” The authorities said nothing." is narrative, not an attribution; "“…,” a relative said" is.
    if ref and (ref.kind != "unnamed" or linked):
        return ref
    return None


def attribution_before(pre: str) -> Ref | None:
    """Who the sentence introducing a quotation says spoke it: "Patime* said:", "According to her,"."""
    clause = sentences(pre.strip())[-1]
    if not clause or not INTRODUCES.search(clause):
        return None
    match = ACCORDING_TO.match(clause)
    if match:
        return parse_who(match.group("who"), inverted=False)
    match = PRE_ATTRIBUTION.match(clause)
    if match and match.group("who").strip():
        return parse_who(match.group("who"), inverted=False)
    return None


def parse_who(who: str, inverted: bool) -> Ref | None:
    """The speaker a phrase names; `inverted` when the name comes first ("said Patime*, whose brother…")."""
    who = who.strip(" ,;:—–-")
    if not who:
        return None
    lowered = who.lower()
    if lowered in PRONOUNS:
        return Ref("pronoun")
    if lowered in ORGANISATION_PRONOUNS:
        return Ref("unnamed", description=who)
    parts = [part.strip() for part in who.split(",") if part.strip()]
    if inverted:
        # "said Patime*, whose brother…": the name comes first; "said a relative of Ablikim*" names no speaker.
        first = parts[0]
        if first.split()[0].lower() in ARTICLES or not is_capitalised(first):
            return Ref("unnamed", description=who)
        named = [run for run in runs(first) if run.is_person] or [run for run in runs(first) if run.is_organisation]
        return Ref("name", named[0].text, who) if named else Ref("unnamed", description=who)
    # "Speaking from Istanbul, Patime*, whose brother…, said": the name is a comma-separated part of its own.
    for part in parts:
        found = runs(part)
        if len(found) == 1 and (found[0].is_person or found[0].is_organisation) and covers(part, found[0]):
            return Ref("name", found[0].text, who)
    for part in parts:
        if part.split()[0].lower() in {"whose", "who", "which"}:
            continue
        candidates = [run for run in runs(part) if run.is_person and not re.search(r"\bof\s+$", part[: run.start])]
        if candidates:
            return Ref("name", candidates[-1].text, who)
    return Ref("unnamed", description=who)


def resolve(
    quotations: list[Quotation], paragraphs: list[Paragraph], publisher: str, warnings: list[str]
) -> list[Speaker]:
    """Give each quotation its speaker, one per person named; the speakers, in the order first quoted."""
    speakers: dict[str, Speaker] = {}
    last: Speaker | None = None

    def speaker_for(ref: Ref, quotation: Quotation) -> Speaker | None:
        nonlocal last
        if ref.kind == "pronoun":
            if last is None:
                warnings.append(
                    f"line {quotation.line}: quotation attributed to a pronoun with no one named before it: "
                    f'"{quotation.snippet}"'
                )
            return last
        if ref.kind == "unnamed":
            if ref.description.lower() in ORGANISATION_PRONOUNS and publisher != PLACEHOLDER:
                ref = Ref("name", publisher, ref.description)
            else:
                warnings.append(
                    f'line {quotation.line}: speaker has no name ("{ref.description}"): speaker is '
                    f'{PLACEHOLDER!r}: "{quotation.snippet}"'
                )
                unnamed = Speaker(f"unnamed {quotation.line}", PLACEHOLDER, quotation.line, ref.description)
                speakers[unnamed.key] = unnamed
                return unnamed
        key = speaker_key(ref.name, speakers)
        speaker = speakers.get(key)
        if speaker is None:
            speaker = speakers[key] = Speaker(key, ref.name, quotation.line)
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
                warnings.append(
                    f"line {quotation.line}: quotation with no attribution given to {last.name}, the last "
                    f'speaker quoted: "{quotation.snippet}"'
                )
            else:
                warnings.append(f'line {quotation.line}: quotation with no speaker: "{quotation.snippet}"')
        elif SPEECH_VERB.search(paragraphs[quotation.first].narrative) and len(quotation.text.split()) >= 4:
            warnings.append(
                f"line {quotation.line}: quoted words inside a sentence, not extracted as a testimony: "
                f'"{quotation.snippet}"'
            )
    return list(speakers.values())


def speaker_key(name: str, speakers: dict[str, Speaker]) -> str:
    """One key per person: "Jane Doe … Doe said": a surname alone is the person named in full before."""
    key = bare(name)
    if key in speakers:
        return key
    for known in speakers:
        if " " not in key and key in known.split():
            return known
    return key
