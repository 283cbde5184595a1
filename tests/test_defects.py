"""Issue 17's defects, one test (or a few) each: every test here failed before its fix.

#2 the takedown report named an index folder as an archive; #3 rebuilding an outdated index ignored
--lock-timeout; #7 exclusive date ranges, quoted dates and `pseudonym:` values; #9 the Updater stamped a
generation it had not applied; #10 an old index a killed rebuild left behind; #11 a busy WAL checkpoint
passed silently.
"""

import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlite_utils
from testimony_archive.ingest import crypto, load, store
from testimony_archive.ingest.cli import app
from testimony_archive.ingest.vocabulary import NO, YES
from testimony_archive.search import api as search_api
from testimony_archive.search import index as search_index

from .conftest import DATA, ROOT, rows, write

TESTIMONY = [sys.executable, "-m", "testimony_archive.ingest.cli"]


def invoke(runner, *args):
    return runner.invoke(app, [str(arg) for arg in args])


def one_testimony(marker: str, published: str = "2024") -> str:
    return f"""\
source:
  title: A source about {marker}
  publisher: Test Rights Group
  published: {published}
testimonies:
  - speaker: Aziz
    role: family
    text: My brother {marker} was detained.
"""


def start_python(code: str, *args) -> subprocess.Popen:
    """Another real process running `code`; it prints one line when it is where the test needs it."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen, expected: str) -> None:
    line = process.stdout.readline().strip()
    assert line == expected, f"the helper process said {line!r}: {process.stderr.read() if not line else ''}"


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


# -- #2: the takedown report names the archives it reached ------------------------------------------


def test_the_takedown_report_names_the_archives_it_reached_never_an_index_folder(runner, tmp_path):
    full, public = tmp_path / "a.db", tmp_path / "public.db"
    assert invoke(runner, "ingest", DATA, "--db", full).exit_code == 0
    assert invoke(runner, "publish", "--db", full).exit_code == 0
    testimony = rows(full, "select id from testimonies where text like 'I was held for fourteen months%'")[0]["id"]

    result = invoke(runner, "takedown", testimony, "--reason", "family asked", "--db", full)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Took down 1 testimony from 1 public copy ({public}), then the full archive ({full}).\n"

    other = rows(full, "select id from testimonies where text like 'Six of my relatives%'")[0]["id"]
    result = invoke(runner, "takedown", other, "--reason", "family asked", "--db", full, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # The archives under "path", each index under "index", beside its archive: never one for the other.
    assert report["full"] == {"path": str(full), "index": f"{full}.whoosh"}
    assert report["copies"] == [{"path": str(public), "index": f"{public}.whoosh", "status": "done", "reason": None}]
    assert (report["testimonies"], report["also_matching"], report["complete"]) == ([other], {}, True)


# -- #3: rebuilding an outdated index waits only --lock-timeout ---------------------------------------

HOLD_THE_INDEX_LOCK = """
import sys, time
from testimony_archive.search import index as search_index
lock = search_index.hold_lock(sys.argv[1], timeout=5)
print("locked", flush=True)
time.sleep(120)
"""


def test_an_outdated_index_is_rebuilt_within_the_lock_timeout(runner, sample_copy, tmp_path):
    index_dir = Path(f"{sample_copy}.whoosh")
    (index_dir / search_index.VERSION_FILE).write_text(f"{search_index.INDEX_VERSION - 1}\n")
    assert not search_index.current(index_dir)
    before = rows(sample_copy, "select id from testimonies order by id")
    new_file = write(tmp_path / "new.yml", one_testimony("Zqlocked"))
    holder = start_python(HOLD_THE_INDEX_LOCK, index_dir)
    try:
        wait_for_line(holder, "locked")
        started = time.monotonic()
        result = invoke(runner, "ingest", new_file, "--db", sample_copy, "--lock-timeout", "1")
        waited = time.monotonic() - started
    finally:
        stop(holder)
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: the index at {index_dir} is locked by another process (waited 1 s); is another ingest, "
        "takedown or publish running?\n"
    )
    # A bound far from both 1 s and the default 30 s: the timeout is the one given, not the default.
    assert 1 <= waited < 15
    assert rows(sample_copy, "select id from testimonies order by id") == before


# -- #7: the query language: date ranges, quoted dates, pseudonym values ----------------------------


@pytest.fixture(scope="module")
def archive(sample_archive):
    opened = search_api.Archive(sample_archive)
    yield opened
    opened.close()


def period(partial: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day a partial date (YYYY, YYYY-MM or YYYY-MM-DD) stands for."""
    parts = [int(p) for p in partial.split("-")]
    first = datetime.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    if len(parts) == 3:
        return first, first
    if len(parts) == 2:
        following = datetime.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return first, following - datetime.timedelta(days=1)
    return first, datetime.date(first.year, 12, 31)


