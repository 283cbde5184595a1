"""Ingest source files into the archive: SQLite first (one transaction per file), then the index.

`ingest_paths` is the whole pipeline behind `testimony ingest`; `check_paths` is the same without
writing, behind `testimony validate`. Both return a `Report` the CLI prints.

Each file is on its own: whatever goes wrong reading, parsing, checking or writing one file (an attack
included) becomes that file's one line in the report, nothing of it is written, and the run goes on.
"""

import datetime
import hashlib
import json
import os
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils
from testimony_archive.search import index as search_index

from . import store
from .crypto import ArchiveKey, KeyProblem, load_key
from .fingerprint import Matcher
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

Progress = Callable[[Path], None]


@dataclass
class FileResult:
    path: str
    sha256: str | None = None
    status: str = "ok"  # ok | failed
    error: str | None = None
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # match a takedown: skipped until restored
    withheld_reasons: list[dict] = field(default_factory=list)  # {"id", "testimony", "reason"} for each
    generation: int | None = None  # the database generation this file's commit made, if it changed anything


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
            "errors": [f.error for f in self.failed],
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
    report = Report()
    for path, sha256, result in read_sources(paths, max_bytes, column_map, follow_symlinks):
        if progress:
            progress(path)
        if isinstance(result, InvalidSource):
            report.files.append(FileResult(str(path), sha256, status="failed", error=str(result)))
        else:
            report.files.append(FileResult(str(path), sha256, unchanged=sum(len(s.testimonies) for s in result)))
    return report


def _browse_columns(normalized: NormalizedSource, testimony, tag_labels: dict[str, str]) -> dict:
    people = normalized.people
    speaker = people[testimony.row["speaker_id"]]
    subjects = [people[s["person_id"]] for s in testimony.subjects if s["person_id"]]
    tag_ids = list(dict.fromkeys(testimony.tags + normalized.source_tags))
    return {
        "speaker": speaker.name,
        "speaker_is_pseudonym": speaker.is_pseudonym,
        "subjects": json.dumps([p.name + ("*" if p.is_pseudonym else "") for p in subjects], ensure_ascii=False),
        "relationships": json.dumps(
            sorted({s["relationship"] for s in testimony.subjects if s["relationship"]}), ensure_ascii=False
        ),
        "statuses": json.dumps(sorted({s["status"] for s in testimony.subjects if s["status"]}), ensure_ascii=False),
        "tags": json.dumps([tag_labels[t] for t in tag_ids], ensure_ascii=False),
        "source_title": normalized.source["title"],
        "publisher": normalized.source["publisher"],
        "published": normalized.source["published"],
    }


def delete_testimonies(db: sqlite_utils.Database, testimony_ids: list[str]) -> None:
    """Remove testimonies and everything hanging off them (not the people: see `prune_people`)."""
    # A public archive has no private_fields table at all.
    tables = [t for t in ("testimony_subjects", "testimony_tags", "private_fields") if db[t].exists()]
    for start in range(0, len(testimony_ids), 500):
        chunk = testimony_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for table in tables:
            db.execute(f"delete from {table} where testimony_id in ({marks})", chunk)
        db.execute(f"delete from testimonies where id in ({marks})", chunk)


def prune_people(db: sqlite_utils.Database) -> None:
    db.execute(
        """delete from people where id not in (select speaker_id from testimonies)
        and id not in (select person_id from testimony_subjects where person_id is not null)"""
    )


def prune_orphans(db: sqlite_utils.Database) -> None:
    """People, tags and sources no testimony refers to any more."""
    prune_people(db)
    db.execute("delete from source_tags where source_id not in (select source_id from testimonies)")
    db.execute("delete from sources where id not in (select source_id from testimonies)")
    db.execute(
        """delete from tags where id not in (select tag_id from testimony_tags)
        and id not in (select tag_id from source_tags)"""
    )


