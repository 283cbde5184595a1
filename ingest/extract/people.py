"""The people a release names, where it names them, and who "she", "he" or "they" is at any point of it.

Every capitalised run that reads as a person's or an organisation's name is a `Mention` of a `Person`; a
surname or first name alone ("Tursun", "Abdurahman continued") is the person named in full elsewhere in
the release when exactly one full name has that word, and a name stays unlinked when two full names share
it (Ehtem Ebey and Shakir Ebey). A relative the release does not name ("her mother", "the sister of Majid
Kazemi") is a mention with no person. A star on any mention makes the person a pseudonym everywhere.

`People.antecedent` answers who a pronoun means: the nearest sentence before it that mentions someone the
pronoun can mean (she: not a man; he: not a woman; neither an organisation), the sentence's subject
preferred over the others, a possessor ("Gulbahar's mother") last. Two equally good candidates are an
ambiguity, reported, never settled by a guess.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from dataclasses import dataclass, field

from .names import ORGANISATION_WORDS, bare, runs

FEMALE = {
    "mother", "sister", "wife", "daughter", "aunt", "niece", "grandmother", "granddaughter", "woman", "girl",
    "widow", "sister-in-law", "mother-in-law", "daughter-in-law", "ms", "mrs", "miss", "madam", "mum", "mom",
    "fiancee", "fiancée", "girlfriend", "grandma",
    "she", "her", "hers", "herself", "businesswoman", "spokeswoman", "actress",
}  # fmt: skip
MALE = {
    "father", "brother", "husband", "son", "uncle", "nephew", "grandfather", "grandson", "man", "boy",
    "widower", "brother-in-law", "father-in-law", "son-in-law", "mr", "he", "him", "his", "himself",
    "businessman", "spokesman", "fiance", "fiancé", "boyfriend", "grandpa",
}  # fmt: skip
PRONOUN_GENDER = {"she": "f", "he": "m"}
LOOK_BACK = 240  # characters: how far before (or after) a name its context is read
HONORIFIC = re.compile(r"^(mr|mrs|ms|miss|dr)\.?\s+", re.I)
HONORIFIC_GENDER = {"mr": "m", "mrs": "f", "ms": "f", "miss": "f"}
# Verbs that report speech or writing: "said Patime*", "Patime* told…", "Patime* also addressed…".
SPEECH_VERBS = [
    "said", "says", "told", "tells", "added", "adds", "stated", "states", "explained", "explains", "recalled",
    "recalls", "urged", "urges", "continued", "continues", "asked", "asks", "wrote", "writes", "noted", "notes",
    "warned", "warns", "stressed", "stresses", "insisted", "insists", "pleaded", "pleads", "remembered",
    "remembers", "described", "describes", "testified", "recounted", "recounts", "concluded", "concludes",
    "addressed", "addresses", "appealed", "appeals", "spoke", "speaks", "shared", "posted",
    "confirmed", "confirms", "denied", "denies", "claimed", "claims", "alleged", "reported", "admitted", "argued",
    "started", "began", "replied", "responded", "answered", "declared", "announced", "lamented", "complained",
    "exclaimed", "emphasised", "emphasized", "commented", "demanded", "cried", "sobbed", "whispered",
    "pointed out", "points out", "went on", "saying", "adding", "telling", "writing", "noting", "stating",
    "explaining", "recalling", "urging", "warning",
]  # fmt: skip
VERB = r"(?:" + "|".join(SPEECH_VERBS) + r")"
KIN_WORD = (
    r"(?:(?:brother|sister|father|mother|son|daughter)s?-in-law|grand(?:father|mother|son|daughter|child|parent)s?"
    r"|brothers?|sisters?|siblings?|fathers?|mothers?|parents?|sons?|daughters?|child(?:ren)?|husband|wife|spouse"
    r"|uncles?|aunts?|nephews?|nieces?|cousins?|relatives?|widow)"
)
# "her mother", "Gulbahar's younger brother", "the sister of Majid Kazemi": a relative, named or not.
KIN_PHRASE = re.compile(
    rf"\b(?P<owner>her|his|their|the|a|an|[^\W\d_][\w-]*\*?['’]s)\s+(?:(?:\d+-year-old|elder|older|younger|eldest"
    rf"|youngest|late|detained|jailed|imprisoned|missing|only)\s+)*(?P<kin>{KIN_WORD})\b(?P<of>\s+of\s+)?",
    re.I,
)
LEADING_ADVERBIAL = re.compile(
    r"^(?:(?:in|on|at|since|after|before|during|last|this|earlier|later|speaking|meanwhile|however|yet|but|and"
    r"|when|while|as|asked|recalling|describing|now|today|then|according)\b[^,]{0,120},\s*)+",
    re.I,
)
# "When Zumret Dawut heard the news, she wept": the one name of the clause is who the pronoun means.
WHEN_CLAUSE = re.compile(
    r"^\W*(?:[A-Z][A-Z .,]+\s+[—–-]+\s+)?"  # a dateline: "BEIJING — "
    r"(?i:when|after|as|while|once|although|though|before)\b(?P<clause>[^,;]{1,200}),\s*(?P<pronoun>(?i:she|he))\b"
)
# What may stand before the subject of a sentence: "The", "Mr", "Gulbahar's mother," "Her husband,".
OPENING = re.compile(
    rf"(?:(?:the|her|his|their|mr|ms|mrs|dr|miss)\.?\s+)*"
    rf"(?:(?:(?:[^\W\d_][\w-]*\*?\s+){{0,3}}[^\W\d_][\w-]*\*?['’]s\s+|(?:her|his|their|the)\s+)(?:[\w-]+\s+)?"
    rf"{KIN_WORD},?\s+)?",
    re.I,
)
# A name after a preposition, a few lower-case words between: "the wife of former presidential candidate X".
OBLIQUE = re.compile(r"(?i:\b(?:to|with|from|in|at|by|for|of|on|about|against|near))\s+(?:[a-z][\w-]*\s+){0,3}$")
KIN_APPOSITION = re.compile(rf"\b({KIN_WORD}),\s+(?:[a-z][\w-]*\s+){{1,3}}$", re.I)
DETERMINED = re.compile(r"\b(?:the|a|an|its|their|this|that|these|those)\s+$", re.I)
# "the fiancee of Mikola Statkevich": someone's relative, lawyer or friend is a person.
KIN_OF = re.compile(
    rf"\b(?:{KIN_WORD}|fianc[eé]e?|partner|lawyer|friend|colleague|client)\s+of\s+(?:[\w-]+\s+){{0,3}}$", re.I
)
SUBORDINATE = re.compile(r",\s*(?:whose|who)\b[^,;]*$", re.I)
SAID_BEFORE = re.compile(rf"(?:^|”|[,—–])\s*{VERB}\s+(?:(?:mr|ms|mrs|dr)\.?\s+)?$", re.I)
# After a name, what only a person does: speak, or be described by "who"/"whose".
HUMAN_AFTER = re.compile(
    r"^\s*(?:,\s*(?:(?:who|whose)\b|\d{1,3}\s*,|(?:an?\s+)?\d{1,3}-year-old\b)"  # ", who", ", 24,"
    rf"|(?:,[^,]{{0,120}},\s*)?(?:has |had |also |later |then |recently )?{VERB}\b)",
    re.I,
)


@dataclass
class Person:
    key: str  # the bare full name
    name: str  # as the draft shows it: the full name, starred when any mention is
    organisation: bool = False
    genders: set[str] = field(default_factory=set)
    pseudonym: bool = False
    human: bool = False  # the release shows a person: a gender, a star, speech, "who", a title
    by_first_name: bool = False  # the release calls them by their first name alone ("Alexey")

    @property
    def gender(self) -> str | None:
        return next(iter(self.genders)) if len(self.genders) == 1 else None


@dataclass
class Mention:
    at: tuple[int, int, int]  # paragraph, sentence, offset in the paragraph's narrative
    person: Person | None  # None: a relative the release does not name
    description: str  # the words of the mention
    gender: str | None = None
    subject: bool = False  # it opens its sentence's main clause
    possessor: bool = False  # "Gulbahar's mother": Gulbahar
    subordinate: bool = False  # inside a "who"/"whose" clause about someone else
    oblique: bool = False  # after a preposition: "spoke to Radio Free Asia", "the wife of Andrei Sannikau"
    determined: bool = False  # after an article: "the Egyptian government"


@dataclass
class Antecedent:
    mention: Mention | None = None
    candidates: list[Mention] = field(default_factory=list)  # when ambiguous: the equally good ones


class People:
    """The people named in a release's narrative, and the mentions of each, in reading order."""

    def __init__(self, narratives: list[tuple[int, str]]) -> None:
        """`narratives`: (paragraph index, narrative text with each quotation written “…”), in reading order."""
        self.persons: dict[str, Person] = {}
        self.mentions: list[Mention] = []
        found = []  # (paragraph, sentence index, sentence start, sentence, run)
        for paragraph, text in narratives:
            for index, (start, sentence) in enumerate(sentence_spans(text)):
                for run in runs(sentence):
                    if run.is_person or run.is_organisation or (run.possessive and not run.is_title):
                        found.append((paragraph, index, start, sentence, run))
        # Full names first, so that a short form can find the full name it stands for.
        for *_, run in sorted(found, key=lambda item: -len(item[4].words)):
            organisation = any(word in ORGANISATION_WORDS for word in run.bare_words) or _acronym(run.words)
            self._person(run.named, organisation)
        for *_, run in found:
            person = self.person(run.named)
            if person is not None and len(person.key.split()) > 1 and _key(run.text) == person.key.split()[0]:
                person.by_first_name = True
        for paragraph, index, start, sentence, run in found:
            person = self.person(run.named)
            if person is None:
                continue
            if "*" in run.text:
                person.pseudonym = True
            # What stands just before the name says what it is; a bounded look back keeps a sentence of
            # thousands of names linear.
            before = sentence[max(0, run.start - LOOK_BACK) : run.start]
            gender = _gender_at(sentence, run.start, run.end, run.possessive)
            if gender:
                person.genders.add(gender)
            subject = _opens(sentence, run.start)
            spoke = HUMAN_AFTER.match(sentence[run.end : run.end + LOOK_BACK]) or (
                subject and SAID_BEFORE.search(before)
            )
            related = KIN_OF.search(before)
            if "*" in run.text or gender or spoke or related or _titled(sentence, run):
                person.human = True
            self.mentions.append(
                Mention(
                    (paragraph, index, start + run.start),
                    person,
                    run.named,
                    gender,
                    subject=subject,
                    possessor=run.possessive,
                    subordinate=bool(SUBORDINATE.search(before)),
                    oblique=bool(OBLIQUE.search(before)),
                    determined=bool(DETERMINED.search(before)),
                )
            )
        self._pronoun_evidence(narratives)
        for paragraph, text in narratives:
            for index, (start, sentence) in enumerate(sentence_spans(text)):
                for match in KIN_PHRASE.finditer(sentence):
                    if _named_after(sentence[match.end() :]) and not match.group("of"):
                        continue  # "her brother Ablikim*": the mention is Ablikim's
                    kin = match.group("kin").lower()
                    described = match.group(0).strip()
                    if match.group("of"):
                        named = runs(sentence[match.end() : match.end() + 80])
                        if named and named[0].start == 0:
                            described += " " + named[0].text
                    plural = kin.endswith(("s", "ren")) and kin not in {"niece", "spouse"}
                    gender = "plural" if plural else "f" if kin in FEMALE else "m" if kin in MALE else None
                    self.mentions.append(
                        Mention(
                            (paragraph, index, start + match.start()),
                            None,
                            described,
                            gender,
                            subject=_opens(sentence, match.start()),
                        )
                    )
        self.mentions.sort(key=lambda mention: mention.at)
        self._narrative_pronouns(narratives)
        for person in self.persons.values():
            if person.pseudonym and not person.name.endswith("*"):
                person.name += "*"

    def _narrative_pronouns(self, narratives: list[tuple[int, str]]) -> None:
        """ "She revealed that her family fears…": a sentence opening with she or he mentions, again, the one
        person the pronoun can mean there; a chain of such sentences keeps that person in reach."""
        for paragraph, text in narratives:
            for index, (start, sentence) in enumerate(sentence_spans(text)):
                opening = re.match(r"^\W*(she|he)\b", LEADING_ADVERBIAL.sub("", sentence), re.I)
                if not opening:
                    continue
                found = self.antecedent(opening.group(1).lower(), (paragraph, index, start))
                if found.mention is not None and found.mention.person is not None:
                    self.said(found.mention.person, (paragraph, index, start))

    def _pronoun_evidence(self, narratives: list[tuple[int, str]]) -> None:
        """ "Ayshe Tursun lives in Almaty. Her son…": a sentence with one name, the next opening with a
        pronoun, shows a person and their gender; so does "When Zumret Dawut heard the news, she wept"."""
        for paragraph, text in narratives:
            spans = sentence_spans(text)
            for _start, sentence in spans:
                clause = WHEN_CLAUSE.match(sentence)
                # The clause's own subject: the name it opens with ("When Zumret Dawut heard that…").
                named = runs(clause.group("clause")) if clause else []
                opens = named and named[0].is_person and not clause.group("clause")[: named[0].start].strip()
                person = self.person(named[0].named) if opens else None
                if person is not None and not person.organisation:
                    person.human = True
                    person.genders.add(PRONOUN_GENDER[clause.group("pronoun").lower()])
            for index in range(len(spans) - 1):
                opening = re.match(r"^\W*(she|her|he|his)\b", spans[index + 1][1], re.I)
                if not opening:
                    continue
                named = {
                    id(m.person): m.person
                    for m in self.in_sentence(paragraph, index)
                    if m.person and m.subject and not m.possessor
                }
                if len(named) == 1:
                    person = next(iter(named.values()))
                    if not person.organisation:
                        person.human = True
                        person.genders.add("f" if opening.group(1).lower() in FEMALE else "m")

    def _person(self, name: str, organisation: bool) -> None:
        honorific, rest = _honorific(name)
        key = f"{honorific} {rest}" if honorific and len(rest.split()) == 1 else rest
        if not key or self.person(name) is not None or self.ambiguous(name):
            return
        self.persons[key] = Person(key, key, organisation)

    def person(self, name: str) -> Person | None:
        """The person a name or a short form of it stands for; None when unknown or shared by two.

        "Mrs Yusuf" is the one Yusuf named in full only when the release shows that person is a woman (the
        detained son Karim Yusuf is not his mother); otherwise she is a person of her own."""
        honorific, key = _honorific(name)
        if honorific:
            if len(key.split()) > 1 and key in self.persons:
                return self.persons[key]
            full = self._short_form(key)
            wanted = HONORIFIC_GENDER.get(honorific.lower())
            if full is not None and (wanted is None or full.gender == wanted):
                return full
            return self.persons.get(f"{honorific} {key}")
        return self.persons.get(key) or self._short_form(key)

    def _short_form(self, key: str) -> Person | None:
        words = key.split()
        matches = [
            person
            for person in self.persons.values()
            if len(words) < len(person.key.split())
            and _contains(person.key.split(), words)
            and not _honorific(person.key)[0]
        ]
        if len(matches) > 1 and len(words) == 1:
            # Two Pichugins, and the release calls one "Alexey": "Pichugin" alone is the other.
            matches = [person for person in matches if not person.by_first_name]
        return matches[0] if len(matches) == 1 else None

    def ambiguous(self, name: str) -> list[Person]:
        """The full names a short form could stand for, when more than one."""
        words = _honorific(name)[1].split()
        found = [
            person
            for person in self.persons.values()
            if _contains(person.key.split(), words) and not _honorific(person.key)[0]
        ]
        return found if len(found) > 1 and self.person(name) is None else []

    def in_sentence(self, paragraph: int, sentence: int) -> list[Mention]:
        start = bisect_left(self.mentions, (paragraph, sentence), key=lambda mention: mention.at)
        end = bisect_left(self.mentions, (paragraph, sentence + 1), key=lambda mention: mention.at)
        return self.mentions[start:end]

    def antecedent(self, pronoun: str, at: tuple[int, int, int], reach: int = 2) -> Antecedent:
        """Who `pronoun` at position `at` means: the nearest compatible mention, at most `reach` paragraphs back."""
        end = bisect_left(self.mentions, at, key=lambda mention: mention.at)
        start = bisect_left(self.mentions, (at[0] - reach,), key=lambda mention: mention.at)
        before = self.mentions[start:end]
        by_sentence: dict[tuple[int, int], list[Mention]] = {}
        for mention in before:
            by_sentence.setdefault(mention.at[:2], []).append(mention)
        for place in sorted(by_sentence, reverse=True):
            compatible = [mention for mention in by_sentence[place] if _compatible(mention, pronoun)]
            if not compatible:
                continue
            found = _choose(compatible, pronoun.lower())
            if found.mention is not None and found.mention.person is not None and not found.mention.person.human:
                # "Prosecutor Daniyar Sadykov disagreed.": a name the release never shows to be a person is
                # no one to give words to, and no one to skip over either.
                return Antecedent(None, [found.mention])
            if found.mention or found.candidates:
                return found
        return Antecedent()

    def said(self, person: Person, at: tuple[int, int, int]) -> None:
        """Record that a pronoun at `at` was read as `person`, so the next pronoun can find them there."""
        insort(self.mentions, Mention(at, person, person.name, person.gender, subject=True), key=lambda m: m.at)