def within(field: str, first: str | None, last: str | None):
    """The oracle for a date range: a row matches when the whole of its (partial) date is in the range;
    `date` is the date the words were said, else the source's date."""
    low = datetime.date.fromisoformat(first) if first else datetime.date.min
    high = datetime.date.fromisoformat(last) if last else datetime.date.max

    def matches(row) -> bool:
        start, end = period((row["date"] or row["published"]) if field == "date" else row["published"])
        return low <= start and end <= high

    return matches


def sample_rows(sample_archive):
    return rows(sample_archive, "select id, date, published, speaker_is_pseudonym from testimonies")


def found(archive, query: str) -> set[str]:
    result = archive.search(query, page_size=100)
    assert result.total == len(result.hits)
    return {hit["id"] for hit in result.hits}


# query -> (the same range written with inclusive ends, the oracle). `{` and `}` leave out the whole year,
# month or day they name; an open end stays open.
DATE_RANGES = {
    "date:{2023 TO 2025}": ("date:[2024 TO 2024]", within("date", "2024-01-01", "2024-12-31")),
    "date:[2024 TO 2025}": ("date:[2024 TO 2024]", within("date", "2024-01-01", "2024-12-31")),
    "date:{2024 TO 2025]": ("date:[2025 TO 2025]", within("date", "2025-01-01", "2025-12-31")),
    "date:{2024 TO 2025-08}": ("date:[2025-01 TO 2025-07]", within("date", "2025-01-01", "2025-07-31")),
    "date:{2025-01 TO 2025-08}": ("date:[2025-02 TO 2025-07]", within("date", "2025-02-01", "2025-07-31")),
    "date:{2025-08-02 TO 2025-08-28}": ("date:[2025-08-03 TO 2025-08-27]", within("date", "2025-08-03", "2025-08-27")),
    "date:{2025-08-02 TO 2025-08-28]": ("date:[2025-08-03 TO 2025-08-28]", within("date", "2025-08-03", "2025-08-28")),
    "date:{2025-08 TO}": ("date:[2025-09 TO]", within("date", "2025-09-01", None)),
    "date:{TO 2025}": ("date:[TO 2024]", within("date", None, "2024-12-31")),
    "published:{2024 TO 2025-11}": ("published:[2025-01 TO 2025-10]", within("published", "2025-01-01", "2025-10-31")),
}


@pytest.mark.parametrize("query", DATE_RANGES)
def test_an_exclusive_end_leaves_out_the_whole_period_it_names(archive, sample_archive, query):
    inclusive, oracle = DATE_RANGES[query]
    expected = {row["id"] for row in sample_rows(sample_archive) if oracle(row)}
    brackets = query.replace("{", "[").replace("}", "]")
    with_the_ends = {row["id"] for row in sample_rows(sample_archive) if DATE_RANGES_INCLUSIVE[brackets](row)}
    assert expected, f"the oracle finds nothing for {query}: a test that cannot fail"
    assert expected != with_the_ends, f"no sample row is at an end of {query}: a test that cannot fail"
    assert found(archive, query) == expected
    assert found(archive, inclusive) == expected
    assert found(archive, brackets) == with_the_ends


# The same ranges with both ends inclusive, each with its own oracle.
DATE_RANGES_INCLUSIVE = {
    "date:[2023 TO 2025]": within("date", "2023-01-01", "2025-12-31"),
    "date:[2024 TO 2025]": within("date", "2024-01-01", "2025-12-31"),
    "date:[2024 TO 2025-08]": within("date", "2024-01-01", "2025-08-31"),
    "date:[2025-01 TO 2025-08]": within("date", "2025-01-01", "2025-08-31"),
    "date:[2025-08-02 TO 2025-08-28]": within("date", "2025-08-02", "2025-08-28"),
    "date:[2025-08 TO]": within("date", "2025-08-01", None),
    "date:[TO 2025]": within("date", None, "2025-12-31"),
    "published:[2024 TO 2025-11]": within("published", "2024-01-01", "2025-11-30"),
}


