"""Ingest source files into the archive: SQLite first (one transaction per file), then the index.

`ingest_paths` is the whole pipeline behind `testimony ingest`; `check_paths` is the same without
writing, behind `testimony validate`. Both return a `Report` the CLI prints.

Each file is on its own: whatever goes wrong reading, parsing, checking or writing one file (an attack
included) becomes that file's one line in the report, nothing of it is written, and the run goes on.
"""

import functools
import hashlib
import logging
import os
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils
from testimony_archive.search import index as search_index

from . import store, vocabulary
from .crypto import ArchiveKey, load_key
from .normalize import BIDI_CONTROLS, NormalizedSource, normalize
from .source import (
    MAX_FILE_BYTES,
    SOURCE_SUFFIXES,
    InvalidSource,
    decode_text,
    one_line,
    parse_text,
    read_bytes,
    validate_document,
)
from .spreadsheet import csv_sources

SUFFIXES = SOURCE_SUFFIXES | {".csv"}
# A run whose files add up to this many bytes is a bulk load (`is_bulk`).
BULK_BYTES = search_index.BULK_DOCUMENTS * 1024
# Each file's outcome and each run's totals, for an archivist's audit trail (`testimony --log FILE`).
log = logging.getLogger(__name__)

Progress = Callable[[Path], None]


@dataclass
class FileResult(store.Written):
    """One file's line in the report: what the store wrote of it, or why nothing was."""

    path: str = ""
    sha256: str | None = None
    status: str = "ok"  # ok | failed
    errors: list[str] = field(default_factory=list)  # one line each (a draft has one per unresolved field)

    @property
    def error(self) -> str | None:
        """Every error line of the file, as the run's ingest_run_files keeps them."""
        return "\n".join(self.errors) or None