def write_file(
    db: sqlite_utils.Database,
    sources: list[NormalizedSource],
    source_file: str,
    matcher: Matcher | None = None,
    key: ArchiveKey | None = None,
) -> FileResult:
    """Write one file's sources in one transaction: the archive then holds exactly what the file says,
    less what matches a takedown (`matcher`: withheld, and reported).

    The file is the unit: testimonies it no longer holds go, also when a source's id changed (an edited
    title without a URL) or a source left the file. Private fields are encrypted with `key`.
    """
    result = FileResult(source_file)
    source_ids = [normalized.source["id"] for normalized in sources]
    with db.atomic():
        for normalized in sources:
            claimed = db.execute("select source_file from sources where id = ?", [normalized.source["id"]]).fetchall()
            if claimed and claimed[0][0] not in (source_file, None) and Path(claimed[0][0]).exists():
                key = "url" if normalized.source["url"] else "publisher, title and published date"
                raise InvalidSource(
                    source_file,
                    "source",
                    f"is the same source (same {key}) as {claimed[0][0]}: a source belongs in one file",
                )
        marks = ",".join("?" * len(source_ids))
        gone = [
            row[0]
            for row in db.execute(
                f"""select t.id from testimonies t join sources s on s.id = t.source_id
                where s.source_file = ? and s.id not in ({marks})""",
                [source_file, *source_ids],
            )
        ]
        for normalized in sources:
            _write_source(db, normalized, source_file, result, matcher or Matcher(), key)
        if gone:
            delete_testimonies(db, gone)
            result.removed += gone
        if result.inserted or result.updated or result.removed:
            if result.updated or result.removed:
                prune_orphans(db)
            result.generation = store.bump_generation(db)
    return result


def _withhold(normalized: NormalizedSource, previous: dict, matcher: Matcher, result: FileResult) -> None:
    """Leave out (and report) the testimonies that match a takedown. A testimony already in the archive
    with the same text was checked when it was written, and again by every takedown since: only its id
    and people are checked again."""
    kept = []
    for position, testimony in enumerate(normalized.testimonies):
        row = testimony.row
        people = [
            (person.id, person.name, person.is_pseudonym)
            for person in (
                normalized.people[person_id]
                for person_id in (row["speaker_id"], *(s["person_id"] for s in testimony.subjects))
                if person_id
            )
        ]
        unchanged_text = previous.get(row["id"], (None,))[0] == row["content_hash"]
        found = matcher.match(row["id"], row["source_id"], people, None if unchanged_text else row["text"])
        if found is None:
            kept.append(testimony)
            continue
        result.withheld.append(row["id"])
        result.withheld_reasons.append({"id": row["id"], "testimony": f"testimonies[{position}]", "reason": found[1]})
    normalized.testimonies = kept


def _seal_private(db: sqlite_utils.Database, normalized: NormalizedSource, key: ArchiveKey | None, source_file):
    """The keyed digest of each testimony's private fields (encryption happens as they are written)."""
    for position, testimony in enumerate(normalized.testimonies):
        if testimony.private:
            try:
                key = store.use_key(db, key, "storing private fields")
            except KeyProblem as error:
                raise InvalidSource(source_file, f"testimonies[{position}]", str(error)) from None
            testimony.row["private_hash"] = store.private_digest(testimony.private, key)
    return key


def _write_source(
    db: sqlite_utils.Database,
    normalized: NormalizedSource,
    source_file: str,
    result: FileResult,
    matcher: Matcher,
    key: ArchiveKey | None,
):
    source = dict(normalized.source, source_file=source_file)
    previous = {
        row[0]: (row[1], row[2])
        for row in db.execute(
            "select id, content_hash, private_hash from testimonies where source_id = ?", [source["id"]]
        ).fetchall()
    }
    if matcher:
        _withhold(normalized, previous, matcher, result)
    key = _seal_private(db, normalized, key, source_file)
    current = {t.row["id"] for t in normalized.testimonies}
    changed = [
        t for t in normalized.testimonies if previous.get(t.row["id"]) != (t.row["content_hash"], t.row["private_hash"])
    ]
    removed = sorted(set(previous) - current)
    result.unchanged += len(normalized.testimonies) - len(changed)
    # Positions are not part of the content hash: a reordered file moves its unchanged testimonies here.
    changed_ids = {t.row["id"] for t in changed}
    db.conn.executemany(
        "update testimonies set position = ? where id = ? and position != ?",
        [
            (t.row["position"], t.row["id"], t.row["position"])
            for t in normalized.testimonies
            if t.row["id"] not in changed_ids
        ],
    )
    if not changed and not removed:
        db.execute("update sources set source_file = ? where id = ?", [source_file, source["id"]])
        return
    delete_testimonies(db, removed + [t.row["id"] for t in changed if t.row["id"] in previous])
    db.execute("delete from source_tags where source_id = ?", [source["id"]])
    db["sources"].upsert(source, pk="id")
    # Only the people the written testimonies name: a person of a withheld testimony stays out.
    referenced = {t.row["speaker_id"] for t in changed} | {s["person_id"] for t in changed for s in t.subjects}
    db["people"].upsert_all([vars(p) for p in normalized.people.values() if p.id in referenced], pk="id")
    db["tags"].insert_all([{"id": key, "name": label} for key, label in normalized.tags.items()], pk="id", ignore=True)
    db["source_tags"].insert_all(
        [{"source_id": source["id"], "tag_id": tag} for tag in normalized.source_tags], pk=("source_id", "tag_id")
    )
    # The archive's label for a tag is the first one it saw; every testimony shows that one.
    marks = ",".join("?" * len(normalized.tags))
    tag_labels = dict(db.execute(f"select id, name from tags where id in ({marks})", list(normalized.tags)))
    db["testimonies"].insert_all([dict(t.row, **_browse_columns(normalized, t, tag_labels)) for t in changed], pk="id")
    db["testimony_subjects"].insert_all([s for t in changed for s in t.subjects], pk=("testimony_id", "position"))
    db["testimony_tags"].insert_all(
        [{"testimony_id": t.row["id"], "tag_id": tag} for t in changed for tag in t.tags],
        pk=("testimony_id", "tag_id"),
    )
    db["private_fields"].insert_all(
        [dict(p, testimony_id=t.row["id"], value=key.encrypt(p["value"])) for t in changed for p in t.private],
        pk=("testimony_id", "who", "field"),
    )
    result.removed += removed
    for testimony in changed:
        (result.updated if testimony.row["id"] in previous else result.inserted).append(testimony.row["id"])


