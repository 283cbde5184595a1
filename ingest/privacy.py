"""Two archives and takedowns: what is restricted or private never reaches the public archive.

- The *full archive* (what `ingest` writes) holds everything, for archivists: restricted sources and
  testimonies, and private fields (real names, contacts, precise locations).
- The *public archive* is built from it by `publish`: only public testimonies of public sources, no
  private fields, no file paths, no ingest history, no tombstones; its own Whoosh index is built only
  from those rows. Restrictions are enforced when the public archive is built, not by a permission
  check at read time, so nothing can slip past through SQL, an export or a search snippet.
- `takedown` removes testimonies from both archives and both indexes (rebuilt, so no term of a removed
  text survives in an old index segment), vacuums the databases so no deleted bytes remain in them,
  records a tombstone (id, time, reason; no content) and an audit entry; later ingests skip tombstoned
  testimonies until `restore`.
"""

import datetime
import os
import sqlite3
from pathlib import Path

import sqlite_utils

from search import index as search_index

from . import db as archive_db
from .load import bump_generation, delete_testimonies, prune_orphans

# Tables the public archive copies, each with the rows it may keep (`full` is the attached full archive).
PUBLIC_ROWS = {
    "testimonies": "select * from full.testimonies where visibility = 'public' and source_id in "
    "(select id from full.sources where visibility = 'public')",
    "sources": "select * from full.sources where id in (select source_id from main.testimonies)",
    "testimony_subjects": "select * from full.testimony_subjects "
    "where testimony_id in (select id from main.testimonies)",
    "people": "select * from full.people where id in (select speaker_id from main.testimonies) "
    "or id in (select person_id from main.testimony_subjects)",
    "testimony_tags": "select * from full.testimony_tags where testimony_id in (select id from main.testimonies)",
    "source_tags": "select * from full.source_tags where source_id in (select id from main.sources)",
    "tags": "select * from full.tags where id in (select tag_id from main.testimony_tags) "
    "or id in (select tag_id from main.source_tags)",
}
PRIVATE_TABLES = archive_db.PRIVATE_TABLES  # never in the public archive, not even empty


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def is_full_archive(db: sqlite_utils.Database) -> bool:
    """An archive `ingest` wrote (not one `publish` built): it can hold restricted material, private fields,
    file paths, takedown reasons and the audit log, so it is never served without a login."""
    return any(db[table].exists() for table in PRIVATE_TABLES)


def sensitive_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """What a full archive holds that must not be served publicly, for the message that says so."""
    count = db.execute
    return {
        "restricted sources": count("select count(*) from sources where visibility != 'public'").fetchone()[0],
        "restricted testimonies": count("select count(*) from testimonies where visibility != 'public'").fetchone()[0],
        **{
            table.replace("_", " "): db[table].count
            for table in ("private_fields", "tombstones", "audit_log", "ingest_run_files")
            if db[table].exists()
        },
    }


def publish(full_path: Path, public_path: Path, public_index: Path | None = None) -> dict:
    """Build the public archive (and its index) from the full one; returns counts per table."""
    full_path, public_path = Path(full_path), Path(public_path)
    if full_path.resolve() == public_path.resolve():
        raise ValueError("the public archive must be a different file from the full archive")
    public_index = Path(public_index) if public_index else search_index.index_dir_for(public_path)
    build_path = public_path.with_name(f".{public_path.name}.building")
    compact_path = public_path.with_name(f".{public_path.name}.compact")
    for leftover in (build_path, compact_path):
        _remove_database(leftover)
    build = archive_db.ensure_db_shape(sqlite_utils.Database(build_path))
    try:
        build.conn.execute("attach database ? as full", [str(full_path)])
        with build.atomic():
            for table, select in PUBLIC_ROWS.items():
                build.execute(f"insert into main.{table} {select}")
            # File paths can name people (a folder per family); the public archive does not need them.
            build.execute("update main.sources set source_file = null")
            build.execute("update main.testimonies set private_hash = null")
            generation = build.execute("select value from full.archive_meta where key = 'generation'").fetchall()
            archive_db.set_meta(build, "generation", generation[0][0] if generation else 0)
            archive_db.set_meta(build, "published_at", now())
        build.conn.execute("detach database full")
        for table in PRIVATE_TABLES:
            if build[table].exists():
                build[table].drop()
        counts = {table: build[table].count for table in PUBLIC_ROWS}
        # VACUUM INTO writes a compact copy with no free pages and no WAL: nothing deleted lingers in it.
        build.execute("pragma wal_checkpoint(truncate)")
        build.conn.execute("vacuum into ?", [str(compact_path)])
    finally:
        build.close()
        _remove_database(build_path)
    _install(compact_path, public_path)
    public = sqlite_utils.Database(public_path)
    try:
        counts["index_documents"] = search_index.rebuild(public, public_index)
    finally:
        public.close()
    return counts


