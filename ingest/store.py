"""The store: every SQL statement against a testimony archive, and nothing else holds one.

It owns the shape (tables, indexes, migrations), how an archive is opened (read-only, for writing, or
created) and locked, its generations, writing a file's rows in one transaction, pruning, tombstones and
clearances, building the public copy, and the reads the rest of the program needs, as typed records
(`Testimony`, `Citation`, `Name`, `Candidate`...) rather than rows.

The normalized tables (sources, people, testimonies, testimony_subjects, tags and their joins) are the
source of truth. `testimonies` also carries a few denormalized browse columns (speaker as printed,
publisher, statuses, relationships, subjects, tags, ...) written in the same transaction as the
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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlite_utils
from sqlite_utils.utils import chunks

from .crypto import ArchiveKey, KeyProblem, require
from .fingerprint import Fingerprint, Matcher, Takedown, person_key
from .normalize import NormalizedSource, person_id
from .source import InvalidSource, unresolved_fields
from .vocabulary import display_name, now

SCHEMA_VERSION = 7
LOCK_TIMEOUT = 30.0
READ_TIMEOUT = 5.0  # a reader waits this long for a writer's exclusive lock, then says so
CHECKPOINT_TRIES = 50
CHECKPOINT_WAIT_MS = 100  # each try of a checkpoint waits this long for readers

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
        # name_key: a real name as search compares names (`person_key`), so a person's page can list the
        # other spellings the archive holds; null for a pseudonym, which is only ever itself.
        "columns": {"id": str, "name": str, "is_pseudonym": int, "display_name": str, "name_key": str},
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
            "speaker": str,  # as printed: a pseudonym keeps its star (Patime*)
            "speaker_is_pseudonym": int,
            "subjects": str,
            "relationships": str,
            "statuses": str,
            "tags": str,
            "source_title": str,
            "publisher": str,
            "published": str,
            "content_hash": str,
            # The testimony's permanent address on the archive's site (ARCHIVE_PATH), carried by every export.
            "archive_url": str,
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
    "people": [["name"], ["name_key"]],
    "tombstones": [["testimony_id"]],
}


READ, WRITE, CREATE = "read", "write", "create"


# A testimony's speaker as written (people.name) and their flag. A left join, falling back on the browse
# Permanent addresses on the archive's site, whatever the database file is called (the plugin answers
# each with a redirect to the row's page): what citations and exports carry.
ARCHIVE_PATH = {"testimony": "/-/testimony/", "person": "/-/person/", "source": "/-/source/"}


def name_key(name: str, is_pseudonym, id_: str | None = None) -> str | None:
    """A real name's key for finding its other spellings (`person_key`). A pseudonym has none, and nor has
    a person an archivist told apart from others of the name with a key (whose id is not the name's own):
    the archive never offers two people kept apart on purpose as one."""
    if is_pseudonym or (id_ is not None and id_ != person_id(name, 0)):
        return None
    return " ".join(person_key(name))


# columns: a testimony whose speaker row is missing (a hand edit; SQLite does not enforce foreign keys)
# is still read, indexed and matched by takedowns, never silently skipped.
SPEAKER_JOIN = "left join people p on p.id = t.speaker_id"
SPEAKER_NAME = "coalesce(p.name, rtrim(t.speaker, '*'))"
SPEAKER_FLAG = "coalesce(p.is_pseudonym, t.speaker_is_pseudonym)"


# -- records that cross the store's boundary --------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """A person's name and whether it is a pseudonym; `display` is how the archive prints it."""

    name: str
    is_pseudonym: bool

    @property
    def display(self) -> str:
        return display_name(self.name, self.is_pseudonym)


@dataclass(frozen=True)
class Person(Name):
    id: str


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
    """ "full", "public" or None (see `kind_of`)."""
    return kind(db.conn)


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
        if version and version < 6:
            _migrate_to_6(db)
        if version and version < 7:
            _migrate_to_7(db)
        if not public and get_meta(db, "archive_id") is None:
            set_meta(db, "archive_id", uuid.uuid4().hex)
        set_meta(db, "schema_version", SCHEMA_VERSION)
    if version:
        scrub(db)  # a migration rewrote values (private fields encrypted): no old bytes may linger
    return db


def connect_read_only(path: Path | str, timeout: float = READ_TIMEOUT) -> sqlite3.Connection:
    """A connection that cannot write a byte of the file (SQLite's `mode=ro`), whatever path spells it."""
    uri = f"file:{urllib.parse.quote(str(Path(path).resolve()))}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=timeout)


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
        conn = connect_read_only(path, READ_TIMEOUT)
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


def has_table(conn, name: str) -> bool:
    """Whether the database has this table (for a sqlite3 connection or a sqlite_utils.Database)."""
    return bool(conn.execute("select 1 from sqlite_master where type = 'table' and name = ?", [name]).fetchall())


def get_meta(db: sqlite_utils.Database, key: str, default=None):
    rows = db.execute("select value from archive_meta where key = ?", [key]).fetchall()
    return rows[0][0] if rows else default


def set_meta(db: sqlite_utils.Database, key: str, value) -> None:
    db.execute("insert or replace into archive_meta (key, value) values (?, ?)", [key, str(value)])


def generation(db: sqlite_utils.Database) -> int:
    """Every committed change to testimonies moves the generation on; the index records the one it reflects."""
    return int(get_meta(db, "generation", 0)) if has_table(db, "archive_meta") else 0


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
    """Checkpoint the WAL to nothing. Each try waits briefly for readers (not the connection's 30 s busy
    timeout), so a reader that never lets go makes this fail in seconds, not tens of minutes."""
    waited = db.execute("pragma busy_timeout").fetchone()[0]
    db.execute(f"pragma busy_timeout = {CHECKPOINT_WAIT_MS}")
    try:
        for _ in range(CHECKPOINT_TRIES):
            busy, _, _ = db.execute("pragma wal_checkpoint(truncate)").fetchone()
            if not busy:
                return
            time.sleep(0.1)
    finally:
        db.execute(f"pragma busy_timeout = {int(waited)}")
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
    person: "Person | None" = None,
    person_takedown: int | None = None,
) -> int:
    """Record one takedown (of a testimony, or of a person when `person` is given); returns its id."""
    if person is not None:
        # A real name is also recognised in another spelling (see fingerprint.person_key); a pseudonym only
        # as this person (it is one person per source).
        folded = None if person.is_pseudonym else list(person_key(person.name))
        payload = {"person_id": person.id, "display": person.display, "key": folded}
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


