"""Who a speaker is: an organisation, an official, a survivor, or a relative of detained people, with
each relative's relationship to the speaker, what happened to them and since when, as the release says."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .attribution import VERB, Speaker
from .dates import MONTH, partial_date
from .draft import is_placeholder
from .names import TITLE_WORDS, bare, is_capitalised, name_pattern, runs

# What a relationship word in the source means, as the schema's `relationship` enum.
RELATIONSHIP_WORDS = {
    "brother-in-law": "brother-in-law", "brothers-in-law": "brother-in-law", "sister-in-law": "sister-in-law",
    "sisters-in-law": "sister-in-law", "father-in-law": "father-in-law", "mother-in-law": "mother-in-law",
    "son-in-law": "son-in-law", "sons-in-law": "son-in-law", "daughter-in-law": "daughter-in-law",
    "daughters-in-law": "daughter-in-law", "grandfather": "grandfather", "grandmother": "grandmother",
    "grandparent": "grandparent", "grandparents": "grandparent", "grandson": "grandson", "grandsons": "grandson",
    "granddaughter": "granddaughter", "granddaughters": "granddaughter", "grandchild": "grandchild",
    "grandchildren": "grandchild", "brother": "brother", "brothers": "brother", "sister": "sister",
    "sisters": "sister", "sibling": "sibling", "siblings": "sibling", "father": "father", "mother": "mother",
    "parent": "parent", "parents": "parent", "son": "son", "sons": "son", "daughter": "daughter",
    "daughters": "daughter", "child": "child", "children": "child", "husband": "husband", "wife": "wife",
    "spouse": "spouse", "uncle": "uncle", "uncles": "uncle", "aunt": "aunt", "aunts": "aunt", "nephew": "nephew",
    "nephews": "nephew", "niece": "niece", "nieces": "niece", "cousin": "cousin", "cousins": "cousin",
    "relative": "relative", "relatives": "relative", "family member": "relative", "family members": "relative",
    "friend": "friend", "friends": "friend", "neighbour": "neighbour", "neighbours": "neighbour",
    "neighbor": "neighbour", "neighbors": "neighbour", "colleague": "colleague", "colleagues": "colleague",
    "client": "client", "clients": "client",
}  # fmt: skip
PLURAL_RELATIONSHIP_WORDS = {word for word in RELATIONSHIP_WORDS if word.endswith(("s", "ren")) or "s-in-" in word}
FAMILY_RELATIONSHIPS = set(RELATIONSHIP_WORDS.values()) - {"friend", "neighbour", "colleague", "client"}
# "the sister of Ablikim": what Ablikim is to the speaker, without guessing anyone's gender.
INVERSE_RELATIONSHIP = {
    "brother": "sibling", "sister": "sibling", "sibling": "sibling", "father": "child", "mother": "child",
    "parent": "child", "son": "parent", "daughter": "parent", "child": "parent", "husband": "spouse",
    "wife": "spouse", "spouse": "spouse", "grandfather": "grandchild", "grandmother": "grandchild",
    "grandparent": "grandchild", "grandson": "grandparent", "granddaughter": "grandparent",
    "grandchild": "grandparent", "cousin": "cousin", "friend": "friend", "neighbour": "neighbour",
    "colleague": "colleague",
}  # fmt: skip

# Status phrases, most specific first: "released after two years in detention" is released, "detained in
# 2017 and missing since" is disappeared.
STATUS_PATTERNS = [
    (
        "died_in_detention",
        re.compile(
            r"\bd(?:ie|ied|ies|ying)\b[^.;]{0,40}?\b(?:in|while in|in the)\s+(?:detention|custody|prison|jail"
            r"|(?:an? |the )?(?:internment |re-education |detention )?camp)"
            r"|\bdied (?:while )?(?:detained|in detention|in custody|in prison)|\bdeaths? in (?:custody|detention)"
            r"|\b(?:was|were|been|had been) executed\b",
            re.I,
        ),
    ),
    ("released", re.compile(r"\b(?:released|freed|set free)\b", re.I)),
    (
        "disappeared",
        re.compile(
            r"\b(?:missing|disappeared|whereabouts (?:are|is|remain|remains) unknown|not been heard from"
            r"|no (?:news|word) (?:of|from)|not been seen|(?:no one|nobody) has (?:heard|seen)"
            r"|(?:has|have|had) (?:not|never) (?:heard|had news) from|lost (?:all )?(?:contact|touch) with)\b",
            re.I,
        ),
    ),
    (
        "imprisoned",
        re.compile(
            r"\b(?:in prison|in jail|imprisoned|jailed|behind bars|serving (?:a|an) [\w\s-]{0,30}?sentence|sentenced"
            r"|on death row|held (?:in|at) (?:the )?(?:[\w-]+ ){0,3}(?:prison|penitentiary|jail)"
            r"|convicted)\b",
            re.I,
        ),
    ),
    (
        "detained",
        re.compile(
            r"\b(?:detained|in detention|deprived of (?:his|her|their) liberty|in custody"
            r"|held (?:in|at|incommunicado|without)|arrested|taken away|(?:is|are|was|were|being|remains?|still) held"
            r"|among those (?:held|detained|arrested)"
            r"|(?:re-education|internment|political education|detention) (?:camp|centre|center|facility))\b",
            re.I,
        ),
    ),
]
NEAR = 300  # characters around a name that can say something about its person
STATUS_BEFORE = re.compile(r"^.*[.;:“”]")  # only the clause just before a name says what happened to it
# "has not been released", "hopes to see him freed", "before ever seeing her son freed": no release happened.
NEGATED_RELEASE = re.compile(
    r"\b(?:not|never|yet to be)\s+(?:been\s+|be\s+)?(?:released|freed|set free)|\bbe\s+(?:released|freed|set free)"
    r"|\b(?:see|seeing|until|unless|before|hope|hopes|hoping|want|wants|demand|demands)\b[^.;]{0,50}"
    r"\b(?:released|freed|set free)",
    re.I,
)
SINCE = re.compile(
    rf"\b(?:since|(?:detained|arrested|taken(?: away)?|disappeared|went missing|jailed|imprisoned|sentenced|died)"
    rf"\b[^.;]{{0,30}}?\s(?:in|on))\s+(?P<when>(?:\d{{1,2}}\s+)?{MONTH}\.?(?:\s+\d{{1,2}},)?\s+\d{{4}}|\d{{4}})",
    re.I,
)

# Who a speaker is, from how the release describes them.
SURVIVOR_PHRASE = re.compile(
    r"\b(?:former (?:detainee|prisoner)|survivor|who (?:was|had been|spent)\b[^,;]{0,60}?"
    r"\b(?:detained|held|imprisoned|camp|prison|released))",
    re.I,
)
GOVERNMENT_WORDS = re.compile(
    r"\b(?:ministry|government|embassy|consulate|authorities|police|bureau|state council|procuratorate"
    r"|public security|foreign affairs|official)\b",
    re.I,
)
TITLE_PHRASE = re.compile(r"\b(?:" + "|".join(sorted(TITLE_WORDS, key=len, reverse=True)) + r")\b", re.I)

# Relatives in a description: "whose brother Ablikim* and sister are detained", "the sister of Ablikim*".
RELATIONSHIP_PATTERN = re.compile(
    r"\b(?P<relationship>" + "|".join(sorted(map(re.escape, RELATIONSHIP_WORDS), key=len, reverse=True)) + r")\b",
    re.I,
)
ANOTHER = re.compile(r"\b(?:another|a second|the other|one other)\b", re.I)
SUBJECT_DETERMINERS = {
    "whose", "her", "his", "their", "a", "an", "one", "two", "three", "four", "several", "both", "and",
    "another", "other", "second", "younger", "older", "elder", "eldest", "youngest", "late",
}  # fmt: skip
NAME_AFTER = re.compile(r"^\s*,?\s*(?P<name>(?:[^\W\d_][\w'’-]*\*?)(?:\s+[^\W\d_][\w'’-]*\*?){0,3})")
MORE_NAMES = re.compile(r"^\s*(?:,\s*(?:and\s+)?|\s+and\s+)(?P<name>[^\W\d_][\w'’-]*\*?)")

# What a sentence says about a speaker it names.
POSSESSIVE = re.compile(r"^['’]s\s+")  # "Patime*'s brother Ablikim*…"
THEIR_RELATIVE = re.compile(  # "Ablikim*'s sister Patime*": Ablikim* is Patime*'s sibling
    rf"(?P<other>[^\W\d_][\w'’-]*\*?)['’]s\s+(?P<rel>{RELATIONSHIP_PATTERN.pattern})\s*$", re.I
)
OWNER = re.compile(  # "Majid Kazemi's sister": Majid Kazemi is her sibling
    rf"(?P<other>(?:[^\W\d_][\w'’-]*\*?\s+){{0,3}}[^\W\d_][\w'’-]*\*?)['’]s\s+(?P<rel>{RELATIONSHIP_PATTERN.pattern})",
    re.I,
)
OWNED = re.compile(r"(?:^|\s)(?P<owner>(?:[^\W\d_][\w-]*\*?\s+){0,2}[^\W\d_][\w-]*\*?)['’]s\s+$")
OWN_WORDS = re.compile(r"(^|[^\w])(?:my|our)\b(?=\s+\w)", re.I)  # a speaker's "my brother" is "her brother"
KIN_OF = re.compile(rf"\b[\w-]+['’]s\s+(?:{RELATIONSHIP_PATTERN.pattern})", re.I)
APPOSITIVE = re.compile(rf"^\s*,\s*(?P<text>.*?)(?:,?\s+{VERB}\b|$)", re.I)
RELATIVE_CLAUSE = re.compile(r"^\s+(?P<text>(?:who|whose)\b.*)$", re.I)
REPORTED = re.compile(rf"^\s+{VERB}\b(?P<text>.*)$", re.I)


@dataclass
class Description:
    subjects: list[dict]
    titles: list[str]
    appositives: list[str]


def characterise(
    speaker: Speaker,
    sentences: list[str],
    speaker_names: set[str],
    warnings: list[str],
    quoted: list[str] = (),
    full_name=lambda name: name,
) -> None:
    """Set the speaker's role and subjects from what the release says about them, and from relatives their
    own words name with what happened to them ("my mother died in a camp in 2019"). `full_name` gives the
    name the release gives a relative in full, starred if any mention is ("Alexei" is Alexei Morozov)."""
    if is_placeholder(speaker.name) and not speaker.description:
        return  # words no one in the release is said to have spoken: the archivist says who
    if is_placeholder(speaker.name):
        found = subjects(speaker.description)
        owner = OWNER.search(speaker.description)
        if owner and not found:
            # "Gulbahar's mother": Gulbahar is her child.
            relationship = RELATIONSHIP_WORDS[owner.group("rel").lower()]
            found = [{"name": owner.group("other"), "relationship": INVERSE_RELATIONSHIP.get(relationship, "relative")}]
        description = Description(found, [speaker.description.split(",")[0]], [speaker.description])
    else:
        description = describe(speaker.name, sentences, speaker_names - {speaker.key})
    own = [subject for text in quoted for subject in subjects(OWN_WORDS.sub(r"\1her", text)) if "status" in subject]
    for subject in description.subjects + own:
        if subject.get("name"):
            subject["name"] = full_name(subject["name"])
    found = unique_subjects(description.subjects + own)
    # "the campaigner's sister" says who she is related to, not her job.
    titles = KIN_OF.sub("", " ".join(description.titles))
    appositives = " ".join(description.appositives)
    is_organisation_name = any(run.is_organisation for run in runs(speaker.name)) and not is_placeholder(speaker.name)
    if is_organisation_name or TITLE_PHRASE.search(titles):
        official = GOVERNMENT_WORDS.search(titles) and not is_organisation_name
        speaker.role = "official" if official else "organisation"
        return
    who = f'"{speaker.description}"' if is_placeholder(speaker.name) else speaker.name
    family = [subject for subject in found if subject["relationship"] in FAMILY_RELATIONSHIPS]
    if found:
        speaker.role = "family" if family else "other"
        for subject in found:
            if "status" not in subject:
                status, since = _status_elsewhere(subject.get("name"), sentences)
                subject["status"] = status or "unknown"
                if since and "since" not in subject:
                    subject["since"] = since
                if not status:
                    warnings.append(
                        f"line {speaker.line}: {who}: no status found for their "
                        f"{subject['relationship']}{' ' + subject['name'] if subject.get('name') else ''}: "
                        "status is 'unknown'"
                    )
        speaker.subjects = found
    elif SURVIVOR_PHRASE.search(appositives):
        speaker.role = "survivor"
    else:
        speaker.role = "other"
        warnings.append(
            f"line {speaker.line}: could not tell who {who} is (family, organisation, ...): role is 'other'"
        )


def describe(name: str, sentences: list[str], speaker_names: set[str]) -> Description:
    """What the release says about a speaker anywhere: appositives, possessives and reported speech."""
    pattern = name_pattern(name)
    found = Description([], [], [])
    for sentence in sentences:
        for match in pattern.finditer(sentence):
            # What is said about them stands near the name (bounded: a sentence may be thousands of names long).
            before, after = sentence[max(0, match.start() - NEAR) : match.start()], sentence[match.end() :][:NEAR]
            possessive = POSSESSIVE.match(after)
            if possessive:
                # "Patime*'s brother Ablikim* was sentenced…" tells us about her own relatives.
                found.subjects += subjects("her " + after[possessive.end() :])
                continue
            tail = before.rstrip(" ,").split(",")[-1].strip()
            if tail:
                found.titles.append(tail)
                inverse = THEIR_RELATIVE.search(tail)
                if inverse and bare(inverse.group("other")) not in speaker_names:
                    relationship = RELATIONSHIP_WORDS[inverse.group("rel").lower()]
                    found.subjects.append(
                        {
                            "name": inverse.group("other"),
                            "relationship": INVERSE_RELATIONSHIP.get(relationship, "relative"),
                        }
                    )
            if not before.strip(' “”"') and not APPOSITIVE.match(after) and not RELATIVE_CLAUSE.match(after):
                # "Meryem* has lived in Istanbul since 2016, and her younger brother has been missing since 2018."
                found.subjects += subjects(after)
            appositive = APPOSITIVE.match(after)
            for clause_match in (appositive, RELATIVE_CLAUSE.match(after), REPORTED.match(after)):
                if clause_match and re.search(r"\w", clause_match.group("text")):
                    text = clause_match.group("text").strip()
                    found.appositives.append(text)
                    found.subjects += subjects(text)
                    if clause_match is appositive and not re.match(r"^(?:who|whose)\b", text, re.I):
                        found.titles.append(text.split(",")[0])
    return found


def subjects(description: str) -> list[dict]:
    """The people a description says the speaker is related to, with what happened to them."""
    # Each mention of a relative: (start, end, relationship, names). "another" repeats the last relationship.
    mentions: list[tuple[int, int, str, list[str | None]]] = []
    candidates = [
        (match.start(), match.end(), match.group("relationship").lower())
        for match in RELATIONSHIP_PATTERN.finditer(description)
    ] + [
        (match.start(), match.end(), None)
        for match in ANOTHER.finditer(description)
        if not RELATIONSHIP_PATTERN.match(description[match.end() :].lstrip())
    ]
    for start, end, word in sorted(candidates):
        after = description[end:]
        of = re.match(r"^\s+of\s+", after)
        if word is None:
            relationship = mentions[-1][2] if mentions else "relative"
            names: list[str | None] = [None]
        elif of:
            # "the sister of Ablikim*": what Ablikim* is to the speaker.
            relationship = INVERSE_RELATIONSHIP.get(RELATIONSHIP_WORDS[word], "relative")
            # "the wife of former presidential candidate Andrey Sannikau": a few lower-case words, then the name.
            named = re.sub(r"^(?:(?:the|a|an|[a-z][\w-]*)\s+){0,3}(?=[^\W\d_])", "", after[of.end() :])
            names = names_after(named, plural=False) or [None]
        elif owner := OWNED.search(description[:start]):
            # "the campaigner's sister", "Ablikim*'s sister": the owner is the speaker's relative, inversely.
            relationship = INVERSE_RELATIONSHIP.get(RELATIONSHIP_WORDS[word], "relative")
            named = runs(owner.group("owner"))
            names = [named[-1].text] if named and named[-1].is_person or (named and named[-1].possessive) else [None]
        elif _introduces_subject(description[:start].lower().split()[-2:], first=not mentions):
            relationship = RELATIONSHIP_WORDS[word]
            names = names_after(after, plural=word in PLURAL_RELATIONSHIP_WORDS) or [None]
        else:
            continue
        mentions.append((start, end, relationship, names))

    found: list[dict] = []
    pending: list[dict] = []  # "whose brother and sister are detained": the status comes after the last
    for index, (start, end, relationship, names) in enumerate(mentions):
        following = mentions[index + 1][0] if index + 1 < len(mentions) else len(description)
        clause = description[end:following]
        these = [{"name": name, "relationship": relationship} for name in names]
        found += these
        pending += these
        status, since = _status(clause, description[:start]), _since(clause)
        if status:
            for subject in pending:
                subject["status"] = status
                if since:
                    subject["since"] = since
            pending = []
        else:
            named = names[-1]
            rest = clause[clause.find(named) + len(named) :] if named and named in clause else clause
            if not re.fullmatch(r"[\s,]*(?:and|or|&)?[\s,]*", rest):
                pending = []  # no status here and none shared with the next relative: left for the caller
    return found


def _introduces_subject(preceding: list[str], first: bool) -> bool:
    """Whether the words before a relationship word make it a relative of the speaker.

    "her brother" is the speaker's brother only as the first relative mentioned: in "whose brother Ablikim*
    and his wife", the wife is Ablikim's.
    """
    possessives = {"her", "his", "their"}
    if not preceding or (preceding[-1] in possessives and not first):
        return False
    return any(word in SUBJECT_DETERMINERS for word in preceding)


def names_after(text: str, plural: bool) -> list[str]:
    """The name(s) right after a relationship word: "brother Ablikim*", "sons Alim, Nur and Erkin"."""
    match = NAME_AFTER.match(text)
    if not match:
        return []
    found = [run for run in runs(match.group("name")) if run.is_person and run.start == 0]
    if not found:
        return []
    names = [found[0].text]
    if plural:
        rest = text[match.start("name") + found[0].end :]
        while True:
            more = MORE_NAMES.match(rest)
            if not more or not is_capitalised(more.group("name")):
                break
            names.append(more.group("name"))
            rest = rest[more.end() :]
    return names


def _status(clause: str, context: str = "") -> str | None:
    """The most specific status a clause gives; `context` is the text just before it, which may negate a
    release ("before ever seeing her son, Alexey, freed")."""
    for status, pattern in STATUS_PATTERNS:
        for match in pattern.finditer(clause):
            if status == "released" and NEGATED_RELEASE.search(context[-60:] + " " + clause[: match.end()]):
                continue
            return status
    return None


def _since(clause: str) -> str | None:
    match = SINCE.search(clause)
    return partial_date(match.group("when")) if match else None


def _status_elsewhere(name: str | None, sentences: list[str]) -> tuple[str | None, str | None]:
    """The status the release gives a named relative in any sentence: "Ablikim* was sentenced in 2019",
    "police arrested her uncle, Alim Tursun," (the verb before the name), "Tursun is in prison" (a surname
    alone, when no other name in the sentence shares it)."""
    if not name:
        return None, None
    words = bare(name).replace("*", "").split()
    patterns = [name_pattern(name)] + [name_pattern(words[-1])] * (len(words) > 1 and len(words[-1]) > 3)
    for pattern in patterns:
        for sentence in sentences:
            match = pattern.search(sentence)
            if not match or (pattern is not patterns[0] and len(pattern.findall(sentence)) > 1):
                continue
            near = sentence[max(0, match.start() - NEAR) : match.start()]
            before = re.split(rf"\b{VERB}\b", STATUS_BEFORE.sub("", near), flags=re.I)[-1]
            after = sentence[match.end() :][:NEAR]
            status = _status(after, near) or _status(before[-60:])
            if status:
                return status, _since(after) or _since(before[-60:])
    return None, None


def _same_name(one: str, other: str) -> bool:
    """ "Alexey" and "Alexey Pichugin" are one relative: one name's words begin or end the other's."""
    a, b = bare(one).replace("*", "").split(), bare(other).replace("*", "").split()
    short, long = sorted((a, b), key=len)
    return bool(short) and (long[: len(short)] == short or long[-len(short) :] == short)


def _rank(status: str) -> int:
    order = [name for name, _pattern in STATUS_PATTERNS] + ["unknown"]
    return order.index(status) if status in order else len(order)


def unique_subjects(subjects: list[dict]) -> list[dict]:
    """One subject per named relative, with what all mentions say; the schema's keys, in its order."""
    unique: list[dict] = []
    for subject in subjects:
        subject = {key: value for key, value in subject.items() if value is not None or key == "name"}
        same = next(
            (
                other
                for other in unique
                if subject.get("name") and other.get("name") and _same_name(other["name"], subject["name"])
            ),
            None,
        )
        if same is None and not subject.get("name"):
            # "her husband" after "whose husband Ilham*": the one relative with that relationship; and "her
            # brother, detained" said twice is one brother, not two.
            alike = [other for other in unique if other["relationship"] == subject["relationship"]]
            same = alike[0] if len(alike) == 1 and (alike[0].get("name") or "status" not in subject) else None
            same = same or next(
                (
                    other
                    for other in alike
                    if not other.get("name") and all(other.get(key) == subject.get(key) for key in ("status", "since"))
                ),
                None,
            )
        if same is not None:
            if len(subject.get("name") or "") > len(same.get("name") or ""):
                same["name"] = subject["name"]  # "Alexey" then "Alexey Pichugin": the full name
            if "status" in subject and "status" in same and _rank(subject["status"]) < _rank(same["status"]):
                same["status"] = subject["status"]  # "imprisoned" says more than "detained"
            for key, value in subject.items():
                if value is not None:
                    same.setdefault(key, value)
            continue
        unique.append(subject)
    return [
        {key: subject[key] for key in ("name", "relationship", "status", "since") if key in subject}
        for subject in unique
    ]