def test_an_open_end_stays_open(archive):
    assert found(archive, "date:{TO 2025]") == found(archive, "date:[TO 2025]") == found(archive, "date:[TO]")
    assert len(found(archive, "date:[TO]")) == 22


def test_a_range_whose_exclusive_ends_leave_nothing_finds_nothing(archive):
    assert archive.search("date:{2024 TO 2025}").total == 0
    assert archive.search("date:{2025-08 TO 2025-08]").total == 0
    assert archive.search("date:[2025 TO 2024]").total == 0


@pytest.mark.parametrize(
    "quoted, plain",
    [
        ('date:"2024"', "date:2024"),
        ('date:"2025-08"', "date:2025-08"),
        ('date:"2025-08-28"', "date:2025-08-28"),
        ('published:"2025-03"', "published:2025-03"),
        ('date:"2024" AND pseudonym:"no"', "date:2024 AND pseudonym:no"),
    ],
)
def test_a_quoted_date_means_the_date(archive, quoted, plain):
    expected = found(archive, plain)
    assert expected, f"{plain} finds nothing: a test that cannot fail"
    assert found(archive, quoted) == expected


def test_a_quoted_value_that_is_no_date_is_a_clear_error(archive):
    with pytest.raises(search_api.SearchError, match="Could not understand the query.*Dates are written YYYY"):
        archive.search('date:"2025 08"')


@pytest.mark.parametrize("value", YES + NO + ("Yes", "NO", '"yes"'))
def test_each_yes_and_no_word_filters_on_pseudonyms(archive, sample_archive, value):
    wanted = 1 if value.strip('"').lower() in YES else 0
    expected = {row["id"] for row in sample_rows(sample_archive) if row["speaker_is_pseudonym"] == wanted}
    assert expected
    assert found(archive, f"pseudonym:{value}") == expected
    assert set(archive.matching_ids("", filters={"pseudonym": [value.strip('"')]})) == expected


ACCEPTED = "1, yes, true, on, 0, no, false or off"


@pytest.mark.parametrize(
    "query", ["pseudonym:maybe", "pseudonym:yes*", "pseudonym:yes~", 'pseudonym:"not sure"', "pseudonym:[no TO yes]"]
)
def test_a_pseudonym_value_other_than_yes_or_no_is_refused(archive, query):
    with pytest.raises(search_api.SearchError) as refused:
        archive.search(query)
    assert str(refused.value).endswith(f"pseudonym is yes or no ({ACCEPTED}).")


def test_a_pseudonym_filter_other_than_yes_or_no_is_refused(archive):
    with pytest.raises(search_api.SearchError) as refused:
        archive.search("", filters={"pseudonym": ["maybe"]})
    assert str(refused.value) == f"pseudonym=maybe: pseudonym is yes or no ({ACCEPTED})."


def test_the_cli_refuses_pseudonym_maybe_in_one_line(runner, sample_archive):
    result = invoke(runner, "search", "pseudonym:maybe", "--db", sample_archive)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: pseudonym:maybe: pseudonym is yes or no ({ACCEPTED}).\n"
    result = invoke(runner, "search", "camp", "--filter", "pseudonym=maybe", "--db", sample_archive)
    assert result.exit_code == 2
    assert result.stderr == f"Error: pseudonym=maybe: pseudonym is yes or no ({ACCEPTED}).\n"


# -- #9: the Updater stamps the generation it applied -----------------------------------------------


