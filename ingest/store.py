"""The archive's SQLite shape, how an archive is opened, and its migrations.

The normalized tables (sources, people, testimonies, testimony_subjects, tags and their joins) are the
source of truth. `testimonies` also carries a few denormalized browse columns (speaker, publisher,
statuses, relationships, subjects, tags, ...) that ingest writes in the same transaction as the
normalized rows: Datasette can only facet on a table's own columns, and a view of correlated
subqueries is too slow to facet at archive scale.

Two kinds of archive share this shape: the *full* archive (what `ingest` writes; it also has the
PRIVATE_TABLES) and the *public* archive (what `publish` builds: no private tables, `published_at` in
archive_meta). `open_archive` opens either for reading without changing a byte, and only `ingest`
creates one; opening a full archive for writing brings it up to date (`ensure_db_shape`).
"""

import fcntl
import json
import os
import sqlite3
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .crypto import ArchiveKey, KeyProblem, require
from .fingerprint import Fingerprint, Matcher, Takedown, person_key
from .vocabulary import display_name

SCHEMA_VERSION = 5
LOCK_TIMEOUT = 30.0
READ_TIMEOUT = 5.0  # a reader waits this long for a writer's exclusive lock, then says so
CHECKPOINT_TRIES = 50

TABLES = {
    "sources": {
        "columns": {
            "id": str,
            "title": str,
            "publisher": str,
            "published": str,
            "published_precision": str,
            "year": int,
            "url": str,
            "language": str,
            "note": str,
            "visibility": str,
            "source_file": str,
        },
        "pk": "id",
        "not_null": {"title", "publisher", "published", "year", "language", "visibility"},
    },
    "people": {
        # display_name: the name as the archive prints it (a pseudonym with its star), Datasette's label for
        # a person wherever an export or a facet shows one.
        "columns": {"id": str, "name": str, "is_pseudonym": int, "display_name": str},
        "pk": "id",
        "not_null": {"name", "is_pseudonym"},
    },
    "testimonies": {
        "columns": {
            "id": str,
            "source_id": str,
            "position": int,
            "speaker_id": str,
            "role": str,
            "text": str,
            "language": str,
            "date": str,
            "date_precision": str,
            "year": int,
            "location": str,
            "visibility": str,
            # Denormalized for browsing and faceting; rewritten with the row.
            "speaker": str,
            "speaker_is_pseudonym": int,
            "subjects": str,
            "relationships": str,
            "statuses": str,
            "tags": str,
            "source_title": str,
            "publisher": str,
            "published": str,
            "content_hash": str,
            # Hash of the testimony's private fields: full archive only (blanked by `testimony publish`).
            "private_hash": str,
        },
        "pk": "id",
        "foreign_keys": [("source_id", "sources", "id"), ("speaker_id", "people", "id")],
        "not_null": {"source_id", "speaker_id", "text", "language", "year", "visibility", "content_hash"},
    },
    "testimony_subjects": {
        "columns": {
            "testimony_id": str,
            "position": int,
            "person_id": str,
            "relationship": str,
            "status": str,
            "since": str,
            "since_precision": str,
        },
        "pk": ("testimony_id", "position"),
        "foreign_keys": [("testimony_id", "testimonies", "id"), ("person_id", "people", "id")],
    },
    "tags": {"columns": {"id": str, "name": str}, "pk": "id", "not_null": {"name"}},
    "source_tags": {
        "columns": {"source_id": str, "tag_id": str},
        "pk": ("source_id", "tag_id"),
        "foreign_keys": [("source_id", "sources", "id"), ("tag_id", "tags", "id")],
    },
    "testimony_tags": {
        "columns": {"testimony_id": str, "tag_id": str},
        "pk": ("testimony_id", "tag_id"),
        "foreign_keys": [("testimony_id", "testimonies", "id"), ("tag_id", "tags", "id")],
    },
    # Fields kept for archivists and never published (see `testimony publish`).
    "private_fields": {
        "columns": {"testimony_id": str, "who": str, "field": str, "value": str},
        "pk": ("testimony_id", "who", "field"),
        "foreign_keys": [("testimony_id", "testimonies", "id")],
    },
    "ingest_runs": {
        "columns": {
            "id": int,
            "started": str,
            "finished": str,
            "command": str,
            "files": int,
            "inserted": int,
            "updated": int,
            "unchanged": int,
            "removed": int,
            "failed": int,
        },
        "pk": "id",
    },
    "ingest_run_files": {
        # withheld: JSON list of {"id", "testimony", "reason"} for the testimonies a takedown kept out.
        "columns": {"run_id": int, "path": str, "sha256": str, "status": str, "error": str, "withheld": str},
        "pk": ("run_id", "path"),
        "foreign_keys": [("run_id", "ingest_runs", "id")],
    },
    "archive_meta": {"columns": {"key": str, "value": str}, "pk": "key"},
    # Takedowns: which testimony (or person), when and why, and an encrypted fingerprint that recognises an
    # edited copy (see ingest.fingerprint); never the words. Ingest and publish withhold what matches one.
    "tombstones": {
        "columns": {
            "id": int,
            "kind": str,  # testimony | person
            "testimony_id": str,
            "person_takedown": int,  # the person takedown that removed this testimony, if any
            "removed_at": str,
            "reason": str,
            "fingerprint": str,  # Fernet token of a JSON payload
        },
        "pk": "id",
        "not_null": {"kind", "removed_at", "reason"},
    },
    # A testimony that matched a takedown by similarity or by a person and that an archivist let through
    # (`testimony restore ID`): cleared of every takedown up to `through_tombstone`, not of later ones.
    "takedown_clearances": {
        "columns": {"testimony_id": str, "through_tombstone": int, "cleared_at": str, "reason": str},
        "pk": "testimony_id",
    },
    # Every public archive `publish` wrote from this archive, so a takedown reaches each of them.
    "published_copies": {
        "columns": {"path": str, "index_dir": str, "published_at": str, "generation": int},
        "pk": "path",
    },
    "audit_log": {
        "columns": {"id": int, "at": str, "action": str, "testimony_id": str, "reason": str, "actor": str},
        "pk": "id",
    },
}