def _choose(compatible: list[Mention], pronoun: str) -> Antecedent:
    """The one mention of a sentence a pronoun means, or the candidates when the sentence does not settle it.

    Two named people are always a tie. One named person is the antecedent unless the sentence's subject is
    an unnamed relative ("Her mother visited Patime*."); with no one named, an unnamed relative is, then a
    possessor ("Gulbahar's").
    """
    named = _distinct([mention for mention in compatible if mention.person and not mention.possessor])
    # "said Mihray*, whose sister Nur*…": Nur* is named about Mihray*, who is the one the sentence is about.
    named = _distinct([mention for mention in named if not mention.subordinate]) or named
    main = [mention for mention in named if not mention.oblique]
    if len(main) == 1 and len(named) > 1 and main[0].person.gender == PRONOUN_GENDER.get(pronoun):
        # "Iryna Khalip, the wife of Andrey Sannikau, said…": "she" is the one the release shows is a woman
        # and who is not the object of a preposition; with no such evidence it stays a tie.
        named = main
    unnamed = _distinct([mention for mention in compatible if mention.person is None and not mention.subordinate])
    unnamed_subjects = [mention for mention in unnamed if mention.subject]
    if len(named) > 1 or (named and unnamed_subjects):
        return Antecedent(None, named + unnamed_subjects)
    if named:
        return Antecedent(named[0])
    for tier in (unnamed_subjects, unnamed, _distinct([mention for mention in compatible if mention.possessor])):
        if len(tier) == 1:
            return Antecedent(tier[0])
        if len(tier) > 1:
            return Antecedent(None, tier)
    return Antecedent()