def _migrate_to_6(db: sqlite_utils.Database) -> None:
    """v5 -> v6: the `speaker` browse column is the name as printed (`Patime*`), so Datasette's JSON and CSV
    exports and its facets show a pseudonym as one whatever columns they were asked for."""
    db.execute(
        "update testimonies set speaker = coalesce((select display_name from people "
        "where people.id = testimonies.speaker_id), speaker || '*') where speaker_is_pseudonym = 1"
    )


def _migrate_to_7(db: sqlite_utils.Database) -> None:
    """v6 -> v7: each testimony's permanent address, and each real name's key for its other spellings."""
    db.execute("update testimonies set archive_url = ? || id", [ARCHIVE_PATH["testimony"]])
    people = db.execute("select id, name, is_pseudonym from people").fetchall()
    keys = [(name_key(name, flag, id_), id_) for id_, name, flag in people]
    db.conn.executemany("update people set name_key = ? where id = ?", keys)


def _migrate_to_4(db: sqlite_utils.Database, key: ArchiveKey | None) -> None:
    """v3 -> v4: a pseudonym belongs to its source; content hashes leave out the position; private
    fields encrypted and their hash keyed."""
    from .normalize import testimony_hash

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


# -- writing a file's rows ---------------------------------------------------------------------------


@dataclass
class Written:
    """What writing one file changed (testimony ids), and the generation its commit made."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # match a takedown: skipped until restored
    withheld_reasons: list[dict] = field(default_factory=list)  # {"id", "testimony", "reason"} for each
    generation: int | None = None  # the database generation this file's commit made, if it changed anything


def _browse_columns(normalized: NormalizedSource, testimony, tag_labels: dict[str, str]) -> dict:
    people = normalized.people
    speaker = people[testimony.row["speaker_id"]]
    subjects = [people[s["person_id"]] for s in testimony.subjects if s["person_id"]]
    tag_ids = list(dict.fromkeys(testimony.tags + normalized.source_tags))
    return {
        "speaker": speaker.display_name,
        "speaker_is_pseudonym": speaker.is_pseudonym,
        "subjects": json.dumps([p.display_name for p in subjects], ensure_ascii=False),
        "relationships": json.dumps(
            sorted({s["relationship"] for s in testimony.subjects if s["relationship"]}), ensure_ascii=False
        ),
        "statuses": json.dumps(sorted({s["status"] for s in testimony.subjects if s["status"]}), ensure_ascii=False),
        "tags": json.dumps([tag_labels[t] for t in tag_ids], ensure_ascii=False),
        "source_title": normalized.source["title"],
        "publisher": normalized.source["publisher"],
        "published": normalized.source["published"],
        "archive_url": ARCHIVE_PATH["testimony"] + testimony.row["id"],
    }


def delete_testimonies(db: sqlite_utils.Database, testimony_ids: list[str]) -> None:
    """Remove testimonies and everything hanging off them (not the people: see `prune_people`)."""
    # A public archive has no private_fields table at all.
    tables = [t for t in ("testimony_subjects", "testimony_tags", "private_fields") if db[t].exists()]
    for chunk in chunks(testimony_ids, 500):
        chunk = list(chunk)
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
) -> Written:
    """Write one file's sources in one transaction: the archive then holds exactly what the file says,
    less what matches a takedown (`matcher`: withheld, and reported).

    The file is the unit: testimonies it no longer holds go, also when a source's id changed (an edited
    title without a URL) or a source left the file. Private fields are encrypted with `key`.
    """
    _refuse_placeholders(sources, source_file)
    result = Written()
    source_ids = [normalized.source["id"] for normalized in sources]
    with db.atomic():
        for normalized in sources:
            claimed = db.execute("select source_file from sources where id = ?", [normalized.source["id"]]).fetchall()
            if claimed and claimed[0][0] not in (source_file, None) and Path(claimed[0][0]).exists():
                same = "url" if normalized.source["url"] else "publisher, title and published date"
                raise InvalidSource(
                    source_file,
                    "source",
                    f"is the same source (same {same}) as {claimed[0][0]}: a source belongs in one file",
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
            result.generation = bump_generation(db)
    return result


def _refuse_placeholders(sources: list[NormalizedSource], source_file: str) -> None:
    """A draft's placeholder never reaches the archive, whatever led here: `load_source` refuses drafts
    with one line per field; this is the writer's own check, for any path around it."""
    for normalized in sources:
        found = unresolved_fields(asdict(normalized))
        if found:
            reason = f"holds an unresolved placeholder ({found[0][0]}): a draft is never written to the archive"
            raise InvalidSource(source_file, None, reason)