# Tables only a full archive has: `testimony publish` leaves them out, and serving an archive that has
# them needs a login (see `testimony serve`).
PRIVATE_TABLES = (
    "private_fields",
    "ingest_runs",
    "ingest_run_files",
    "tombstones",
    "takedown_clearances",
    "audit_log",
    "published_copies",
)
PUBLIC_TABLES = tuple(name for name in TABLES if name not in PRIVATE_TABLES)
AUTOINCREMENT = ("tombstones",)

INDEXES = {
    "testimonies": [
        ["source_id"],
        ["speaker_id"],
        ["role"],
        ["language"],
        ["year"],
        ["publisher"],
        ["speaker_is_pseudonym"],
        ["date"],
    ],
    "testimony_subjects": [["person_id"], ["relationship"], ["status"]],
    "testimony_tags": [["tag_id"]],
    "source_tags": [["tag_id"]],
    "sources": [["publisher"], ["year"], ["source_file"]],
    "people": [["name"]],
    "tombstones": [["testimony_id"]],
}


READ, WRITE, CREATE = "read", "write", "create"


class NotAnArchive(Exception):
    """`--db` names no archive, or an archive of the wrong kind for what was asked."""


ARCHIVE_TABLES = ("testimonies", "archive_meta", *PRIVATE_TABLES)  # any of these makes a database an archive


def kind_of(table_names, published: bool) -> str | None:
    """`"full"`, `"public"`, or None for a database that is no testimony archive (an empty file included).

    An archive is recognised by its tables: it is public only when `publish` built it (`published`:
    archive_meta holds published_at) and none of the private tables exist; any other archive may hold
    restricted material. The Datasette plugin's gate asks the same question through this function."""
    names = {name.lower() for name in table_names}
    if not names & set(ARCHIVE_TABLES):
        return None
    if names & set(PRIVATE_TABLES) or "archive_meta" not in names or not published:
        return "full"
    return "public"


