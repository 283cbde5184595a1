"""Names in a release's sentences: runs of capitalised words, and whether a run is a person's name, an
organisation or a job title; a name's pseudonym star, and how to find a name again elsewhere."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..normalize import PSEUDONYM_STAR, star_like
from .dates import MONTH_NUMBERS, WEEKDAYS

# Words that make a capitalised phrase a job title or an organisation rather than a person's name.
TITLE_WORDS = {
    "director", "researcher", "spokesperson", "spokesman", "spokeswoman", "officer", "campaigner",
    "advocate", "adviser", "advisor", "head", "chair", "chairperson", "president", "coordinator",
    "secretary-general", "secretary", "manager", "analyst", "representative", "deputy", "minister", "ambassador",
    "executive", "senior", "lead",
}  # fmt: skip
ORGANISATION_WORDS = {
    "international", "watch", "rights", "collective", "network", "foundation", "project", "centre",
    "center", "institute", "coalition", "association", "society", "committee", "council", "alliance",
    "union", "group", "initiative", "congress", "organisation", "organization", "federation", "forum",
    "trust", "campaign", "commission", "defenders", "movement", "agency", "league", "ministry",
    "radio", "press", "news", "times", "post", "television", "broadcasting", "service", "daily", "journal",
    "gazette", "tribune", "monitor", "herald", "reuters", "court", "tribunal", "parliament", "office",
    "nations",
}  # fmt: skip
# Capitalised words that start a sentence or a clause rather than a name.
NOT_NAME_WORDS = {
    "the", "a", "an", "in", "on", "at", "its", "her", "his", "their", "our", "my", "she", "he", "they", "we",
    "i", "it", "according", "speaking", "but", "and", "when", "after", "since", "as", "while", "for",
    "with", "from", "this", "that", "these", "those", "however", "meanwhile", "also", "both", "one",
    "another", "said", "says", "told", "added", "today", "mr", "ms", "mrs", "dr", "there", "here", "what",
    "why", "how", "who", "if", "once", "now", "then", "so", "yet", "still", "even", "although", "though",
    "every", "each", "some", "many", "most", "all", "no", "not", "before", "during", "last", "next",
}  # fmt: skip

MAX_RUN_WORDS = 12  # a longer run of capitalised words is a heading or a shout, cut into pieces, never a name
HONORIFIC_BEFORE = re.compile(r"\b(mr|mrs|ms|miss|dr)\.?\s+$", re.I)
# A mark right after a letter: a pseudonym's star if normalize.star_like says it is one (＊ ∗ † ...).
MARK_AFTER_LETTER = re.compile(r"(?<=[^\W\d_])[^\w\s]")
TOKEN = re.compile(r"(?P<word>[^\W\d_](?:[\w-]|['’](?=\w))*)(?P<star>\*?)(?P<possessive>['’]s\b)?")


@dataclass
class Run:
    """Consecutive capitalised words: a candidate name, organisation or job title."""

    start: int
    end: int
    words: list[str]
    possessive: bool = False
    starts: list[int] = field(default_factory=list)  # where each word starts
    honorific: str = ""  # "Mrs" in "Mrs Yusuf", kept apart from the name's words

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def named(self) -> str:
        """The name as the release gives it, with its honorific: "Mrs Yusuf" is not Karim Yusuf."""
        return f"{self.honorific} {self.text}" if self.honorific else self.text

    @property
    def bare_words(self) -> list[str]:
        return [bare(word).lower() for word in self.words]

    @property
    def is_title(self) -> bool:
        return any(word in TITLE_WORDS for word in self.bare_words)

    @property
    def is_organisation(self) -> bool:
        """An organisation's name: a word such as "Watch" or "Congress", or an acronym ("VOA", "BCHR")."""
        capitals = [len(word) > 1 and word.isupper() and word.isalpha() for word in self.words]
        acronym = any(capitals) and not (all(capitals) and len(capitals) > 1)  # "AMINA YUSUF" is a name
        return not self.possessive and (acronym or any(word in ORGANISATION_WORDS for word in self.bare_words))

    @property
    def is_person(self) -> bool:
        words = self.bare_words
        return (
            bool(words)
            and len(words) <= 5
            and not self.possessive
            and not self.is_title
            and not self.is_organisation
            and not any(word in ORGANISATION_WORDS for word in words)
            and not any(word in MONTH_NUMBERS or word in WEEKDAYS for word in words)
        )


def is_capitalised(word: str) -> bool:
    first = word[0]
    return first.isupper() or (first.isalpha() and not first.islower())


def runs(text: str) -> list[Run]:
    """The runs of capitalised words in `text`, without the words that only open a sentence ("The", "Ms")."""
    found: list[Run] = []
    current: Run | None = None
    titled = False
    previous_end = None
    for match in TOKEN.finditer(text):
        word = match.group("word")
        possessive = bool(match.group("possessive")) or bool(re.search(r"['’]s$", word))
        shown = re.sub(r"['’]s$", "", word) + match.group("star")
        contiguous = previous_end is not None and re.fullmatch(r"[ ]+", text[previous_end : match.start()])
        if not is_capitalised(word):
            current = None
        else:
            breaks = (
                current is None
                or not contiguous
                or current.possessive
                or (titled and word.lower() not in TITLE_WORDS)
                or len(current.words) >= MAX_RUN_WORDS
            )
            if breaks:
                current = Run(match.start(), match.end(), [])
                found.append(current)
                titled = False
            titled = titled or bare(shown).lower() in TITLE_WORDS  # the run so far holds a job title
            current.words.append(shown)
            current.starts.append(match.start())
            current.end = match.end()
            current.possessive = possessive
        previous_end = match.end()
    for run in found:
        while run.words and bare(run.words[0]).lower() in NOT_NAME_WORDS:
            run.words.pop(0)
            run.starts.pop(0)
        if run.words:
            run.start = run.starts[0]
            honorific = HONORIFIC_BEFORE.search(text[max(0, run.start - 8) : run.start])
            run.honorific = honorific.group(1).capitalize() if honorific else ""
    return [run for run in found if run.words]


def covers(part: str, run: Run) -> bool:
    """Whether `run` is all of `part` but for words that only open a sentence: "the Rights Watch Collective"."""
    leading = part[: run.start].strip().lower().split()
    return all(word in NOT_NAME_WORDS for word in leading) and not part[run.end :].strip(" *")


def plain_stars(text: str) -> str:
    """The text with every star-like mark after a word written *, as the archive reads a name ending in one.

    One character for one, so that positions in the text stay valid."""
    return MARK_AFTER_LETTER.sub(lambda mark: "*" if star_like(mark.group()) else mark.group(), text)


def bare(name: str) -> str:
    """The name without its pseudonym star."""
    return PSEUDONYM_STAR.sub("", name).strip()


def name_pattern(name: str) -> re.Pattern:
    """Finds the name in a text, with or without its star."""
    return re.compile(rf"(?<![\w*]){re.escape(bare(name))}\*?(?![\w])")
