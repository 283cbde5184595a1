"""CSV ingest (with and without --map) and the extract -> validate -> ingest round trip, via the CLI."""

import json
import shutil

import pytest
import yaml
from testimony_archive.ingest.cli import app
from testimony_archive.ingest.source import load_source

from .conftest import fixture, rows, write

CUSTOM_MAP = [
    "--map", "Report=source_title",
    "--map", "Organisation=source_publisher",
    "--map", "Date published=source_published",
    "--map", "Name of relative=speaker",
    "--map", "Quote=text",
    "--map", "Relation=subject_relationship",
    "--map", "Detained person=subject_name",
    "--map", "Situation=subject_status",
]  # fmt: skip


def test_csv_with_the_documented_headers(runner, tmp_path):
    db = tmp_path / "a.db"
    result = runner.invoke(app, ["ingest", str(fixture("csv/campaign.csv")), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["inserted"] == 3
    assert rows(db, "select title, publisher, published, url from sources order by title") == [
        {
            "title": "Campaign spreadsheet (invented)",
            "publisher": "Families Campaign",
            "published": "2025-06",
            "url": "https://example.org/campaign/sheet",
        },
        {"title": "Second list (invented)", "publisher": "Families Campaign", "published": "2024", "url": None},
    ]
    assert rows(
        db,
        "select speaker, speaker_is_pseudonym, role, date, tags, statuses from testimonies order by position, speaker",
    ) == [
        {
            "speaker": "Ayşe Demir",
            "speaker_is_pseudonym": 0,
            "role": "witness",
            "date": "2024-03-02",
            "tags": '["Witnesses"]',
            "statuses": "[]",
        },
        {
            "speaker": "Zulfiya*",  # the browse column prints a pseudonym with its star
            "speaker_is_pseudonym": 1,
            "role": "family",
            "date": "2025-05",
            "tags": '["Letters", "Detention", "China"]',
            "statuses": '["detained"]',
        },
        {
            "speaker": "Kamil Tursun",
            "speaker_is_pseudonym": 0,
            "role": "family",
            "date": None,
            "tags": '["Detention", "China"]',
            "statuses": '["died_in_detention", "imprisoned"]',
        },
    ]
    assert rows(db, "select text from testimonies where speaker = 'Kamil Tursun'") == [
        {"text": "My father died in detention.\nMy uncle is still in prison."}
    ]
    assert rows(
        db,
        """select p.name, p.is_pseudonym, s.relationship, s.status, s.since from testimony_subjects s
        left join people p on p.id = s.person_id join testimonies t on t.id = s.testimony_id
        where t.speaker = 'Kamil Tursun' order by s.position""",
    ) == [
        {
            "name": "Tursun Ahmet",
            "is_pseudonym": 0,
            "relationship": "father",
            "status": "died_in_detention",
            "since": "2020-11",
        },
        {"name": None, "is_pseudonym": None, "relationship": "uncle", "status": "imprisoned", "since": None},
    ]
    again = runner.invoke(app, ["ingest", str(fixture("csv/campaign.csv")), "--db", str(db), "--json"])
    assert json.loads(again.output)["unchanged"] == 3


def test_csv_with_other_headers_needs_map(runner, tmp_path):
    db = tmp_path / "a.db"
    path = fixture("csv/custom-headers.csv")
    without = runner.invoke(app, ["ingest", str(path), "--db", str(db)])
    assert without.exit_code == 1
    assert f"{path}:row 1, column 'Report': unknown column (rename it with --map COLUMN=FIELD)" in without.output
    result = runner.invoke(app, ["ingest", str(path), "--db", str(db), *CUSTOM_MAP])
    assert result.exit_code == 0, result.output
    assert rows(
        db, "select speaker, speaker_is_pseudonym, text, statuses, relationships from testimonies order by position"
    ) == [
        {
            "speaker": "Rahima*",
            "speaker_is_pseudonym": 1,
            "text": "We only want to know if he is alive.",
            "statuses": '["disappeared"]',
            "relationships": '["brother"]',
        },
        {
            "speaker": "Nurlan Abilov",
            "speaker_is_pseudonym": 0,
            "text": "They let me go after a year.",
            "statuses": '["released"]',
            "relationships": '["self"]',
        },
    ]
    assert rows(db, "select name, is_pseudonym from people where name = 'Memet'") == [
        {"name": "Memet", "is_pseudonym": 1}
    ]


def test_csv_errors_name_the_row_and_column(runner, tmp_path):
    path = fixture("csv/bad-row.csv")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:row 3, column 'role': 'cousin' is not one of: family" in result.output
    mapped = tmp_path / "mapped.csv"
    mapped.write_text(path.read_text().replace(",role,", ",Kind,"))
    result = runner.invoke(app, ["validate", str(mapped), "--map", "Kind=role"])
    assert f"{mapped}:row 3, column 'Kind': 'cousin' is not one of" in result.output
    db = tmp_path / "a.db"
    result = runner.invoke(app, ["ingest", str(path), str(fixture("csv/campaign.csv")), "--db", str(db)])
    assert result.exit_code == 1
    assert rows(db, "select count(*) as n from testimonies where speaker in ('Aziz', 'Ali')") == [{"n": 0}]
    assert rows(db, "select count(*) as n from testimonies") == [{"n": 3}]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "source_title,source_publisher,source_published,speaker,text\nT,P,2025-02-30,A,words\n",
            ":row 2, column 'source_published': '2025-02-30' is not a real date",
        ),
        (
            "source_title,source_publisher,source_published,speaker,text\nT,P,2025,A,words\nT,P,2025,A,words\n",
            ":row 3: duplicates testimonies[0]",
        ),
        ("source_title,source_publisher,speaker,text\nT,P,A,words\n", ":row 1: no 'source_published' column"),
        (
            "source_title,source_publisher,source_published,speaker,text,speaker_pseudonym\nT,P,2025,A,w,maybe\n",
            ":row 2, column 'speaker_pseudonym': 'maybe' is not yes or no",
        ),
        ("source_title,source_publisher,source_published,speaker,text\n", ": no rows below the header"),
    ],
)
def test_csv_bad_input(runner, tmp_path, text, expected):
    path = write(tmp_path / "a.csv", text)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}{expected}" in result.output, result.output


