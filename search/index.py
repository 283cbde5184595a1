"""The Whoosh index: schema, analysis, and keeping it in step with SQLite.

Everything that knows Whoosh's index-side API lives here (the query side is in `search.api`), so
the engine could be swapped without touching ingest, the CLI or the Datasette plugin.

The index is derived: SQLite is the source of truth and `rebuild` recreates the index from it.
Bodies are not stored (snippets are cut from the SQLite text); each document stores only its
testimony id and content hash, which is enough to tell whether index and database agree.

Generations: every committed SQLite change moves `archive_meta.generation` on; after each index commit
the generation it reflects is written to `<index>/GENERATION`. A crash between the two stores leaves
them different, and `Updater.catch_up` (run at the start of every ingest) repairs the index from SQLite.
"""

import datetime
import glob
import marshal
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlite_utils
from sqlite_utils.utils import chunks
from testimony_archive.ingest import store
from testimony_archive.ingest.vocabulary import FACETS
from whoosh import index as whoosh_index
from whoosh.analysis import CommaSeparatedTokenizer, Filter, LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.columns import VarBytesColumn
from whoosh.fields import BOOLEAN, COLUMN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.formats import Positions
from whoosh.lang import has_stemmer, stemmer_for_language
from whoosh.system import pack_uint
from whoosh.writing import LockError

from .names import fold, variant_key, words
from .writing import BULK_DOCUMENTS, new_writer

INDEX_NAME = "testimonies"
GENERATION_FILE = "GENERATION"
VERSION_FILE = "VERSION"
# Bump when the schema or analysis changes: an index of another version is rebuilt, never mixed.
INDEX_VERSION = 7
# The VERSION file: the version, then the facet layout (an index whose records follow another FACETS order is
# another version, and rebuilt).
VERSION_TEXT = f"{INDEX_VERSION}\n{','.join(FACETS)}"
LOCK_TIMEOUT = store.LOCK_TIMEOUT  # one wait for every writer's lock, the archive's and the index's
BATCH = 1000

# Han, kana and Hangul runs are cut into overlapping bigrams (the usual choice for CJK without a
# dictionary); every other run of word characters is one token.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
TOKEN_PATTERN = rf"[{CJK}]+|[^\W{CJK}]+(?:\.[^\W{CJK}]+)*"
CJK_RUN = re.compile(rf"[{CJK}]+")
NAME_PATTERN = r"[^\W_]+(?:['’ʼ][^\W_]+)*"

# Languages Whoosh has a stemmer for; each gets a `text_<lang>` field holding the texts in that language.
STEM_LANGUAGES = tuple(
    lang
    for lang in ("ar", "da", "de", "en", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "ro", "ru", "sv", "tr")
    if has_stemmer(lang)
)


class IndexBusy(Exception):
    """Another process holds the index's write lock."""

    def __init__(self, index_dir: Path, timeout: float):
        super().__init__(f"the index at {index_dir} is locked by another process (waited {timeout:.0f} s)")