def archive_kind(db: sqlite_utils.Database) -> str | None:
    names = set(db.table_names())
    return kind_of(names, "archive_meta" in names and get_meta(db, "published_at") is not None)


def schema_version(db: sqlite_utils.Database) -> int:
    return int(get_meta(db, "schema_version", 0)) if db["archive_meta"].exists() else 0


def ensure_db_shape(
    db: sqlite_utils.Database, key: ArchiveKey | None = None, public: bool = False
) -> sqlite_utils.Database:
    """Create or bring up to date every table, index and setting the archive needs. Safe to call often.

    `public`: the shape of a public archive (no private tables). Migrating an archive whose private fields
    are not yet encrypted needs the key."""
    version = schema_version(db)
    if version == SCHEMA_VERSION:
        return db
    if version > SCHEMA_VERSION:
        raise NotAnArchive(f"the archive is from a newer version of this program (schema {version})")
    if db.journal_mode != "wal":
        db.enable_wal()
    with db.atomic():
        if version and db["tombstones"].exists() and "kind" not in db["tombstones"].columns_dict:
            _reshape_tombstones(db)
        for name, spec in TABLES.items():
            if public and name in PRIVATE_TABLES:
                continue
            if name in AUTOINCREMENT and not db[name].exists():
                _create_autoincrement(db, name)
            db[name].create(
                spec["columns"],
                pk=spec["pk"],
                foreign_keys=spec.get("foreign_keys"),
                not_null=spec.get("not_null"),
                if_not_exists=True,
            )
            # Columns added since a table was first created (tables only ever gain columns).
            existing = db[name].columns_dict
            for column, column_type in spec["columns"].items():
                if existing and column not in existing:
                    db[name].add_column(column, column_type)
        for name, indexes in INDEXES.items():
            if public and name in PRIVATE_TABLES:
                continue
            for columns in indexes:
                db[name].create_index(columns, if_not_exists=True)
        if version and version < 4:
            _migrate_to_4(db, key)
        if version and version < 5:
            _migrate_to_5(db)
        if not public and get_meta(db, "archive_id") is None:
            set_meta(db, "archive_id", uuid.uuid4().hex)
        set_meta(db, "schema_version", SCHEMA_VERSION)
    if version:
        scrub(db)  # a migration rewrote values (private fields encrypted): no old bytes may linger
    return db


def open_archive(path: Path | str, mode: str = CREATE, key: ArchiveKey | None = None) -> sqlite_utils.Database:
    """Open the archive at `path`, waiting up to LOCK_TIMEOUT seconds for another writer's lock.

    - READ opens an existing archive (full or public) read-only: not a byte of it changes.
    - WRITE opens an existing full archive and brings its shape up to date (migrations).
    - CREATE does the same, and creates the archive when there is no file (only `ingest` does this).
    Anything else (no file, a database that is no archive, a public archive opened to write) is a
    NotAnArchive with a one-line reason."""
    path = Path(path)
    if mode != CREATE and not path.is_file():
        raise NotAnArchive(f"no archive at {path}")
    if mode == READ:
        uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=READ_TIMEOUT)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=LOCK_TIMEOUT)
    db = sqlite_utils.Database(conn)
    try:
        kind = archive_kind(db)
        if kind is None and not (mode == CREATE and not db.table_names()):
            raise NotAnArchive(f"{path} is not a testimony archive")
        if kind == "public" and mode != READ:
            raise NotAnArchive(
                f"{path} is a public archive (built by `testimony publish`): ingest, publish and takedown work "
                "on the full archive"
            )
        if mode != READ:
            ensure_db_shape(db, key)
    except sqlite3.OperationalError as error:
        db.close()
        if "locked" in str(error) or "busy" in str(error):
            raise ArchiveBusy(path, READ_TIMEOUT if mode == READ else LOCK_TIMEOUT) from None
        raise NotAnArchive(f"{path} is not a testimony archive ({error})") from None
    except sqlite3.DatabaseError as error:
        db.close()
        raise NotAnArchive(f"{path} is not a testimony archive ({error})") from None
    except BaseException:
        db.close()
        raise
    return db


