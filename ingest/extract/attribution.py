"""Who said each quotation: the attribution before or after it ("said Patime*", "— Patime*, whose…",
"according to the group,"), then one speaker per person across the release, pronouns and unattributed
paragraphs given to the speaker the text supports, and a warning wherever it supports none."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from ..source import UNRESOLVED
from .draft import placeholder
from .names import bare, covers, is_capitalised, runs
from .people import KIN_PHRASE, OBLIQUE, PRONOUN_GENDER, VERB, People, sentence_spans
from .quotations import Paragraph, Quotation, first_sentence, sentences

SPEECH_VERB = re.compile(rf"\b{VERB}\b", re.I)
# The verbs after which a bare quotation in the next sentence is the subject's own words.
INDIRECT_VERB = re.compile(
    r"\b(?:said|says|told|tells|explained|recalled|recalls|recounted|described|wrote|writes|addressed|appealed"
    r"|stated|added|noted|testified|spoke|speaks|shared|posted)\b",
    re.I,
)
PRONOUNS = {"she", "he", "they"}
ORGANISATION_PRONOUNS = {"the organisation", "the organization", "the group"}
ARTICLES = {"a", "an", "the", "one", "another", "two", "three", "several"}

INTRODUCES = re.compile(rf"[:,]\s*$|\b(?:{VERB}|that)\s*$", re.I)  # "Patime* said:", "…, she said that"
DASH_ATTRIBUTION = re.compile(r"^\s*[—–]\s*(?P<who>[^\W\d_].*?)\s*\.?\s*$")  # "“…” — Patime*, whose…"
ACCORDING_TO = re.compile(r"^according to (?P<who>.+?)\s*,\s*$", re.I)
AFTER_ACCORDING_TO = re.compile(r"^[\s,;:—–-]*according to (?P<who>[^.!?;]+)", re.I)
LINKING_MARKS = (",", "?", "!", "—", "–", "…")  # “…,” said X: the quotation runs into its attribution
CIRCUMSTANCE = re.compile(
    r"^(?:in|on|at|to|during|after|before|from|with|via|by|later|earlier|today|yesterday|afterwards|recently"
    r"|this|last)\b",
    re.I,
)
INTRODUCED_BY = re.compile(r"[^:;.!?“”\"]{0,80}?\s*(?:\bthat\s*)?[:,]?\s*", re.I)  # what follows "said"
TRAILING_ADVERBS = re.compile(
    r"(?:\s+(?:also|further|then|later|again|once|previously|recently|repeatedly|additionally|herself|himself"
    r"|themselves|too|today|yesterday|earlier))+\s*$",
    re.I,
)
QUOTED_AS_SAYING = re.compile(r"\bquoted (?P<who>.+?) as (?:saying|telling [^:,]{1,60})\s*[:,]?\s*$", re.I)
POST_VERB_FIRST = re.compile(rf"^[\s,;:—–-]*(?P<verb>{VERB})\s+(?P<who>[^.!?;]*)", re.I)
POST_SUBJECT_FIRST = re.compile(rf"^[\s,;:—–-]*(?P<who>[^.!?;“”\"]{{1,160}}?)\s*,?\s+(?P<verb>{VERB})\b", re.I)


@dataclass
class Ref:
    """Who an attribution names: a person or organisation, a pronoun, or an unnamed description."""

    kind: str  # "name" | "pronoun" | "unnamed"
    name: str = ""
    description: str = ""  # for a pronoun, the pronoun
    rule: str = field(default="", compare=False)  # which rule found it, and in which sentence
    evidence: str = field(default="", compare=False)


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
    for index, quotation in enumerate(quotations):
        # “This trial was a farce.” Meryem said: “…”: the sentence after the first quotation introduces the
        # next one, and says nothing of the first.
        following = next((other for other in quotations[index + 1 :] if other.first == quotation.last), None)
        linked = _linked(quotation)
        introduces_next = following is not None and not linked and quotation.post.rstrip().endswith((":", ","))
        after = None if introduces_next else attribution_after(quotation.post, quotation)
        before = attribution_before(quotation.pre)
        if before and (quotation.pre.rstrip().endswith(":") or not after):
            # "Jonas Berg said: “…”" is the quotation's own introduction, whatever follows it.
            quotation.attribution = _found(before, "attribution before the quotation", quotation.pre + "“…”")
        elif after:
            quotation.attribution = _found(after, "attribution after the quotation", "“…”" + quotation.post)
        if quotation.attribution is None and quotation.leads and not quotation.pre.strip() and quotation.first:
            # "Patime* said:" closing the paragraph before a quoted one (often a blockquote).
            previous = paragraphs[quotation.first - 1]
            if not previous.heading and previous.text.rstrip().endswith(":"):
                before = attribution_before(previous.narrative)
                if before:
                    quotation.attribution = _found(before, "introduced by the paragraph before", previous.narrative)
        following = quotation.last + 1
        if quotation.attribution is None and not quotation.post.strip() and following < len(paragraphs):
            # A pull quote or blockquote signed on the next line: "— Patime*, whose brother…".
            signature = DASH_ATTRIBUTION.match(paragraphs[following].narrative)
            if signature:
                ref = parse_who(signature.group("who"), inverted=True)
                if ref:
                    quotation.attribution = _found(ref, "signed on the next line", paragraphs[following].narrative)


def _linked(quotation: Quotation) -> bool:
    """ "“…,” she said", "‘…’, she said": the quotation runs into its attribution (a comma inside or out)."""
    return quotation.paragraphs[-1].endswith(LINKING_MARKS) or quotation.post.lstrip().startswith(",")


def _found(ref: Ref, rule: str, text: str) -> Ref:
    ref.rule, ref.evidence = rule, first_sentence(text.strip()) if rule.endswith("after the quotation") else text
    if rule != "attribution after the quotation":
        ref.evidence = sentences(text.strip())[-1] if text.strip() else ""
    return ref


def attribution_after(post: str, quotation: Quotation) -> Ref | None:
    """Who the narrative just after a quotation says spoke it: "“…,” said Patime*", "“…” — Patime*"."""
    sentence = first_sentence(post)
    dash = DASH_ATTRIBUTION.match(post)
    if dash:
        return parse_who(dash.group("who"), inverted=True)
    according = AFTER_ACCORDING_TO.match(sentence)
    if according:
        return parse_who(according.group("who"), inverted=True)
    match = POST_VERB_FIRST.match(sentence)
    if match:
        return parse_who(match.group("who"), inverted=True)
    match = POST_SUBJECT_FIRST.match(sentence)
    if not match or len(match.group("who").split()) > 14:
        return None
    linked = _linked(quotation)
    rest = sentence[match.end() :].strip(" .")
    told = match.group("verb").lower() in {"told", "tells", "tell"} and len(rest.split()) <= 6 and "that" not in rest
    if not linked and rest and not CIRCUMSTANCE.match(rest) and not told:
        # "“….” Jane Doe said the trial was unfair." reports other words; "“….” Jane Doe said on Monday." does not.
        return None
    ref = parse_who(match.group("who"), inverted=False)
    # "“….” The authorities said nothing." is narrative, not an attribution; "“…,” a relative said" is.
    if ref and (ref.kind != "unnamed" or linked):
        return ref
    return None


def attribution_before(pre: str) -> Ref | None:
    """Who the sentence introducing a quotation says spoke it: "Patime* said:", "According to her,", "X
    addressed the president, saying:", "Maryna said he phoned her and said that"."""
    clause = sentences(pre.strip())[-1]
    if not clause or not INTRODUCES.search(clause):
        return None
    match = ACCORDING_TO.match(clause)
    if match:
        return parse_who(match.group("who"), inverted=False)
    match = QUOTED_AS_SAYING.search(clause)
    if match:
        return parse_who(match.group("who"), inverted=False)
    verbs = list(SPEECH_VERB.finditer(clause))
    if not verbs or not INTRODUCED_BY.fullmatch(clause[verbs[-1].end() :]):
        return None
    last = verbs[-1]
    if last.group(0).lower().endswith("ing"):
        # "Khalip also addressed the president, saying:": the subject of the verb before the participle.
        main = verbs[-2] if len(verbs) > 1 else None
        return parse_who(clause[: main.start()], inverted=False) if main else None
    head = clause[: last.start()]
    coordinated = re.search(r"(?:,\s*|\s)(?:and|but)\s*$", head)
    if coordinated:
        # "…, said he phoned her recently and said that": the subject of the clause before "and".
        before = head[: coordinated.start()]
        reported = [
            match.end()
            for match in SPEECH_VERB.finditer(before)
            if re.match(r"\s+(?:that\s+)?(?:she|he|they|[^\W\d_]+\*?\s+[^\W\d_])", before[match.end() :], re.I)
        ]
        boundary = max(reported + [match.end() for match in re.finditer(r"\bthat\b|[,;]", before)] + [0])
        return _clause_subject(before[boundary:])
    return parse_who(head, inverted=False)