def _write_error(path: Path, error: Exception) -> str:
    if isinstance(error, sqlite3.Error):
        reason = f"could not be written to the archive ({type(error).__name__}: {error})"
        return str(InvalidSource(path, None, reason))
    return str(InvalidSource.unexpected(path, error, "writing"))


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def record_run(db: sqlite_utils.Database, command: str, started: str, report: Report) -> int:
    summary = report.summary()
    with db.atomic():
        run_id = (
            db["ingest_runs"]
            .insert(
                {
                    "started": started,
                    "finished": now(),
                    "command": command,
                    **{key: summary[key] for key in ("files", "inserted", "updated", "unchanged", "removed", "failed")},
                }
            )
            .last_pk
        )
        db["ingest_run_files"].insert_all(
            [
                {
                    "run_id": run_id,
                    "path": f.path,
                    "sha256": f.sha256,
                    "status": f.status,
                    "error": f.error,
                    "withheld": json.dumps(f.withheld_reasons) if f.withheld_reasons else None,
                }
                for f in report.files
            ],
            pk=("run_id", "path"),
            replace=True,
        )
    return run_id


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
    started = now()
    report = Report()
    key = key or load_key()
    # The locks are taken first: a second ingest (or a takedown, a publish) waits here, then fails, before
    # anything is written; the takedowns are read under them, so none can land unseen during the run.
    with store.writing(store.database_path(db), lock_timeout):
        if not search_index.current(index_dir) and store.generation(db):
            report.index_repaired = search_index.rebuild(db, index_dir, timeout=lock_timeout)
        with search_index.Updater(db, index_dir, lock_timeout) as updater:
            matcher = store.takedown_matcher(db, key)
            report.index_repaired += updater.catch_up()
            _ingest_files(db, paths, progress, max_bytes, column_map, matcher, key, updater, report, follow_symlinks)
    record_run(db, "ingest", started, report)
    return report


def _ingest_files(
    db, paths, progress, max_bytes, column_map, matcher, key, updater, report: Report, follow_symlinks=False
) -> None:
    """Each file read, checked and written in its own transaction; the index told what changed."""
    for path, sha256, normalized in read_sources(paths, max_bytes, column_map, follow_symlinks):
        if progress:
            progress(path)
        if isinstance(normalized, InvalidSource):
            report.files.append(FileResult(str(path), sha256, status="failed", error=str(normalized)))
            continue
        try:
            result = write_file(db, normalized, str(path.resolve()), matcher, key)
        except InvalidSource as error:
            error.path = str(path)
            report.files.append(FileResult(str(path), sha256, status="failed", error=str(error)))
            continue
        except sqlite3.OperationalError as error:
            # Another process holds the database: every file after this one would fail the same way.
            if "locked" in str(error) or "busy" in str(error):
                raise store.ArchiveBusy(store.database_path(db), store.LOCK_TIMEOUT) from None
            report.files.append(FileResult(str(path), sha256, status="failed", error=_write_error(path, error)))
            continue
        # Last resort, as in read_sources: write_file's transaction has rolled back, so nothing of this file
        # is in SQLite (nor, since the index is told only after a commit, in the index); the run goes on.
        except Exception as error:  # noqa: BLE001
            report.files.append(FileResult(str(path), sha256, status="failed", error=_write_error(path, error)))
            continue
        result.path, result.sha256 = str(path), sha256
        report.files.append(result)
        updater.add(result.inserted)
        updater.replace(result.updated)
        updater.delete(result.removed)
        updater.applied(result.generation)