class FoldFilter(Filter):
    """Case and accent folding (Oğuz and Oguz index alike) through `search.names.fold`."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = fold_word(token.text)
            if token.text:
                yield token


class CJKBigramFilter(Filter):
    """Cut CJK runs into overlapping bigrams, keeping positions and character offsets right."""

    def __call__(self, tokens):
        shift = 0
        for token in tokens:
            text = token.text
            if len(text) > 2 and CJK_RUN.fullmatch(text):  # see also search.snippets
                start, pos = getattr(token, "startchar", 0), getattr(token, "pos", 0)
                for offset in range(len(text) - 1):
                    token.text = text[offset : offset + 2]
                    if token.positions:
                        token.pos = pos + shift + offset
                    if token.chars:
                        token.startchar, token.endchar = start + offset, start + offset + 2
                    yield token
                shift += len(text) - 2
            else:
                if token.positions and shift:
                    token.pos += shift
                yield token


@lru_cache(maxsize=200_000)
def fold_word(word: str) -> str:
    """`fold`, cached: the same few thousand words make up most of any text."""
    return fold(word)


@lru_cache(maxsize=200_000)
def stem_key(lang: str, word: str) -> str:
    """What `stem_analyzer(lang)` makes of one word (lower case, stem, fold), for the snippet highlighter."""
    return fold(stemmer_for_language(lang)(word.lower()))


def text_analyzer():
    return RegexTokenizer(TOKEN_PATTERN) | FoldFilter() | CJKBigramFilter()


def stem_analyzer(lang: str):
    # No stop-word filter: plain words are searched only here (not also in `text`), so a query
    # `still in prison` must find "in" in English texts too.
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | StemFilter(lang=lang, cachesize=50000) | FoldFilter()


def name_analyzer():
    return RegexTokenizer(NAME_PATTERN) | FoldFilter()


_TOKEN = re.compile(TOKEN_PATTERN)
_last_words: tuple[str | None, list[str]] = (None, [])  # the text last read, and its words


def text_words(value: str) -> list[str]:
    """The words RegexTokenizer(TOKEN_PATTERN) finds in `value`, found once for the two fields that index it
    (`text` and its stemmed or `text_other` field come one after the other in a document: Whoosh adds fields
    in name order; both are given the same str object, see `document`). One tuple, replaced whole: a thread
    reading it never sees one text's words under another text."""
    global _last_words
    last = _last_words
    if last[0] is not value:
        last = _last_words = (value, _TOKEN.findall(value))
    return last[1]


class TextField(TEXT):
    """A TEXT field whose postings are made straight from the words of the text, without Whoosh's chain of
    token objects: the same postings, byte for byte, as its analyzer gives (tests/test_writing.py), for about
    a quarter of the time, and the words are found once for both fields of a text. The analyzer stays, for
    queries and highlights. `stem`: the language of a stemmed field (Frequency postings of stemmed words);
    else exact words, CJK runs in bigrams, with positions when `phrase`.

    The postings being the same, INDEX_VERSION did not change: an index built before this class keeps its
    TEXT fields (Whoosh writes with the schema stored in the index) and is not rebuilt for it."""

    def __init__(self, stem: str | None = None, phrase: bool = True, **kwargs):
        analyzer = stem_analyzer(stem) if stem else text_analyzer()
        super().__init__(analyzer=analyzer, phrase=phrase, multitoken_query="phrase", **kwargs)
        self.stem = stem

    def index(self, value, **kwargs):
        if not isinstance(value, str) or kwargs:
            yield from super().index(value, **kwargs)
            return
        boost = self.format.field_boost
        if self.stem:
            counts: dict[str, int] = {}
            for word in text_words(value):
                key = stem_key(self.stem, word)
                if key:
                    counts[key] = counts.get(key, 0) + 1
            for key, count in counts.items():
                yield key.encode("utf-8"), count, count * boost, pack_uint(count)
            return
        positions: dict[str, list[int]] = {}
        shift = 0
        for pos, word in enumerate(text_words(value)):  # as FoldFilter, then CJKBigramFilter
            folded = fold_word(word)
            if not folded:
                continue
            if len(folded) > 2 and CJK_RUN.fullmatch(folded):
                for offset in range(len(folded) - 1):
                    positions.setdefault(folded[offset : offset + 2], []).append(pos + shift + offset)
                shift += len(folded) - 2
            else:
                positions.setdefault(folded, []).append(pos + shift)
        with_positions = isinstance(self.format, Positions)
        for key, found in positions.items():
            count = len(found)
            encoded = self.format.encode(found) if with_positions else pack_uint(count)
            yield key.encode("utf-8"), count, count * boost, encoded


