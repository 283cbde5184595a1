"""Two archives and takedowns: what is restricted, private or taken down never reaches the public archive.

- The *full archive* (what `ingest` writes) holds everything, for archivists: restricted sources and
  testimonies, private fields (encrypted, see `ingest.crypto`), file paths, the ingest history, the
  takedowns and the copies published from it.
- A *public archive* is built from it by `publish`: only public testimonies of public sources that match
  no takedown, no private fields, no file paths, no private tables, positions renumbered so nothing
  counts or locates what was left out; its own Whoosh index is built only from those rows. `publish`
  records where it wrote the copy and its index, in the full archive, so every later takedown finds it.
- `takedown` records tombstones first (so an interrupted takedown still keeps the testimonies out of
  every later ingest and publish), then removes the testimonies from every public copy (database,
  then index), then from the full archive; each database changes in one transaction, and search masks
  what a database no longer holds until its index is rebuilt (see `search.api`).
"""

import datetime
import json
import os
import shutil
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlite_utils
from testimony_archive.search import index as search_index

from . import store
from .crypto import ArchiveKey, load_key
from .fingerprint import Fingerprint, Matcher, Takedown, person_key
from .load import delete_testimonies, prune_orphans
from .normalize import parse_name

# Which rows of each table the public archive keeps (`full` is the attached full archive). Columns are
# always named (never `select *`): a column added to one archive later cannot shift values into another.
PUBLIC_ROWS = {
    "testimonies": "visibility = 'public' and source_id in (select id from full.sources where visibility = 'public') "
    "and id not in (select id from temp.withheld)",
    "sources": "id in (select source_id from main.testimonies)",
    "testimony_subjects": "testimony_id in (select id from main.testimonies)",
    "people": "id in (select speaker_id from main.testimonies) "
    "or id in (select person_id from main.testimony_subjects)",
    "testimony_tags": "testimony_id in (select id from main.testimonies)",
    "source_tags": "source_id in (select id from main.sources)",
    "tags": "id in (select tag_id from main.testimony_tags) or id in (select tag_id from main.source_tags)",
}
# Values the public archive never carries, whatever the full archive holds.
BLANKED = {"sources": ("source_file",), "testimonies": ("private_hash",)}


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def is_full_archive(db: sqlite_utils.Database) -> bool:
    """An archive `ingest` wrote (not one `publish` built): it can hold restricted material, private fields,
    file paths, takedown reasons and the audit log, so it is never served without a login."""
    return store.archive_kind(db) == "full"


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


def _candidates(db: sqlite_utils.Database, where: str = "1", params=()):
    """(id, source_id, speaker, people, text) of testimonies, for matching against takedowns; people are
    (id, name, is_pseudonym), the speaker first."""
    subjects: dict[str, list[tuple]] = {}
    for testimony_id, *person in db.execute(
        f"""select ts.testimony_id, p.id, p.name, p.is_pseudonym from testimony_subjects ts
        join people p on p.id = ts.person_id join testimonies t on t.id = ts.testimony_id
        where {where} order by ts.testimony_id, ts.position""",
        params,
    ):
        subjects.setdefault(testimony_id, []).append(tuple(person))
    for row in db.execute(
        f"""select t.id, t.source_id, t.speaker, t.speaker_id, t.speaker_is_pseudonym, t.text
        from testimonies t where {where}""",
        params,
    ):
        testimony_id, source_id, speaker, speaker_id, is_pseudonym, text = row
        people = [(speaker_id, speaker, is_pseudonym), *subjects.get(testimony_id, [])]
        yield testimony_id, source_id, speaker, people, text


def withheld_by(matcher: Matcher, db: sqlite_utils.Database, where: str = "1", params=()) -> dict[str, str]:
    """testimony id -> why, for the testimonies of `db` that match a takedown."""
    found = {}
    if not matcher:
        return found
    for testimony_id, source_id, _, people, text in _candidates(db, where, params):
        match = matcher.match(testimony_id, source_id, people, text)
        if match:
            found[testimony_id] = match[1]
    return found


