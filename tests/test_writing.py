"""The cheaper index writer (`search.writing`): the marshal pool and the multiprocess bulk writer give the
index the one-process Whoosh writer gives, and a bulk load survives `kill -9` of its parent and the death of
a worker. Real archives, real Whoosh indexes, real processes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import sqlite_utils
from testimony_archive.ingest import store
from testimony_archive.ingest.load import BULK_BYTES, ingest_paths, is_bulk
from testimony_archive.search import index as search_index
from testimony_archive.search import writing
from testimony_archive.search.api import Archive
from whoosh.fields import TEXT
from whoosh.writing import SegmentWriter

from bench import generate

from .conftest import ROOT
from .test_processes import count

TESTIMONY = [sys.executable, "-m", "testimony_archive.ingest.cli"]
QUERIES = ["trial", "factory camp", '"detention centre"', "Abdukerim", "status:disappeared letters", "mother*", "the"]
# Enough testimonies for a bulk load (search.writing.BULK_DOCUMENTS), in files that add up to BULK_BYTES.
BULK = 3_000


@pytest.fixture(scope="module")
def bulk_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bulk") / "corpus"
    generate.write_corpus(folder, BULK, seed=7)
    return folder


@pytest.fixture(scope="module")
def archive(bulk_corpus, tmp_path_factory) -> Path:
    db_path = tmp_path_factory.mktemp("archive") / "archive.db"
    report = ingest_paths(store.open_archive(db_path), search_index.index_dir_for(db_path), [bulk_corpus])
    assert not report.failed and report.count("inserted") == BULK
    return db_path


def build_with(db_path: Path, index_dir: Path, make_writer) -> None:
    """Index every testimony of the archive with the writer `make_writer(ix)` returns."""
    db = sqlite_utils.Database(db_path)
    ix = search_index.open_or_create(index_dir)
    w = make_writer(ix)
    for doc in search_index.documents(db):
        w.add_document(**doc)
    w.commit()
    ix.close()
    search_index.write_generation(index_dir, store.generation(db))


def answers(db_path: Path, index_dir: Path) -> dict:
    """What search answers for QUERIES: totals, facets, and every hit's (id, score) on the first 100."""
    archive = Archive(db_path, index_dir)
    out = {}
    for query in QUERIES:
        result = archive.search(query, page_size=100)
        # Equal scores are ordered by Whoosh's document number, which depends on the build, so the page can end
        # on different ones of the hits tied last: compare every score, and the hits that scored above the last.
        scores = [hit["score"] for hit in result.hits]
        above = sorted((hit["id"], hit["score"]) for hit in result.hits if hit["score"] > min(scores))
        out[query] = (result.total, result.facets, sorted(scores), above)
    archive.close()
    return out


def postings(index_dir: Path) -> dict:
    """Every field's every term with its (document id, weight) postings, and each document's stored fields."""
    ix = search_index.open_index(index_dir)
    with ix.searcher() as searcher:
        reader = searcher.reader()
        ids = {docnum: fields["id"] for docnum, fields in reader.iter_docs()}
        terms = {}
        for fieldname, text in reader.all_terms():
            matcher = reader.postings(fieldname, text)
            terms[(fieldname, text)] = sorted(
                (ids[docnum], weight) for docnum, weight in zip(matcher.all_ids(), _weights(reader, fieldname, text))
            )
        stored = sorted(map(sorted, (fields.items() for _, fields in reader.iter_docs())))
        lengths = {name: reader.field_length(name) for name in ix.schema.names()}
    ix.close()
    return {"terms": terms, "stored": stored, "lengths": lengths}


def _weights(reader, fieldname, text):
    """Each posting's weight and its encoded value (the positions, for a field that has them)."""
    matcher = reader.postings(fieldname, text)
    while matcher.is_active():
        yield matcher.weight(), matcher.value()
        matcher.next()


