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

import logging
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
from .normalize import parse_name
from .source import one_line
from .store import delete_testimonies, prune_orphans
from .vocabulary import display_name, now

# What publish, takedown and restore did, for an archivist's audit trail (`testimony --log FILE`): ids,
# paths and counts, never a testimony's words, a private field or a takedown's reason.
log = logging.getLogger(__name__)


def withheld_by(matcher: Matcher, db: sqlite_utils.Database, public_only: bool = False) -> dict[str, str]:
    """testimony id -> why, for the testimonies of `db` that match a takedown."""
    found = {}
    if not matcher:
        return found
    for candidate in store.candidates(db, public_only=public_only):
        match = matcher.match(candidate.id, candidate.source_id, candidate.people, candidate.text)
        if match:
            found[candidate.id] = match[1]
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
    withheld = withheld_by(matcher, full, public_only=True)
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
    log.info(
        "publish: %s -> %s: %d testimonies from %d sources, %d withheld by takedowns, %d index documents",
        one_line(str(full_path.resolve())),
        one_line(str(public_path.resolve())),
        counts["testimonies"],
        counts["sources"],
        counts["withheld"],
        counts["index_documents"],
    )
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


def forget_copy(full: sqlite_utils.Database, path: Path) -> tuple[dict, str]:
    """Stop tracking a public copy that is gone for good, and remove what it left on disk (its index, a
    killed publish's leftovers): they hold its words. LookupError when it is not a recorded copy."""
    record = store.forget_copy(full, path)
    if record is None:
        raise LookupError(f"{path} is not a recorded copy")
    return record, remove_copy_files(Path(record["path"]), Path(record["index_dir"]))


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
        counts = store.copy_public_rows(build, full_path, withheld, generation, archive_id, at)
        store.compact_into(build, compact_path)
    finally:
        build.close()
        _remove_database(build_path)
    return counts


def _install(built: Path, public_path: Path) -> None:
    """Put the built archive in place. An existing public archive is overwritten *in* its file (SQLite's
    backup API, one transaction), not replaced by a new file: a running server keeps its connections
    open on the file it has, and must see the new content, takedowns included."""
    if not public_path.exists():
        os.replace(built, public_path)
        return
    store.copy_file_into(built, public_path)
    _remove_database(built)


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# -- what to take down -------------------------------------------------------------------------------


def resolve_person(db: sqlite_utils.Database, spec: str, copies: list["Copy"] = ()) -> store.Person:
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


def _resolve_person(db: sqlite_utils.Database, spec: str) -> store.Person:
    name, starred = None, False
    try:
        name, starred = parse_name(spec)
    except ValueError as error:
        problem = error
    found = store.people_by_id_or_name(db, spec, name, starred)
    if not found and name is None:
        raise LookupError(f"{spec!r} is not a person's name or id: {problem}")
    if not found:
        hint = ""
        if store.people_by_id_or_name(db, "", name, not starred):
            hint = f"; there is {'a real-name' if starred else 'a pseudonymous'} {display_name(name, not starred)}"
        raise LookupError(f"no person {spec!r}{hint}")
    if len(found) > 1:
        listed = "; ".join(f"{person.id} ({describe_person(db, person)})" for person in found)
        raise LookupError(f"{spec!r} names {len(found)} people (a pseudonym is one person per source): {listed}")
    return found[0]


def describe_person(db: sqlite_utils.Database, person: store.Person) -> str:
    titles = store.sources_of_person(db, person.id)
    return f"{person.display} in {', '.join(repr(t) for t in titles) or 'no source'}"