# -- publish -----------------------------------------------------------------------------------------


def default_public_path(full_path: Path) -> Path:
    """Where `publish` writes, and where a takedown looks first: `public.db` beside the full archive."""
    return Path(full_path).with_name("public.db")


def publish(
    full_path: Path,
    public_path: Path | None = None,
    public_index: Path | None = None,
    key: ArchiveKey | None = None,
    lock_timeout: float = store.LOCK_TIMEOUT,
) -> dict:
    """Build the public archive (and its index) from the full one; returns counts per table.

    Everything is built aside first; then the copy is recorded in the full archive, the database is
    installed (one transaction) and the index swapped in (one rename): a reader sees the old archive or
    the new one, and search masks what the database no longer holds during the instant between the two."""
    full_path = Path(full_path)
    public_path = Path(public_path) if public_path else default_public_path(full_path)
    if full_path.resolve() == public_path.resolve():
        raise ValueError("the public archive must be a different file from the full archive")
    public_index = Path(public_index) if public_index else search_index.index_dir_for(public_path)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    key = key or load_key()
    with store.writing(full_path, lock_timeout):
        full = store.open_archive(full_path, store.WRITE, key)
        try:
            return _publish(full, full_path, public_path, public_index, key)
        finally:
            full.close()


def _publish(full, full_path: Path, public_path: Path, public_index: Path, key) -> dict:
    previous_generation = _existing_public_generation(public_path, public_index)
    matcher = store.takedown_matcher(full, key)
    # Defence in depth: every row is checked against the takedowns again, not only by id.
    withheld = withheld_by(matcher, full, "t.visibility = 'public'")
    archive_id = store.get_meta(full, "archive_id")
    at = now()
    remove_leftovers(public_path, public_index)
    build_path, compact_path = _build_paths(public_path)
    counts = _build(full_path, build_path, compact_path, withheld, previous_generation + 1, archive_id, at)
    counts["withheld"] = len(withheld)
    build_dir = search_index.new_build_dir(public_index)
    try:
        compact = sqlite_utils.Database(compact_path)
        try:
            counts["index_documents"] = search_index.build(compact, build_dir)
        finally:
            compact.close()
        # Recorded before it exists: a takedown then reports a copy it cannot find, never misses one.
        with full.atomic():
            store.record_copy(full, public_path, public_index, at)
        _install(compact_path, public_path)
        search_index.swap_in(build_dir, public_index)
    finally:
        if build_dir.exists():
            shutil.rmtree(build_dir, ignore_errors=True)
        _remove_database(compact_path)
    return counts


def _build_paths(public_path: Path) -> tuple[Path, Path]:
    return public_path.with_name(f".{public_path.name}.building"), public_path.with_name(f".{public_path.name}.compact")


def remove_copy_files(public_path: Path, public_index: Path) -> str:
    """A forgotten copy's index and leftovers (its database, if still there, is the archivist's to delete)."""
    remove_leftovers(public_path, public_index)
    if public_index.exists():
        shutil.rmtree(public_index, ignore_errors=True)
        return f"its index {public_index}"
    return ""


def remove_leftovers(public_path: Path, public_index: Path) -> None:
    """What a killed publish or rebuild left beside a public copy: a database being built, its compact
    copy, index build folders and old indexes. Each can hold testimonies taken down since."""
    for leftover in _build_paths(public_path):
        _remove_database(leftover)
    search_index.remove_leftovers(public_index)


def _existing_public_generation(public_path: Path, public_index: Path) -> int:
    """The highest generation the public archive about to be replaced, or an index left where its index
    goes, was stamped with (0 when there is none): the new copy's stamp is above both, so a new database
    is never taken for the one an old index was built for. A file there that is not a public archive is
    never overwritten."""
    stamp = search_index.read_generation(public_index) or 0
    if not public_path.exists():
        return stamp
    try:
        existing = store.open_archive(public_path, store.READ)
    except store.NotAnArchive:
        raise ValueError(f"{public_path} exists and is not a public archive: publish will not overwrite it") from None
    try:
        if store.archive_kind(existing) != "public":
            raise ValueError(f"{public_path} is a full archive: publish will not overwrite it")
        return max(stamp, store.generation(existing))
    finally:
        existing.close()