def _clause_subject(clause: str) -> Ref | None:
    """The subject opening a clause: a pronoun or a name; None when it opens with neither."""
    words = clause.strip().split()
    if not words:
        return None
    if words[0].lower() in PRONOUNS:
        return Ref("pronoun", description=words[0].lower())
    found = runs(clause)
    if found and found[0].is_person and not clause[: found[0].start].strip():
        return Ref("name", found[0].named, clause.strip())
    return None


def parse_who(who: str, inverted: bool) -> Ref | None:
    """The speaker a phrase names; `inverted` when the name comes first ("said Patime*, whose brother…").

    Before a verb, the speaker is the phrase just before it: a pronoun ("Speaking from Istanbul, she"), a
    name standing alone between commas ("In a statement, Jane Doe, its Director,"), or a name ending the
    phrase ("…and when she asked them, one of them" names no one). Nothing further back is taken."""
    who = TRAILING_ADVERBS.sub("", who.strip(" ,;:—–-")).strip(" ,;:—–-")
    if not who:
        return None
    lowered = who.lower()
    if lowered in PRONOUNS:
        return Ref("pronoun", description=lowered)
    if lowered in ORGANISATION_PRONOUNS:
        return Ref("unnamed", description=who)
    parts = [part.strip() for part in who.split(",") if part.strip()]
    if inverted:
        # "said Patime*, whose brother…": the name comes first; "said a relative of Ablikim*" names no speaker.
        first = parts[0]
        if first.split()[0].lower() in ARTICLES or not is_capitalised(first):
            return Ref("unnamed", description=who)
        named = [run for run in runs(first) if run.is_person] or [run for run in runs(first) if run.is_organisation]
        return Ref("name", named[0].named, who) if named else Ref("unnamed", description=who)
    if parts[-1].lower() in PRONOUNS:
        return Ref("pronoun", description=parts[-1].lower())
    # "Speaking from Istanbul, Patime*, whose brother…, said": the name is a comma-separated part of its own.
    alone = [(part, runs(part)) for part in parts]
    alone = [found[0] for part, found in alone if len(found) == 1 and covers(part, found[0])]
    # A person before an organisation: "WUC President, Dolkun Isa said" is Dolkun Isa.
    for run in [run for run in alone if run.is_person] + [run for run in alone if run.is_organisation]:
        if not run.is_title:
            return Ref("name", run.named, who)
    speaking = [part for part in parts if part.split()[0].lower() not in {"whose", "who", "which"}]
    last = speaking[-1] if speaking else parts[-1]
    ending = [run for run in runs(last) if (run.is_person or run.is_organisation) and not last[run.end :].strip(" *")]
    if ending and not re.search(r"\bof\s+(?:the\s+)?$", last[: ending[-1].start]):
        return Ref("name", ending[-1].named, who)
    return Ref("unnamed", description=last if len(parts) > 1 and not is_capitalised(last) else who)