def test_bad_map_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(app, ["validate", str(fixture("csv/campaign.csv")), "--map", "Quote=colour"])
    assert result.exit_code == 2
    assert "'colour' is not a CSV field" in result.output


@pytest.mark.parametrize("name", ["plain_release.txt", "escaped_bold.md", "release.html", "pdf_export.txt"])
def test_extract_validate_ingest_round_trip_once_the_draft_line_is_deleted(runner, tmp_path, name):
    draft = tmp_path / "drafts" / f"{name}.yml"
    draft.parent.mkdir()
    result = runner.invoke(app, ["extract", str(fixture(f"extract/{name}")), "-o", str(draft)])
    assert result.exit_code == 0, result.output
    assert draft.read_text().startswith("# DRAFT extracted from")
    refused = runner.invoke(app, ["validate", str(draft)])
    assert refused.exit_code == 1 and f"{draft}:draft: this is a draft" in refused.output
    # The archivist reviews the draft and deletes its `draft` line; nothing else needs answering here.
    draft.write_text("".join(line for line in draft.read_text().splitlines(True) if not line.startswith("draft:")))
    assert runner.invoke(app, ["validate", str(draft)]).exit_code == 0
    db = tmp_path / "a.db"
    result = runner.invoke(app, ["ingest", str(draft), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    document = load_source(draft)
    assert json.loads(result.output)["inserted"] == len(document["testimonies"]) > 0
    stored = {
        (r["name"], r["is_pseudonym"])
        for r in rows(db, "select p.name, p.is_pseudonym from testimonies t join people p on p.id = t.speaker_id")
    }
    drafted = {(t["speaker"].rstrip("*"), int(t["speaker"].endswith("*"))) for t in document["testimonies"]}
    assert stored == drafted


def test_extract_prints_to_stdout_and_warns_on_stderr(runner):
    result = runner.invoke(app, ["extract", str(fixture("extract/unattributed.txt"))])
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["testimonies"]
    assert "warning:" in result.stderr


def test_extract_json_and_unreadable_input(runner, tmp_path):
    result = runner.invoke(
        app, ["extract", str(fixture("extract/release.html")), "--json", "--publisher", "Given Publisher"]
    )
    data = json.loads(result.output)
    assert data["valid"] is True and data["draft"]["source"]["publisher"] == "Given Publisher"
    assert data["draft"]["draft"]  # piped to a file, the JSON draft is refused like the YAML one
    missing = runner.invoke(app, ["extract", str(tmp_path / "none.txt")])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    assert missing.output.startswith(f"Error: {tmp_path / 'none.txt'}:")


def test_extract_to_a_json_file_writes_json_that_validate_refuses_as_a_draft(runner, tmp_path):
    draft = tmp_path / "draft.json"
    result = runner.invoke(app, ["extract", str(fixture("extract/plain_release.txt")), "-o", str(draft)])
    assert result.exit_code == 0, result.output
    assert json.loads(draft.read_text())["testimonies"]
    refused = runner.invoke(app, ["validate", str(draft)])
    assert refused.exit_code == 1 and f"{draft}:draft: this is a draft" in refused.output


def test_folder_ingest_picks_up_csv(runner, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(fixture("csv"), folder)
    (folder / "bad-row.csv").unlink()
    (folder / "custom-headers.csv").unlink()
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(tmp_path / "a.db"), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["inserted"] == 3


def test_extract_json_with_an_output_file_writes_it(runner, tmp_path):
    """`-o draft.yml --json` writes the draft and prints the JSON (it used to print only the JSON)."""
    draft = tmp_path / "draft.yml"
    result = runner.invoke(app, ["extract", str(fixture("extract/plain_release.txt")), "-o", str(draft), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["valid"] is True
    assert yaml.safe_load(draft.read_text())["testimonies"] == json.loads(result.stdout)["draft"]["testimonies"]
