"""Drafts cannot be ingested by accident (issue 14): a file with the `draft` line, or any field still holding
a placeholder (`UNRESOLVED: <question>`, or the older `UNKNOWN — set before ingesting`), is refused by
validate and ingest with one line per unresolved field; nothing of it reaches the archive.

Real files, the real CLI in a subprocess, a real SQLite archive and index."""

import json
import subprocess
import sys
from dataclasses import asdict

import pytest
import sqlite_utils
from testimony_archive.ingest import store
from testimony_archive.ingest.extract.draft import placeholder
from testimony_archive.ingest.normalize import normalize
from testimony_archive.ingest.source import DRAFT_REASON, InvalidSource, unresolved_fields, validator

from .conftest import ROOT, fixture, rows, write

TESTIMONY = [sys.executable, "-m", "testimony_archive.ingest.cli"]
DRAFT_LINE = "draft: review every field, then delete this line"

GOOD = """\
source:
  title: Unresolved questions about the camps
  publisher: Test Rights Group
  published: 2024
testimonies:
  - speaker: Aziz
    role: family
    text: "Unresolved, they call my brother's case."
"""

# Three unresolved fields, one of them inside a subject, in the form `testimony extract` writes.
DRAFT = f"""\
{DRAFT_LINE}
source:
  title: "{placeholder("what is the release's title?")}"
  publisher: Test Rights Group
  published: '2019'
testimonies:
  - speaker: "{placeholder("who said this?")}"
    text: We have waited six years for a trial.
  - speaker: Mihray*
    role: family
    subjects:
      - name: "  unresolved:  who is her sister?"
        relationship: sister
    text: My sister has done nothing wrong.
"""


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TESTIMONY, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def refused(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()


def test_the_draft_line_alone_refuses_a_file(tmp_path):
    draft = write(tmp_path / "draft.yml", f"{DRAFT_LINE}\n{GOOD}")
    result = run_cli("validate", draft)
    assert refused(result) == [f"{draft}:draft: {DRAFT_REASON}"]
    assert result.stdout == "1 file: 0 valid, 1 invalid\n"


def test_each_unresolved_field_is_one_line(tmp_path):
    draft = write(tmp_path / "draft.yml", DRAFT)
    assert refused(run_cli("validate", draft)) == [
        f"{draft}:draft: {DRAFT_REASON}",
        f"{draft}:source.title: unresolved: what is the release's title?",
        f"{draft}:testimonies[0].speaker: unresolved: who said this?",
        f"{draft}:testimonies[1].subjects[0].name: unresolved: who is her sister?",
    ]


def test_ingest_takes_the_good_file_and_nothing_of_the_draft(tmp_path):
    folder = tmp_path / "in"
    draft = write(folder / "a-draft.yml", DRAFT)
    legacy = write(folder / "b-legacy.yml", GOOD.replace("Test Rights Group", "UNKNOWN — set before ingesting"))
    write(folder / "c-good.yml", GOOD)
    db = tmp_path / "a.db"
    result = run_cli("ingest", folder, "--db", db)
    assert refused(result) == [
        f"{draft}:draft: {DRAFT_REASON}",
        f"{draft}:source.title: unresolved: what is the release's title?",
        f"{draft}:testimonies[0].speaker: unresolved: who said this?",
        f"{draft}:testimonies[1].subjects[0].name: unresolved: who is her sister?",
        f"{legacy}:source.publisher: unresolved: set before ingesting",
    ]
    assert result.stdout.startswith("3 files: 1 inserted, 0 updated, 0 unchanged, 0 removed, 2 failed")
    # The good file is in (a title and a text starting "Unresolved" are not placeholders)...
    assert rows(db, "select title, publisher from sources") == [
        {"title": "Unresolved questions about the camps", "publisher": "Test Rights Group"}
    ]
    assert rows(db, "select speaker, text from testimonies") == [
        {"speaker": "Aziz", "text": "Unresolved, they call my brother's case."}
    ]
    # ...and nothing of the drafts, in any table: the run's own record of its files holds the error lines
    # (lower-case "unresolved:"), never a placeholder or a drafted testimony's words.
    archive = sqlite_utils.Database(db)
    stored = json.dumps([list(archive[name].rows) for name in archive.table_names()], ensure_ascii=False)
    archive.close()
    assert "Unresolved questions about the camps" in stored
    for drafted in ("UNRESOLVED", "UNKNOWN", "Mihray", "waited six years", "done nothing wrong"):
        assert drafted not in stored
    assert rows(db, "select path, status from ingest_run_files order by path") == [
        {"path": str(draft), "status": "failed"},
        {"path": str(legacy), "status": "failed"},
        {"path": str(folder / "c-good.yml"), "status": "ok"},
    ]
    # The index holds the good file's testimony only.
    searched = run_cli("search", "waited OR sister OR brother", "--db", db, "--json")
    assert [hit["speaker"] for hit in json.loads(searched.stdout)["hits"]] == ["Aziz"]


def test_json_drafts_and_validate_json_list_each_field(tmp_path):
    document = {
        "draft": "review every field, then delete this line",
        "source": {"title": "A statement", "publisher": "UNKNOWN — set before ingesting", "published": "2024"},
        "testimonies": [
            {
                "speaker": {"name": "Aziz", "private": {"real_name": placeholder("is it Gulnar Tursun?")}},
                "text": "My brother was detained.",
                "tags": ["Detention", placeholder("which camp?")],
            }
        ],
    }
    draft = write(tmp_path / "draft.json", json.dumps(document, ensure_ascii=False))
    result = run_cli("validate", draft, "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert (summary["files"], summary["failed"]) == (1, 1)
    assert summary["errors"] == [
        f"{draft}:draft: {DRAFT_REASON}",
        f"{draft}:source.publisher: unresolved: set before ingesting",
        # A private field's question is never shown (error lines are printed and kept in the run's record).
        f"{draft}:testimonies[0].speaker.private.real_name: unresolved: a private value (see the file)",
        f"{draft}:testimonies[0].tags[1]: unresolved: which camp?",
    ]


def test_csv_placeholders_are_refused_by_row_and_column(tmp_path):
    sheet = write(
        tmp_path / "sheet.csv",
        "source_title,source_publisher,source_published,speaker,text,subject_name\n"
        "A list,UNKNOWN — set before ingesting,2024,Aziz,My brother was detained.,\n"
        "A list,UNKNOWN — set before ingesting,2024,UNRESOLVED: who said this?,They took him at night.,\n"
        "Another list,Test Rights Group,2025,Mihray*,My sister is held.,UNRESOLVED: who is her sister?\n",
    )
    db = tmp_path / "a.db"
    assert refused(run_cli("ingest", sheet, "--db", db)) == [
        f"{sheet}:row 2, column 'source_publisher': unresolved: set before ingesting",
        f"{sheet}:row 3, column 'speaker': unresolved: who said this?",
        f"{sheet}:row 4, column 'subject_name': unresolved: who is her sister?",
    ]
    assert rows(db, "select count(*) as n from testimonies") == [{"n": 0}]


def test_a_draft_from_testimony_extract_is_refused(tmp_path):
    draft = tmp_path / "draft.yml"
    run_cli("extract", fixture("extract/unattributed.txt"), "-o", draft)  # no publisher, no date, a quote unattributed
    lines = refused(run_cli("validate", draft))
    assert lines[0] == f"{draft}:draft: {DRAFT_REASON}"
    assert f"{draft}:source.publisher: unresolved: " in "\n".join(lines)
    assert len(lines) > 2 and all(line.startswith(f"{draft}:") and ": unresolved: " in line for line in lines[1:])
    db = tmp_path / "a.db"
    assert refused(run_cli("ingest", draft, "--db", db)) == lines
    assert rows(db, "select count(*) as n from testimonies") == [{"n": 0}]


def test_the_schema_refuses_drafts_too():
    """Editors validate against the schema alone: it refuses the draft line and every placeholder."""
    document = {
        "draft": "review every field, then delete this line",
        "source": {"title": placeholder("title?"), "publisher": "UNKNOWN — set before ingesting", "published": "2024"},
        "testimonies": [
            {
                "speaker": {"name": "Aziz", "key": "UNRESOLVED:key", "private": {"notes": placeholder("notes?")}},
                "text": placeholder("what did she say?"),
                "location": "  unresolved",
                "subjects": [{"name": placeholder("who?")}],
                "tags": [placeholder("tag?")],
            }
        ],
    }
    refused_at = sorted(".".join(map(str, error.absolute_path)) for error in validator().iter_errors(document))
    assert refused_at == [
        "draft",
        "source.publisher",
        "source.title",
        "testimonies.0.location",
        "testimonies.0.speaker",  # a name or a mapping: the mapping's key and private notes are refused
        "testimonies.0.subjects.0.name",
        "testimonies.0.tags.0",
        "testimonies.0.text",
    ]
    assert [path for path, _ in unresolved_fields(document)] == [
        "source.title",
        "source.publisher",
        "testimonies[0].speaker.key",
        "testimonies[0].speaker.private.notes",
        "testimonies[0].text",
        "testimonies[0].location",
        "testimonies[0].subjects[0].name",
        "testimonies[0].tags[0]",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "UNRESOLVED\0: who?", "\u200bUNRESOLVED: who?", "\ufeffUNRESOLVED", "**UNRESOLVED**", "UNRESOLVED*",
        "UNRESOLVED\\*", "unresolved?", "UNKNOWN — SET BEFORE INGESTING", "UNKNOWN: set before ingesting",
    ],
)  # fmt: skip
def test_a_placeholder_disguised_by_hand_or_by_accident_is_still_one(value):
    assert [path for path, _ in unresolved_fields({"source": {"title": value}})] == ["source.title"]


@pytest.mark.parametrize(
    "value",
    ["Unresolved questions remain", "UNRESOLVED CASES", "Unknown", "unknown - a poem", "Unresolved, they said."],
)
def test_words_that_only_look_like_a_placeholder_are_not_one(value):
    assert unresolved_fields({"source": {"title": value}}) == []


def test_the_writer_refuses_a_placeholder_that_got_around_validation(tmp_path):
    """Safety where the data is: a NormalizedSource built without validate_document is refused by the store."""
    document = {
        "source": {"title": "A statement", "publisher": "Test Rights Group", "published": "2024"},
        "testimonies": [{"speaker": "Aziz", "text": "My brother was detained.", "location": placeholder("where?")}],
    }
    normalized = normalize(document, "draft.yml")
    assert unresolved_fields(asdict(normalized))  # normalize does not check: it trusts what validation passed
    db = store.open_archive(tmp_path / "a.db")
    with pytest.raises(InvalidSource) as refusal:
        store.write_file(db, [normalized], "draft.yml")
    assert str(refusal.value) == (
        "draft.yml: holds an unresolved placeholder (testimonies[0].row.location): a draft is never written to the "
        "archive"
    )
    assert db["testimonies"].count == 0 and db["sources"].count == 0