def sentence_spans(text: str) -> list[tuple[int, str]]:
    """The sentences of a narrative with their start offsets; a “…” quotation never ends one."""
    spans = []
    start = 0
    for match in re.finditer(r"(?<=[.!?])[”’\"')\]]*\s+(?=[^\W\d_“\"‘(])", text):
        spans.append((start, text[start : match.start()]))
        start = match.end()
    spans.append((start, text[start:]))
    return [(offset, sentence) for offset, sentence in spans if sentence.strip()]


def _honorific(name: str) -> tuple[str, str]:
    """ "Mrs Yusuf" -> ("Mrs", "Yusuf"); a name without one -> ("", name); stars dropped."""
    key = _key(name)
    found = HONORIFIC.match(key)
    return (found.group(1).capitalize(), key[found.end() :]) if found else ("", key)


def _acronym(words: list[str]) -> bool:
    return any(len(word) > 1 and word.isupper() and word.isalpha() for word in words)


def _key(name: str) -> str:
    """A name without its pseudonym stars, wherever they stand ("Ajar* Nurlan" is Ajar Nurlan)."""
    return " ".join(bare(name).replace("*", " ").split())


def _contains(words: list[str], part: list[str]) -> bool:
    return any(words[index : index + len(part)] == part for index in range(len(words) - len(part) + 1))


