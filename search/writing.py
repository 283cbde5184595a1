"""Whoosh's writer, made cheaper where a profile of `testimony ingest` spent its time.

Two levers, both behind `search.index.writer` (so ingest, reindex, publish and takedown all get them):

- `MarshalPool`: Whoosh's posting pool spills sorted runs to temporary files with one `pickle.dump` per
  posting and reads them back with one `pickle.load` per posting (`whoosh.externalsort.SortingPool`).
  Here a run is written as `marshal` blobs of `RUN_CHUNK` postings: the same postings in the same order,
  so the same index, for about a third of the cost of that step.
- `BulkWriter`: Whoosh's multiprocess writer (`whoosh.multiproc.MpWriter`, one segment per worker), for
  bulk loads only, with what it lacks for an archive:
  - each worker asks the kernel to kill it when its parent dies (`prctl(PR_SET_PDEATHSIG)`): without it a
    `kill -9` of `testimony ingest` leaves the workers running, holding the index's and the archive's
    locks (a forked child shares the parent's `flock`s), and every later writer waits on them;
  - the commit counts the workers' results and fails the whole commit when one is missing. Whoosh
    waits one second for each and silently drops a segment that comes late: documents that SQLite holds
    and search would never find;
  - nothing waits forever on a worker that died: a full job queue, a missing result or an exit status
    other than 0 cancels the commit, which `search.index.writer` turns into an error (the index is left
    as it was, and the next ingest repairs it from SQLite).

  Only on Linux (the parent-death signal is Linux's); elsewhere every load uses the one-process writer.

The Whoosh internals used here (`PostingPool._write_run`/`_read_run`, `SegmentWriter.pool`,
`SubWriterTask.run`, `MpWriter._enqueue`/`_commit`) are those of whoosh-reloaded 2.7.5, which
pyproject.toml pins; tests/test_writing.py checks each of them against its one-process twin.
"""

import ctypes
import marshal
import os
import queue
import signal
import sys
import time

from whoosh.compat import pickle
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.writing import PostingPool, SegmentWriter

# Postings per marshal blob in a spilled run. Merging holds one blob of every run in memory, and a 1,000,000
# ingest spills about 135 runs a worker: 10,000 postings a blob kept a worker at 413 MB there; measured on
# 12,000 testimonies with 45 runs a worker, 1,000 a blob halved a worker's peak (193 -> 93 MB) in the same time.
RUN_CHUNK = 1_000
# A bulk load is worth its processes from about this many documents (below it the one-process writer is
# as fast: starting the workers and merging their segments cost more than they save).
BULK_DOCUMENTS = 2_000
# Documents a worker takes at a time.
BATCH = 200
PROCS = max(1, min(2, os.cpu_count() or 1))
BULK_SUPPORTED = sys.platform.startswith("linux")
PR_SET_PDEATHSIG = 1
# How long the parent waits for one step of a worker before checking it is still alive.
POLL_SECONDS = 1.0


class BulkWriteFailed(OSError):
    """A worker of the bulk writer died or lost its result: the commit is cancelled. An OSError, as a full
    disk would be: whatever handles a failed write (a takedown's public copy, the CLI) handles this."""


class MarshalPool(PostingPool):
    """Whoosh's posting pool, spilling runs as marshal blobs (see the module's docstring)."""

    def _write_run(self, f, items):
        dump = marshal.dump
        chunk = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= RUN_CHUNK:
                dump(chunk, f)
                chunk = []
        if chunk:
            dump(chunk, f)
        f.close()

    def _read_run(self, path):
        f = self._open_run(path)
        load = marshal.load
        try:
            while True:
                try:
                    chunk = load(f)
                except EOFError:
                    return
                yield from chunk
        finally:
            f.close()
            self._remove_run(path)


class Writer(SegmentWriter):
    """Whoosh's one-process writer with the marshal pool."""

    def __init__(self, ix, limitmb=128, **kwargs):
        super().__init__(ix, limitmb=limitmb, **kwargs)
        self.pool = MarshalPool(self._tempstorage, self.newsegment, limitmb=limitmb)


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies; exit now if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(3)  # no safety net: never write without it
    if os.getppid() != parent_pid:  # the parent died before prctl: nobody would send the signal
        os._exit(3)