class Resolver:
    """Gives each quotation its speaker, by the rules below, in order; a quotation no rule settles is kept,
    unattributed, with a warning. Each settled quotation records the rule and the sentence it read."""

    def __init__(self, quotations: list[Quotation], paragraphs: list[Paragraph], publisher: str, warnings: list[str]):
        self.quotations = quotations
        self.paragraphs = paragraphs
        self.publisher = publisher
        self.warnings = warnings
        self.people = People([(index, p.narrative) for index, p in enumerate(paragraphs) if not p.heading])
        self.speakers: dict[str, Speaker] = {}
        self._spans: dict[int, list[tuple[int, str]]] = {}

    def at(self, quotation: Quotation) -> tuple[int, int, int]:
        """Where a quotation stands: its paragraph, the sentence of that paragraph's narrative, the offset."""
        starts = [start for start, _ in self.spans(quotation.first)[1:]]
        return (quotation.first, bisect_right(starts, quotation.at), quotation.at)

    def spans(self, paragraph: int) -> list[tuple[int, str]]:
        """The sentences of a paragraph's narrative, read once."""
        if paragraph not in self._spans:
            self._spans[paragraph] = sentence_spans(self.paragraphs[paragraph].narrative)
        return self._spans[paragraph]

    def warn(self, quotation: Quotation, message: str) -> None:
        self.warnings.append(f'line {quotation.line}: {message}: "{quotation.snippet}"')

    def speaker(self, name: str, line: int) -> Speaker:
        person = self.people.person(name)
        key = person.key if person else bare(name)
        shown = person.name if person else name
        if name.endswith("*") and not shown.endswith("*"):
            shown += "*"
        speaker = self.speakers.get(key)
        if speaker is None:
            speaker = self.speakers[key] = Speaker(key, shown, line)
        return speaker

    def unattributed(self, quotation: Quotation, why: str, description: str = "") -> Speaker:
        """A speaker the archivist must name: the quotation stays in the draft, under a placeholder."""
        question = f"who said this? {why}" if not description else f'who is "{description}"? no name given'

        speaker = Speaker(f"unattributed {quotation.line} {quotation.at}", placeholder(question), quotation.line)
        speaker.description = description
        speaker.role = "" if not description else "other"
        self.speakers[speaker.key] = speaker
        return speaker

    def settle(self, quotation: Quotation, ref: Ref, rule: str, evidence: str) -> Speaker | None:
        """The speaker a reference names, or None with a warning when the text does not settle who it is."""
        quotation.rule, quotation.evidence = rule, " ".join(evidence.split())
        if ref.kind == "pronoun":
            return self.pronoun(quotation, ref.description, self.at(quotation))
        if ref.kind == "unnamed":
            if ref.description.lower() in ORGANISATION_PRONOUNS and not self.publisher.startswith(UNRESOLVED):
                return self.speaker(self.publisher, quotation.line)
            self.warn(quotation, f'the speaker is not named ("{ref.description}"): name them')
            return self.unattributed(quotation, "", ref.description)
        shared = self.people.ambiguous(ref.name)
        if shared:
            names = " or ".join(person.name for person in shared)
            self.warn(quotation, f'"{ref.name}" could be {names}: left unattributed')
            return self.unattributed(quotation, f"{bare(ref.name)}: {' or '.join(p.key for p in shared)}?")
        speaker = self.speaker(ref.name, quotation.line)
        person = self.people.person(ref.name)
        if person is not None:
            self.people.said(person, self.at(quotation))
        return speaker

    def pronoun(self, quotation: Quotation, pronoun: str, at: tuple[int, int, int]) -> Speaker:
        found = self.people.antecedent(pronoun or "she", at)
        if found.candidates:
            names = " or ".join(candidate.description for candidate in found.candidates)
            self.warn(quotation, f'"{pronoun}" could be {names}: left unattributed')
            return self.unattributed(quotation, f'"{pronoun}" could be {bare_names(found.candidates)}')
        if found.mention is None:
            self.warn(quotation, f'"{pronoun}" with no one named before it who could be "{pronoun}": left unattributed')
            return self.unattributed(quotation, f'"{pronoun}", but no one named before it')
        quotation.rule += f" → {found.mention.description}"
        if found.mention.person is None:
            self.warn(quotation, f'the speaker is not named ("{found.mention.description}"): name them')
            return self.unattributed(quotation, "", found.mention.description)
        if pronoun in PRONOUN_GENDER:
            found.mention.person.genders.add(PRONOUN_GENDER[pronoun])  # "he said": he is a man from here on
        speaker = self.speaker(found.mention.person.name, quotation.line)
        self.people.said(found.mention.person, at)
        return speaker

    def previous_sentence(self, quotation: Quotation) -> tuple[int, int, str] | None:
        """The narrative sentence just before a quotation: (paragraph, sentence index, text)."""
        paragraph = quotation.first
        spans = self.spans(paragraph)
        here = self.at(quotation)[1]
        before = [(index, text) for index, (start, text) in enumerate(spans) if start < quotation.at]
        if before and (before[-1][0] < here or before[-1][1].strip() != "“…”"):
            index, text = before[-1]
            text = text[: quotation.at - spans[index][0]] if index == here else text
            if text.strip(" “”…"):
                return paragraph, index, text
        if not quotation.leads or paragraph == 0 or self.paragraphs[paragraph - 1].heading:
            return None
        spans = self.spans(paragraph - 1)
        if not spans or spans[-1][1].rstrip().endswith("”"):
            return None  # the paragraph before ends with a quotation: handled as a continuation
        return paragraph - 1, len(spans) - 1, spans[-1][1]

    def indirect(self, quotation: Quotation) -> Speaker | None:
        """ "Patime* said that her husband was arrested last year. “…”": the sentence before has someone
        speak, write or appeal, named (or a pronoun) just before the verb as an attribution would; the
        quotation is theirs. A relative the release does not name is kept under a placeholder."""
        before = self.previous_sentence(quotation)
        if before is None:
            return None
        paragraph, index, text = before
        verb = INDIRECT_VERB.search(text)
        if not verb or text.rstrip().endswith((",", ":")) or "“…”" in text:
            return None
        ref = parse_who(text[: verb.start()], inverted=False)
        if ref is None or (ref.kind == "unnamed" and not KIN_PHRASE.search(ref.description)):
            return None
        quotation.rule, quotation.evidence = "indirect speech before", " ".join(text.split())
        if ref.kind == "pronoun":
            start = self.spans(paragraph)[index][0]
            return self.pronoun(quotation, ref.description, (paragraph, index, start))
        return self.settle(quotation, ref, quotation.rule, quotation.evidence)

    def continues(self, quotation: Quotation, previous: Quotation | None) -> bool:
        """Whether a quotation goes on with the words of the quotation before it: in the same paragraph, or
        opening the next paragraph, with nothing but that quotation's own attribution between them, or
        narrative that names no one else."""
        if previous is None or previous.speaker is None or previous.rule == "unattributed":
            return False
        if previous.last == quotation.first:
            between = quotation.pre
        elif previous.last == quotation.first - 1 and quotation.leads and not quotation.pre.strip():
            if self.paragraphs[previous.last].narrative.rstrip()[-3:] != "“…”" and not previous.post.strip():
                return False
            later = [other for other in self.quotations if other.first == previous.last and other.at > previous.at]
            if later:
                return False
            between = previous.post
        else:
            return False
        if previous.rule.startswith("attribution after"):
            between = between[len(first_sentence(between)) :]
        if between.rstrip().endswith(":"):
            return False
        # “…” That was the verdict of Jonas Berg.: what follows the quotation names someone else.
        after = quotation.post if previous.last != quotation.first else ""
        if any(
            run.is_person and getattr(self.people.person(run.named), "key", None) != previous.speaker.key
            for run in runs(after)
        ):
            return False
        # Anyone else named there, but for a place after a preposition ("in Xinjiang").
        others = [
            run
            for run in runs(between)
            if run.is_person
            and getattr(self.people.person(run.named), "key", None) != previous.speaker.key
            and not OBLIQUE.search(between[: run.start])
        ]
        return not others and not KIN_PHRASE.search(between)

    def run(self) -> list[Speaker]:
        resolved: set[int] = set()  # quotations whose attribution has been read already
        for index, quotation in enumerate(self.quotations):
            if index in resolved:
                continue
            if quotation.attribution:
                ref = quotation.attribution
                quotation.speaker = self.settle(quotation, ref, ref.rule, ref.evidence)
                continue
            attributed_later = [
                position
                for position in range(index + 1, len(self.quotations))
                if self.quotations[position].first == quotation.last
                and self.quotations[position].attribution is not None
                and not self.quotations[position].pre.strip(" ,;")
            ]
            previous = self.quotations[index - 1] if index else None
            if self.continues(quotation, previous):
                quotation.speaker = previous.speaker
                quotation.rule, quotation.evidence = "continues the quotation before", ""
            elif attributed_later:
                # "“…” “…,” she said.": the attribution after the second covers both.
                later = self.quotations[attributed_later[0]]
                ref = later.attribution
                later.speaker = quotation.speaker = self.settle(later, ref, ref.rule, ref.evidence)
                quotation.rule, quotation.evidence = later.rule, later.evidence
                resolved.add(attributed_later[0])
            elif quotation.disputed:
                quotation.speaker = self.unattributed(quotation, "the release gives these words to two people")
                quotation.rule = "unattributed"
            elif quotation.leads or quotation.pre.rstrip().endswith((".", "!", "?", ":")):
                # A quotation of its own, or one introduced without a verb of speech ("A:", "read out a
                # letter from her son:"): kept, unattributed unless the sentence before says who spoke.
                quotation.speaker = self.indirect(quotation)
                if quotation.speaker is None:
                    self.warn(quotation, "quotation with no attribution: left unattributed")
                    quotation.speaker = self.unattributed(quotation, "the release does not say")
                    quotation.rule = "unattributed"
            elif len(quotation.text.split()) >= 4:
                self.warn(quotation, "quoted words inside a sentence, not extracted as a testimony")
        return list(self.speakers.values())


def bare_names(mentions: list) -> str:
    """Names for a placeholder's question: a * inside a value reads as a misplaced pseudonym mark."""
    return " or ".join(bare(mention.description).replace("*", "") for mention in mentions)


def resolve(
    quotations: list[Quotation], paragraphs: list[Paragraph], publisher: str, warnings: list[str]
) -> tuple[list[Speaker], People]:
    """Give each quotation its speaker, one per person named; the speakers, in the order first quoted, and
    the people the release names."""
    resolver = Resolver(quotations, paragraphs, publisher, warnings)
    return resolver.run(), resolver.people