def resolve_targets(
    db: sqlite_utils.Database, testimony_ids: list[str], person: store.Person | None, copies: list["Copy"] = ()
) -> list[str]:
    """Testimony ids to take down: those named, plus every testimony a person gave or is a subject of (so
    the person leaves `people`). An id is accepted when the full archive holds it, when it was taken down
    before (so a takedown that failed halfway can be run again), or when only a public copy still holds
    it (its file changed since it was published: the id on the public page is what a family sends)."""
    found = []
    for testimony_id in testimony_ids:
        if not store.known_testimony(db, testimony_id) and not any(_copy_holds(copy, testimony_id) for copy in copies):
            raise LookupError(f"no testimony with id {testimony_id!r}")
        found.append(testimony_id)
    if person:
        # Also what only a public copy still holds (the file changed since it was published): each of those
        # testimonies is taken down with a fingerprint of its own, so a re-attributed copy stays out.
        for holder in [db, *(_open_copy(copy) for copy in copies)]:
            if holder is None:
                continue
            try:
                found += store.testimonies_of_person(holder, person.id)
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
    person: store.Person | None = None,
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
    for copy in copies:
        log.info(
            "takedown: public copy %s %s%s",
            one_line(copy.path),
            copy.status,
            f" ({one_line(copy.reason)})" if copy.reason else "",
        )
    log.info(
        "takedown: %d testimonies (%s)%s removed from %s; %d more matched it; the reason is in the audit log",
        len(testimony_ids),
        ", ".join(testimony_ids),
        f" and the person {person.id}" if person else "",
        one_line(str(Path(full_path).resolve())),
        len(also),
    )
    report = {
        "testimonies": targets,
        "also_matching": also,
        "person": person.display if person else None,
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
                for one in store.candidates(db, ids=missing):
                    found[one.id] = Fingerprint.of(one.id, one.source_id, one.speaker, one.text)
        finally:
            if db is not full:
                db.close()
    return found


def _person_probe(person: store.Person, at: str) -> Takedown:
    return Takedown(
        0,
        at,
        person_id=person.id,
        person_display=person.display,
        person_key=None if person.is_pseudonym else person_key(person.name),
    )


def _copy_holds(copy: "Copy", testimony_id: str) -> bool:
    public = _open_copy(copy)
    if public is None:
        return False
    try:
        return store.holds(public, testimony_id)
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
    return store.copy_published_at(full, copy.path) or now()


def _record_tombstones(full, key, at, reason, targets, fingerprints, person, actor, also) -> None:
    already = store.tombstoned(full, targets)
    # A takedown run again (after an interruption) finds its tombstones there and adds none.
    person_done = person and person.id in store.takedown_matcher(full, key).by_person
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
        store.audit(
            full,
            [{"at": at, "action": "takedown", "testimony_id": t, "reason": reason, "actor": actor} for t in targets]
            + [
                {"at": at, "action": "takedown (match)", "testimony_id": t, "reason": why, "actor": actor}
                for t, why in also.items()
            ],
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
        present = store.count_held(public, removed)
        with public.atomic():
            if present:
                delete_testimonies(public, removed)
                prune_orphans(public)
                store.renumber_positions(public)
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
        withheld = store.withheld_ids(full)
        for testimony_id in testimony_ids:
            if store.lift_tombstone(full, testimony_id):
                restored.append(testimony_id)
            elif testimony_id in withheld:
                store.clear(full, testimony_id, at, reason)
                cleared.append(testimony_id)
            else:
                unknown.append(testimony_id)
        people = []
        if person:
            people = _restore_person(full, key, person)
        store.audit(
            full,
            [{"at": at, "action": "restore", "testimony_id": t, "reason": reason, "actor": actor} for t in restored]
            + [{"at": at, "action": "clear", "testimony_id": t, "reason": reason, "actor": actor} for t in cleared]
            + [{"at": at, "action": "restore person", "testimony_id": None, "reason": reason, "actor": actor}]
            * bool(people),
        )
    log.info(
        "restore: %d lifted (%s), %d cleared (%s), %d people; the reason is in the audit log",
        len(restored),
        ", ".join(restored),
        len(cleared),
        ", ".join(cleared),
        len(people),
    )
    return {"restored": restored, "cleared": cleared, "unknown": unknown, "people": people}


def _restore_person(full: sqlite_utils.Database, key: ArchiveKey | None, spec: str) -> list[str]:
    matcher = store.takedown_matcher(full, key or load_key())
    name, starred = (None, None)
    try:
        name, starred = parse_name(spec)
    except ValueError:
        pass
    display = display_name(name, starred)
    found = [t for t in matcher.takedowns if t.person_id and (t.person_id == spec or t.person_display == display)]
    if not found:
        raise LookupError(f"no person {spec!r} was taken down")
    if len(found) > 1:
        raise LookupError(
            f"{spec!r} names {len(found)} taken-down people: give the id ({', '.join(t.person_id for t in found)})"
        )
    tombstone_id = found[0].tombstone_id
    store.lift_person_takedown(full, tombstone_id)
    return [found[0].person_display]