class _Worker(SubWriterTask):
    """`SubWriterTask` with the parent-death signal and the marshal pool (its `run`, otherwise as Whoosh's)."""

    def __init__(self, *args, parent_pid: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.parent_pid = parent_pid

    def run(self):
        die_with_parent(self.parent_pid)
        ix = self.storage.open_index(self.indexname)
        writer = self.writer = Writer(ix, _lk=False, **self.kwargs)
        while True:
            job = self.jobqueue.get()
            if job is None:
                break
            self._process_file(*job)
        segment = writer._finalize_segment()
        self.resultqueue.put((None, writer.pool.fieldnames, segment), timeout=60)


class BulkWriter(MpWriter):
    """Whoosh's multiprocess writer, one segment per worker, made safe to kill (see the module's docstring)."""

    def __init__(self, ix, procs: int = PROCS, batchsize: int = BATCH, limitmb: int = 128, **kwargs):
        super().__init__(ix, procs=procs, batchsize=batchsize, multisegment=True, limitmb=limitmb, **kwargs)
        self.pool = MarshalPool(self._tempstorage, self.newsegment, limitmb=limitmb)
        self.subargs = {"limitmb": limitmb}

    def _new_task(self):
        task = _Worker(
            self.storage,
            self.indexname,
            self.jobqueue,
            self.resultqueue,
            self.subargs,
            True,
            parent_pid=os.getpid(),
        )
        self.tasks.append(task)
        task.start()
        return task

    def _check_workers(self) -> None:
        for task in self.tasks:
            if task.exitcode not in (None, 0):
                raise BulkWriteFailed(f"a worker of the index writer exited with status {task.exitcode}")

    def _put(self, job) -> None:
        while True:
            self._check_workers()
            try:
                self.jobqueue.put(job, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _enqueue(self):
        filename = f"{random_name()}.doclist"
        with self.temp_storage().create_file(filename).raw_file() as f:
            for item in self.docbuffer:
                pickle.dump(item, f, 2)
        if len(self.tasks) < self.procs:
            self._new_task()
        self._put((filename, len(self.docbuffer)))
        self.docbuffer = []

    def _results(self) -> list:
        """Every worker's result, or BulkWriteFailed: one per worker, each worker exited cleanly."""
        results = []
        while len(results) < len(self.tasks):
            try:
                results.append(self.resultqueue.get(timeout=POLL_SECONDS))
            except queue.Empty:
                self._check_workers()
                if not any(task.is_alive() for task in self.tasks) and self.resultqueue.empty():
                    break
        for task in self.tasks:
            task.join()
        self._check_workers()
        if len(results) != len(self.tasks):
            lost = len(self.tasks) - len(results)
            raise BulkWriteFailed(f"{lost} of {len(self.tasks)} index workers lost their segment")
        return results

    def _commit(self, mergetype, optimize, merge):
        try:
            if self.docbuffer:
                self._enqueue()
            for _ in self.tasks:
                self._put(None)
            finalsegments = self._merge_segments(mergetype, optimize, merge)
            finalsegments += [segment for _, _, segment in self._results()]
        except BaseException:
            self.cancel()  # the workers stopped, the lock released, the index as it was
            raise
        if self._added:
            finalsegments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(finalsegments)
        self._finish()

    def cancel(self):
        try:
            for task in self.tasks:
                if task.is_alive():
                    task.kill()
            deadline = time.monotonic() + 10
            for task in self.tasks:
                task.join(max(0.0, deadline - time.monotonic()))
        finally:
            super().cancel()


def new_writer(ix, bulk: bool = False, **options):
    """The writer for `ix`: the bulk writer when asked for (and supported), else the one-process one."""
    if bulk and BULK_SUPPORTED and PROCS > 1:
        return BulkWriter(ix, **options)
    return Writer(ix, **options)