def _withhold(normalized: NormalizedSource, previous: dict, matcher: Matcher, result: Written) -> None:
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
                key = use_key(db, key, "storing private fields")
            except KeyProblem as error:
                raise InvalidSource(source_file, f"testimonies[{position}]", str(error)) from None
            testimony.row["private_hash"] = private_digest(testimony.private, key)
    return key


def _write_source(
    db: sqlite_utils.Database,
    normalized: NormalizedSource,
    source_file: str,
    result: Written,
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
    db["people"].upsert_all(
        [
            dict(vars(p), name_key=name_key(p.name, p.is_pseudonym, p.id))
            for p in normalized.people.values()
            if p.id in referenced
        ],
        pk="id",
    )
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


def record_run(db: sqlite_utils.Database, command: str, started: str, report) -> int:
    """Log a run of `command` and each of its files (`report`: an ingest.load.Report)."""
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


# -- publishing --------------------------------------------------------------------------------------

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


def copy_public_rows(
    build: sqlite_utils.Database, full_path: Path, withheld, generation: int, archive_id: str | None, at: str
) -> dict[str, int]:
    """Fill an empty public archive (`build`) from the full archive at `full_path`: the public rows less
    `withheld`, positions renumbered, private values blanked, stamped. Returns the rows per table."""
    build.conn.execute("attach database ? as full", [str(full_path)])
    try:
        build.execute("create temp table withheld (id text primary key)")
        with build.atomic():
            build.conn.executemany("insert into temp.withheld (id) values (?)", [(i,) for i in withheld])
            for table, where in PUBLIC_ROWS.items():
                columns = ", ".join(f"[{c}]" for c in TABLES[table]["columns"])
                build.execute(
                    f"insert into main.[{table}] ({columns}) select {columns} from full.[{table}] where {where}"
                )
            for table, blanked in BLANKED.items():
                build.execute(f"update main.[{table}] set {', '.join(f'[{c}] = null' for c in blanked)}")
            renumber_positions(build)
            set_meta(build, "generation", generation)
            set_meta(build, "published_at", at)
            if archive_id:
                set_meta(build, "published_from", archive_id)
    finally:
        build.conn.execute("detach database full")
    return {table: build[table].count for table in PUBLIC_ROWS}


def compact_into(db: sqlite_utils.Database, target: Path) -> None:
    """VACUUM INTO a compact copy with no free pages and no WAL: nothing deleted lingers in it. The copy is
    then put in WAL mode, like every archive: readers (the server) are never blocked by a writer."""
    db.execute("pragma wal_checkpoint(truncate)")
    db.conn.execute("vacuum into ?", [str(target)])
    compact = sqlite3.connect(str(target))
    try:
        compact.execute("pragma journal_mode=wal")
    finally:
        compact.close()


def copy_file_into(built: Path, target: Path) -> None:
    """Overwrite the archive at `target` with `built` *in* its file (SQLite's backup API, one transaction),
    so a server with the file open sees the new content."""
    source = sqlite3.connect(str(built))
    destination = sqlite3.connect(str(target), timeout=LOCK_TIMEOUT)
    try:
        source.backup(destination)
    finally:
        source.close()
        destination.close()


def renumber_positions(db: sqlite_utils.Database) -> None:
    """Positions 0, 1, 2... within each source: a gap would count the testimonies left out."""
    db.execute(
        """update testimonies set position = numbered.n from (
            select id, row_number() over (partition by source_id order by position, id) - 1 as n from testimonies
        ) as numbered where numbered.id = testimonies.id and testimonies.position != numbered.n"""
    )


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


# -- what a takedown reads and writes ----------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A testimony as takedown matching sees it: its people are (id, name, is_pseudonym), speaker first."""

    id: str
    source_id: str
    speaker: str
    people: list[tuple]
    text: str


def candidates(db: sqlite_utils.Database, ids: list[str] | None = None, public_only: bool = False):
    """Testimonies (all, those with `ids`, or the public ones) for matching against takedowns."""
    where, params = "1", []
    if ids is not None:
        where, params = "t.id in (select value from json_each(?))", [json.dumps(ids)]
    if public_only:
        where += " and t.visibility = 'public'"
    subjects: dict[str, list[tuple]] = {}
    for testimony_id, *person in db.execute(
        f"""select ts.testimony_id, p.id, p.name, p.is_pseudonym from testimony_subjects ts
        join people p on p.id = ts.person_id join testimonies t on t.id = ts.testimony_id
        where {where} order by ts.testimony_id, ts.position""",
        params,
    ):
        subjects.setdefault(testimony_id, []).append(tuple(person))
    for row in db.execute(
        f"""select t.id, t.source_id, {SPEAKER_NAME}, t.speaker_id, {SPEAKER_FLAG}, t.text
        from testimonies t {SPEAKER_JOIN} where {where}""",
        params,
    ):
        testimony_id, source_id, speaker, speaker_id, is_pseudonym, text = row
        people = [(speaker_id, speaker, is_pseudonym), *subjects.get(testimony_id, [])]
        yield Candidate(testimony_id, source_id, speaker, people, text)


def holds(db: sqlite_utils.Database, testimony_id: str) -> bool:
    """Whether the archive holds this testimony."""
    return bool(db.execute("select 1 from testimonies where id = ?", [testimony_id]).fetchall())


def count_held(db: sqlite_utils.Database, testimony_ids: list[str]) -> int:
    return db.execute(
        "select count(*) from testimonies where id in (select value from json_each(?))", [json.dumps(testimony_ids)]
    ).fetchone()[0]


def known_testimony(db: sqlite_utils.Database, testimony_id: str) -> bool:
    """Held, or taken down before (a takedown that failed halfway can be run again)."""
    return bool(
        db.execute(
            "select 1 from testimonies where id = ? union select 1 from tombstones where testimony_id = ?",
            [testimony_id, testimony_id],
        ).fetchall()
    )


def people_by_id_or_name(db: sqlite_utils.Database, spec: str, name: str | None, starred: bool) -> list[Person]:
    """The person with id `spec`, else the people called `name` with that pseudonym flag."""
    rows = db.execute("select id, name, is_pseudonym from people where id = ?", [spec]).fetchall()
    if not rows and name is not None:
        rows = db.execute(
            "select id, name, is_pseudonym from people where name = ? and is_pseudonym = ?", [name, int(starred)]
        ).fetchall()
    return [Person(name=name, is_pseudonym=bool(flag), id=id_) for id_, name, flag in rows]


def sources_of_person(db: sqlite_utils.Database, person_id: str) -> list[str]:
    """The titles of the sources a person speaks in or is spoken of in."""
    return [
        row[0]
        for row in db.execute(
            """select distinct s.title from sources s join testimonies t on t.source_id = s.id
            left join testimony_subjects ts on ts.testimony_id = t.id
            where t.speaker_id = ? or ts.person_id = ? order by s.title""",
            [person_id, person_id],
        )
    ]


def testimonies_of_person(db: sqlite_utils.Database, person_id: str) -> list[str]:
    """Every testimony a person gave or is a subject of."""
    return [
        row[0]
        for row in db.execute(
            """select id from testimonies where speaker_id = ?
            union select testimony_id from testimony_subjects where person_id = ? order by 1""",
            [person_id, person_id],
        )
    ]


def copy_published_at(db: sqlite_utils.Database, path: str) -> str | None:
    rows = db.execute("select published_at from published_copies where path = ?", [path]).fetchall()
    return rows[0][0] if rows else None


def tombstoned(db: sqlite_utils.Database, testimony_ids: list[str]) -> set[str]:
    """Which of these testimonies have a tombstone of their own."""
    return {
        row[0]
        for row in db.execute(
            "select testimony_id from tombstones where testimony_id in (select value from json_each(?))",
            [json.dumps(testimony_ids)],
        )
    }


def audit(db: sqlite_utils.Database, entries: list[dict]) -> None:
    """Add to the audit log: each entry has at, action, testimony_id, reason and actor."""
    if entries:
        db["audit_log"].insert_all(entries)


def lift_tombstone(db: sqlite_utils.Database, testimony_id: str) -> bool:
    """Remove a testimony's own tombstone; False when it has none."""
    return db.execute("delete from tombstones where testimony_id = ?", [testimony_id]).rowcount > 0


def lift_person_takedown(db: sqlite_utils.Database, tombstone_id: int) -> None:
    """Remove a person's takedown and the tombstones it wrote for their testimonies."""
    db.execute("delete from tombstones where id = ? or person_takedown = ?", [tombstone_id, tombstone_id])


def clear(db: sqlite_utils.Database, testimony_id: str, at: str, reason: str) -> None:
    """Let one withheld testimony through every takedown made so far (not later ones)."""
    through = db.execute("select max(id) from tombstones").fetchone()[0] or 0
    db["takedown_clearances"].upsert(
        {"testimony_id": testimony_id, "through_tombstone": through, "cleared_at": at, "reason": reason},
        pk="testimony_id",
    )


def withheld_ids(db: sqlite_utils.Database) -> set[str]:
    """Testimonies kept out by a takedown they matched: at an ingest, or taken down with it."""
    found = {row[0] for row in db.execute("select testimony_id from audit_log where action = 'takedown (match)'")}
    for (value,) in db.execute("select withheld from ingest_run_files where withheld is not null"):
        found.update(entry["id"] for entry in json.loads(value))
    return found


# -- what the index and search read ------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """A person a testimony speaks of (`person` is None when the file named only a relationship)."""

    person: Name | None
    relationship: str | None
    status: str | None

    def to_dict(self) -> dict:
        person = self.person
        return {
            "name": person.name if person else None,
            "is_pseudonym": bool(person and person.is_pseudonym),
            "display": person.display if person else None,
            "relationship": self.relationship,
            "status": self.status,
        }


@dataclass(frozen=True)
class Testimony:
    """One testimony as search and the index see it: its words, its people and its facet values, decoded
    once from its row."""

    id: str
    content_hash: str
    text: str
    language: str
    role: str | None
    location: str | None
    year: int
    date: str | None
    published: str
    source_title: str
    publisher: str
    speaker: Name
    subjects: tuple[Subject, ...]
    tags: tuple[str, ...]
    statuses: tuple[str, ...]
    relationships: tuple[str, ...]


TESTIMONY_COLUMNS = (
    "t.id, t.content_hash, t.text, t.language, t.role, t.location, t.year, t.date, t.published, t.source_title, "
    f"t.publisher, {SPEAKER_NAME}, {SPEAKER_FLAG}, t.tags, t.statuses, t.relationships"
)


def testimonies(conn, ids: list[str]) -> dict[str, Testimony]:
    """The testimonies with these ids (those the archive holds), by id."""
    if not ids:
        return {}
    wanted = json.dumps(list(ids))
    subjects: dict[str, list[Subject]] = {}
    for testimony_id, name, flag, relationship, status in conn.execute(
        """select ts.testimony_id, p.name, p.is_pseudonym, ts.relationship, ts.status
        from testimony_subjects ts left join people p on p.id = ts.person_id
        where ts.testimony_id in (select value from json_each(?)) order by ts.testimony_id, ts.position""",
        [wanted],
    ):
        person = Name(name, bool(flag)) if name is not None else None
        subjects.setdefault(testimony_id, []).append(Subject(person, relationship, status))
    found = {}
    for row in conn.execute(
        f"""select {TESTIMONY_COLUMNS} from testimonies t {SPEAKER_JOIN}
        where t.id in (select value from json_each(?))""",
        [wanted],
    ):
        (*fields, speaker, flag, tags, statuses, relationships) = row
        found[row[0]] = Testimony(
            *fields,
            speaker=Name(speaker, bool(flag)),
            subjects=tuple(subjects.get(row[0], ())),
            tags=tuple(json.loads(tags or "[]")),
            statuses=tuple(json.loads(statuses or "[]")),
            relationships=tuple(json.loads(relationships or "[]")),
        )
    return found


def testimony_ids(conn) -> list[str]:
    """Every testimony's id, in the order they were written."""
    return [row[0] for row in conn.execute("select id from testimonies order by rowid")]


def content_hashes(conn) -> dict[str, str]:
    """testimony id -> content hash, for every testimony: what the index must hold."""
    return dict(conn.execute("select id, content_hash from testimonies").fetchall())


def testimony_count(conn) -> int:
    return conn.execute("select count(*) from testimonies").fetchone()[0]


def pseudonym_count(conn) -> int:
    return conn.execute("select count(*) from people where is_pseudonym = 1").fetchone()[0]


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Rows per archive table (a public archive has no private tables at all)."""
    return {name: db[name].count for name in TABLES if name != "archive_meta" and db[name].exists()}


def integrity_problems(conn) -> tuple[list[str], int]:
    """SQLite's integrity check (empty when it says ok) and the number of foreign-key violations."""
    integrity = [row[0] for row in conn.execute("pragma integrity_check").fetchall()]
    return ([] if integrity == ["ok"] else integrity), len(conn.execute("pragma foreign_key_check").fetchall())


def tombstoned_ids(db: sqlite_utils.Database) -> set[str]:
    """Every testimony id a takedown recorded."""
    return {row[0] for row in db.execute("select testimony_id from tombstones where testimony_id is not null")}


# -- rows the Datasette plugin shows -----------------------------------------------------------------
# Each takes a sqlite3 connection (what Datasette's `execute_fn` hands a function) or a
# sqlite_utils.Database: both answer `execute`.


def kind(conn) -> str | None:
    """An archive's kind from a bare connection (what Datasette's `execute_fn` hands a function)."""
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    published = "archive_meta" in {name.lower() for name in tables} and bool(
        conn.execute("select 1 from archive_meta where key = 'published_at'").fetchall()
    )
    return kind_of(tables, published)


# The where clause the plugin hands Datasette for `?_search=` on the testimonies table: the matching ids
# travel as one JSON parameter (Datasette's filter hook takes a clause, not rows).
SEARCH_FILTER = "id in (select value from json_each(:_testimony_search_ids))"
SEARCH_FILTER_PARAM = "_testimony_search_ids"


def array_facet_sql(rows_sql: str, column: str, limit: int) -> str:
    """A list column's facet over the testimonies a page's query (`rows_sql`, Datasette's) selects: each
    value with how many testimonies hold it. Datasette's own array facet joins every value back to its
    whole row for a DISTINCT, which runs out of time at archive scale; counting distinct ids is the same
    answer for a fraction of the work."""
    quoted = '"' + column.replace('"', '""') + '"'
    return f"""select j.value as value, count(distinct rows.id) as count
        from ({rows_sql}) as rows, json_each(rows.{quoted}) j
        group by j.value order by count desc, value limit {int(limit)}"""


def citation(conn, testimony_id: str) -> Citation | None:
    return citations(conn, [testimony_id]).get(testimony_id)


def citations(conn, testimony_ids: list[str]) -> dict[str, Citation]:
    """The citations of these testimonies (those the archive holds), in the order asked."""
    rows = conn.execute(
        f"""select t.id, {SPEAKER_NAME}, {SPEAKER_FLAG}, t.source_title, t.publisher, t.published, t.date, s.url
        from testimonies t join sources s on s.id = t.source_id {SPEAKER_JOIN}
        where t.id in (select value from json_each(?))""",
        [json.dumps(list(testimony_ids))],
    ).fetchall()
    found = {id_: Citation(id_, Name(speaker, bool(flag)), *rest) for id_, speaker, flag, *rest in rows}
    return {id_: found[id_] for id_ in testimony_ids if id_ in found}


def speaker_of(conn, testimony_id: str) -> Name | None:
    """The speaker of one testimony."""
    row = conn.execute(
        f"select {SPEAKER_NAME}, {SPEAKER_FLAG} from testimonies t {SPEAKER_JOIN} where t.id = ?",
        [testimony_id],
    ).fetchone()
    return Name(row[0], bool(row[1])) if row else None


def person(conn, person_id: str) -> Name | None:
    row = conn.execute("select name, is_pseudonym from people where id = ?", [person_id]).fetchone()
    return Name(row[0], bool(row[1])) if row else None


def people_have_display_name(conn) -> bool:
    """Whether `people` has the display_name column (schema 5 and later), Datasette's label for a person."""
    return has_column(conn, "people", "display_name")


def has_column(conn, table: str, column: str) -> bool:
    """Whether `table` has `column` (an archive an older version published lacks the newer ones)."""
    return any(row[1] == column for row in conn.execute("select * from pragma_table_info(?)", [table]))


@contextmanager
def snapshot(path: Path | str, timeout: float = READ_TIMEOUT):
    """A read-only connection to an archive inside one read transaction: everything read through it comes
    from one snapshot, whatever writers do meanwhile. Never writes a byte."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no archive at {path}")
    conn = connect_read_only(path, timeout)
    try:
        conn.execute("begin")
        yield conn
    finally:
        conn.close()


# -- the pages a reader sees: a testimony, a person, a source, the archive ---------------------------
# Only public tables are read: a public archive has nothing else, and a full one is shown to the archivist
# alone (search.plugin.gate). Lists are bounded (PAGE_LIST_LIMIT); each says how many it held in all.

PAGE_LIST_LIMIT = 200


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: str
    published: str
    url: str | None
    note: str | None
    language: str
    restricted: bool
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Mention:
    """A person a testimony speaks of, as that testimony says: relationship to the speaker, status, since."""

    person: Person | None
    relationship: str | None
    status: str | None
    since: str | None


@dataclass(frozen=True)
class Entry:
    """A testimony in a list: enough to recognise it and follow it (its words, to be shortened), and what
    it says of the person a list is about (`mention`, on a person's page)."""

    id: str
    speaker: Person
    role: str | None
    date: str | None
    text: str
    language: str
    source_id: str
    source_title: str
    publisher: str
    published: str
    restricted: bool  # kept out of every public copy (its own or its source's visibility)
    mention: Mention | None = None


@dataclass(frozen=True)
class Listing:
    entries: tuple[Entry, ...]
    total: int


@dataclass(frozen=True)
class TestimonyPage:
    id: str
    text: str
    speaker: Person
    role: str | None
    date: str | None
    location: str | None
    language: str
    tags: tuple[str, ...]
    restricted: bool  # kept out of every public copy (the testimony's or its source's visibility)
    source: Source
    subjects: tuple[Mention, ...]
    citation: Citation
    from_source: Listing  # the other testimonies of its source, in order
    about: dict[str, Listing]  # person id -> other testimonies about each person it names (speaker included)


@dataclass(frozen=True)
class PersonPage:
    person: Person
    given: Listing  # testimonies they gave
    about: Listing  # testimonies that speak of them, each with its mention
    spellings: tuple[Person, ...]  # other real names that search takes for this one; none for a pseudonym


@dataclass(frozen=True)
class SourcePage:
    source: Source
    testimonies: Listing


@dataclass(frozen=True)
class Overview:
    testimonies: int
    sources: int
    people: int
    pseudonymous_speakers: int
    by_publisher: tuple[tuple[str, int], ...]
    by_year: tuple[tuple[int, int], ...]
    by_status: tuple[tuple[str, int], ...]  # testimonies naming someone with that status
    latest: tuple[Source, ...]
    published_at: str | None  # when `publish` made this copy (a public archive)


ENTRY_COLUMNS = (
    f"t.id, t.speaker_id, {SPEAKER_NAME}, {SPEAKER_FLAG}, t.role, t.date, t.text, t.language, t.source_id, "
    "t.source_title, t.publisher, t.published, t.visibility != 'public' or exists "
    "(select 1 from sources rs where rs.id = t.source_id and rs.visibility != 'public')"
)


def _entry(row, mention: Mention | None = None) -> Entry:
    id_, speaker_id, name, flag, *rest, restricted = row
    return Entry(id_, Person(name, bool(flag), speaker_id), *rest, restricted=bool(restricted), mention=mention)


def _listing(conn, where: str, params: list, order: str, limit: int = PAGE_LIST_LIMIT) -> Listing:
    total = conn.execute(f"select count(*) from testimonies t where {where}", params).fetchone()[0]
    rows = conn.execute(
        f"select {ENTRY_COLUMNS} from testimonies t {SPEAKER_JOIN} where {where} order by {order} limit ?",
        [*params, limit],
    ).fetchall()
    return Listing(tuple(_entry(row) for row in rows), total)


def _source(conn, source_id: str) -> Source | None:
    row = conn.execute(
        "select id, title, publisher, published, url, note, language, visibility != 'public' from sources where id = ?",
        [source_id],
    ).fetchone()
    if row is None:
        return None
    tags = conn.execute(
        "select t.name from source_tags st join tags t on t.id = st.tag_id where st.source_id = ? order by t.name",
        [source_id],
    ).fetchall()
    *fields, restricted = row
    return Source(*fields, restricted=bool(restricted), tags=tuple(tag for (tag,) in tags))


def _person(conn, person_id: str) -> Person | None:
    row = conn.execute("select name, is_pseudonym from people where id = ?", [person_id]).fetchone()
    return Person(row[0], bool(row[1]), person_id) if row else None


def _mentions(conn, testimony_id: str) -> tuple[Mention, ...]:
    rows = conn.execute(
        """select ts.person_id, p.name, p.is_pseudonym, ts.relationship, ts.status, ts.since
        from testimony_subjects ts left join people p on p.id = ts.person_id
        where ts.testimony_id = ? order by ts.position""",
        [testimony_id],
    ).fetchall()
    return tuple(
        Mention(Person(name, bool(flag), person_id) if name is not None else None, relationship, status, since)
        for person_id, name, flag, relationship, status, since in rows
    )


def _about(conn, person_id: str, besides: str = "", limit: int = PAGE_LIST_LIMIT) -> Listing:
    """The testimonies that speak of a person, newest first, each with what it says of them."""
    where = "ts.person_id = ? and ts.testimony_id != ?"
    params = [person_id, besides]
    total = conn.execute(f"select count(*) from testimony_subjects ts where {where}", params).fetchone()[0]
    rows = conn.execute(
        f"""select {ENTRY_COLUMNS}, ts.relationship, ts.status, ts.since
        from testimony_subjects ts join testimonies t on t.id = ts.testimony_id {SPEAKER_JOIN}
        where {where} order by coalesce(ts.since, t.date, t.published) desc, t.id limit ?""",
        [*params, limit],
    ).fetchall()
    person = _person(conn, person_id)
    return Listing(tuple(_entry(row[:-3], Mention(person, *row[-3:])) for row in rows), total)


def _related(conn, person_id: str, besides: str, limit: int) -> Listing:
    """The other testimonies a person gave or is spoken of in, each once (what it says of them, if it
    speaks of them), newest first."""
    where = (
        "t.id != ? and (t.speaker_id = ? or t.id in (select testimony_id from testimony_subjects where person_id = ?))"
    )
    params = [besides, person_id, person_id]
    total = conn.execute(f"select count(*) from testimonies t where {where}", params).fetchone()[0]
    about = {entry.id: entry for entry in _about(conn, person_id, besides, limit).entries}
    newest_first = "coalesce(t.date, t.published) desc, t.id desc"
    given = _listing(conn, "t.speaker_id = ? and t.id != ?", [person_id, besides], newest_first, limit).entries
    merged = {**{entry.id: entry for entry in given}, **about}  # one speaking of them says what it says
    newest = sorted(merged.values(), key=lambda e: (e.date or e.published or "", e.id), reverse=True)
    return Listing(tuple(newest[:limit]), total)


def testimony_page(conn, testimony_id: str, limit: int = 10) -> TestimonyPage | None:
    row = conn.execute(
        f"""select t.id, t.text, t.speaker_id, {SPEAKER_NAME}, {SPEAKER_FLAG}, t.role, t.date, t.location,
        t.language, t.tags, t.source_id, t.visibility != 'public' or s.visibility != 'public'
        from testimonies t join sources s on s.id = t.source_id {SPEAKER_JOIN} where t.id = ?""",
        [testimony_id],
    ).fetchone()
    if row is None:
        return None
    id_, text, speaker_id, name, flag, role, date, location, language, tags, source_id, restricted = row
    speaker = Person(name, bool(flag), speaker_id)
    subjects = _mentions(conn, id_)
    people = [speaker.id] + [m.person.id for m in subjects if m.person and m.person.id != speaker.id]
    about = {person_id: _related(conn, person_id, id_, limit) for person_id in dict.fromkeys(people)}
    return TestimonyPage(
        id_,
        text,
        speaker,
        role,
        date,
        location,
        language,
        tuple(json.loads(tags or "[]")),
        bool(restricted),
        _source(conn, source_id),
        subjects,
        citation(conn, id_),
        _listing(conn, "t.source_id = ? and t.id != ?", [source_id, id_], "t.position, t.id", limit),
        about,
    )


def person_page(conn, person_id: str) -> PersonPage | None:
    person = _person(conn, person_id)
    if person is None:
        return None
    spellings = ()
    key = name_key(person.name, person.is_pseudonym, person.id)
    if key and has_column(conn, "people", "name_key"):
        spellings = tuple(
            Person(name, False, id_)
            for id_, name in conn.execute(
                "select id, name from people where name_key = ? and is_pseudonym = 0 and id != ? order by name",
                [key, person_id],
            )
        )
    given = _listing(conn, "t.speaker_id = ?", [person_id], "coalesce(t.date, t.published), t.id")
    return PersonPage(person, given, _about(conn, person_id), spellings)


def source_page(conn, source_id: str) -> SourcePage | None:
    source = _source(conn, source_id)
    if source is None:
        return None
    return SourcePage(source, _listing(conn, "t.source_id = ?", [source_id], "t.position, t.id"))


def overview(conn, shown: int = 12) -> Overview:
    def counts(sql: str) -> tuple:
        return tuple(tuple(row) for row in conn.execute(sql, [shown]).fetchall())

    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    published_at = None
    if has_table(conn, "archive_meta"):
        found = conn.execute("select value from archive_meta where key = 'published_at'").fetchone()
        published_at = found[0] if found else None
    latest = [row[0] for row in conn.execute("select id from sources order by published desc, id limit 5")]
    return Overview(
        testimonies=one("select count(*) from testimonies"),
        sources=one("select count(*) from sources"),
        people=one("select count(*) from people"),
        pseudonymous_speakers=one("select count(distinct speaker_id) from testimonies where speaker_is_pseudonym = 1"),
        by_publisher=counts(
            "select publisher, count(*) n from testimonies group by publisher order by n desc, publisher limit ?"
        ),
        by_year=counts("select year, count(*) from testimonies group by year order by year desc limit ?"),
        by_status=counts(
            """select status, count(distinct testimony_id) n from testimony_subjects where status is not null
            group by status order by n desc, status limit ?"""
        ),
        latest=tuple(_source(conn, source_id) for source_id in latest),
        published_at=published_at,
    )