def test_the_updater_stamps_the_generation_it_applied_not_one_written_meanwhile(sample_copy, tmp_path):
    index_dir = Path(f"{sample_copy}.whoosh")
    key = crypto.load_key()
    mine = write(tmp_path / "mine.yml", one_testimony("Zqmine"))
    theirs = write(tmp_path / "theirs.yml", one_testimony("Zqtheirs", published="2023"))
    db = store.open_archive(sample_copy, store.WRITE, key)
    outsider = store.open_archive(sample_copy, store.WRITE, key)  # a writer that does not tell the index
    start = store.generation(db)
    assert search_index.read_generation(index_dir) == start
    with search_index.Updater(db, index_dir) as updater:
        written = store.write_file(db, load.read_file(mine), str(mine), key=key)
        updater.add(written.inserted)
        updater.applied(written.generation)
        meanwhile = store.write_file(outsider, load.read_file(theirs), str(theirs), key=key)
    assert (written.generation, meanwhile.generation) == (start + 1, start + 2)
    assert store.generation(db) == start + 2
    assert search_index.read_generation(index_dir) == start + 1

    # Search sees the stamp behind the database: it says what the index does not cover.
    result = search_api.search(sample_copy, index_dir, "zqmine OR zqtheirs")
    assert [hit["id"] for hit in result.hits] == written.inserted
    assert result.unindexed == len(meanwhile.inserted) == 1
    # And the next writer's catch_up repairs it.
    with search_index.Updater(db, index_dir) as updater:
        assert updater.catch_up() == 1
    assert search_index.read_generation(index_dir) == start + 2
    result = search_api.search(sample_copy, index_dir, "zqmine OR zqtheirs")
    assert {hit["id"] for hit in result.hits} == {*written.inserted, *meanwhile.inserted}
    assert result.unindexed == 0
    db.close()
    outsider.close()


# -- #10: an old index a killed rebuild left between its renames -------------------------------------

STOP_BETWEEN_THE_RENAMES = """
import os, sys, time
from pathlib import Path
from testimony_archive.ingest import store
from testimony_archive.search import index as search_index

rename = os.replace

def rename_then_wait(source, target):
    rename(source, target)
    if ".old." in os.path.basename(target):
        print("between the renames", flush=True)
        time.sleep(120)

os.replace = rename_then_wait
search_index.rebuild(store.open_archive(sys.argv[1], store.READ), Path(sys.argv[2]))
"""


def old_indexes(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.parent.glob(f".{index_dir.name}.old.*"))


@pytest.mark.parametrize("command", ["reindex", "ingest"])
def test_an_old_index_left_by_a_rebuild_killed_between_its_renames_is_removed(runner, sample_copy, command):
    index_dir = Path(f"{sample_copy}.whoosh")
    rebuild = start_python(STOP_BETWEEN_THE_RENAMES, sample_copy, index_dir)
    try:
        wait_for_line(rebuild, "between the renames")
        os.kill(rebuild.pid, signal.SIGKILL)
        rebuild.wait(timeout=10)
    finally:
        stop(rebuild)
    assert old_indexes(index_dir) == [f".{index_dir.name}.old.{rebuild.pid}"]
    assert not index_dir.exists()

    result = invoke(runner, command, *([DATA] if command == "ingest" else []), "--db", sample_copy)
    assert result.exit_code == 0, result.output
    assert old_indexes(index_dir) == []
    assert search_index.doc_count(index_dir) == 22
    assert invoke(runner, "verify", "--db", sample_copy).exit_code == 0


def test_a_planted_old_index_goes_at_the_next_reindex(runner, sample_copy):
    index_dir = Path(f"{sample_copy}.whoosh")
    leftover = index_dir.with_name(f".{index_dir.name}.old.999999")
    leftover.mkdir()
    (leftover / "_testimonies_1.toc").write_bytes(b"an old segment")
    assert invoke(runner, "reindex", "--db", sample_copy).exit_code == 0
    assert not leftover.exists()


@pytest.mark.parametrize("command", ["reindex", "ingest"])
def test_a_build_folder_left_by_a_killed_rebuild_goes_at_the_next_reindex_or_ingest(runner, sample_copy, command):
    """A rebuild killed while it builds leaves `.<index>.XXXX` holding a whole index (a takedown's words
    among them, when it was the takedown's rebuild). Ingest and reindex hold the archive's writer lock, so
    no build of another command can be running: they remove it."""
    index_dir = Path(f"{sample_copy}.whoosh")
    leftover = search_index.new_build_dir(index_dir)
    (leftover / "_testimonies_1.toc").write_bytes(b"a killed build")
    args = ["ingest", DATA] if command == "ingest" else ["reindex"]
    assert invoke(runner, *args, "--db", sample_copy).exit_code == 0
    assert not leftover.exists()
    assert search_index.current(index_dir)


# -- #11: scrub never passes over a busy WAL checkpoint ---------------------------------------------

MARKER = "Zqscrubmarker"


@pytest.fixture
def marked_archive(tmp_path) -> Path:
    """An archive in WAL mode holding one testimony with MARKER in its text."""
    path = tmp_path / "a.db"
    source = write(tmp_path / "marked.yml", one_testimony(MARKER))
    db = store.open_archive(path)
    report = load.ingest_paths(db, Path(f"{path}.whoosh"), [source])
    db.close()
    assert report.exit_code == 0, report.summary()
    return path


