"""Ingest source files into the archive: SQLite first (one transaction per file), then the index.

`ingest_paths` is the whole pipeline behind `testimony ingest`; `check_paths` is the same without
writing, behind `testimony validate`. Both return a `Report` the CLI prints.
"""

import datetime
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from search import index as search_index

from . import db as archive_db
from .crypto import ArchiveKey, KeyProblem, load_key
from .fingerprint import Matcher
from .normalize import NormalizedSource, normalize
from .source import MAX_FILE_BYTES, SOURCE_SUFFIXES, InvalidSource, load_source
from .spreadsheet import load_csv

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


def find_source_files(paths: Iterable[Path], suffixes=SUFFIXES) -> Iterator[Path | InvalidSource]:
    """Files named directly, and files with a source suffix under folders (recursively, sorted).

    Problems finding files (a symlink loop, an unreadable folder) come out as InvalidSource values so the
    caller can report them beside the files that did go in.
    """
    for path in paths:
        path = Path(path)
        if path.is_dir():
            seen_dirs = set()
            for root, dirs, files in os.walk(path, followlinks=True, onerror=None):
                real = os.path.realpath(root)
                if real in seen_dirs:
                    dirs[:] = []
                    yield InvalidSource(root, None, "symlink loop: folder already visited, skipped")
                    continue
                seen_dirs.add(real)
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if Path(name).suffix.lower() in suffixes and not name.startswith("."):
                        yield Path(root) / name
        elif path.exists() or path.is_symlink():
            yield path
        else:
            yield InvalidSource(path, None, "no such file or folder")


def read_file(path: Path, max_bytes: int = MAX_FILE_BYTES, column_map=None) -> list[NormalizedSource]:
    """One file's sources, normalized: a YAML/JSON file holds one, a CSV file one per distinct source."""
    if path.suffix.lower() == ".csv":
        return load_csv(path, column_map, max_bytes)
    return [normalize(load_source(path, max_bytes), path)]


def read_sources(
    paths: Iterable[Path], max_bytes: int = MAX_FILE_BYTES, column_map=None
) -> Iterator[tuple[Path, str | None, list[NormalizedSource] | InvalidSource]]:
    """Yield (path, sha256, its normalized sources or the error that stopped it) for every file found."""
    for found in find_source_files(paths):
        if isinstance(found, InvalidSource):
            yield Path(found.path), None, found
            continue
        try:
            sha256 = hashlib.sha256(found.read_bytes()).hexdigest() if found.is_file() else None
            yield found, sha256, read_file(found, max_bytes, column_map)
        except InvalidSource as error:
            yield found, None, error
        except OSError as error:
            yield found, None, InvalidSource(found, None, f"cannot read file: {error.strerror or error}")


def check_paths(
    paths: Iterable[Path], progress: Progress | None = None, max_bytes=MAX_FILE_BYTES, column_map=None
) -> Report:
    """Run every check ingest runs, writing nothing."""
    report = Report()
    for path, sha256, result in read_sources(paths, max_bytes, column_map):
        if progress:
            progress(path)
        if isinstance(result, InvalidSource):
            report.files.append(FileResult(str(path), status="failed", error=str(result)))
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
            result.generation = archive_db.bump_generation(db)
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
                key = archive_db.use_key(db, key, "storing private fields")
            except KeyProblem as error:
                raise InvalidSource(source_file, f"testimonies[{position}]", str(error)) from None
            testimony.row["private_hash"] = archive_db.private_digest(testimony.private, key)
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
) -> Report:
    """Ingest files and folders: each good file lands whole, each bad one not at all; then the index follows.

    `key`: the archive key (default: `crypto.load_key()`). Raises KeyProblem before writing anything when
    the archive's takedowns need the key and there is none."""
    started = now()
    report = Report()
    key = key or load_key()
    # The locks are taken first: a second ingest (or a takedown, a publish) waits here, then fails, before
    # anything is written; the takedowns are read under them, so none can land unseen during the run.
    with archive_db.writing(archive_db.database_path(db), lock_timeout):
        if not search_index.current(index_dir) and archive_db.generation(db):
            report.index_repaired = search_index.rebuild(db, index_dir, timeout=lock_timeout)
        with search_index.Updater(db, index_dir, lock_timeout) as updater:
            matcher = archive_db.takedown_matcher(db, key)
            report.index_repaired += updater.catch_up()
            _ingest_files(db, paths, progress, max_bytes, column_map, matcher, key, updater, report)
    record_run(db, "ingest", started, report)
    return report


def _ingest_files(db, paths, progress, max_bytes, column_map, matcher, key, updater, report: Report) -> None:
    """Each file read, checked and written in its own transaction; the index told what changed."""
    for path, sha256, normalized in read_sources(paths, max_bytes, column_map):
        if progress:
            progress(path)
        if isinstance(normalized, InvalidSource):
            report.files.append(FileResult(str(path), status="failed", error=str(normalized)))
            continue
        try:
            result = write_file(db, normalized, str(path.resolve()), matcher, key)
        except InvalidSource as error:
            error.path = str(path)
            report.files.append(FileResult(str(path), status="failed", error=str(error)))
            continue
        result.path, result.sha256 = str(path), sha256
        report.files.append(result)
        updater.add(result.inserted)
        updater.replace(result.updated)
        updater.delete(result.removed)
        updater.applied(result.generation)