def build_schema() -> Schema:
    fields = {
        "id": ID(stored=True, unique=True),
        "content_hash": STORED(),
        # Every text, unstemmed, with positions: phrases, prefixes, fuzzy terms and `text:` queries.
        "text": TextField(phrase=True),
        # Plain words look in exactly one field per text: `text_<lang>` (stemmed) where Whoosh has a
        # stemmer for the text's language, else this one, so no document is matched twice.
        "text_other": TextField(phrase=False),
        "speaker": TEXT(analyzer=name_analyzer(), phrase=True, field_boost=2.0, multitoken_query="phrase"),
        "subject": TEXT(analyzer=name_analyzer(), phrase=True, field_boost=1.5, multitoken_query="phrase"),
        # Spelling-variant keys of non-pseudonymous names only: a pseudonym matches as written, never as a
        # variant of somebody else's real name.
        "speaker_variant": KEYWORD(lowercase=False, scorable=True),
        "subject_variant": KEYWORD(lowercase=False, scorable=True),
        "title": TEXT(analyzer=text_analyzer(), phrase=True, multitoken_query="phrase"),
        "publisher": TEXT(analyzer=name_analyzer(), phrase=True, multitoken_query="phrase"),
        "location": TEXT(analyzer=name_analyzer(), phrase=True, multitoken_query="phrase"),
        # Folded like every other word, so tag:Türkiye finds Türkiye (indexed as turkiye).
        "tag": TEXT(analyzer=CommaSeparatedTokenizer() | FoldFilter(), phrase=False, multitoken_query="and"),
        "role": ID,
        "status": KEYWORD(lowercase=True),
        "relationship": KEYWORD(lowercase=True),
        "language": ID,
        "publisher_exact": ID,
        "pseudonym": BOOLEAN,
        "year": NUMERIC(int, bits=32, signed=False),
        # Dates as calendar tokens (2019, 2019-04, 2019-04-02) for queries; a range becomes a few of these
        # terms (see search.api) instead of Whoosh's numeric tiers, which are slow to union in Python.
        "date_parts": KEYWORD(lowercase=False),
        "published_parts": KEYWORD(lowercase=False),
        "date": DATETIME(sortable=True),
        # Never filled: it is here so the query parser reads published:2025-03 as a date range, which
        # search.api then answers from published_parts.
        "published": DATETIME(),
        "facets": COLUMN(VarBytesColumn()),
    }
    for lang in STEM_LANGUAGES:
        # No positions: phrases are answered from `text` (see search.api._one_field_per_text).
        fields[f"text_{lang}"] = TextField(stem=lang, phrase=False)
    return Schema(**fields)


def stemmed_field(language: str | None) -> str | None:
    base = (language or "").split("-")[0].lower()
    return f"text_{base}" if base in STEM_LANGUAGES else None


def index_dir_for(db_path: Path | str) -> Path:
    """The default index folder: beside the database, `<db>.whoosh` (beside the file a symlink leads to,
    so one archive has one index however its path is spelled)."""
    path = Path(db_path)
    return Path(f"{path.resolve() if path.is_symlink() else path}.whoosh")


def exists(index_dir: Path) -> bool:
    """Whether an index is there (sound or not: opening it is what tells a corrupt one)."""
    return any(Path(index_dir).glob(f"_{INDEX_NAME}_*.toc"))


def open_or_create(index_dir: Path):
    index_dir = Path(index_dir)
    if exists(index_dir):
        return whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)
    index_dir.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(index_dir), build_schema(), indexname=INDEX_NAME)
    _write_file(index_dir / VERSION_FILE, VERSION_TEXT)
    return ix


def open_index(index_dir: Path):
    """Open an existing index (for searching); FileNotFoundError when there is none or it is outdated."""
    if not exists(index_dir):
        raise FileNotFoundError(f"no search index at {index_dir} (run `testimony reindex`)")
    if read_version(index_dir) != INDEX_VERSION:
        raise FileNotFoundError(f"the search index at {index_dir} is from another version (run `testimony reindex`)")
    return whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)


@contextmanager
def writer(index_dir: Path, timeout: float = LOCK_TIMEOUT, bulk: bool = False, **options):
    """A Whoosh writer that commits on success and cancels on any error, waiting `timeout` for the lock.

    `bulk`: many documents are coming; use the multiprocess writer (`search.writing.BulkWriter`)."""
    ix = open_or_create(index_dir)
    try:
        w = new_writer(ix, bulk=bulk, timeout=timeout, **options)
    except LockError:
        raise IndexBusy(index_dir, timeout) from None
    try:
        yield w
    except BaseException:
        w.cancel()
        raise
    else:
        w.commit()
    finally:
        ix.close()


