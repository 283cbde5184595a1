"""`testimony verify`: every way SQLite and the index can disagree is found, and --repair mends it."""

import json
from pathlib import Path

import pytest
from testimony_archive.ingest import store
from testimony_archive.ingest.cli import app
from testimony_archive.search import index as search_index

from .conftest import rows


def verify(runner, db, *extra):
    result = runner.invoke(app, ["verify", "--db", str(db), "--json", *extra])
    return result.exit_code, json.loads(result.output)


def first_ids(db, n):
    return [r["id"] for r in rows(db, f"select id from testimonies order by id limit {n}")]


def break_index(db: Path, how: str) -> None:
    index_dir = Path(f"{db}.whoosh")
    archive = store.open_archive(db)
    one, two = first_ids(db, 2)
    if how == "missing":
        with search_index.writer(index_dir) as w:
            w.delete_by_term("id", one)
    elif how == "stale":
        with search_index.writer(index_dir) as w:
            w.add_document(id="0000deadbeef0000", content_hash="x", text="gone")
    elif how == "duplicated":
        with search_index.writer(index_dir) as w:
            w.add_document(**next(search_index.documents(archive, [one])))
    elif how == "outdated":
        with search_index.writer(index_dir) as w:
            w.update_document(**dict(next(search_index.documents(archive, [two])), content_hash="old"))
    elif how == "generation":
        search_index.write_generation(index_dir, 1)
    elif how == "no index":
        for path in index_dir.glob("*"):
            path.unlink()
    elif how == "corrupt":
        for path in index_dir.glob("*.toc"):
            path.write_bytes(b"not a toc")
    archive.close()


def test_a_sound_archive_verifies(runner, sample_copy):
    code, report = verify(runner, sample_copy)
    assert code == 0 and report["ok"]
    assert report["testimonies"] == report["index_documents"] == 22
    assert report["sqlite_integrity"] == "ok" and report["foreign_key_violations"] == 0


@pytest.mark.parametrize("how", ["missing", "stale", "duplicated", "outdated", "generation", "no index", "corrupt"])
def test_disagreement_is_found_and_repaired(runner, sample_copy, how):
    break_index(sample_copy, how)
    code, report = verify(runner, sample_copy)
    assert code == 1 and not report["ok"]
    assert report["problems"]
    if how in ("missing", "stale", "duplicated", "outdated"):
        assert len(report[how]) == 1
    code, repaired = verify(runner, sample_copy, "--repair")
    assert code == 0, repaired["problems"]
    assert repaired["ok"] and repaired["repaired"]["problems_before"] == report["problems"]
    assert repaired["index_documents"] == 22
    assert search_index.indexed_hashes(Path(f"{sample_copy}.whoosh")) == {
        r["id"]: [r["content_hash"]] for r in rows(sample_copy, "select id, content_hash from testimonies")
    }


def test_human_report(runner, sample_copy):
    break_index(sample_copy, "stale")
    result = runner.invoke(app, ["verify", "--db", str(sample_copy)])
    assert result.exit_code == 1
    assert "1 stale documents in the index (no longer in SQLite): 0000deadbeef0000" in result.output
    assert "PROBLEMS: 22 testimonies, 23 index documents" in result.output
