"""`testimony verify`: do SQLite and the Whoosh index agree, and is each sound?

Checks SQLite's integrity and foreign keys, that the index opens, that every testimony is in the index
exactly once with its current content hash, that no stale document remains, and that the index's
generation is the database's. `repair` brings the index back in line (incrementally where it opens,
else by a rebuild into a temporary folder swapped in atomically); SQLite is never changed.
"""

from pathlib import Path

import sqlite_utils
from testimony_archive.search import index as search_index

from . import store


def verify_archive(db: sqlite_utils.Database, index_dir: Path) -> dict:
    """A report of every check; `ok` is true only when all of them pass."""
    integrity, foreign_key_violations = store.integrity_problems(db)
    report = {
        "sqlite_integrity": integrity or "ok",
        "foreign_key_violations": foreign_key_violations,
        "testimonies": store.testimony_count(db),
        "index": str(index_dir),
        "index_opens": False,
        "index_documents": None,
        "generation": {
            "database": store.generation(db),
            "index": search_index.read_generation(index_dir),
        },
        "missing": [],
        "stale": [],
        "outdated": [],
        "duplicated": [],
        "problems": [],
    }
    problems = report["problems"]
    if integrity:
        problems.append(f"SQLite integrity check failed: {'; '.join(integrity[:3])}")
    if foreign_key_violations:
        problems.append(f"{foreign_key_violations} foreign key violation(s) in SQLite")
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


def verify_all(db: sqlite_utils.Database, index_dir: Path) -> dict:
    """`verify_archive` for the archive and, for a full archive, for every public copy published from it
    (a copy that cannot be found or opened is a problem: a takedown could not reach it either)."""

    report = verify_archive(db, index_dir)
    report["archive_ok"] = report["ok"]
    report["copies"] = []
    for copy in store.published_copies(db) if store.archive_kind(db) == "full" else []:
        entry = {"path": copy["path"], "index": copy["index_dir"]}
        try:
            public = store.open_archive(copy["path"], store.READ)
        except store.NotAnArchive as error:
            entry |= {"ok": False, "problems": [f"the public copy {copy['path']} cannot be checked: {error}"]}
        else:
            try:
                checked = verify_archive(public, Path(copy["index_dir"]))
                taken_down = _taken_down_in(db, public)
            finally:
                public.close()
            if taken_down:
                checked["problems"].append(
                    f"{len(taken_down)} taken-down testimonies still in it: {', '.join(taken_down[:5])} "
                    "(run the takedown again)"
                )
            entry |= {
                "taken_down": taken_down,
                "ok": not checked["problems"],
                "problems": [f"public copy {copy['path']}: {problem}" for problem in checked["problems"]],
            }
        report["copies"].append(entry)
        report["problems"] += entry["problems"]
    report["ok"] = not report["problems"]
    return report


def _taken_down_in(full: sqlite_utils.Database, public: sqlite_utils.Database) -> list[str]:
    """Ids a takedown recorded that a public copy still holds (by id: the fingerprints need the key)."""
    return sorted(store.tombstoned_ids(full) & set(store.testimony_ids(public)))


def repair_all(db: sqlite_utils.Database, index_dir: Path, report: dict) -> int:
    """Bring every index `verify_all` found wrong back in line with its database; returns documents fixed."""

    fixed = 0
    if report["sqlite_integrity"] == "ok" and report["problems"] != [
        p for c in report["copies"] for p in c["problems"]
    ]:
        fixed += search_index.repair(db, index_dir)
    for copy in report["copies"]:
        # A copy that still holds a taken-down testimony is not re-indexed (that would make it searchable
        # again): the takedown must be run again.
        if copy["ok"] or not Path(copy["path"]).is_file() or copy.get("taken_down"):
            continue
        public = store.open_archive(copy["path"], store.READ)
        try:
            fixed += search_index.repair(public, Path(copy["index"]))
        finally:
            public.close()
    return fixed


def check(db: sqlite_utils.Database, index_dir: Path, repair: bool = False) -> dict:
    """`verify_all`, and with `repair` the index brought back in line and everything checked again; the
    report then says what was found and how many documents were rewritten (`repaired`)."""
    report = verify_all(db, index_dir)
    if repair and not report["ok"]:
        repaired = repair_all(db, index_dir, report)
        before, report = report, verify_all(db, index_dir)
        report["repaired"] = {"documents": repaired, "problems_before": before["problems"]}
    return report


def archive_stats(db: sqlite_utils.Database, index_dir: Path) -> dict:
    """Rows per table, pseudonyms, the index's document count and both generations."""
    return {
        "tables": store.table_counts(db),
        "pseudonyms": store.pseudonym_count(db),
        "index_documents": search_index.doc_count(index_dir),
        "generation": {"database": store.generation(db), "index": search_index.read_generation(index_dir)},
    }