def _distinct(mentions: list[Mention]) -> list[Mention]:
    seen, distinct = set(), []
    for mention in mentions:
        key = id(mention.person) if mention.person else mention.description.lower()
        if key not in seen:
            seen.add(key)
            distinct.append(mention)
    return distinct


def _compatible(mention: Mention, pronoun: str) -> bool:
    pronoun = pronoun.lower()
    organisation = mention.person is not None and mention.person.organisation
    unknown = mention.person is not None and not (mention.person.human or organisation)
    if unknown and (mention.oblique or mention.determined):
        return False  # "in Xinjiang", "the Egyptian government": a place or an adjective, no one to quote
    if pronoun in PRONOUN_GENDER:
        gender = mention.person.gender if mention.person else mention.gender
        gender = gender or mention.gender
        return not organisation and gender in (None, PRONOUN_GENDER[pronoun])
    if pronoun == "it":
        return organisation
    return organisation  # "they": an organisation; a family speaking together is left to the archivist


def _titled(sentence: str, run) -> bool:
    return bool(re.search(r"\b(?:mr|ms|mrs|miss|dr)\.?\s*$", sentence[max(0, run.start - 8) : run.start], re.I))


def _opens(sentence: str, start: int) -> bool:
    """Whether the words before `start` only open the sentence ("In 2019, Mr", "Her", "The", "Gulbahar's
    mother,"), or are a verb of speech, as in "“…,” said Jane Doe"."""
    if start > LOOK_BACK:
        return False  # far into a sentence: not its opening
    if SAID_BEFORE.search(sentence[:start]):
        return True
    head = LEADING_ADVERBIAL.sub("", sentence[:start].lstrip(" “”\"'—–-")).strip().lower()
    return not head or OPENING.fullmatch(head + " ") is not None


