"""The one search API: the CLI's `testimony search` and the Datasette plugin both call `Archive.search`.

A query goes through Whoosh's parser configured for researchers (AND by default, "phrases",
field:value, prefix*, fuzzy~, date ranges), is checked for what Whoosh would silently mangle or run
pathologically slowly (unbalanced quotes and brackets, unknown fields, leading wildcards), and has
its name terms widened to spelling variants unless `exact_names` is set. Hits come back with
snippets cut from the SQLite text (plain text, match spans, and escaped HTML), the names that matched
and why, and facet counts over every matching document (not just the page).

Search never reports what SQLite does not hold. The index records the database generation it was
built for; when the database has moved on (an ingest or a takedown is under way, or one was killed),
every index document whose testimony SQLite no longer holds as it is (removed, or changed) is masked
out of hits, totals and facets, all read from one SQLite snapshot, and the result says how many
testimonies the index does not cover yet (`unindexed`) instead of guessing.
"""

import calendar
import datetime
import itertools
import marshal
import queue
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from testimony_archive.ingest import store
from testimony_archive.ingest.vocabulary import (  # noqa: F401 - display_name is the plugin's, until it moves
    FACETS,
    NO,
    YES,
    display_name,
    yes_or_no,
)
from whoosh import qparser
from whoosh import query as wq
from whoosh.collectors import FilterCollector, TimeLimit
from whoosh.matching import WrappingMatcher
from whoosh.qparser import syntax
from whoosh.qparser.common import attach
from whoosh.util.times import datetime_to_long, long_to_datetime

from . import index as search_index
from . import names, snippets

DEFAULT_PAGE_SIZE = 20
READ_WAIT = 5.0  # seconds a search waits for a writer's lock on the database before it says so
# A rebuilt index is swapped in by two renames; a search in between finds no folder and waits this long.
SWAP_ATTEMPTS, SWAP_WAIT = 5, 0.02
MAX_PAGE_SIZE = 100
CLOCK_EVERY = 64  # posting-list steps of a phrase between two readings of the clock
SORTS = ("relevance", "date")

# field:value names a researcher may type, and the index fields they search.
QUERY_FIELDS = {
    "text": "text",
    "speaker": "speaker",
    "subject": "subject",
    "name": None,  # speaker or subject: expanded below
    "title": "title",
    "publisher": "publisher",
    "location": "location",
    "tag": "tag",
    "tags": "tag",
    "role": "role",
    "status": "status",
    "relationship": "relationship",
    "language": "language",
    "pseudonym": "pseudonym",
    "year": "year",
    "date": "date",
    "published": "published",
}
DEFAULT_FIELDS = ["text", "speaker", "subject", "title", "tag"]
# Where a plain word is looked for in the texts (see search.index.build_schema): each text is in one of them.
WORD_FIELDS = ("text_other",) + tuple(f"text_{lang}" for lang in search_index.STEM_LANGUAGES)
NAME_FIELDS = {"speaker": "speaker_variant", "subject": "subject_variant"}

# Facet name -> (index field filtered on, how a facet value becomes an index term).
FILTERS = {
    "role": ("role", str),
    "status": ("status", str.lower),
    "relationship": ("relationship", str.lower),
    "publisher": ("publisher_exact", str),
    "tags": ("tag", names.fold),
    "tag": ("tag", names.fold),
    "year": ("year", int),
    "language": ("language", str),
    "pseudonym": ("pseudonym", yes_or_no),
}
# What a pseudonym value may be, in a query (pseudonym:yes) and a filter (pseudonym=yes): anything else is an
# error, never a silent "no".
YES_OR_NO = f"pseudonym is yes or no ({', '.join(YES + NO[:-1])} or {NO[-1]})"

FIELD_PREFIX = re.compile(r"(?:(?<=^)|(?<=[\s(]))([A-Za-z_]+):")
RANGE_TO = re.compile(r"([\[{][^\]}\s]*)\s+to\s+", re.IGNORECASE)
DATE_QUERY = re.compile(r"\b(date|published):")
DATE_HINT = ". Dates are written YYYY, YYYY-MM or YYYY-MM-DD: date:2019-04, published:[2018 TO 2020]."
OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"}


class SearchError(ValueError):
    """A query the archive will not run, with a message meant for the person who typed it."""


class QueryTooCostly(SearchError):
    """A query over the budget (too many words, a long phrase, a short prefix...): refused before it runs."""


class SearchTimeout(SearchError):
    """A query that ran out of its time limit: stopped, never answered in part."""


class SearchBusy(Exception):
    """Every searcher is busy (or the database is being written): try again in a moment."""


@dataclass(frozen=True)
class Budget:
    """What one search may cost. A public archive about a state's abuses will be searched by its
    attackers: one request must not hold the server. The limits are checked before a query runs (it is
    refused with the limit it broke) and the time limit while it runs (it is stopped, never answered in
    part). The server's defaults can be changed in the plugin's configuration, the CLI's time limit with
    `--time-limit`."""

    time_limit: float = 2.0  # seconds of matching and ranking
    max_chars: int = 1000
    max_words: int = 32
    max_phrase_words: int = 12
    max_fuzzy_edits: int = 2  # torure~ is one edit, torure~2 two
    min_prefix: int = 3  # letters before * or ?, and in a fuzzy word
    max_expansion: int = 500  # index words one prefix, wildcard or fuzzy word may stand for
    max_depth: int = 6  # nested parentheses