def _build(full_path, build_path, compact_path, withheld, generation, archive_id, at) -> dict:
    build = store.ensure_db_shape(sqlite_utils.Database(build_path), public=True)
    try:
        build.conn.execute("attach database ? as full", [str(full_path)])
        build.execute("create temp table withheld (id text primary key)")
        with build.atomic():
            build.conn.executemany("insert into temp.withheld (id) values (?)", [(i,) for i in withheld])
            for table, where in PUBLIC_ROWS.items():
                columns = ", ".join(f"[{c}]" for c in store.TABLES[table]["columns"])
                build.execute(
                    f"insert into main.[{table}] ({columns}) select {columns} from full.[{table}] where {where}"
                )
            for table, blanked in BLANKED.items():
                build.execute(f"update main.[{table}] set {', '.join(f'[{c}] = null' for c in blanked)}")
            renumber_positions(build)
            store.set_meta(build, "generation", generation)
            store.set_meta(build, "published_at", at)
            if archive_id:
                store.set_meta(build, "published_from", archive_id)
        build.conn.execute("detach database full")
        counts = {table: build[table].count for table in PUBLIC_ROWS}
        # VACUUM INTO writes a compact copy with no free pages and no WAL: nothing deleted lingers in it.
        build.execute("pragma wal_checkpoint(truncate)")
        build.conn.execute("vacuum into ?", [str(compact_path)])
    finally:
        build.close()
        _remove_database(build_path)
    # WAL, like the full archive: readers (the server) are never blocked by a takedown's write or vacuum.
    compact = sqlite3.connect(str(compact_path))
    try:
        compact.execute("pragma journal_mode=wal")
    finally:
        compact.close()
    return counts


def renumber_positions(db: sqlite_utils.Database) -> None:
    """Positions 0, 1, 2... within each source: a gap would count the testimonies left out."""
    db.execute(
        """update testimonies set position = numbered.n from (
            select id, row_number() over (partition by source_id order by position, id) - 1 as n from testimonies
        ) as numbered where numbered.id = testimonies.id and testimonies.position != numbered.n"""
    )


def _install(built: Path, public_path: Path) -> None:
    """Put the built archive in place. An existing public archive is overwritten *in* its file (SQLite's
    backup API, one transaction), not replaced by a new file: a running server keeps its connections
    open on the file it has, and must see the new content, takedowns included."""
    if not public_path.exists():
        os.replace(built, public_path)
        return
    source = sqlite3.connect(str(built))
    target = sqlite3.connect(str(public_path), timeout=store.LOCK_TIMEOUT)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    _remove_database(built)


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# -- what to take down -------------------------------------------------------------------------------


def resolve_person(db: sqlite_utils.Database, spec: str, copies: list["Copy"] = ()) -> dict:
    """Exactly one person: an id, `Name*` (a pseudonym) or `Name` (a real name). LookupError otherwise,
    listing the candidates when the name is ambiguous (a pseudonym is one person per source). A person no
    longer in the full archive is looked for in its public copies (published before the file changed)."""
    try:
        return _resolve_person(db, spec)
    except LookupError as error:
        if not str(error).startswith("no person"):
            raise
        for copy in copies:
            public = _open_copy(copy)
            if public is None:
                continue
            try:
                return _resolve_person(public, spec)
            except LookupError:
                continue
            finally:
                public.close()
        raise