def read_version(index_dir: Path) -> int | None:
    """The version of the code that built the index; None when unknown, or when its facet records were
    laid out for another FACETS (they are read by position: see `facet_record`)."""
    try:
        version, _, layout = (Path(index_dir) / VERSION_FILE).read_text().strip().partition("\n")
        return int(version) if layout == ",".join(FACETS) else None
    except (OSError, ValueError):
        return None


def current(index_dir: Path) -> bool:
    """An index exists and was built by this version of the code."""
    return exists(index_dir) and read_version(index_dir) == INDEX_VERSION


def read_generation(index_dir: Path) -> int | None:
    try:
        return int((Path(index_dir) / GENERATION_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def write_generation(index_dir: Path, generation: int) -> None:
    """Atomically record which SQLite generation the index reflects."""
    _write_file(Path(index_dir) / VERSION_FILE, VERSION_TEXT)
    _write_file(Path(index_dir) / GENERATION_FILE, generation)


def _write_file(target: Path, value) -> None:
    tmp = target.with_suffix(".tmp")
    tmp.write_text(f"{value}\n")
    os.replace(tmp, target)


# -- documents ---------------------------------------------------------------------------------------


def _as_datetime(partial: str | None) -> datetime.datetime | None:
    if not partial:
        return None
    parts = [int(p) for p in str(partial).split("-")] + [1, 1]
    return datetime.datetime(parts[0], parts[1], parts[2])


def date_parts(partial: str | None) -> str:
    """'2019-04-02' -> '2019 2019-04 2019-04-02': every precision the date has."""
    if not partial:
        return ""
    parts = str(partial).split("-")
    return " ".join("-".join(parts[: n + 1]) for n in range(len(parts)))


def _variant_keys(names: Iterable[tuple[str, int]]) -> str:
    keys = {variant_key(word) for name, is_pseudonym in names if not is_pseudonym for word in words(name)}
    return " ".join(sorted(k for k in keys if k))


def _comma_list(values: Iterable[str]) -> str:
    return ",".join(v.replace(",", " ") for v in values)


def documents(db: sqlite_utils.Database, testimony_ids: list[str] | None = None) -> Iterator[dict]:
    """Whoosh documents for the given testimonies (all when None), read from the store in batches."""
    ids = store.testimony_ids(db) if testimony_ids is None else list(testimony_ids)
    for batch in chunks(ids, BATCH):
        for testimony in store.testimonies(db, batch).values():
            yield document(testimony)


def facet_record(t: store.Testimony) -> tuple:
    """What search counts facets with, one tuple a document: its id and content hash, then each of
    vocabulary.FACETS in order (a tuple for the ones with many values). Stored with `marshal`: the
    stdlib's fastest exact encoding of plain values (7 times json.loads to read back, measured at 100,000
    records), read once per searcher. The index is trusted local data, as Whoosh's own pickled TOC is."""
    values = {
        "role": t.role,
        "status": t.statuses,
        "relationship": t.relationships,
        "publisher": t.publisher,
        "tags": t.tags,
        "year": t.year,
        "language": t.language,
        "pseudonym": "yes" if t.speaker.is_pseudonym else "no",
    }
    return (t.id, t.content_hash, *(values[name] for name in FACETS))


def document(testimony: store.Testimony) -> dict:
    """One testimony as a Whoosh document."""
    t = testimony
    subjects = [(s.person.name, s.person.is_pseudonym) for s in t.subjects if s.person]
    date = t.date or t.published
    doc = {
        "id": t.id,
        "content_hash": t.content_hash,
        "text": t.text,
        "speaker": t.speaker.name,
        "subject": "\n".join(name for name, _ in subjects),
        "speaker_variant": _variant_keys([(t.speaker.name, t.speaker.is_pseudonym)]),
        "subject_variant": _variant_keys(subjects),
        "title": t.source_title,
        "publisher": t.publisher,
        "publisher_exact": t.publisher,
        "location": t.location or "",
        "tag": _comma_list(t.tags),
        "role": t.role or "",
        "status": " ".join(t.statuses),
        "relationship": " ".join(t.relationships),
        "language": t.language,
        "pseudonym": t.speaker.is_pseudonym,
        "year": t.year,
        "date": _as_datetime(date),
        "date_parts": date_parts(date),
        "published_parts": date_parts(t.published),
        "facets": marshal.dumps(facet_record(t)),
    }
    doc[stemmed_field(t.language) or "text_other"] = t.text
    return {key: value for key, value in doc.items() if value is not None}


# -- keeping the index in step ---------------------------------------------------------------------


class Updater:
    """Hold the index's write lock for a whole run and apply the testimonies the run changed.

    `bulk`: the run brings many testimonies (see `search.writing.BulkWriter`).

    Taking the lock first means a second ingest waits (then fails clearly) before it writes anything.
    On a clean exit the index is committed and stamped with the database's generation; on an error it
    is cancelled, and the next `catch_up` repairs whatever SQLite committed meanwhile.
    """

    def __init__(self, db: sqlite_utils.Database, index_dir: Path, timeout: float = LOCK_TIMEOUT, bulk: bool = False):
        self.db, self.index_dir, self.timeout, self.bulk = db, Path(index_dir), timeout, bulk
        self.generation = None  # the database generation the index reflects once this writer commits

    def __enter__(self):
        self._writer = writer(self.index_dir, self.timeout, bulk=self.bulk)
        self.w = self._writer.__enter__()
        self.generation = store.generation(self.db)
        return self

    def applied(self, generation: int | None) -> None:
        """The changes of this database generation are in the writer. Generations are stamped only while
        they follow one another: a change some other writer made in between leaves the stamp behind the
        database, so search keeps masking and the next `catch_up` repairs it."""
        if generation is not None and generation == self.generation + 1:
            self.generation = generation

    def add(self, testimony_ids: list[str]) -> None:
        """Testimonies new to the archive (so not in the index: `catch_up` ran first) or just deleted."""
        for doc in documents(self.db, testimony_ids):
            self.w.add_document(**doc)

    def replace(self, testimony_ids: list[str]) -> None:
        # Not update_document: it deletes only the first document holding the id, so a duplicate survives.
        self.delete(testimony_ids)
        self.add(testimony_ids)

    def delete(self, testimony_ids: list[str]) -> None:
        for testimony_id in testimony_ids:
            self.w.delete_by_term("id", testimony_id)

    def catch_up(self, force: bool = False) -> int:
        """Repair what a crash between the two stores left behind; returns how many documents it fixed.

        Cheap when nothing happened: the generations match and nothing is read.
        """
        self.generation = store.generation(self.db)
        if not force and read_generation(self.index_dir) == self.generation:
            return 0
        differences = diff(self.db, self.index_dir)
        self.replace(differences["missing"] + differences["outdated"] + differences["duplicated"])
        self.delete(differences["stale"])
        return sum(len(v) for v in differences.values())

    def __exit__(self, *exc_info):
        self._writer.__exit__(*exc_info)
        if exc_info[0] is None:
            write_generation(self.index_dir, self.generation)
        return False


def indexed_hashes(index_dir: Path) -> dict[str, list[str]]:
    """testimony id -> content hashes stored in the index (more than one means a duplicate)."""
    ix = open_index(index_dir)
    out: dict[str, list[str]] = {}
    with ix.searcher() as searcher:
        for fields in searcher.all_stored_fields():
            out.setdefault(fields["id"], []).append(fields.get("content_hash"))
    ix.close()
    return out


def diff(db: sqlite_utils.Database, index_dir: Path) -> dict[str, list[str]]:
    """What differs between SQLite and the index: missing, stale, outdated and duplicated documents."""
    in_db = store.content_hashes(db)
    in_index = indexed_hashes(index_dir)
    return {
        "missing": sorted(set(in_db) - set(in_index)),
        "stale": sorted(set(in_index) - set(in_db)),
        "outdated": sorted(
            i for i in set(in_db) & set(in_index) if in_index[i] != [in_db[i]] and len(in_index[i]) == 1
        ),
        "duplicated": sorted(i for i, hashes in in_index.items() if len(hashes) > 1),
    }


def repair(db: sqlite_utils.Database, index_dir: Path, timeout: float = LOCK_TIMEOUT) -> int:
    """Bring the index in line with SQLite: incrementally when it opens, else by a rebuild swapped in."""
    if not exists(index_dir):
        return rebuild(db, index_dir)
    try:
        with Updater(db, index_dir, timeout) as updater:
            return updater.catch_up(force=True)
    except IndexBusy:
        raise
    except Exception:  # noqa: BLE001 - an index that cannot be read or written is rebuilt from SQLite
        return rebuild(db, index_dir)


def hold_lock(index_dir: Path, timeout: float = LOCK_TIMEOUT):
    """Take the index's write lock itself (as a writer would), so no writer runs while it is replaced."""
    lock = FileStorage(str(index_dir)).lock(f"{INDEX_NAME}_WRITELOCK")
    deadline = time.monotonic() + timeout
    while not lock.acquire(blocking=False):
        if time.monotonic() > deadline:
            raise IndexBusy(index_dir, timeout)
        time.sleep(0.1)
    return lock


def rebuild(
    db: sqlite_utils.Database, index_dir: Path, progress=None, timeout: float = LOCK_TIMEOUT, locked: bool = False
) -> int:
    """Build a fresh index from SQLite in a temporary folder and swap it in; returns the document count.

    `locked`: the caller already holds the index's lock (see `hold_lock`)."""
    index_dir = Path(index_dir).absolute()
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    guard = hold_lock(index_dir, timeout) if exists(index_dir) and not locked else None
    build_dir = new_build_dir(index_dir)
    try:
        count = build(db, build_dir, progress)
        swap_in(build_dir, index_dir)
    finally:
        if guard is not None:
            guard.release()
        if build_dir.exists():
            shutil.rmtree(build_dir, ignore_errors=True)
    return count


def new_build_dir(index_dir: Path) -> Path:
    """An empty folder beside the index (same file system, so the swap is a rename)."""
    index_dir = Path(index_dir).absolute()
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.", dir=index_dir.parent))


def build(db: sqlite_utils.Database, build_dir: Path, progress=None) -> int:
    """Index every testimony of `db` into the empty folder `build_dir`, stamped with the generation read
    before the first row (a change made meanwhile leaves the stamp behind: masked, then repaired)."""
    generation = store.generation(db)
    ids = store.testimony_ids(db)
    count = 0
    with writer(build_dir, bulk=len(ids) >= BULK_DOCUMENTS) as w:
        for doc in documents(db, ids):
            w.add_document(**doc)
            count += 1
            if progress:
                progress(1)
    write_generation(build_dir, generation)
    return count


def swap_in(build_dir: Path, index_dir: Path) -> None:
    """Put a built index in place of the old one (two renames; searchers reopen on the new GENERATION).

    Every old index set aside beside it goes too, also one a killed process left between the renames and
    the removal: after a takedown, no old segment with a removed text's terms may stay on disk."""
    index_dir = Path(index_dir).absolute()
    if index_dir.exists():
        os.replace(index_dir, index_dir.with_name(f".{index_dir.name}.old.{os.getpid()}"))
    os.replace(build_dir, index_dir)
    for old_dir in index_dir.parent.glob(f".{glob.escape(index_dir.name)}.old.*"):
        shutil.rmtree(old_dir, ignore_errors=True)


def remove_leftovers(index_dir: Path) -> None:
    """Build folders and old indexes a killed process left beside `index_dir` (see `new_build_dir` and
    `swap_in`). Only for a caller that holds the archive's writer lock: no build of its own is running."""
    index_dir = Path(index_dir).absolute()
    for leftover in index_dir.parent.glob(f".{glob.escape(index_dir.name)}.*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def doc_count(index_dir: Path) -> int | None:
    if not exists(index_dir):
        return None
    ix = open_index(index_dir)
    try:
        return ix.doc_count()
    finally:
        ix.close()