def test_the_marshal_pool_spills_the_same_postings_pickle_did(archive, tmp_path):
    spilled = []

    class Counting(writing.MarshalPool):
        def save(self):
            if self.current:
                spilled.append(len(self.current))
            super().save()

    def marshal_writer(ix):
        w = writing.Writer(ix, limitmb=1)  # 1 MB: many runs spilled and merged back
        w.pool = Counting(w._tempstorage, w.newsegment, limitmb=1)
        return w

    build_with(archive, tmp_path / "marshal", marshal_writer)
    build_with(archive, tmp_path / "pickle", lambda ix: SegmentWriter(ix, limitmb=1))
    assert len(spilled) > 5  # positive control: the pool did spill runs, through marshal
    ours, whoosh = postings(tmp_path / "marshal"), postings(tmp_path / "pickle")
    assert len(ours["terms"]) > 10_000
    assert ours == whoosh


def test_the_bulk_writer_builds_the_index_the_one_process_writer_builds(archive, tmp_path):
    build_with(archive, tmp_path / "bulk", lambda ix: writing.BulkWriter(ix))
    build_with(archive, tmp_path / "one", lambda ix: writing.Writer(ix))
    bulk, one = postings(tmp_path / "bulk"), postings(tmp_path / "one")
    assert bulk == one
    ix = search_index.open_index(tmp_path / "bulk")
    assert len(ix._segments()) == writing.PROCS > 1  # positive control: each worker wrote its own segment
    ix.close()
    assert answers(archive, tmp_path / "bulk") == answers(archive, tmp_path / "one")
    db = sqlite_utils.Database(archive)
    assert search_index.diff(db, tmp_path / "bulk") == {"missing": [], "stale": [], "outdated": [], "duplicated": []}


def test_a_bulk_ingest_answers_as_a_file_by_file_one(bulk_corpus, archive, tmp_path):
    """The archive fixture went in as a bulk load; the same files in small runs give the same answers."""
    assert is_bulk([bulk_corpus]) and not is_bulk([next(bulk_corpus.rglob("*.yaml"))])
    db_path = tmp_path / "small.db"
    db = store.open_archive(db_path)
    for folder in sorted(p for p in bulk_corpus.iterdir() if p.is_dir()):
        for chunk in _chunks(sorted(folder.glob("*.yaml")), 30):
            assert sum(p.stat().st_size for p in chunk) < BULK_BYTES
            assert not ingest_paths(db, search_index.index_dir_for(db_path), chunk).failed
    ix = search_index.open_index(search_index.index_dir_for(archive))
    assert len(ix._segments()) > 1  # the bulk load did write through the workers
    ix.close()
    ours = answers(archive, search_index.index_dir_for(archive))
    theirs = answers(db_path, search_index.index_dir_for(db_path))
    # Testimony ids are content-derived: the same files give the same ids, so the answers compare whole.
    assert ours == theirs