class ArchiveBusy(Exception):
    """Another command holds the archive's writer lock (or the lock cannot be taken at all)."""

    def __init__(self, path: Path, timeout: float | None = None, reason: str | None = None):
        super().__init__(reason or f"the archive at {path} is locked by another process (waited {timeout:g} s)")


@contextmanager
def writing(path: Path | str, timeout: float = LOCK_TIMEOUT):
    """The archive's writer lock (a hidden file beside it): ingest, takedown, publish and restore of one
    archive run one at a time. A publish that read the takedowns just before a takedown committed would
    otherwise put back what the takedown removed, and an ingest would re-insert it. Released by the
    operating system when the process dies, `kill -9` included.

    One lock per file, however its path is spelled (a symlink, a relative path): the path is resolved.
    The lock file takes the archive's own permissions, so every archivist who may write the archive may
    take it; where it cannot be opened for writing, a read-only descriptor locks just as well."""
    path = Path(path).resolve()
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.fchmod(descriptor, path.stat().st_mode & 0o666)
        except OSError:
            pass  # somebody else's lock file, or no archive yet: the mode stays as it is
    except PermissionError:
        try:
            descriptor = os.open(lock_path, os.O_RDONLY)
        except OSError as error:
            raise ArchiveBusy(
                path, reason=f"cannot take the archive's writer lock {lock_path}: {error.strerror}"
            ) from None
    except OSError as error:
        raise ArchiveBusy(path, reason=f"cannot take the archive's writer lock {lock_path}: {error.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ArchiveBusy(path, timeout) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


def database_path(db: sqlite_utils.Database) -> Path:
    """The file a connection has open."""
    return Path(db.execute("pragma database_list").fetchone()[2])


def get_meta(db: sqlite_utils.Database, key: str, default=None):
    rows = db.execute("select value from archive_meta where key = ?", [key]).fetchall()
    return rows[0][0] if rows else default


def set_meta(db: sqlite_utils.Database, key: str, value) -> None:
    db.execute("insert or replace into archive_meta (key, value) values (?, ?)", [key, str(value)])


def generation(db: sqlite_utils.Database) -> int:
    """Every committed change to testimonies moves the generation on; the index records the one it reflects."""
    return int(get_meta(db, "generation", 0)) if db["archive_meta"].exists() else 0


def bump_generation(db: sqlite_utils.Database) -> int:
    value = generation(db) + 1
    set_meta(db, "generation", value)
    return value


def scrub(db: sqlite_utils.Database) -> None:
    """Leave no deleted bytes in the file: checkpoint the WAL away, vacuum, and checkpoint again. A
    checkpoint a reader blocks is retried; one that never completes is an error, never a silent pass."""
    _checkpoint(db)
    db.execute("vacuum")
    _checkpoint(db)


def _checkpoint(db: sqlite_utils.Database) -> None:
    for _ in range(CHECKPOINT_TRIES):
        busy, _, _ = db.execute("pragma wal_checkpoint(truncate)").fetchone()
        if not busy:
            return
        time.sleep(0.1)
    raise sqlite3.OperationalError("the WAL could not be checkpointed: a reader holds it open")


# -- the archive key ---------------------------------------------------------------------------------


def use_key(db: sqlite_utils.Database, key: ArchiveKey | None, why: str) -> ArchiveKey:
    """The key, checked against the one this archive was written with (recorded on first use)."""
    key = require(key, why)
    recorded = get_meta(db, "key_id")
    if recorded is None:
        set_meta(db, "key_id", key.id)
    elif recorded != key.id:
        raise KeyProblem(
            f"this archive was written with the key {recorded}, and the key at {key.path} is {key.id}: "
            f"point TESTIMONY_KEY_FILE at the archive's own key"
        )
    return key


def private_digest(private_rows: list[dict], key: ArchiveKey) -> str:
    """A keyed hash of a testimony's private fields (so a change is seen, and no guess can be tested)."""
    canonical = sorted((row["who"], row["field"], row["value"]) for row in private_rows)
    return key.mac(json.dumps(canonical, ensure_ascii=False))


# -- takedowns ---------------------------------------------------------------------------------------


def takedown_matcher(db: sqlite_utils.Database, key: ArchiveKey | None) -> Matcher:
    """Every takedown of this archive, decrypted, ready to test testimonies against."""
    if not db["tombstones"].exists():
        return Matcher()
    rows = db.execute("select id, kind, testimony_id, removed_at, fingerprint from tombstones order by id").fetchall()
    if any(row[4] for row in rows):
        key = use_key(db, key, "reading the takedowns' fingerprints")
    takedowns = []
    for tombstone_id, kind, testimony_id, removed_at, token in rows:
        payload = json.loads(key.decrypt(token)) if token else {}
        if kind == "person":
            key_parts = tuple(payload["key"]) if payload.get("key") else None
            takedowns.append(
                Takedown(
                    tombstone_id,
                    removed_at,
                    person_id=payload["person_id"],
                    person_display=payload["display"],
                    person_key=key_parts,
                )
            )
        else:
            printed = Fingerprint.from_payload(payload["fingerprint"]) if payload else None
            takedowns.append(Takedown(tombstone_id, removed_at, testimony_id=testimony_id, fingerprint=printed))
    cleared = dict(db.execute("select testimony_id, through_tombstone from takedown_clearances").fetchall())
    return Matcher(takedowns, cleared)


def add_tombstone(
    db: sqlite_utils.Database,
    key: ArchiveKey,
    at: str,
    reason: str,
    testimony_id: str | None = None,
    fingerprint: Fingerprint | None = None,
    person: dict | None = None,
    person_takedown: int | None = None,
) -> int:
    """Record one takedown (of a testimony, or of a person when `person` is given); returns its id."""
    if person is not None:
        # A real name is also recognised in another spelling (see fingerprint.person_key); a pseudonym only
        # as this person (it is one person per source).
        folded = None if person["is_pseudonym"] else list(person_key(person["name"]))
        payload = {"person_id": person["id"], "display": person["display"], "key": folded}
    else:
        payload = {"fingerprint": fingerprint.to_payload()} if fingerprint else None
    row = {
        "kind": "person" if person is not None else "testimony",
        "testimony_id": testimony_id,
        "person_takedown": person_takedown,
        "removed_at": at,
        "reason": reason,
        "fingerprint": key.encrypt(json.dumps(payload, ensure_ascii=False)) if payload else None,
    }
    return db["tombstones"].insert(row).last_pk


# -- published copies --------------------------------------------------------------------------------


def published_copies(db: sqlite_utils.Database) -> list[dict]:
    if not db["published_copies"].exists():
        return []
    return [dict(row) for row in db.query("select * from published_copies order by path")]


def record_copy(db: sqlite_utils.Database, path: Path, index_dir: Path, at: str) -> None:
    db["published_copies"].upsert(
        {"path": str(Path(path).resolve()), "index_dir": str(Path(index_dir).resolve()), "published_at": at},
        pk="path",
    )


def forget_copy(db: sqlite_utils.Database, path: Path | str) -> dict | None:
    """Stop tracking a published copy; returns its record (None when there was none)."""
    paths = [str(path), str(Path(path).resolve())]
    with db.atomic():
        found = db.execute("select * from published_copies where path in (?, ?)", paths).fetchall()
        db.execute("delete from published_copies where path in (?, ?)", paths)
    return dict(zip(TABLES["published_copies"]["columns"], found[0], strict=False)) if found else None


# -- migrations (never edit one that has shipped; add the next) --------------------------------------


def _create_autoincrement(db: sqlite_utils.Database, name: str) -> None:
    """A table whose integer ids are never reused, even after the last row is deleted (a clearance names
    the tombstones it lets a testimony through; a later takedown must not take a restored one's id)."""
    spec = TABLES[name]
    types = {int: "INTEGER", str: "TEXT"}
    columns = [
        f"[{column}] {types[kind]}"
        + (" PRIMARY KEY AUTOINCREMENT" if column == spec["pk"] else "")
        + (" NOT NULL" if column in spec.get("not_null", ()) else "")
        for column, kind in spec["columns"].items()
    ]
    db.execute(f"create table [{name}] ({', '.join(columns)})")


def _reshape_tombstones(db: sqlite_utils.Database) -> None:
    """v3 -> v4: tombstones get an integer id, a kind and a fingerprint (v3 ones keep none: id only)."""
    db.execute("alter table tombstones rename to tombstones_v3")
    _create_autoincrement(db, "tombstones")
    db.execute(
        """insert into tombstones (kind, testimony_id, removed_at, reason)
        select 'testimony', testimony_id, removed_at, reason from tombstones_v3 order by rowid"""
    )
    db.execute("drop table tombstones_v3")


def _migrate_to_5(db: sqlite_utils.Database) -> None:
    """v4 -> v5: a person's display name (the label that keeps a pseudonym's star); tombstone ids that
    are never reused (an archive made by the first v4 code has a plain integer key)."""
    db.execute(
        "update people set display_name = name || case when is_pseudonym then '*' else '' end "
        "where display_name is null"
    )
    created = db.execute("select sql from sqlite_master where name = 'tombstones'").fetchone()
    if created and "AUTOINCREMENT" not in created[0].upper():
        columns = ", ".join(f"[{c}]" for c in TABLES["tombstones"]["columns"])
        db.execute("alter table tombstones rename to tombstones_v4")
        _create_autoincrement(db, "tombstones")
        db.execute(f"insert into tombstones ({columns}) select {columns} from tombstones_v4 order by id")
        db.execute("drop table tombstones_v4")


def _migrate_to_4(db: sqlite_utils.Database, key: ArchiveKey | None) -> None:
    """v3 -> v4: a pseudonym belongs to its source; content hashes leave out the position; private
    fields encrypted and their hash keyed."""
    from .normalize import person_id, testimony_hash

    # A pseudonymous person was one person across sources; now one per source they appear in.
    uses = db.execute(
        """select t.source_id, p.id, p.name from testimonies t join people p on p.id = t.speaker_id
        where p.is_pseudonym = 1
        union select t.source_id, p.id, p.name from testimony_subjects ts join testimonies t on t.id = ts.testimony_id
        join people p on p.id = ts.person_id where p.is_pseudonym = 1"""
    ).fetchall()
    for source_id, old_id, name in uses:
        new_id = person_id(name, True, source_id)
        db["people"].insert(
            {"id": new_id, "name": name, "is_pseudonym": 1, "display_name": display_name(name, 1)}, pk="id", ignore=True
        )
        db.execute(
            "update testimonies set speaker_id = ? where speaker_id = ? and source_id = ?", [new_id, old_id, source_id]
        )
        db.execute(
            """update testimony_subjects set person_id = ? where person_id = ?
            and testimony_id in (select id from testimonies where source_id = ?)""",
            [new_id, old_id, source_id],
        )
    db.execute(
        """delete from people where id not in (select speaker_id from testimonies)
        and id not in (select person_id from testimony_subjects where person_id is not null)"""
    )
    db.execute("update people set display_name = name || case when is_pseudonym then '*' else '' end")
    # Content hashes, recomputed from the rows by the same function ingest uses.
    sources = {row["id"]: row for row in db.query("select * from sources")}
    source_tags, testimony_tags, subjects = {}, {}, {}
    for source_id, tag_id in db.execute("select source_id, tag_id from source_tags"):
        source_tags.setdefault(source_id, []).append(tag_id)
    for testimony_id, tag_id in db.execute("select testimony_id, tag_id from testimony_tags"):
        testimony_tags.setdefault(testimony_id, []).append(tag_id)
    for subject in db.query("select * from testimony_subjects order by testimony_id, position"):
        subjects.setdefault(subject["testimony_id"], []).append(subject)
    for row in list(db.query("select * from testimonies")):
        value = testimony_hash(
            row,
            subjects.get(row["id"], []),
            testimony_tags.get(row["id"], []),
            sources[row["source_id"]],
            source_tags.get(row["source_id"], []),
        )
        db.execute("update testimonies set content_hash = ? where id = ?", [value, row["id"]])
    # Private fields: encrypted values, keyed digest.
    private = {}
    for row in db.query("select testimony_id, who, field, value from private_fields"):
        private.setdefault(row["testimony_id"], []).append(row)
    if private:
        key = use_key(db, key, "encrypting this archive's private fields (a one-time migration)")
        for testimony_id, rows in private.items():
            db.execute(
                "update testimonies set private_hash = ? where id = ?", [private_digest(rows, key), testimony_id]
            )
            for row in rows:
                db.execute(
                    "update private_fields set value = ? where testimony_id = ? and who = ? and field = ?",
                    [key.encrypt(row["value"]), testimony_id, row["who"], row["field"]],
                )
    bump_generation(db)


# -- rows the Datasette plugin shows -----------------------------------------------------------------
# Each takes a sqlite3 connection (what Datasette's `execute_fn` hands a function) or a
# sqlite_utils.Database: both answer `execute`.


@dataclass(frozen=True)
class Name:
    """A person's name and whether it is a pseudonym; `display` is how the archive prints it."""

    name: str
    is_pseudonym: bool

    @property
    def display(self) -> str:
        return display_name(self.name, self.is_pseudonym)


@dataclass(frozen=True)
class Citation:
    """What a testimony's citation says: who, where it was quoted, by whom, when, and its link."""

    id: str
    speaker: Name
    source_title: str
    publisher: str
    published: str
    date: str | None
    url: str | None

    @property
    def text(self) -> str:
        parts = [
            f"{self.speaker.display}{' (pseudonym)' if self.speaker.is_pseudonym else ''}",
            f"quoted in \u201c{self.source_title}\u201d",
            self.publisher,
            self.published,
        ]
        if self.url:
            parts.append(self.url)
        parts.append(f"testimony {self.id}")
        return ", ".join(parts) + "."


def kind(conn) -> str | None:
    """`archive_kind` for a bare connection: "full", "public" or None (see `kind_of`)."""
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    published = "archive_meta" in {name.lower() for name in tables} and bool(
        conn.execute("select 1 from archive_meta where key = 'published_at'").fetchall()
    )
    return kind_of(tables, published)


def citation(conn, testimony_id: str) -> Citation | None:
    row = conn.execute(
        """select t.id, t.speaker, t.speaker_is_pseudonym, t.source_title, t.publisher, t.published, t.date, s.url
        from testimonies t join sources s on s.id = t.source_id where t.id = ?""",
        [testimony_id],
    ).fetchone()
    if row is None:
        return None
    id_, speaker, flag, *rest = row
    return Citation(id_, Name(speaker, bool(flag)), *rest)


def speaker_of(conn, testimony_id: str) -> Name | None:
    """The speaker of one testimony."""
    row = conn.execute("select speaker, speaker_is_pseudonym from testimonies where id = ?", [testimony_id]).fetchone()
    return Name(row[0], bool(row[1])) if row else None


def person(conn, person_id: str) -> Name | None:
    row = conn.execute("select name, is_pseudonym from people where id = ?", [person_id]).fetchone()
    return Name(row[0], bool(row[1])) if row else None


def people_have_display_name(conn) -> bool:
    """Whether `people` has the display_name column (schema 5 and later), Datasette's label for a person."""
    return any(row[1] == "display_name" for row in conn.execute("pragma table_info(people)"))
