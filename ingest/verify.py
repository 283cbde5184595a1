"""`testimony verify`: do SQLite and the Whoosh index agree, and is each sound?

Checks SQLite's integrity and foreign keys, that the index opens, that every testimony is in the index
exactly once with its current content hash, that no stale document remains, and that the index's
generation is the database's. `repair` brings the index back in line (incrementally where it opens,
else by a rebuild into a temporary folder swapped in atomically); SQLite is never changed.
"""

from pathlib import Path

import sqlite_utils

from search import index as search_index


def verify_archive(db: sqlite_utils.Database, index_dir: Path) -> dict:
    """A report of every check; `ok` is true only when all of them pass."""
    integrity = [row[0] for row in db.execute("pragma integrity_check").fetchall()]
    foreign_keys = db.execute("pragma foreign_key_check").fetchall()
    report = {
        "sqlite_integrity": "ok" if integrity == ["ok"] else integrity,
        "foreign_key_violations": len(foreign_keys),
        "testimonies": db.execute("select count(*) from testimonies").fetchone()[0],
        "index": str(index_dir),
        "index_opens": False,
        "index_documents": None,
        "generation": {
            "database": search_index.db_generation(db),
            "index": search_index.read_generation(index_dir),
        },
        "missing": [],
        "stale": [],
        "outdated": [],
        "duplicated": [],
        "problems": [],
    }
    problems = report["problems"]
    if integrity != ["ok"]:
        problems.append(f"SQLite integrity check failed: {'; '.join(integrity[:3])}")
    if foreign_keys:
        problems.append(f"{len(foreign_keys)} foreign key violation(s) in SQLite")
    try:
        report["index_documents"] = search_index.doc_count(index_dir)
        differences = search_index.diff(db, index_dir) if report["index_documents"] is not None else None
    except Exception as error:  # noqa: BLE001 - any failure to read the index is the finding
        problems.append(f"the index at {index_dir} does not open: {error}")
        return report | {"ok": False}
    if differences is None:
        problems.append(f"there is no index at {index_dir}")
        return report | {"ok": False}
    report["index_opens"] = True
    report.update(differences)
    for name, what in (
        ("missing", "testimonies missing from the index"),
        ("stale", "stale documents in the index (no longer in SQLite)"),
        ("outdated", "index documents older than their testimony"),
        ("duplicated", "testimonies indexed more than once"),
    ):
        if differences[name]:
            problems.append(f"{len(differences[name])} {what}: {', '.join(differences[name][:5])}")
    generation = report["generation"]
    if generation["index"] != generation["database"]:
        problems.append(f"index generation {generation['index']} is not the database's {generation['database']}")
    return report | {"ok": not problems}