DEFAULT_BUDGET = Budget()
WORD_TOKEN = re.compile(r'"[^"]*"|[^\s()"]+')
FUZZY = re.compile(r"^(.*?)~(\d*)$")


def check_budget(text: str, budget: Budget) -> None:
    """Refuse, before anything runs, a query whose cost has no bound (QueryTooCostly, one line)."""
    if len(text) > budget.max_chars:
        raise QueryTooCostly(f"The query is {len(text):,} characters long; the limit is {budget.max_chars:,}.")
    depth = deepest = 0
    for char in re.sub(r'"[^"]*"', "", text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
    if deepest > budget.max_depth:
        raise QueryTooCostly(f"The query nests parentheses {deepest} deep; the limit is {budget.max_depth}.")
    words = 0
    for token in WORD_TOKEN.findall(text):
        if token.startswith('"'):
            phrase = len(names.words(token.strip('"'))) or len(token.split())
            if phrase > budget.max_phrase_words:
                raise QueryTooCostly(
                    f"A phrase of {phrase} words is too long to match; the limit is {budget.max_phrase_words}."
                )
            words += phrase
            continue
        value = token.split(":", 1)[1] if ":" in token and not token.startswith(("[", "{")) else token
        if value in OPERATORS or not value:
            continue
        words += 1
        if "*" in value or "?" in value:
            letters = len(re.split(r"[*?]", value, maxsplit=1)[0])
            if not letters and not value.strip("*?"):
                raise QueryTooCostly(f"A lone {value} stands for every word: add letters before it (detain*).")
            if letters < budget.min_prefix:
                raise QueryTooCostly(
                    f"{value}: put at least {budget.min_prefix} letters before a wildcard (detain*), so it stands "
                    "for a bounded number of words."
                )
        fuzzy = FUZZY.match(value)
        if fuzzy and not value.startswith(("[", "{")):
            word, edits = fuzzy.group(1), int(fuzzy.group(2) or 1)
            if edits > budget.max_fuzzy_edits:
                raise QueryTooCostly(
                    f"{value}: fuzzy matching allows at most {budget.max_fuzzy_edits} edits (torure~ is one edit, "
                    "torure~2 two)."
                )
            if len(word) < budget.min_prefix:
                raise QueryTooCostly(f"{value}: a fuzzy word needs at least {budget.min_prefix} letters.")
    if words > budget.max_words:
        raise QueryTooCostly(f"The query has {words} words; the limit is {budget.max_words}.")


def bound_expansions(q, reader, budget: Budget):
    """Fuzzy words keep their first letter (Whoosh would otherwise compare every word of the index), and no
    prefix, wildcard or fuzzy word may stand for more than `max_expansion` words of the index."""
    for leaf in q.leaves():
        if isinstance(leaf, wq.FuzzyTerm):
            leaf.prefixlength = max(leaf.prefixlength, 1)
        if isinstance(leaf, wq.MultiTerm):
            expanded = sum(1 for _ in itertools.islice(leaf._btexts(reader), budget.max_expansion + 1))
            if expanded > budget.max_expansion:
                words = f"{budget.max_expansion} word{'s' if budget.max_expansion != 1 else ''}"
                if isinstance(leaf, wq.TermRange):  # a range of words (text:[a TO b]) has no text of its own
                    start, end = f"{leaf.start} " if leaf.start else "", f" {leaf.end}" if leaf.end else ""
                    written = f"{'{' if leaf.startexcl else '['}{start}TO{end}{'}' if leaf.endexcl else ']'}"
                    raise QueryTooCostly(f"The range {written} stands for more than {words} in the archive: narrow it.")
                raise QueryTooCostly(
                    f"{leaf.text}{'*' if isinstance(leaf, wq.Prefix) else ''} stands for more than {words} in the "
                    "archive: add letters."
                )
    return q


@dataclass
class SearchResult:
    query: str
    total: int
    hits: list[dict]
    facets: dict[str, dict[str, int]]
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    sort: str = "relevance"
    filters: dict[str, list[str]] = field(default_factory=dict)
    exact_names: bool = False
    took_ms: float = 0.0
    # Testimonies SQLite holds that the index does not cover yet (it is being updated, or needs
    # `testimony verify --repair`): they are missing from this answer, which says so.
    unindexed: int = 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def to_dict(self) -> dict:
        return asdict(self) | {"pages": self.pages}


class FacetTable:
    """Each document's testimony id, and its facet values as small integer codes, read once per searcher
    from the index's `facets` column (one `search.index.facet_record` a document): counting facets or
    listing matches is then plain list lookups."""

    def __init__(self, reader):
        self.ids: list[str | None] = []
        self.hashes: list[str | None] = []
        self.labels: dict[str, list] = {name: [] for name in FACETS}
        self.codes: dict[str, list] = {name: [] for name in FACETS}
        self.multi: set[str] = set()
        lookup: dict[str, dict] = {name: {} for name in FACETS}

        def code(name, value):
            if value is None or value == "":
                return None
            table = lookup[name]
            if value not in table:
                table[value] = len(self.labels[name])
                self.labels[name].append(str(value))
            return table[value]

        # An index with no documents has no column at all.
        column = reader.column_reader("facets") if reader.has_column("facets") else ()
        empty = (None, None, *(None for _ in FACETS))  # a deleted document's slot
        for raw in column:
            # Our own index's records (see search.index.facet_record), trusted as Whoosh trusts its pickled TOC.
            record = marshal.loads(raw) if raw else empty  # noqa: S302
            self.ids.append(record[0])
            self.hashes.append(record[1])
            for name, value in zip(FACETS, record[2:], strict=True):
                if isinstance(value, tuple):
                    self.multi.add(name)
                    self.codes[name].append(tuple(c for c in (code(name, v) for v in value) if c is not None))
                else:
                    self.codes[name].append(code(name, value))

    def having(self, docnums, name: str, label: str) -> list[int]:
        """The documents whose facet `name` has the value `label` (one of its values, for a list facet)."""
        code = next((c for c, shown in enumerate(self.labels[name]) if shown == label), None)
        if code is None:
            return []
        codes = self.codes[name]
        if name in self.multi:
            return [d for d in docnums if code in codes[d]]
        return [d for d in docnums if codes[d] == code]

    def count(self, docnums: list[int]) -> dict[str, dict[str, int]]:
        out = {}
        for name, codes in self.codes.items():
            if name in self.multi:
                counts = Counter(c for d in docnums for c in codes[d])
            else:
                counts = Counter(codes[d] for d in docnums)
                counts.pop(None, None)
            labels = self.labels[name]
            out[name] = {labels[c]: n for c, n in sorted(counts.items(), key=lambda item: (-item[1], labels[item[0]]))}
        return out


def check_syntax(text: str) -> None:
    """Raise SearchError for what Whoosh's lenient parser would quietly reinterpret."""
    if text.count('"') % 2:
        raise SearchError('Unclosed quotation mark: a "phrase" needs a closing quote.')
    depth = 0
    for char in re.sub(r'"[^"]*"', "", text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise SearchError("Unbalanced parentheses: a ')' has no matching '('.")
    if depth:
        raise SearchError("Unbalanced parentheses: a '(' is never closed.")
    for fieldname in FIELD_PREFIX.findall(re.sub(r'"[^"]*"', '""', text)):
        if fieldname.lower() not in QUERY_FIELDS:
            raise SearchError(f"Unknown field {fieldname!r}. Fields: {', '.join(sorted(QUERY_FIELDS))}.")
    for word in re.findall(r'(?:^|[\s(:"])([*?][^\s)]+)', text):
        raise SearchError(
            f"Leading wildcards ({word}) are not supported: they scan every word in the index. "
            "Put the wildcard at the end (detain*) or use fuzzy matching (torure~)."
        )


def _errors(q) -> list[str]:
    found = []
    stack = [q]
    while stack:
        node = stack.pop()
        if getattr(node, "error", None):
            found.append(str(node.error))
        stack.extend(node.children() if not node.is_leaf() else [])
    return found


SPAN_QUERIES = (wq.Phrase, wq.Prefix, wq.Wildcard, wq.FuzzyTerm)


def _one_field_per_text(q):
    """Match each text once. The parser asks every default field for every word; in those groups a plain
    word stays in the word fields (stemmed or `text_other`) and leaves `text`, while phrases, prefixes
    and fuzzy terms stay in the unstemmed `text` and leave the word fields. An explicit `text:` query
    is no such group and is left alone."""
    if q.is_leaf():
        return q
    if isinstance(q, wq.Or):
        children = list(q.children())
        has_word = any(type(c) is wq.Term and c.fieldname in WORD_FIELDS for c in children)
        kept = [
            _one_field_per_text(c)
            for c in children
            if not (has_word and type(c) is wq.Term and c.fieldname == "text")
            and not (isinstance(c, SPAN_QUERIES) and c.fieldname in WORD_FIELDS)
        ]
        return wq.Or(kept, boost=q.boost).normalize()
    return q.apply(_one_field_per_text)


def _widen_names(q, typed: dict[str, str]):
    """speaker:x and subject:x also match the spelling-variant keys of x (see search.names).

    The key comes from the word as typed (`typed` maps folded words back to it): folding first would
    lose what the rules read (Şükür folds to sukur, but is keyed shukur, like Shukur)."""
    if isinstance(q, wq.Term) and q.fieldname in NAME_FIELDS:
        key = names.variant_key(typed.get(q.text, q.text))
        if key:
            return wq.Or([q, wq.Term(NAME_FIELDS[q.fieldname], key, boost=q.boost * 0.8)])
        return q
    if q.is_leaf():
        return q
    return q.apply(lambda child: _widen_names(child, typed))


DATE_FIELDS = {"date": "date_parts", "published": "published_parts"}
EARLIEST, LATEST = datetime.date(1900, 1, 1), datetime.date(2100, 12, 31)


def calendar_terms(start: datetime.date, end: datetime.date) -> list[str]:
    """The fewest whole years, months and days that cover [start, end]: 2018-11-15..2020-02 ->
    2018-11-15 ... 2018-11-30, 2018-12, 2019, 2020-01, 2020-02."""
    terms = []
    day = start
    while day <= end:
        year_end = datetime.date(day.year, 12, 31)
        month_end = datetime.date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        if day.month == 1 and day.day == 1 and year_end <= end:
            terms.append(f"{day.year:04d}")
            day = year_end + datetime.timedelta(days=1)
        elif day.day == 1 and month_end <= end:
            terms.append(f"{day.year:04d}-{day.month:02d}")
            day = month_end + datetime.timedelta(days=1)
        else:
            terms.append(day.isoformat())
            day += datetime.timedelta(days=1)
    return terms


def _as_date(value, default: datetime.date) -> datetime.date:
    if value is None:
        return default
    moment = long_to_datetime(value) if isinstance(value, int) else value
    return min(max(moment.date(), EARLIEST), LATEST)


def _calendar_dates(q):
    """date:/published: queries as calendar-token terms (see search.index.date_parts). Their ranges come
    from the parser inclusive, in whole days (see `ValuesPlugin`)."""
    if isinstance(q, wq.NumericRange | wq.DateRange) and q.fieldname in DATE_FIELDS:
        start = _as_date(q.start, EARLIEST)
        end = _as_date(q.end, LATEST)
        terms = [wq.Term(DATE_FIELDS[q.fieldname], term) for term in calendar_terms(start, end)]
        if not terms:
            return wq.NullQuery
        return wq.Or(terms, boost=q.boost) if len(terms) > 1 else terms[0]
    if q.is_leaf():
        return q
    return q.apply(_calendar_dates)


def _year_ranges(q, years: Callable[[], list[int]]):
    """year: ranges as the years of the archive (`years()`, read only when there is a range) they hold,
    each matched exactly. Whoosh 2.7.5's numeric ranges over this field answer many ranges wrongly: open at one end
    (`year:[TO 2019]`) or starting low (`year:[1000 TO 2019]`), they match every testimony.
    tests/test_search.py holds every kind of range to the database's own count."""
    if isinstance(q, wq.NumericRange) and q.fieldname == "year":
        low = -1 if q.start is None else int(q.start) + (1 if q.startexcl else 0)
        high = 10_000 if q.end is None else int(q.end) - (1 if q.endexcl else 0)
        terms = [wq.NumericRange("year", year, year, boost=q.boost) for year in years() if low <= year <= high]
        if not terms:
            return wq.NullQuery
        return wq.Or(terms) if len(terms) > 1 else terms[0]
    if q.is_leaf():
        return q
    return q.apply(lambda sub: _year_ranges(sub, years))


def _period(field, fieldname: str, text: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day a date value stands for, read as the parser reads `date:value` (2019:
    2019-01-01 and 2019-12-31); ValueError for what is no date."""
    q = field.parse_query(fieldname, text)
    if getattr(q, "error", None):
        raise ValueError(str(q.error))
    if isinstance(q, wq.NumericRange):
        first, last = long_to_datetime(q.start).date(), long_to_datetime(q.end).date()
    else:  # a date to the microsecond
        first = last = q.text.date()
    return min(max(first, EARLIEST), LATEST), min(max(last, EARLIEST), LATEST)


class CalendarRangeNode(syntax.RangeNode):
    """A date range in whole days, both ends included. An exclusive end leaves out the whole year, month or
    day it names: date:{2018 TO 2020} is 2019, date:[2018 TO 2020} is 2018 and 2019. (Whoosh's DATETIME
    drops the braces and would answer 2018 to 2020.)"""

    def __init__(self, node: syntax.RangeNode):
        super().__init__(node.start, node.end, node.startexcl, node.endexcl)
        self.fieldname, self.boost = node.fieldname, node.boost
        self.set_range(getattr(node, "startchar", None), getattr(node, "endchar", None))

    def query(self, parser):
        field = parser.schema[self.fieldname]
        first, last = EARLIEST, LATEST
        try:
            if self.start:
                start_first, start_last = _period(field, self.fieldname, self.start)
                first = start_last + datetime.timedelta(days=1) if self.startexcl else start_first
            if self.end:
                end_first, end_last = _period(field, self.fieldname, self.end)
                last = end_first - datetime.timedelta(days=1) if self.endexcl else end_last
        except ValueError as error:
            return attach(wq.error_query(str(error)), self)
        start = datetime_to_long(datetime.datetime.combine(first, datetime.time.min))
        end = datetime_to_long(datetime.datetime.combine(last, datetime.time.max))
        return attach(wq.NumericRange(self.fieldname, start, end, boost=self.boost), self)


def _as_word(node, text: str) -> syntax.WordNode:
    """`text` as an unquoted value of `node`'s field."""
    word = syntax.WordNode(text)
    word.fieldname, word.boost = node.fieldname, node.boost
    return word.set_range(getattr(node, "startchar", None), getattr(node, "endchar", None))


class ValuesPlugin(qparser.Plugin):
    """The values of `date:`, `published:` and `pseudonym:` as the archive means them, where Whoosh's fields
    would read them otherwise: date ranges in whole periods (`CalendarRangeNode`); a quoted date is the date
    (date:"2018" is date:2018, where Whoosh looks for the text "2018" and finds nothing); a pseudonym value
    is one of vocabulary.YES or NO (Whoosh silently reads any word it does not know, `maybe` or `off`, as yes)."""

    def filters(self, parser):
        # After field names are attached to their values (100), before the default fields are (110).
        return [(self.do_values, 105)]

    def do_values(self, parser, group):
        for position, node in enumerate(group):
            fieldname = getattr(node, "fieldname", None)
            if isinstance(node, syntax.GroupNode):
                group[position] = self.do_values(parser, node)
            elif fieldname in DATE_FIELDS and isinstance(node, syntax.RangeNode):
                group[position] = CalendarRangeNode(node)
            elif fieldname in DATE_FIELDS and isinstance(node, qparser.PhrasePlugin.PhraseNode):
                word = _as_word(node, node.text)
                # Unquoted, a value has no spaces: one with spaces is no date (Whoosh would squeeze them out).
                group[position] = (
                    syntax.ErrorNode(f"{node.text!r} is not a date", word) if node.text.split() != [node.text] else word
                )
            elif fieldname == "pseudonym":
                group[position] = _as_word(node, "yes" if _pseudonym_value(node) else "no")
        return group


def _pseudonym_value(node) -> bool:
    """A `pseudonym:` value, written as a word or quoted; a range, a prefix or a fuzzy word is none."""
    if type(node) is syntax.WordNode:
        written = node.text
    elif isinstance(node, qparser.PhrasePlugin.PhraseNode):
        written = f'"{node.text}"'
    else:
        raise SearchError(f"pseudonym takes one word, not a range, a prefix or a fuzzy word: {YES_OR_NO}.")
    try:
        return yes_or_no(node.text)
    except ValueError:
        raise SearchError(f"pseudonym:{written}: {YES_OR_NO}.") from None


def _name_field_alias(text: str) -> str:
    """`name:x` means speaker or subject."""
    return re.sub(r"(?:(?<=^)|(?<=[\s(]))name:(\"[^\"]*\"|[^\s()]+)", r"(speaker:\1 OR subject:\1)", text)


class _Deadline(WrappingMatcher):
    """A posting list that reads the search's clock as it moves on (every CLOCK_EVERY steps)."""

    def __init__(self, child, deadline: float, boost=1.0):
        super().__init__(child, boost=boost)
        self.deadline = deadline
        self.steps = 0

    def copy(self):
        return self.__class__(self.child.copy(), self.deadline, self.boost)

    def _replacement(self, newchild):
        return self.__class__(newchild, self.deadline, self.boost)

    def _tick(self):
        self.steps += 1
        if not self.steps % CLOCK_EVERY and time.monotonic() > self.deadline:
            raise TimeLimit

    def next(self):
        self._tick()
        return self.child.next()

    def skip_to(self, id):
        self._tick()
        return self.child.skip_to(id)


class _Clocked:
    """A searcher whose posting lists read the clock (`_Deadline`), for a phrase's matcher."""

    def __init__(self, searcher, deadline: float):
        self._searcher, self._deadline = searcher, deadline

    def __getattr__(self, name):
        return getattr(self._searcher, name)

    def postings(self, *args, **kwargs):
        return _Deadline(self._searcher.postings(*args, **kwargs), self._deadline)


class _TimedPhrase(wq.Phrase):
    """A phrase that stops at the search's deadline. Whoosh checks a phrase's positions inside its matcher,
    going from document to document until one holds the words in order: `"the the the the"` walks every
    document holding "the" before it yields anything, so the collectors' clock (read between matches)
    is never read. Its term matchers here read the clock as they move (Whoosh's Term.matcher gets them
    from `searcher.postings`, which `_Clocked` wraps; tests/test_query_budget.py holds Whoosh to it)."""

    deadline = float("inf")

    def matcher(self, searcher, context=None):
        return super().matcher(_Clocked(searcher, self.deadline), context)


def _clocked(q, deadline: float):
    """The query with each phrase made a `_TimedPhrase` that stops at `deadline`."""

    def timed(node):
        if type(node) is not wq.Phrase:
            return node
        phrase = _TimedPhrase(
            node.fieldname, node.words, slop=node.slop, boost=node.boost, char_ranges=node.char_ranges
        )
        phrase.deadline = deadline
        return phrase

    return q.accept(timed)


class _InTime(FilterCollector):
    """Whoosh's FilterCollector (a filter query and a mask of document numbers) that also stops at a
    deadline. Whoosh's TimeLimitCollector cannot be wrapped around a FilterCollector: it collects from the
    filter's child directly, and the ranked page would ignore the filter and the mask."""

    def __init__(self, child, allow, restrict: set[int], deadline: float):
        super().__init__(child, allow=allow, restrict=restrict or None)
        self.deadline = deadline

    def collect_matches(self):
        child, allow, restrict = self.child, self._allow, self._restrict
        for count, sub_docnum in enumerate(child.matches()):
            if not count % 256 and time.monotonic() > self.deadline:
                raise TimeLimit
            docnum = self.offset + sub_docnum
            if (allow is not None and docnum not in allow) or (restrict is not None and docnum in restrict):
                self.filtered_count += 1
                continue
            child.collect(sub_docnum)


class Archive:
    """A database and its index, opened once; the searcher is reopened when the index changes."""

    def __init__(self, db_path: Path | str, index_dir: Path | str | None = None, budget: Budget = DEFAULT_BUDGET):
        self.db_path = Path(db_path)
        self.index_dir = Path(index_dir) if index_dir else search_index.index_dir_for(db_path)
        self.budget = budget
        self._ix = None
        self._searcher = None
        self._generation = None
        self._facet_table = None
        self._stale = None  # (facet table, database generation, stale docnums, unindexed count)
        self._live = None  # (facet table, testimony id -> live docnum)

    def close(self):
        if self._searcher is not None:
            self._searcher.close()
        if self._ix is not None:
            self._ix.close()
        self._ix = self._searcher = self._facet_table = self._stale = self._live = None

    @contextmanager
    def reading(self):
        """A read-only SQLite connection inside one read transaction: the database generation, what the
        index may show and the rows of the hits all come from one snapshot, whatever writers do meanwhile."""
        try:
            with store.snapshot(self.db_path, READ_WAIT) as conn:
                yield conn
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise SearchBusy("the archive is being written: try again in a moment") from None
            raise

    def stale_docs(self, searcher, conn) -> tuple[set[int], int]:
        """Index documents that SQLite does not hold as they are (masked from every answer), and how many
        testimonies SQLite holds that the index does not cover. Nothing to mask when the index was built
        for the database's generation; otherwise one pass over (id, content hash), cached per generation."""
        db_generation = store.generation(conn)
        if db_generation == self._generation:
            return set(), 0
        table = self.facet_table(searcher)
        if self._stale is not None and self._stale[:2] == (table, db_generation):
            return self._stale[2], self._stale[3]
        current = set(store.content_hashes(conn).items())
        live = set(searcher.reader().all_doc_ids())
        stale = {d for d in range(len(table.ids)) if d not in live or (table.ids[d], table.hashes[d]) not in current}
        covered = {(table.ids[d], table.hashes[d]) for d in live - stale}
        self._stale = (table, db_generation, stale, len(current - covered))
        return stale, self._stale[3]

    def searcher(self):
        """The current searcher, refreshed when a writer has committed since it was opened."""
        generation = search_index.read_generation(self.index_dir)
        # Whoosh cannot refresh a searcher over an index with no documents (its reader has no segments).
        empty = self._searcher is not None and not self._searcher.reader().doc_count_all()
        if self._searcher is None or generation != self._generation or empty:
            self.close()
            self._ix = self._open_index()
            self._searcher = self._ix.searcher()
            # Read before opening: the stamp may lag what was opened (then search masks), never lead it.
            self._generation = generation
        elif not self._searcher.up_to_date():
            self._searcher = self._searcher.refresh()
            self._facet_table = None
        return self._searcher

    def _open_index(self, attempts: int = SWAP_ATTEMPTS):
        """The index, waiting out the instant between the two renames of a rebuild's swap."""
        for _ in range(attempts - 1):
            try:
                return search_index.open_index(self.index_dir)
            except FileNotFoundError:
                time.sleep(SWAP_WAIT)
        return search_index.open_index(self.index_dir)

    def _parser(self, searcher):
        schema = searcher.schema
        reader = searcher.reader()
        word_fields = [f for f in WORD_FIELDS if reader.field_length(f)]
        parser = qparser.MultifieldParser(DEFAULT_FIELDS + word_fields, schema)
        parser.add_plugin(qparser.FuzzyTermPlugin())
        parser.add_plugin(qparser.FieldAliasPlugin({"tag": ["tags"]}))
        parser.add_plugin(ValuesPlugin())
        parser.remove_plugin_class(qparser.PlusMinusPlugin)
        return parser

    def parse(self, text: str, exact_names: bool = False):
        typed = text = (text or "").strip()
        if not text:
            return wq.Every()
        check_syntax(text)
        check_budget(text, self.budget)
        # Range keywords and field names are case-insensitive (date:[2018 to 2020], Role:family); Whoosh's are not.
        text = RANGE_TO.sub(lambda m: f"{m.group(1)} TO ", text)
        text = FIELD_PREFIX.sub(
            lambda m: m.group(1).lower() + ":" if m.group(1).lower() in QUERY_FIELDS else m.group(0), text
        )
        searcher = self.searcher()
        try:
            q = self._parser(searcher).parse(_name_field_alias(text))
        except SearchError:
            raise
        except Exception as error:  # noqa: BLE001 - Whoosh raises many kinds; the user gets one line
            raise SearchError(f"Could not understand the query: {error}") from None
        errors = _errors(q)
        if errors:
            hint = DATE_HINT if DATE_QUERY.search(text) else ""
            raise SearchError(f"Could not understand the query: {errors[0]}{hint}")
        if q is None or q is wq.NullQuery:
            raise SearchError("The query has no words to search for.")
        q = _year_ranges(_calendar_dates(q), lambda: sorted(map(int, self.facet_table(searcher).labels["year"])))
        q = bound_expansions(_one_field_per_text(q), searcher.reader(), self.budget)
        if exact_names:
            return q
        return _widen_names(q, {names.fold(word): word for word in self.query_words(typed)})

    @staticmethod
    def filter_query(filters: dict[str, list[str]] | None):
        clauses = []
        for name, values in (filters or {}).items():
            if name not in FILTERS:
                raise SearchError(f"Unknown filter {name!r}. Filters: {', '.join(sorted(set(FILTERS) - {'tag'}))}.")
            fieldname, convert = FILTERS[name]
            terms = []
            for value in values:
                try:
                    converted = convert(value)
                except ValueError:
                    if fieldname == "pseudonym":
                        raise SearchError(f"{name}={value}: {YES_OR_NO}.") from None
                    raise SearchError(f"{name}={value!r} is not a valid value") from None
                if fieldname == "year" and not 1000 <= converted <= 9999:
                    raise SearchError(f"{name}={value!r} is not a year")
                if fieldname == "year":
                    terms.append(wq.NumericRange("year", converted, converted))
                elif fieldname == "pseudonym":
                    terms.append(wq.Term("pseudonym", converted))
                else:
                    terms.append(wq.Term(fieldname, converted))
            if terms:
                clauses.append(wq.Or(terms) if len(terms) > 1 else terms[0])
        return wq.And(clauses) if clauses else None

    def facet_table(self, searcher) -> FacetTable:
        if self._facet_table is None:
            self._facet_table = FacetTable(searcher.reader())
        return self._facet_table

    def matching(self, text: str, filters=None, exact_names: bool = False) -> tuple[list[str], int]:
        """Every matching testimony id (unranked), what Datasette's `?_search=` narrows a table to, and how
        many testimonies the index does not cover yet (see `stale_docs`)."""
        deadline = time.monotonic() + self.budget.time_limit
        q = self.parse(text, exact_names)
        filter_q = self.filter_query(filters)
        searcher = self.searcher()
        ids = self.facet_table(searcher).ids
        with self.reading() as conn:
            stale, unindexed = self.stale_docs(searcher, conn)
        docnums = self._matches(searcher, wq.And([q, filter_q]) if filter_q else q, stale, deadline)
        return [ids[d] for d in docnums], unindexed

    def facet_counts(
        self, ids: list[str] | None = None, having: dict[str, str] | None = None
    ) -> dict[str, dict[str, int]] | None:
        """Each facet's counts over these testimonies (every one the archive holds, when None) that have
        each value in `having` (facet name -> value), from the index's facet table: what the plugin shows
        on the testimonies table page instead of Datasette's SQL (a DISTINCT over whole rows for each array
        column, which times out at archive scale). None when the index does not cover the database as it
        is (a writer is between its two stores): then the caller counts in SQL. Stale documents are left
        out, as every search leaves them out."""
        searcher = self.searcher()
        table = self.facet_table(searcher)
        with self.reading() as conn:
            stale, unindexed = self.stale_docs(searcher, conn)
        if unindexed:
            return None
        live = self._live_docnums(searcher, table)
        if ids is None:
            docnums = [d for d in live.values() if d not in stale]
        else:
            docnums = [d for d in (live.get(i) for i in dict.fromkeys(ids)) if d is not None and d not in stale]
        for name, label in (having or {}).items():
            docnums = table.having(docnums, name, label)
        return table.count(docnums)

    def _live_docnums(self, searcher, table: FacetTable) -> dict[str, int]:
        """testimony id -> its live document, once per facet table (a deleted document's slot keeps its id)."""
        if self._live is None or self._live[0] is not table:
            ids = table.ids
            self._live = (table, {ids[d]: d for d in searcher.reader().all_doc_ids() if ids[d] is not None})
        return self._live[1]

    def matching_ids(self, text: str, filters=None, exact_names: bool = False) -> list[str]:
        return self.matching(text, filters, exact_names)[0]

    def search(
        self,
        text: str,
        filters: dict[str, list[str]] | None = None,
        sort: str = "relevance",
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        exact_names: bool = False,
    ) -> SearchResult:
        started = time.perf_counter()
        deadline = time.monotonic() + self.budget.time_limit
        if sort not in SORTS:
            raise SearchError(f"Unknown sort {sort!r}: use {' or '.join(SORTS)}.")
        page = max(1, int(page))
        page_size = min(max(1, int(page_size)), MAX_PAGE_SIZE)
        q = self.parse(text, exact_names)
        filter_q = self.filter_query(filters)
        searcher = self.searcher()
        by_date = sort == "date" or isinstance(q, wq.Every)
        sortedby = {"sortedby": "date", "reverse": True} if by_date else {}
        with self.reading() as conn:
            stale, unindexed = self.stale_docs(searcher, conn)
            # One pass: every match scored (or sorted) once, less what SQLite does not hold as the index has
            # it. The total, the facets and the page all come from it, and the ranking is exact: Whoosh's
            # top-N shortcut (block-quality skipping) put a lower-scoring hit first in 4 of 94 benchmark
            # queries, and a second, unscored pass for the facets cost more than scoring everything.
            results = self._ranked(searcher, q, None, filter_q, stale, sortedby, deadline)
            docnums = [docnum for _, docnum in results.top_n]
            page = min(page, max(1, -(-len(docnums) // page_size)))  # past the end: the last page
            facets = self.facet_table(searcher).count(docnums)
            page_hits = results[(page - 1) * page_size : page * page_size]
            rows = store.testimonies(conn, [hit["id"] for hit in page_hits])
        query_words = self.query_words(text)
        text_terms = self.text_terms(q, searcher)
        hits = [
            self._hit(hit, rows[hit["id"]], text_terms, query_words, exact_names)
            for hit in page_hits
            if hit["id"] in rows  # masked above; only a writer that bypasses the generation could miss
        ]
        return SearchResult(
            query=text,
            total=len(docnums),
            hits=hits,
            facets=facets,
            page=page,
            page_size=page_size,
            sort=sort,
            filters={k: list(v) for k, v in (filters or {}).items()},
            exact_names=exact_names,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            unindexed=unindexed,
        )

    def _matches(self, searcher, q, stale: set[int], deadline: float) -> list[int]:
        """Every matching document (unranked), less the stale ones, within the time limit."""
        found = []
        try:
            for count, docnum in enumerate(searcher.docs_for_query(_clocked(q, deadline))):
                if not count % 256 and time.monotonic() > deadline:
                    raise TimeLimit
                if docnum not in stale:
                    found.append(docnum)
        except TimeLimit:
            raise self._timed_out() from None
        return found

    def _ranked(self, searcher, q, limit: int | None, filter_q, stale: set[int], sortedby: dict, deadline: float):
        """The top `limit` hits (every one, when None), ranked or sorted by date, honouring the filter and
        the stale mask."""
        collector = _InTime(searcher.collector(limit=limit, **sortedby), filter_q, stale, deadline)
        try:
            searcher.search_with_collector(_clocked(q, deadline), collector)
        except TimeLimit:
            raise self._timed_out() from None
        return collector.results()

    def _timed_out(self) -> SearchTimeout:
        return SearchTimeout(
            f"The query took longer than its limit of {self.budget.time_limit:g} s and was stopped: make it more "
            "specific (fewer prefixes, a shorter phrase, a filter)."
        )

    @staticmethod
    def query_words(text: str) -> list[str]:
        """The plain words of a query that could be names: no operators, non-name fields or wildcards."""
        cleaned = re.sub(r"\b(?!speaker:|subject:|name:)[A-Za-z_]+:(\"[^\"]*\"|\[[^\]]*\]|\S+)", " ", text or "")
        cleaned = re.sub(r"\b(speaker|subject|name):", " ", cleaned)
        out = []
        for token in re.split(r"[\s()\"]+", cleaned):
            if not token or token in OPERATORS or token.endswith(("*", "~")) or "*" in token or "?" in token:
                continue
            out.extend(names.words(token))
        return out

    @staticmethod
    def _hit(hit, testimony: store.Testimony, text_terms, query_words: list[str], exact_names: bool) -> dict:
        t = testimony
        return {
            "id": t.id,
            "speaker": t.speaker.name,
            "speaker_is_pseudonym": t.speaker.is_pseudonym,
            "speaker_display": t.speaker.display,
            "role": t.role,
            **_snippet_fields(snippets.snippet(t.text, text_terms, t.language)),
            "source_title": t.source_title,
            "publisher": t.publisher,
            "published": t.published,
            "date": t.date,
            "language": t.language,
            "subjects": [subject.to_dict() for subject in t.subjects],
            "score": round(hit.score, 4) if hit.score is not None else None,
            "matched_names": [] if not query_words else matched_names(query_words, t, exact_names),
        }

    @staticmethod
    def text_terms(q, searcher) -> dict[str, set[str]]:
        """The query's terms in the text fields, prefixes and fuzzy terms expanded to the words they match."""
        terms: dict[str, set[str]] = {}
        reader = searcher.reader()
        for fieldname, term in (pair for leaf in q.leaves() for pair in leaf.expanded_terms(reader)):
            if fieldname == "text" or fieldname.startswith("text_"):
                terms.setdefault(fieldname, set()).add(term.decode("utf-8") if isinstance(term, bytes) else term)
        return terms


class ArchivePool:
    """Several `Archive`s over one database and index (each with its own Whoosh searcher, which one thread
    at a time may use), for a server: a slow query holds one of them while the others keep answering.
    Waiting for a free one is bounded by `wait` seconds; then SearchBusy (the server answers 503)."""

    def __init__(
        self, db_path: Path, index_dir: Path, size: int = 4, wait: float = 1.0, budget: Budget = DEFAULT_BUDGET
    ):
        self.wait = wait
        self._free: queue.LifoQueue[Archive] = queue.LifoQueue()
        for _ in range(max(1, size)):
            self._free.put(Archive(db_path, index_dir, budget))

    def call(self, method: str, *args, **kwargs):
        """archive.method(*args, **kwargs) on a free archive (call it from a worker thread)."""
        try:
            archive = self._free.get(timeout=self.wait)
        except queue.Empty:
            raise SearchBusy("every searcher is busy: try again in a moment") from None
        try:
            return getattr(archive, method)(*args, **kwargs)
        finally:
            self._free.put(archive)


def _snippet_fields(snippet: snippets.Snippet) -> dict:
    """A hit's snippet three ways: `snippet` as escaped HTML with `<mark>` (the web's), `snippet_text` and
    `marks` ([start, end] character spans in it) for any other renderer, such as the CLI's."""
    return {"snippet": snippet.html(), "snippet_text": snippet.text, "marks": [list(mark) for mark in snippet.marks]}


def matched_names(query_words: list[str], testimony: store.Testimony, exact_names: bool) -> list[dict]:
    """Which query word matched which stored name, and by which rule (see search.names.match_rule).

    Pseudonyms only ever match as written (exact or accent-folded): a pseudonym is never tied to
    somebody else's name by a spelling rule.
    """
    people = [("speaker", testimony.speaker)] + [("subject", s.person) for s in testimony.subjects if s.person]
    literal = {"exact", "accents"}
    found = []
    for role, person in people:
        for query_word, stored_word, rule in names.explain(" ".join(query_words), person.name):
            if (exact_names or person.is_pseudonym) and rule not in literal:
                continue
            entry = {
                "query": query_word,
                "name": person.display,
                "matched_word": stored_word,
                "field": role,
                "rule": rule,
            }
            if entry not in found:
                found.append(entry)
    return found


def search(db_path, index_dir=None, text: str = "", budget: Budget = DEFAULT_BUDGET, **options) -> SearchResult:
    """One-shot search (opens and closes the archive)."""
    archive = Archive(db_path, index_dir, budget)
    try:
        return archive.search(text, **options)
    finally:
        archive.close()