def _resolve_person(db: sqlite_utils.Database, spec: str) -> dict:
    rows = db.execute("select id, name, is_pseudonym from people where id = ?", [spec]).fetchall()
    if not rows:
        try:
            name, starred = parse_name(spec)
        except ValueError as error:
            raise LookupError(f"{spec!r} is not a person's name or id: {error}") from None
        rows = db.execute(
            "select id, name, is_pseudonym from people where name = ? and is_pseudonym = ?", [name, int(starred)]
        ).fetchall()
        if not rows:
            other = db.execute(
                "select count(*) from people where name = ? and is_pseudonym = ?", [name, int(not starred)]
            ).fetchone()[0]
            hint = ""
            if other:
                hint = f"; there is {'a real-name' if starred else 'a pseudonymous'} {name}{'' if starred else '*'}"
            raise LookupError(f"no person {spec!r}{hint}")
    if len(rows) > 1:
        listed = "; ".join(f"{row[0]} ({describe_person(db, row[0])})" for row in rows)
        raise LookupError(f"{spec!r} names {len(rows)} people (a pseudonym is one person per source): {listed}")
    person_id, name, is_pseudonym = rows[0]
    return {
        "id": person_id,
        "name": name,
        "is_pseudonym": is_pseudonym,
        "display": name + ("*" if is_pseudonym else ""),
    }


def describe_person(db: sqlite_utils.Database, person_id: str) -> str:
    row = db.execute("select name, is_pseudonym from people where id = ?", [person_id]).fetchone()
    titles = [
        r[0]
        for r in db.execute(
            """select distinct s.title from sources s join testimonies t on t.source_id = s.id
            left join testimony_subjects ts on ts.testimony_id = t.id
            where t.speaker_id = ? or ts.person_id = ? order by s.title""",
            [person_id, person_id],
        )
    ]
    return f"{row[0]}{'*' if row[1] else ''} in {', '.join(repr(t) for t in titles) or 'no source'}"


def resolve_targets(
    db: sqlite_utils.Database, testimony_ids: list[str], person: dict | None, copies: list["Copy"] = ()
) -> list[str]:
    """Testimony ids to take down: those named, plus every testimony a person gave or is a subject of (so
    the person leaves `people`). An id is accepted when the full archive holds it, when it was taken down
    before (so a takedown that failed halfway can be run again), or when only a public copy still holds
    it (its file changed since it was published: the id on the public page is what a family sends)."""
    found = []
    for testimony_id in testimony_ids:
        known = db.execute(
            "select 1 from testimonies where id = ? union select 1 from tombstones where testimony_id = ?",
            [testimony_id, testimony_id],
        ).fetchall()
        if not known and not any(_copy_holds(copy, testimony_id) for copy in copies):
            raise LookupError(f"no testimony with id {testimony_id!r}")
        found.append(testimony_id)
    if person:
        # Also what only a public copy still holds (the file changed since it was published): each of those
        # testimonies is taken down with a fingerprint of its own, so a re-attributed copy stays out.
        for holder in [db, *(_open_copy(copy) for copy in copies)]:
            if holder is None:
                continue
            try:
                found += [
                    row[0]
                    for row in holder.execute(
                        """select id from testimonies where speaker_id = ?
                        union select testimony_id from testimony_subjects where person_id = ? order by 1""",
                        [person["id"], person["id"]],
                    )
                ]
            finally:
                if holder is not db:
                    holder.close()
    return list(dict.fromkeys(found))


# -- takedown ----------------------------------------------------------------------------------------


@dataclass
class Copy:
    path: str
    index: str
    status: str = "pending"  # done | unreachable | failed
    reason: str | None = None


class TakedownIncomplete(Exception):
    """Some published copy could not be reached or changed: the takedown must be completed."""

    def __init__(self, report: dict):
        self.report = report
        missed = [c for c in report["copies"] if c["status"] != "done"]
        super().__init__("; ".join(f"{c['path']}: {c['reason']}" for c in missed))


def copies_to_reach(full: sqlite_utils.Database, full_path: Path, extra: list[Path] = ()) -> list[Copy]:
    """Every public copy a takedown must reach: those `publish` recorded, those named on the command line,
    and an unrecorded public archive of this archive at the old default places (`public.db` beside the
    full archive or in the working folder, published before copies were recorded)."""
    copies = {row["path"]: Copy(row["path"], row["index_dir"]) for row in store.published_copies(full)}
    for path in extra:
        resolved = str(Path(path).resolve())
        copies.setdefault(resolved, Copy(resolved, str(search_index.index_dir_for(resolved).resolve())))
    archive_id = store.get_meta(full, "archive_id")
    for path in (default_public_path(full_path), Path("public.db")):
        resolved = str(path.resolve())
        if resolved not in copies and path.is_file() and _published_from(path) in ("", archive_id):
            copies[resolved] = Copy(resolved, str(search_index.index_dir_for(resolved).resolve()))
    return list(copies.values())