def _named_after(text: str) -> bool:
    """Whether a relative's name follows: "brother Ablikim*", "husband, Dosembek,"."""
    found = runs(text[:80])
    return bool(found) and found[0].is_person and re.fullmatch(r"\s*,?\s*", text[: found[0].start]) is not None


def _gender_at(sentence: str, start: int, end: int, possessive: bool = False) -> str | None:
    """What the words around a name say of the person's gender: "Ms", "sister Nur*", "X, the mother of"."""
    before = sentence[max(0, start - LOOK_BACK) : start].lower().split()[-2:]
    words = [word.strip(",.;:") for word in before]
    if words and (words[-1] in FEMALE or words[-1] in MALE) and words[-1] not in {"her", "his"}:
        return "f" if words[-1] in FEMALE else "m"
    kin = KIN_APPOSITION.search(sentence[max(0, start - LOOK_BACK) : start])
    if kin and (kin.group(1).lower() in FEMALE or kin.group(1).lower() in MALE):
        # "her husband, ex-presidential candidate Andrei Sannikau": the husband.
        return "f" if kin.group(1).lower() in FEMALE else "m"
    appositive = re.match(r"^\s*,\s*(?:(?:the|a|an|her|his|their)\s+)?(?:[\w-]+\s+){0,2}?([\w-]+)\b", sentence[end:])
    if appositive and (appositive.group(1).lower() in FEMALE or appositive.group(1).lower() in MALE):
        word = appositive.group(1).lower()
        if word not in {"her", "his", "he", "she", "him"}:
            return "f" if word in FEMALE else "m"
    clause = sentence[end : end + LOOK_BACK].split("“")[0]  # a pronoun after a quotation is its attribution's
    pronoun = re.search(r"\b(she|her|he|his|him)\b", clause, re.I)
    if pronoun and not possessive and _opens(sentence, start):
        # "Aigerim* lives in Almaty with her children": the subject's pronoun, no one else named before it
        # but places ("in Almaty").
        between = clause[: pronoun.start()]
        others = [
            run
            for run in runs(between)
            if (run.is_person or run.possessive)
            and not (
                re.search(r"\b(?:in|from|at|to|near)\s+$", between[: run.start])
                and not HUMAN_AFTER.match(between[run.end :])
            )
        ]
        if not others and not KIN_PHRASE.search(between):
            return "f" if pronoun.group(1).lower() in FEMALE else "m"
    return None
