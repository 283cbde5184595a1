"""The archive's SQLite shape: one idempotent function brings any database up to date.

The normalized tables (sources, people, testimonies, testimony_subjects, tags and their joins) are the
source of truth. `testimonies` also carries a few denormalized browse columns (speaker, publisher,
statuses, relationships, subjects, tags, ...) that ingest writes in the same transaction as the
normalized rows: Datasette can only facet on a table's own columns, and a view of correlated
subqueries is too slow to facet at archive scale.
"""

import sqlite3
from pathlib import Path

import sqlite_utils

SCHEMA_VERSION = 3
LOCK_TIMEOUT = 30.0

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
        "columns": {"id": str, "name": str, "is_pseudonym": int},
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
        "columns": {"run_id": int, "path": str, "sha256": str, "status": str, "error": str},
        "pk": ("run_id", "path"),
        "foreign_keys": [("run_id", "ingest_runs", "id")],
    },
    "archive_meta": {"columns": {"key": str, "value": str}, "pk": "key"},
    # Takedowns: which testimony, when and why; never its content. Ingest skips tombstoned testimonies.
    "tombstones": {
        "columns": {"testimony_id": str, "removed_at": str, "reason": str},
        "pk": "testimony_id",
        "not_null": {"removed_at", "reason"},
    },
    "audit_log": {
        "columns": {"id": int, "at": str, "action": str, "testimony_id": str, "reason": str, "actor": str},
        "pk": "id",
    },
}

# Tables only a full archive has: `testimony publish` leaves them out, and serving an archive that has
# them needs a login (see `testimony serve`).
PRIVATE_TABLES = ("private_fields", "ingest_runs", "ingest_run_files", "tombstones", "audit_log")

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
}


def ensure_db_shape(db: sqlite_utils.Database) -> sqlite_utils.Database:
    """Create or bring up to date every table, index and setting the archive needs. Safe to call often."""
    if db["archive_meta"].exists():
        rows = db.execute("select value from archive_meta where key = 'schema_version'").fetchall()
        if rows and int(rows[0][0]) == SCHEMA_VERSION:
            return db
    published = db["archive_meta"].exists() and get_meta(db, "published_at") is not None
    if db.journal_mode != "wal":
        db.enable_wal()
    with db.atomic():
        for name, spec in TABLES.items():
            if published and name in PRIVATE_TABLES:
                continue
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
            for columns in indexes:
                db[name].create_index(columns, if_not_exists=True)
        db["archive_meta"].upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
    return db


def open_archive(path: Path | str, create: bool = True) -> sqlite_utils.Database:
    """Open (and shape) the archive at path, waiting up to LOCK_TIMEOUT seconds for another writer's lock."""
    path = Path(path)
    if not create and not path.exists():
        raise FileNotFoundError(path)
    db = sqlite_utils.Database(sqlite3.connect(str(path), timeout=LOCK_TIMEOUT))
    return ensure_db_shape(db)


def get_meta(db: sqlite_utils.Database, key: str, default=None):
    rows = db.execute("select value from archive_meta where key = ?", [key]).fetchall()
    return rows[0][0] if rows else default


def set_meta(db: sqlite_utils.Database, key: str, value) -> None:
    db.execute("insert or replace into archive_meta (key, value) values (?, ?)", [key, str(value)])