def _published_from(path: Path) -> str | None:
    """The id of the archive a public archive was published from ("" when it predates the record), or None
    when `path` is no public archive."""
    try:
        db = store.open_archive(path, store.READ)
    except store.NotAnArchive:
        return None
    try:
        return store.get_meta(db, "published_from", "") if store.archive_kind(db) == "public" else None
    finally:
        db.close()


def takedown(
    full: sqlite_utils.Database,
    full_path: Path,
    full_index: Path,
    testimony_ids: list[str],
    reason: str,
    key: ArchiveKey | None,
    person: dict | None = None,
    extra_copies: list[Path] = (),
    actor: str | None = None,
    lock_timeout: float = search_index.LOCK_TIMEOUT,
) -> dict:
    """Take testimonies (and any copy of them) down everywhere. Returns a report; raises
    TakedownIncomplete (with the report) when a public copy could not be reached.

    Order: tombstones and audit entries first (from then on ingest and publish withhold them), then every
    public copy, then the full archive. The archive's writer lock and the full index's lock are held
    throughout: no ingest or publish interleaves."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a takedown needs a reason")
    with store.writing(full_path, lock_timeout):
        key = store.use_key(
            full, key or load_key(), "a takedown (it keeps an encrypted fingerprint of what it removes)"
        )
        at = now()
        lock = search_index.hold_lock(full_index, lock_timeout) if search_index.exists(full_index) else None
        try:
            copies = copies_to_reach(full, full_path, extra_copies)
            fingerprints = _fingerprints(full, testimony_ids, copies)
            probe = Matcher(
                [Takedown(0, at, testimony_id=t, fingerprint=f) for t, f in fingerprints.items()]
                + ([_person_probe(person, at)] if person else [])
            )
            # Other testimonies of the full archive that match (the same words under another source or
            # speaker, an edited version; also a templated text) go too, as an ingest of them would now
            # withhold them: covered by the takedown's fingerprint, no tombstone of their own; listed, and
            # `restore ID` clears one (the next ingest of its file brings it back).
            also = {t: why for t, why in withheld_by(probe, full).items() if t not in testimony_ids}
            targets = list(dict.fromkeys([*testimony_ids, *also]))
            _record_tombstones(full, key, at, reason, testimony_ids, fingerprints, person, actor, also)
            archive_id = store.get_meta(full, "archive_id")
            for copy in copies:
                _take_down_copy(copy, targets, probe, archive_id, lock_timeout)
            with full.atomic():
                delete_testimonies(full, targets)
                prune_orphans(full)
                store.bump_generation(full)
                for copy in copies:
                    if copy.status == "done":
                        store.record_copy(full, Path(copy.path), Path(copy.index), _copy_published_at(full, copy))
            store.scrub(full)
            search_index.remove_leftovers(full_index)
            search_index.rebuild(full, full_index, locked=lock is not None, timeout=lock_timeout)
        finally:
            if lock is not None:
                lock.release()
    report = {
        "testimonies": targets,
        "also_matching": also,
        "person": person["display"] if person else None,
        "full": {"path": str(full_path), "index": str(full_index)},
        "copies": [asdict(copy) for copy in copies],
    }
    if any(copy.status != "done" for copy in copies):
        raise TakedownIncomplete(report)
    return report


def _fingerprints(full, testimony_ids: list[str], copies: list[Copy]) -> dict[str, Fingerprint]:
    """A fingerprint of each testimony, from the full archive, else from a public copy that still holds it
    (its file changed, or lost it, since it was published)."""
    found = {}
    for db in [full, *(_open_copy(copy) for copy in copies)]:
        if db is None:
            continue
        try:
            missing = [t for t in testimony_ids if t not in found]
            if missing:
                marks = ",".join("?" * len(missing))
                for testimony_id, source_id, speaker, _, text in _candidates(db, f"t.id in ({marks})", missing):
                    found[testimony_id] = Fingerprint.of(testimony_id, source_id, speaker, text)
        finally:
            if db is not full:
                db.close()
    return found


def _person_probe(person: dict, at: str) -> Takedown:
    return Takedown(
        0,
        at,
        person_id=person["id"],
        person_display=person["display"],
        person_key=None if person["is_pseudonym"] else person_key(person["name"]),
    )


def _copy_holds(copy: "Copy", testimony_id: str) -> bool:
    public = _open_copy(copy)
    if public is None:
        return False
    try:
        return bool(public.execute("select 1 from testimonies where id = ?", [testimony_id]).fetchall())
    finally:
        public.close()


def _open_copy(copy: Copy) -> sqlite_utils.Database | None:
    """A public copy opened read-only, or None when it is not there or not a public archive."""
    try:
        db = store.open_archive(copy.path, store.READ)
    except store.NotAnArchive:
        return None
    if store.archive_kind(db) != "public":
        db.close()
        return None
    return db


def _copy_published_at(full: sqlite_utils.Database, copy: Copy) -> str:
    rows = full.execute("select published_at from published_copies where path = ?", [copy.path]).fetchall()
    return rows[0][0] if rows and rows[0][0] else now()


def _record_tombstones(full, key, at, reason, targets, fingerprints, person, actor, also) -> None:
    already = {
        row[0]
        for row in full.execute(
            f"select testimony_id from tombstones where testimony_id in ({','.join('?' * len(targets))})", targets
        )
    }
    # A takedown run again (after an interruption) finds its tombstones there and adds none.
    person_done = person and person["id"] in store.takedown_matcher(full, key).by_person
    with full.atomic():
        person_takedown = None
        if person and not person_done:
            person_takedown = store.add_tombstone(full, key, at, reason, person=person)
        for testimony_id in targets:
            if testimony_id in already:
                continue
            store.add_tombstone(
                full,
                key,
                at,
                reason,
                testimony_id=testimony_id,
                fingerprint=fingerprints.get(testimony_id),
                person_takedown=person_takedown,
            )
        full["audit_log"].insert_all(
            [{"at": at, "action": "takedown", "testimony_id": t, "reason": reason, "actor": actor} for t in targets]
            + [
                {"at": at, "action": "takedown (match)", "testimony_id": t, "reason": why, "actor": actor}
                for t, why in also.items()
            ]
        )


def _take_down_copy(
    copy: Copy, testimony_ids: list[str], probe: Matcher, archive_id: str | None, lock_timeout: float
) -> None:
    """Remove testimonies from one public copy: the ones named, and any the copy holds that matches the
    takedown (an older version of an edited testimony, a testimony naming the person); its database in one
    transaction, then its bytes, then its index. Sets the copy's status; never raises for what concerns
    only this copy."""
    path = Path(copy.path)
    if not path.is_file():
        copy.status, copy.reason = "unreachable", "no file there (moved or deleted?)"
        # Its index is still beside where it was, holding the words: nothing can serve it without its
        # database, so it goes (a copy that moved is reached with --public and indexed anew).
        remove_leftovers(path, Path(copy.index))
        if Path(copy.index).exists():
            shutil.rmtree(copy.index, ignore_errors=True)
            copy.reason += "; its index there was removed"
        return
    try:
        public = store.open_archive(path, store.READ)
        public.close()
        public = sqlite_utils.Database(sqlite3.connect(str(path), timeout=lock_timeout))
    except (store.NotAnArchive, sqlite3.Error) as error:
        copy.status, copy.reason = "failed", f"cannot open it: {error}"
        return
    try:
        if store.archive_kind(public) != "public":
            copy.status, copy.reason = "failed", "it is not a public archive"
            return
        published_from = store.get_meta(public, "published_from")
        if published_from and archive_id and published_from != archive_id:
            copy.status, copy.reason = "failed", "it was published from another archive"
            return
        remove_leftovers(path, Path(copy.index))
        removed = list(dict.fromkeys([*testimony_ids, *withheld_by(probe, public)]))
        marks = ",".join("?" * len(removed))
        present = public.execute(f"select count(*) from testimonies where id in ({marks})", removed).fetchone()[0]
        with public.atomic():
            if present:
                delete_testimonies(public, removed)
                prune_orphans(public)
                renumber_positions(public)
                store.bump_generation(public)
        store.scrub(public)
        search_index.rebuild(public, Path(copy.index), timeout=lock_timeout)
        copy.status = "done"
    except (sqlite3.Error, search_index.IndexBusy, OSError) as error:
        copy.status, copy.reason = "failed", f"could not be changed ({error}): run the same takedown again"
    finally:
        public.close()


# -- restore -----------------------------------------------------------------------------------------


def restore(
    full: sqlite_utils.Database,
    testimony_ids: list[str],
    reason: str,
    key: ArchiveKey | None = None,
    person: str | None = None,
    actor: str | None = None,
) -> dict:
    """Lift takedowns (the next ingest of their files brings the testimonies back), or clear a testimony
    a takedown withheld by similarity or by a person (it alone is let through)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a restore needs a reason")
    at = now()
    restored, cleared, unknown = [], [], []
    with store.writing(store.database_path(full)), full.atomic():
        # Withheld at an ingest, or taken down with a takedown they matched.
        withheld = _withheld_ids(full)
        for testimony_id in testimony_ids:
            if full.execute("select 1 from tombstones where testimony_id = ?", [testimony_id]).fetchall():
                full.execute("delete from tombstones where testimony_id = ?", [testimony_id])
                restored.append(testimony_id)
            elif testimony_id in withheld:
                through = full.execute("select max(id) from tombstones").fetchone()[0] or 0
                full["takedown_clearances"].upsert(
                    {"testimony_id": testimony_id, "through_tombstone": through, "cleared_at": at, "reason": reason},
                    pk="testimony_id",
                )
                cleared.append(testimony_id)
            else:
                unknown.append(testimony_id)
        people = []
        if person:
            people = _restore_person(full, key, person)
        full["audit_log"].insert_all(
            [{"at": at, "action": "restore", "testimony_id": t, "reason": reason, "actor": actor} for t in restored]
            + [{"at": at, "action": "clear", "testimony_id": t, "reason": reason, "actor": actor} for t in cleared]
            + [{"at": at, "action": "restore person", "testimony_id": None, "reason": reason, "actor": actor}]
            * bool(people)
        )
    return {"restored": restored, "cleared": cleared, "unknown": unknown, "people": people}


def _withheld_ids(full: sqlite_utils.Database) -> set[str]:
    found = {row[0] for row in full.execute("select testimony_id from audit_log where action = 'takedown (match)'")}
    for (value,) in full.execute("select withheld from ingest_run_files where withheld is not null"):
        found.update(entry["id"] for entry in json.loads(value))
    return found


def _restore_person(full: sqlite_utils.Database, key: ArchiveKey | None, spec: str) -> list[str]:
    matcher = store.takedown_matcher(full, key or load_key())
    name, starred = (None, None)
    try:
        name, starred = parse_name(spec)
    except ValueError:
        pass
    display = f"{name}{'*' if starred else ''}" if name else None
    found = [t for t in matcher.takedowns if t.person_id and (t.person_id == spec or t.person_display == display)]
    if not found:
        raise LookupError(f"no person {spec!r} was taken down")
    if len(found) > 1:
        raise LookupError(
            f"{spec!r} names {len(found)} taken-down people: give the id ({', '.join(t.person_id for t in found)})"
        )
    tombstone_id = found[0].tombstone_id
    full.execute("delete from tombstones where id = ? or person_takedown = ?", [tombstone_id, tombstone_id])
    return [found[0].person_display]