@dataclass
class Report:
    files: list[FileResult] = field(default_factory=list)
    index_repaired: int = 0

    def count(self, name) -> int:
        return sum(len(getattr(f, name)) if name != "unchanged" else f.unchanged for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> dict:
        return {
            "files": len(self.files),
            "inserted": self.count("inserted"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "removed": self.count("removed"),
            "withheld": self.count("withheld"),
            "failed": len(self.failed),
            "errors": [line for f in self.failed for line in f.errors],
            "withheld_details": [dict(w, file=f.path) for f in self.files for w in f.withheld_reasons],
        }


def find_source_files(
    paths: Iterable[Path], suffixes=SUFFIXES, follow_symlinks: bool = False
) -> Iterator[Path | InvalidSource]:
    """Files named directly, and files with a source suffix under folders (recursively, sorted).

    Inside a folder, a symlink that leads outside it (to /etc, to /dev/zero, to another archivist's
    folder) is refused unless `follow_symlinks`; a file or folder named on the command line is read
    wherever it leads, since the archivist named it. Problems finding files (a symlink loop, an
    unreadable folder, a file name a terminal would act on) come out as InvalidSource values so the
    caller can report them beside the files that did go in.
    """
    for path in paths:
        path = Path(path)
        try:
            is_dir, exists = path.is_dir(), path.exists() or path.is_symlink()
        except OSError as error:
            yield InvalidSource(one_line(str(path)), None, f"cannot read file: {error.strerror or error}")
            continue
        if is_dir:
            yield from _walk(path, suffixes, follow_symlinks)
        elif not exists:
            yield InvalidSource(one_line(str(path)), None, "no such file or folder")
        else:
            problem = _name_problem(str(path))
            yield InvalidSource(one_line(str(path)), None, problem) if problem else path


def _walk(root: Path, suffixes, follow_symlinks: bool) -> Iterator[Path | InvalidSource]:
    real_root = os.path.realpath(root)
    unreadable: list[OSError] = []
    seen_dirs = set()
    for folder, dirs, files in os.walk(root, followlinks=True, onerror=unreadable.append):
        yield from _unreadable_folders(unreadable)
        real = os.path.realpath(folder)
        if real in seen_dirs:
            dirs[:] = []
            yield InvalidSource(one_line(folder), None, "symlink loop: folder already visited, skipped")
            continue
        seen_dirs.add(real)
        kept = []
        for name in sorted(d for d in dirs if not d.startswith(".")):
            outside = None if follow_symlinks else _leads_outside(os.path.join(folder, name), real_root, root)
            if outside:
                yield outside
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if Path(name).suffix.lower() not in suffixes or name.startswith("."):
                continue
            found = Path(folder) / name
            problem = _name_problem(str(found))
            outside = None if follow_symlinks or problem else _leads_outside(str(found), real_root, root)
            yield InvalidSource(one_line(str(found)), None, problem) if problem else (outside or found)
    yield from _unreadable_folders(unreadable)


def _unreadable_folders(errors: list[OSError]) -> Iterator[InvalidSource]:
    while errors:
        error = errors.pop(0)
        yield InvalidSource(one_line(str(error.filename)), None, f"cannot read folder: {error.strerror or error}")


def _leads_outside(found: str, real_root: str, root: Path) -> InvalidSource | None:
    """The refusal of a symlink (or a file under one) that resolves outside the folder named on the command
    line; None when it stays inside, or leads nowhere (the reader then says the file is missing)."""
    real = os.path.realpath(found)
    if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep) or not os.path.exists(real):
        return None
    return InvalidSource(
        one_line(found), None, f"symlink leads outside {root} (to {real}): not read (--follow-symlinks reads it)"
    )


def _name_problem(name: str) -> str | None:
    """Why a file's path cannot stand in a report line, a progress bar or the ingest log: not UTF-8 (SQLite
    cannot store it), or holding a character a terminal acts on or a reader cannot see the order of."""
    for char in name:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            return "file name is not UTF-8: rename the file"
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp") or char in BIDI_CONTROLS:
            kind = "a bidirectional control character" if char in BIDI_CONTROLS else "a control character"
            return f"file name contains U+{code:04X} ({kind}): rename the file"
    return None


def read_file(path: Path, max_bytes: int = MAX_FILE_BYTES, column_map=None) -> list[NormalizedSource]:
    """One file's sources, normalized: a YAML/JSON file holds one, a CSV file one per distinct source."""
    return parse_file(path, read_bytes(path, max_bytes), column_map)


def parse_file(path: Path, raw: bytes, column_map=None) -> list[NormalizedSource]:
    """The sources in a file's bytes (read once: the same bytes are hashed and parsed)."""
    text = decode_text(path, raw)
    if path.suffix.lower() == ".csv":
        return csv_sources(path, text, column_map)
    return [normalize(validate_document(path, parse_text(path, text)), path)]


def read_sources(
    paths: Iterable[Path], max_bytes: int = MAX_FILE_BYTES, column_map=None, follow_symlinks: bool = False
) -> Iterator[tuple[Path, str | None, list[NormalizedSource] | InvalidSource]]:
    """Yield (path, sha256, its normalized sources or the error that stopped it) for every file found.

    Nothing one file holds stops the others: any exception reading, parsing, validating or normalizing
    it becomes its InvalidSource."""
    for found in find_source_files(paths, follow_symlinks=follow_symlinks):
        if isinstance(found, InvalidSource):
            yield Path(found.path), None, found
            continue
        sha256 = None
        try:
            raw = read_bytes(found, max_bytes)
            sha256 = hashlib.sha256(raw).hexdigest()
            sources = parse_file(found, raw, column_map)
        # Last resort: a file no check foresaw must not stop the run or print a traceback. Known cases keep
        # their own reasons (see InvalidSource.unexpected); anything else is named so it can be reported.
        except Exception as error:  # noqa: BLE001
            yield found, sha256, InvalidSource.unexpected(found, error, "reading")
        else:
            yield found, sha256, sources


def check_paths(
    paths: Iterable[Path],
    progress: Progress | None = None,
    max_bytes=MAX_FILE_BYTES,
    column_map=None,
    follow_symlinks: bool = False,
) -> Report:
    """Run every check ingest runs, writing nothing."""

    def checked(path: Path, sha256: str | None, sources: list[NormalizedSource]) -> FileResult:
        return FileResult(path=str(path), sha256=sha256, unchanged=sum(len(source.testimonies) for source in sources))

    return _each_file(paths, progress, max_bytes, column_map, follow_symlinks, checked)


def _each_file(paths, progress, max_bytes, column_map, follow_symlinks, handle) -> Report:
    """The one loop behind validate and ingest: each file found is read and checked, then handed to
    `handle(path, sha256, sources)` for its line in the report; a file that failed gets its error."""
    report = Report()
    for path, sha256, sources in read_sources(paths, max_bytes, column_map, follow_symlinks):
        if progress:
            progress(path)
        if isinstance(sources, InvalidSource):
            report.files.append(_failed(path, sha256, sources.lines()))
        else:
            report.files.append(handle(path, sha256, sources))
    return report


def _failed(path: Path, sha256: str | None, errors: list[str]) -> FileResult:
    # Not the reason: it can quote what the file holds (a value, a name); the run's ingest_run_files has it.
    log.warning("failed %s (its reason is in the command's output and the run's ingest_run_files)", one_line(str(path)))
    return FileResult(path=str(path), sha256=sha256, status="failed", errors=errors)


def _write_error(path: Path, error: Exception) -> str:
    if isinstance(error, sqlite3.Error):
        reason = f"could not be written to the archive ({type(error).__name__}: {error})"
        return str(InvalidSource(path, None, reason))
    return str(InvalidSource.unexpected(path, error, "writing"))


def ingest_paths(
    db: sqlite_utils.Database,
    index_dir: Path,
    paths: Iterable[Path],
    progress: Progress | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    lock_timeout: float = search_index.LOCK_TIMEOUT,
    column_map: dict[str, str] | None = None,
    key: ArchiveKey | None = None,
    follow_symlinks: bool = False,
) -> Report:
    """Ingest files and folders: each good file lands whole, each bad one not at all; then the index follows.

    `key`: the archive key (default: `crypto.load_key()`). Raises KeyProblem before writing anything when
    the archive's takedowns need the key and there is none. `follow_symlinks`: read symlinks inside a
    folder that lead outside it (see `find_source_files`)."""
    started = vocabulary.now()
    key = key or load_key()
    paths = list(paths)
    # The locks are taken first: a second ingest (or a takedown, a publish) waits here, then fails, before
    # anything is written; the takedowns are read under them, so none can land unseen during the run.
    with store.writing(store.database_path(db), lock_timeout):
        search_index.remove_leftovers(index_dir)  # what a killed rebuild left beside the index
        repaired = 0
        if not search_index.current(index_dir) and store.generation(db):
            repaired = search_index.rebuild(db, index_dir, timeout=lock_timeout)
        bulk = is_bulk(paths, follow_symlinks)
        with search_index.Updater(db, index_dir, lock_timeout, bulk=bulk) as updater:
            matcher = store.takedown_matcher(db, key)
            repaired += updater.catch_up()
            write = functools.partial(_write_one, db, matcher, key, updater)
            report = _each_file(paths, progress, max_bytes, column_map, follow_symlinks, write)
        report.index_repaired = repaired
    run_id = store.record_run(db, "ingest", started, report)
    summary = report.summary()
    log.info(
        "ingest run %d into %s: %d files, %d inserted, %d updated, %d unchanged, %d removed, %d withheld, %d failed",
        run_id,
        one_line(str(store.database_path(db))),
        *(summary[k] for k in ("files", "inserted", "updated", "unchanged", "removed", "withheld", "failed")),
    )
    return report


def is_bulk(paths: list[Path], follow_symlinks: bool = False) -> bool:
    """Whether a run brings enough to index that the multiprocess writer pays: its source files add up to
    BULK_BYTES (a testimony is about a kilobyte of source file), counted until they do."""
    total = 0
    for found in find_source_files(paths, follow_symlinks=follow_symlinks):
        if isinstance(found, Path):
            try:
                total += found.stat().st_size
            except OSError:
                continue  # the reading step reports it
            if total >= BULK_BYTES:
                return True
    return False


def reindex(db: sqlite_utils.Database, db_path: Path, index_dir: Path, progress=None) -> int:
    """Rebuild the index from SQLite under the archive's writer lock (so no ingest, takedown or publish
    runs meanwhile), after removing what a killed rebuild left beside it; returns the document count."""
    with store.writing(db_path):
        search_index.remove_leftovers(index_dir)
        return search_index.rebuild(db, index_dir, progress)


def _write_one(db, matcher, key, updater, path: Path, sha256: str | None, sources) -> FileResult:
    """Write one file in its own transaction and tell the index what changed; any failure is the file's
    line in the report (nothing of it is written), except a database another process holds."""
    try:
        written = store.write_file(db, sources, str(path.resolve()), matcher, key)
    except InvalidSource as error:
        error.path = str(path)
        return _failed(path, sha256, error.lines())
    except sqlite3.OperationalError as error:
        # Another process holds the database: every file after this one would fail the same way.
        if "locked" in str(error) or "busy" in str(error):
            raise store.ArchiveBusy(store.database_path(db), store.LOCK_TIMEOUT) from None
        return _failed(path, sha256, [_write_error(path, error)])
    # Last resort, as in read_sources: write_file's transaction has rolled back, so nothing of this file
    # is in SQLite (nor, since the index is told only after a commit, in the index); the run goes on.
    except Exception as error:  # noqa: BLE001
        return _failed(path, sha256, [_write_error(path, error)])
    updater.add(written.inserted)
    updater.replace(written.updated)
    updater.delete(written.removed)
    updater.applied(written.generation)
    result = FileResult(path=str(path), sha256=sha256, **vars(written))
    log.info(
        "ingested %s (sha256 %s): %d inserted, %d updated, %d unchanged, %d removed, %d withheld",
        one_line(str(path)),
        sha256,
        len(result.inserted),
        len(result.updated),
        result.unchanged,
        len(result.removed),
        len(result.withheld),
    )
    return result
