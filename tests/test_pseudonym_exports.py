"""Every output that shows a name shows whether it is a pseudonym (issue 17 #6): Datasette's JSON and CSV
exports and its facets, whatever columns they were asked for, and an archive migrated from schema 5."""

import csv
import io
import shutil
import sqlite3
from pathlib import Path

import pytest
from testimony_archive.ingest import load, store
from testimony_archive.search.serve import make_datasette

from .conftest import DATA, published_sample, rows

DB = "archive"


@pytest.fixture(scope="module")
def public(tmp_path_factory) -> Path:
    return published_sample(tmp_path_factory, name=DB)


@pytest.fixture(scope="module")
def pseudonyms(public) -> set[str]:
    """The pseudonymous speakers' names as written (the positive control: the sample data has some)."""
    found = {
        row["name"]
        for row in rows(
            public, "select p.name from testimonies t join people p on p.id = t.speaker_id where p.is_pseudonym = 1"
        )
    }
    assert found
    return found


@pytest.mark.parametrize(
    "columns", ["_col=speaker", "_nocol=speaker_is_pseudonym", "_col=speaker&_col=text", "_col=speaker_id"]
)
async def test_json_and_csv_exports_mark_pseudonyms_whatever_the_columns(public, pseudonyms, columns):
    datasette = make_datasette(public)
    data = (await datasette.client.get(f"/{DB}/testimonies.json?{columns}&_shape=objects&_size=max&_labels=on")).json()
    shown = set()
    for row in data["rows"]:
        value = row.get("speaker") or row.get("speaker_id")
        shown.add(value["label"] if isinstance(value, dict) else value)
    assert {f"{name}*" for name in pseudonyms} <= shown
    assert not pseudonyms & shown  # never the bare pseudonym
    text = (await datasette.client.get(f"/{DB}/testimonies.csv?{columns}&_size=max&_labels=on")).text
    cells = {cell for row in csv.reader(io.StringIO(text)) for cell in row}
    assert {f"{name}*" for name in pseudonyms} <= cells
    assert not pseudonyms & cells


async def test_speaker_facet_marks_pseudonyms(public, pseudonyms):
    datasette = make_datasette(public)
    data = (await datasette.client.get(f"/{DB}/testimonies.json?_facet=speaker&_col=speaker")).json()
    values = {item["value"] for item in data["facet_results"]["speaker"]["results"]}
    assert {f"{name}*" for name in pseudonyms} <= values
    assert not pseudonyms & values


def test_a_schema_5_archive_gets_the_star_in_its_speaker_column(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder)
    full = tmp_path / "full.db"
    assert load.ingest_paths(store.open_archive(full), Path(f"{full}.whoosh"), [folder]).exit_code == 0
    # Back to what schema 5 wrote: the bare name in the browse column.
    conn = sqlite3.connect(full)
    with conn:
        conn.execute("update testimonies set speaker = rtrim(speaker, '*')")
        conn.execute("update archive_meta set value = '5' where key = 'schema_version'")
    conn.close()
    assert rows(full, "select count(*) as n from testimonies where speaker like '%*'") == [{"n": 0}]
    store.open_archive(full, store.WRITE).close()
    marked = rows(
        full,
        """select t.speaker, p.display_name from testimonies t join people p on p.id = t.speaker_id
        where t.speaker_is_pseudonym = 1""",
    )
    assert marked and all(row["speaker"] == row["display_name"] and row["speaker"].endswith("*") for row in marked)
    # Re-ingesting the same files changes nothing: the migration wrote what ingest writes.
    again = load.ingest_paths(store.open_archive(full), Path(f"{full}.whoosh"), [folder])
    assert again.count("inserted") == again.count("updated") == again.count("removed") == 0