def database_bytes(path: Path) -> bytes:
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def delete_the_marked_testimony(path: Path) -> sqlite_utils.Database:
    """The writer's connection, after it deleted the testimony; it waits for a busy lock as long as the
    archive's own connections do (30 s): a checkpoint must not wait that long for each of its tries."""
    db = sqlite_utils.Database(sqlite3.connect(str(path), timeout=store.LOCK_TIMEOUT))
    assert db.journal_mode == "wal"
    assert MARKER.encode() in database_bytes(path)  # positive control
    with db.atomic():
        store.delete_testimonies(db, [row["id"] for row in rows(path, "select id from testimonies")])
        store.prune_orphans(db)
    return db


@contextmanager
def a_reader_in_a_transaction(path: Path, lets_go_after: float | None = None):
    """Another connection inside a read transaction, for the block (or for `lets_go_after` seconds)."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        reader = sqlite3.connect(str(path))
        reader.execute("begin")
        reader.execute("select count(*) from testimonies").fetchall()
        started.set()
        release.wait(30)
        reader.rollback()
        reader.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert started.wait(10)
    if lets_go_after is not None:
        threading.Timer(lets_go_after, release.set).start()
    try:
        yield
    finally:
        release.set()
        thread.join()


def test_scrub_raises_when_a_reader_keeps_the_wal(marked_archive, monkeypatch):
    monkeypatch.setattr(store, "CHECKPOINT_TRIES", 3)
    db = delete_the_marked_testimony(marked_archive)
    started_at = time.monotonic()
    with (
        a_reader_in_a_transaction(marked_archive),
        pytest.raises(sqlite3.OperationalError, match="the WAL could not be checkpointed"),
    ):
        store.scrub(db)
    # Each try waits briefly, not the connection's 30 s (50 tries of that were 25 minutes); and the
    # connection's own wait is given back.
    assert time.monotonic() - started_at < store.LOCK_TIMEOUT
    assert db.execute("pragma busy_timeout").fetchone()[0] == store.LOCK_TIMEOUT * 1000
    db.close()


def test_scrub_waits_for_a_reader_that_lets_go_and_leaves_no_deleted_bytes(marked_archive, monkeypatch):
    monkeypatch.setattr(store, "CHECKPOINT_TRIES", 30)
    db = delete_the_marked_testimony(marked_archive)
    with a_reader_in_a_transaction(marked_archive, lets_go_after=0.3):
        started_at = time.monotonic()
        store.scrub(db)
        took = time.monotonic() - started_at
    # Looked at with the writer's connection still open: closing the last one would checkpoint by itself.
    assert Path(f"{marked_archive}-wal").stat().st_size == 0
    assert MARKER.encode() not in database_bytes(marked_archive)
    assert took >= 0.25  # it waited for the reader, it did not go past it
    db.close()


# -- found on the way ------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["relevance", "date"])
@pytest.mark.parametrize("query", ["", "prison OR family OR said"])
def test_the_hits_of_a_filtered_search_all_match_the_filter(archive, query, sort):
    # Whoosh's TimeLimitCollector around a FilterCollector collects from the filter's child directly: the
    # ranked page ignored the filter (and the stale mask) while the total and the facets were right.
    for filters, check in [
        ({"pseudonym": ["yes"]}, lambda hit: hit["speaker_is_pseudonym"]),
        ({"pseudonym": ["no"]}, lambda hit: not hit["speaker_is_pseudonym"]),
        ({"role": ["family"]}, lambda hit: hit["role"] == "family"),
    ]:
        result = archive.search(query, filters=filters, sort=sort, page_size=100)
        assert result.total and len(result.hits) == result.total, filters
        assert all(check(hit) for hit in result.hits), filters
    assert archive.search("", filters={"pseudonym": ["yes"]}, page_size=100).total == 6


def test_a_range_of_words_standing_for_too_many_is_refused_in_one_line(archive):
    # Found by test_properties ('{TOT]'): the refusal itself failed with an AttributeError (a 500).
    with pytest.raises(search_api.QueryTooCostly) as refused:
        archive.search("{TOT]")
    assert str(refused.value) == "The range {TO t] stands for more than 500 words in the archive: narrow it."


# -- #4: publish names the columns it copies ---------------------------------------------------------


def test_publish_copies_columns_by_name_whatever_their_order_in_the_full_archive(tmp_path):
    """A full archive whose tables have their columns in another order (what `add_column` in a migration,
    or a hand repair with sqlite-utils' transform, can leave) publishes each value into its own column:
    `insert ... select *` would have moved `source_file` into `visibility` without an error."""
    from testimony_archive.ingest import privacy

    full, public = tmp_path / "full.db", tmp_path / "public.db"
    assert load.ingest_paths(store.open_archive(full), Path(f"{full}.whoosh"), [DATA]).exit_code == 0
    db = sqlite_utils.Database(full)
    for table in ("sources", "testimonies", "people"):
        columns = list(db[table].columns_dict)
        db[table].transform(column_order=list(reversed(columns)))
        assert list(db[table].columns_dict) != columns
    db.close()
    privacy.publish(full, public)
    for table, blanked in (("sources", {"source_file"}), ("testimonies", {"private_hash"}), ("people", set())):
        kept = [c for c in store.TABLES[table]["columns"] if c not in blanked]
        select = f"select {', '.join(kept)} from {table} order by {kept[0]}"
        assert rows(public, select) == rows(full, select), table
        assert rows(
            public, f"select count(*) as n from {table} where {' or '.join(f'{c} is not null' for c in blanked) or '0'}"
        ) == [{"n": 0}]
    assert {row["visibility"] for row in rows(public, "select visibility from sources")} == {"public"}


# -- found in review ---------------------------------------------------------------------------------


def test_a_testimony_whose_speaker_row_is_missing_is_still_matched_by_a_takedown(runner, tmp_path):
    """SQLite does not enforce foreign keys: a hand edit can leave a testimony without its people row. The
    store's reads join people with a left join, so takedown matching (and publish's re-check) still see it."""
    words = "They took my brother Zqcopy hotel at night and we have heard nothing from him since that day."
    for name, speaker in (("a", "Aziz"), ("b", "Kamil Tursun")):
        write(
            tmp_path / "in" / f"{name}.yml",
            f"source: {{title: Source {name}, publisher: Test Rights Group, published: 2024}}\n"
            f"testimonies:\n  - speaker: {speaker}\n    role: family\n    text: {words}\n",
        )
    full, public = tmp_path / "full.db", tmp_path / "public.db"
    assert invoke(runner, "ingest", tmp_path / "in", "--db", full).exit_code == 0
    assert invoke(runner, "publish", "--db", full, "--out", public).exit_code == 0
    first, second = (
        rows(full, "select t.id from testimonies t join sources s on s.id = t.source_id where s.title = ?", [title])[0][
            "id"
        ]
        for title in ("Source a", "Source b")
    )
    conn = sqlite3.connect(full)
    with conn:
        conn.execute("delete from people where name = 'Kamil Tursun'")
    conn.close()
    result = invoke(runner, "takedown", first, "--reason", "asked", "--db", full, "--json")
    assert result.exit_code == 0, result.output
    assert second in json.loads(result.output)["also_matching"]
    for db in (full, public):
        assert rows(db, "select count(*) as n from testimonies where text like '%Zqcopy hotel%'") == [{"n": 0}], db
    assert invoke(runner, "publish", "--db", full, "--out", public).exit_code == 0
    assert b"Zqcopy hotel" not in public.read_bytes()


def test_an_index_laid_out_for_other_facets_is_rebuilt_not_misread(runner, tmp_path):
    """Facet records are read by position: an index built for another FACETS order is another version."""
    db = tmp_path / "a.db"
    assert invoke(runner, "ingest", DATA, "--db", db).exit_code == 0
    index_dir = Path(f"{db}.whoosh")
    assert search_index.current(index_dir)
    layout = ",".join(reversed(search_index.FACETS))
    (index_dir / search_index.VERSION_FILE).write_text(f"{search_index.INDEX_VERSION}\n{layout}\n")
    assert not search_index.current(index_dir)
    with pytest.raises(FileNotFoundError, match="from another version"):
        search_index.open_index(index_dir)
    assert invoke(runner, "ingest", DATA, "--db", db).exit_code == 0  # rebuilt first
    assert search_index.current(index_dir)
    assert search_api.search(db, index_dir, "", filters={"pseudonym": ["yes"]}).total == 6