def _install(built: Path, public_path: Path) -> None:
    """Put the built archive in place. An existing public archive is overwritten *in* its file (SQLite's
    backup API, one transaction), not replaced by a new file: a running server keeps its connections
    open on the file it has, and must see the new content, takedowns included."""
    if not public_path.exists():
        os.replace(built, public_path)
        return
    source = sqlite3.connect(str(built))
    target = sqlite3.connect(str(public_path), timeout=archive_db.LOCK_TIMEOUT)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    _remove_database(built)


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def resolve_targets(db: sqlite_utils.Database, testimony_ids: list[str], person: str | None) -> list[str]:
    """Testimony ids to take down: those named, plus every testimony a person (id or exact name) gave."""
    found = []
    for testimony_id in testimony_ids:
        # A tombstoned id is accepted again, so a takedown that failed halfway can be run again.
        if not db.execute(
            "select 1 from testimonies where id = ? union select 1 from tombstones where testimony_id = ?",
            [testimony_id, testimony_id],
        ).fetchall():
            raise LookupError(f"no testimony with id {testimony_id!r}")
        found.append(testimony_id)
    if person:
        people = [row[0] for row in db.execute("select id from people where id = ? or name = ?", [person, person])]
        if not people:
            raise LookupError(f"no person with id or name {person!r}")
        marks = ",".join("?" * len(people))
        found += [row[0] for row in db.execute(f"select id from testimonies where speaker_id in ({marks})", people)]
    return list(dict.fromkeys(found))


def takedown(
    full: sqlite_utils.Database,
    full_index: Path,
    testimony_ids: list[str],
    reason: str,
    public_paths: list[tuple[Path, Path]] = (),
    actor: str | None = None,
) -> dict:
    """Remove testimonies everywhere and leave a tombstone; returns what was removed where."""
    if not reason or not reason.strip():
        raise ValueError("a takedown needs a reason")
    at = now()
    # Hold the full index's lock from the SQLite write to the rebuilt index: no ingest interleaves.
    lock = search_index.hold_lock(full_index) if search_index.exists(full_index) else None
    try:
        _take_down_full(full, full_index, testimony_ids, reason, at, actor)
    finally:
        if lock is not None:
            lock.release()
    report = {"testimonies": testimony_ids, "archives": [str(full_index)], "skipped": []}
    for public_path, public_index in public_paths:
        if not Path(public_path).exists():
            report["skipped"].append(str(public_path))
            continue
        try:
            _take_down_public(Path(public_path), Path(public_index), testimony_ids)
        except sqlite3.Error as error:
            raise TakedownIncomplete(
                f"removed from the full archive, but {public_path} could not be changed ({error}): "
                "run the same takedown again"
            ) from None
        report["archives"].append(str(public_path))
    return report


class TakedownIncomplete(Exception):
    """The full archive is done, a public archive is not: the takedown must be run again."""


def _take_down_full(full, full_index, testimony_ids, reason, at, actor) -> None:
    with full.atomic():
        delete_testimonies(full, testimony_ids)
        prune_orphans(full)
        full["tombstones"].insert_all(
            [{"testimony_id": t, "removed_at": at, "reason": reason.strip()} for t in testimony_ids],
            pk="testimony_id",
            replace=True,
        )
        full["audit_log"].insert_all(
            [
                {"at": at, "action": "takedown", "testimony_id": t, "reason": reason.strip(), "actor": actor}
                for t in testimony_ids
            ]
        )
        bump_generation(full)
    _scrub(full)
    search_index.rebuild(full, full_index, locked=True)


def _take_down_public(public_path: Path, public_index: Path, testimony_ids: list[str]) -> None:
    public = sqlite_utils.Database(sqlite3.connect(str(public_path), timeout=archive_db.LOCK_TIMEOUT))
    try:
        with public.atomic():
            delete_testimonies(public, testimony_ids)
            prune_orphans(public)
            bump_generation(public)
        _scrub(public)
        search_index.rebuild(public, public_index)
    finally:
        public.close()


def _scrub(db: sqlite_utils.Database) -> None:
    """Leave no deleted bytes in the file: checkpoint the WAL away and vacuum."""
    db.execute("pragma wal_checkpoint(truncate)")
    db.execute("vacuum")
    db.execute("pragma wal_checkpoint(truncate)")


def restore(full: sqlite_utils.Database, testimony_ids: list[str], reason: str, actor: str | None = None) -> list[str]:
    """Lift tombstones so the next ingest of the source files brings the testimonies back."""
    restored = [
        t for t in testimony_ids if full.execute("select 1 from tombstones where testimony_id = ?", [t]).fetchall()
    ]
    at = now()
    with full.atomic():
        for testimony_id in restored:
            full.execute("delete from tombstones where testimony_id = ?", [testimony_id])
        full["audit_log"].insert_all(
            [{"at": at, "action": "restore", "testimony_id": t, "reason": reason, "actor": actor} for t in restored]
        )
    return restored
