"""A fixed, seeded mix of researcher queries, each written for the archive and translated for SQLite FTS5.

The archive gets the query as a researcher types it (`Archive.search(text)`, `?_search=`, `/-/search?q=`).
FTS5 gets the nearest equivalent, translated by hand and kept beside it:

| kind   | archive query                    | FTS5                                                              |
|--------|----------------------------------|-------------------------------------------------------------------|
| term   | `prison`                         | `MATCH '"prison"'`                                                |
| and    | `camp letter`                    | `MATCH '"camp" AND "letter"'`                                     |
| phrase | `"phone call"`                   | `MATCH '"phone call"'`                                            |
| name   | `Memetjan`                       | `MATCH '"Memetjan" OR {speaker subject} : ("Mamatjan" OR ...)'`  |
| field  | `role:family detained`           | `MATCH '"detained"' AND t.role = 'family'` (status, relationship: |
|        |                                  | `EXISTS (SELECT 1 FROM json_each(t.statuses) WHERE value = ?)`)   |
| date   | `camp date:[2018 TO 2020]`       | `MATCH '"camp"' AND substr(t.date, 1, 4) BETWEEN '2018' AND '2020'` |

FTS5 has no spelling variants, so a name query ORs every spelling of the name's group in the generator
(which is more than the archive's rules promise: a fair upper bound on FTS5's work, not on its recall).
It has no stemming in other languages either (`unicode61 remove_diacritics 2` folds case and accents,
like the archive). Every query has at least one word, so every FTS5 query has a MATCH and a snippet.
"""

import random
from dataclasses import dataclass, field

from .generate import GIVEN_NAMES, SURNAMES, VILLAGES

TERMS = [
    "prison",
    "camp",
    "letter",
    "detained",
    "sentenced",
    "embassy",
    "passport",
    "trial",
    "interrogated",
    "WhatsApp",
    "checkpoint",
    "factory",
    "consulate",
    "lawyer",
    "verdict",
    "photograph",
    "extremism",
    "gözaltına",
    "Umerziehungslager",
]
AND_PAIRS = [
    ("camp", "letter"),
    ("prison", "phone"),
    ("embassy", "letters"),
    ("mother", "news"),
    ("police", "night"),
    ("passport", "border"),
    ("trial", "lawyer"),
    ("factory", "camp"),
    ("teacher", "detained"),
    ("video", "verdict"),
]
PHRASES = [
    "phone call",
    "re-education camp",
    "no lawyer",
    "detention centre",
    "simply disappeared",
    "video call",
    "still held in a camp",
    "sentenced to ten years",
    "collect the body",
]
# (archive field, value, word) for fielded filters.
FIELDED = [
    ("role", "family", "detained"),
    ("role", "witness", "police"),
    ("role", "survivor", "camp"),
    ("status", "imprisoned", "sentenced"),
    ("status", "disappeared", "letters"),
    ("status", "died_in_detention", "body"),
    ("relationship", "brother", "prison"),
    ("relationship", "mother", "camp"),
]
DATE_RANGES = [(2018, 2020), (2017, 2019), (2019, 2021), (2020, 2022), (2016, 2018)]
DATE_WORDS = ["camp", "prison", "letter", "detained", "phone"]
KINDS = ["term", "and", "phrase", "name", "field", "date"]
# The browse columns (one JSON list each) a multi-valued field filter tests.
LIST_COLUMNS = {"status": "statuses", "relationship": "relationships"}


@dataclass(frozen=True)
class BenchQuery:
    kind: str
    text: str  # as a researcher types it: for Archive.search, ?_search= and /-/search?q=
    match: str  # the FTS5 MATCH expression
    where: str = ""  # extra SQL on the testimonies row `t`, ANDed with the MATCH
    params: tuple = field(default_factory=tuple)


def quoted(word: str) -> str:
    """An FTS5 string: any word (hyphens, accents, other scripts) as a phrase of its tokens."""
    return '"' + word.replace('"', '""') + '"'


def name_query(group: tuple[str, ...], spelling: str) -> BenchQuery:
    variants = " OR ".join(quoted(v) for v in dict.fromkeys(group))
    return BenchQuery("name", spelling, f"{quoted(spelling)} OR {{speaker subject}} : ({variants})")


def field_query(fieldname: str, value: str, word: str) -> BenchQuery:
    if fieldname in LIST_COLUMNS:
        where = f"exists (select 1 from json_each(t.{LIST_COLUMNS[fieldname]}) where value = ?)"
    else:
        where = f"t.{fieldname} = ?"
    return BenchQuery("field", f"{fieldname}:{value} {word}", quoted(word), where, (value,))


def date_query(first: int, last: int, word: str) -> BenchQuery:
    return BenchQuery(
        "date",
        f"{word} date:[{first} TO {last}]",
        quoted(word),
        "substr(t.date, 1, 4) between ? and ?",
        (str(first), str(last)),
    )


def candidates(kind: str, rng: random.Random) -> BenchQuery:
    if kind == "term":
        # One in four single-word queries is a rare word (a village), as researchers look for places.
        word = rng.choice(VILLAGES[:200]) if rng.random() < 0.25 else rng.choice(TERMS)
        return BenchQuery("term", word, quoted(word))
    if kind == "and":
        first, second = rng.choice(AND_PAIRS)
        return BenchQuery("and", f"{first} {second}", f"{quoted(first)} AND {quoted(second)}")
    if kind == "phrase":
        phrase = rng.choice(PHRASES)
        return BenchQuery("phrase", f'"{phrase}"', quoted(phrase))
    if kind == "name":
        group = rng.choice(GIVEN_NAMES[:20] + SURNAMES[:10])
        return name_query(group, rng.choice(group))
    if kind == "field":
        return field_query(*rng.choice(FIELDED))
    first, last = rng.choice(DATE_RANGES)
    return date_query(first, last, rng.choice(DATE_WORDS))


def query_mix(count: int, seed: int = 1) -> list[BenchQuery]:
    """`count` queries, the kinds in turn, each drawn from its kind's list: the same seed, the same mix."""
    rng = random.Random(f"testimony-bench-queries:{seed}")
    return [candidates(KINDS[position % len(KINDS)], rng) for position in range(count)]