def _chunks(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


def test_a_worker_that_dies_fails_the_commit_and_leaves_the_index_as_it_was(archive, tmp_path):
    index_dir = tmp_path / "index"
    db = sqlite_utils.Database(archive)
    docs = list(search_index.documents(db))
    build_with(archive, index_dir, lambda ix: writing.Writer(ix))
    before = postings(index_dir)
    with pytest.raises(writing.BulkWriteFailed), search_index.writer(index_dir, bulk=True) as w:
        for doc in docs[:1000]:
            w.add_document(**doc)
        assert len(w.tasks) == writing.PROCS and all(task.is_alive() for task in w.tasks)
        os.kill(w.tasks[0].pid, signal.SIGKILL)
        for doc in docs[1000:]:
            w.add_document(**doc)
    assert not any(task.is_alive() for task in w.tasks)
    assert postings(index_dir) == before
    # The lock is free again: the next writer takes it at once.
    with search_index.writer(index_dir, timeout=0.5) as again:
        again.delete_by_term("id", docs[0]["id"])


def test_a_worker_that_loses_its_result_fails_the_commit(archive, tmp_path):
    """Whoosh waits a second for each worker's segment and commits without a late one; ours counts them."""

    class Forgetful(writing._Worker):
        def run(self):
            writing.die_with_parent(self.parent_pid)
            while self.jobqueue.get() is not None:
                pass  # exits 0 without a segment

    class Writer(writing.BulkWriter):
        def _new_task(self):
            task = Forgetful(
                self.storage, self.indexname, self.jobqueue, self.resultqueue, {}, True, parent_pid=os.getpid()
            )
            self.tasks.append(task)
            task.start()
            return task

    index_dir = tmp_path / "index"
    build_with(archive, index_dir, lambda ix: writing.Writer(ix))
    before = search_index.doc_count(index_dir)
    ix = search_index.open_index(index_dir)
    w = Writer(ix)
    w.add_document(**next(search_index.documents(sqlite_utils.Database(archive))))
    with pytest.raises(writing.BulkWriteFailed, match="lost their segment"):
        w.commit()
    ix.close()
    assert search_index.doc_count(index_dir) == before


def _workers(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def bulk_ingest_under_way(corpus: Path, db: Path, **pipes) -> tuple[subprocess.Popen, list[psutil.Process], list]:
    """`testimony ingest` of the bulk corpus as a real process, once both of its workers index and some
    testimonies are in SQLite; returns the process, its workers and the command."""
    command = [*TESTIMONY, "ingest", str(corpus), "--db", str(db)]
    process = subprocess.Popen(command, cwd=ROOT, text=True, **pipes)
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + 120
    workers: list[psutil.Process] = []
    while len(workers) < writing.PROCS or count(db) < 500:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the bulk writer never started its workers"
        workers = _workers(parent)
        time.sleep(0.05)
    assert all(worker.is_running() and not _gone(worker) for worker in workers)  # positive control
    return process, workers, command


def rerun_repairs(command: list, db: Path) -> None:
    """The same ingest again: it starts at once (no lock left held), ingests the rest, and `verify` is clean."""
    rerun = subprocess.run(
        [*command, "--json", "--lock-timeout", "5"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["failed"] == 0
    verify = subprocess.run(
        [*TESTIMONY, "verify", "--db", str(db), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert search_index.doc_count(search_index.index_dir_for(db)) == count(db) == BULK


def test_kill_9_of_a_bulk_ingest_leaves_no_worker_and_the_rerun_repairs(bulk_corpus, tmp_path):
    db = tmp_path / "a.db"
    process, workers, command = bulk_ingest_under_way(bulk_corpus, db, stdout=subprocess.DEVNULL)
    process.send_signal(signal.SIGKILL)  # the parent alone
    process.wait()
    deadline = time.monotonic() + 10
    while not all(_gone(worker) for worker in workers):
        assert time.monotonic() < deadline, f"workers outlived their parent: {[w.pid for w in workers]}"
        time.sleep(0.05)
    rerun_repairs(command, db)


def test_a_worker_killed_during_a_bulk_ingest_is_one_line_and_the_rerun_repairs(bulk_corpus, tmp_path):
    db = tmp_path / "a.db"
    process, workers, command = bulk_ingest_under_way(bulk_corpus, db, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workers[0].send_signal(signal.SIGKILL)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: the search index was not written"), err
    assert "Traceback" not in err
    assert all(_gone(worker) for worker in workers)
    rerun_repairs(command, db)


HARD_TEXTS = [
    "",
    "   ...  !!! ",
    "2019-04-02 12.5 1,000 U.N. e.g. x",
    "İstanbul'da ISTANBUL istanbul ß STRASSE Straße Œuvre",
    "他在监狱里 我们没有消息 他 在",
    "新疆维吾尔自治区 mixed 汉字and latin 한국어 テスト",
    "ئۇ تۈرمىدە بىز خەۋەر ئالالمىدۇق",
    "Он был задержан в 2017 году; мы не знаем, где он.",
    "don't can’t l'homme O’Brien ʼapostrophe",
    "e\u0301cole école ECOLE",
    "a" * 300 + " b " + "c" * 3,
]


@pytest.mark.parametrize("fieldname", [name for name in search_index.build_schema().names() if name.startswith("text")])
def test_text_fields_give_the_postings_their_analyzer_gives(fieldname, archive):
    """search.index.TextField makes postings without Whoosh's token chain; they must be Whoosh's, byte for byte."""
    field = search_index.build_schema()[fieldname]
    assert isinstance(field, search_index.TextField)
    texts = HARD_TEXTS + [doc["text"] for doc in search_index.documents(sqlite_utils.Database(archive))][:400]
    for text in texts:
        ours = sorted(field.index(text))
        whoosh = sorted(TEXT.index(field, text))  # the field type's own path: format.word_values(analyzer)
        assert ours == whoosh, text
    assert sum(len(list(field.index(text))) for text in texts) > 10_000  # positive control: words were indexed
