"""The spine: files become normalized rows in SQLite and documents in Whoosh, through the CLI."""

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from testimony_archive.ingest.cli import app
from testimony_archive.ingest.normalize import make_id
from testimony_archive.search import index as search_index

from .conftest import DATA, ROOT, fixture, rows, write

GOOD = """\
source:
  title: A good source
  publisher: Test Rights Group
  published: 2024
testimonies:
  - speaker: Aziz
    role: family
    subjects: [{name: Erkin, relationship: brother, status: detained}]
    text: My brother was detained.
"""


def ingest(runner, db, *paths, extra=()):
    return runner.invoke(app, ["ingest", *map(str, paths), "--db", str(db), *extra])


def test_sample_data_validates_and_ingests(runner, tmp_path):
    result = runner.invoke(app, ["validate", str(DATA)])
    assert result.exit_code == 0, result.output
    assert "4 files: 4 valid, 0 invalid" in result.output
    db = tmp_path / "a.db"
    result = ingest(runner, db, DATA)
    assert result.exit_code == 0, result.output
    assert "22 inserted, 0 updated, 0 unchanged, 0 removed, 0 failed" in result.output
    assert search_index.doc_count(Path(f"{db}.whoosh")) == 22


def test_reingest_changes_nothing(runner, tmp_path):
    db = tmp_path / "a.db"
    assert ingest(runner, db, DATA).exit_code == 0
    before = {t: rows(db, f"select * from {t} order by 1, 2") for t in ("sources", "people", "testimonies", "tags")}
    result = ingest(runner, db, DATA, extra=["--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert {k: summary[k] for k in ("inserted", "updated", "unchanged", "removed", "failed")} == {
        "inserted": 0,
        "updated": 0,
        "unchanged": 22,
        "removed": 0,
        "failed": 0,
    }
    after = {t: rows(db, f"select * from {t} order by 1, 2") for t in before}
    assert after == before
    assert search_index.doc_count(Path(f"{db}.whoosh")) == 22
    runs = rows(db, "select files, inserted, unchanged, failed from ingest_runs order by id")
    assert runs == [
        {"files": 4, "inserted": 22, "unchanged": 0, "failed": 0},
        {"files": 4, "inserted": 0, "unchanged": 22, "failed": 0},
    ]
    files = rows(db, "select path, sha256, status from ingest_run_files where run_id = 2 order by path")
    assert [len(f["sha256"]) for f in files] == [64] * 4 and {f["status"] for f in files} == {"ok"}


def test_star_marks_pseudonym_and_bold_does_not(runner, tmp_path):
    db = tmp_path / "a.db"
    result = ingest(runner, db, fixture("sources/pseudonyms.yml"))
    assert result.exit_code == 0, result.output
    assert rows(db, "select name, is_pseudonym from people order by name, is_pseudonym") == [
        {"name": "Ablikim", "is_pseudonym": 1},
        {"name": "Ahmetjan", "is_pseudonym": 0},
        {"name": "Ahmetjan", "is_pseudonym": 1},
        {"name": "Gülnar Şükür", "is_pseudonym": 0},
        {"name": "Patime", "is_pseudonym": 1},
        {"name": "Tursun", "is_pseudonym": 0},
    ]
    # The same name with and without the flag stays two people.
    assert (
        len(
            {
                r["speaker_id"]
                for r in rows(
                    db,
                    "select speaker_id from testimonies t join people p on p.id = t.speaker_id where p.name = 'Ahmetjan'",
                )
            }
        )
        == 2
    )
    assert rows(db, "select note from sources") == [{"note": "*Names have been changed."}]


def test_text_is_verbatim_apart_from_nfc_and_trimming(runner, tmp_path):
    db = tmp_path / "a.db"
    assert ingest(runner, db, fixture("sources/pseudonyms.yml")).exit_code == 0
    texts = [r["text"] for r in rows(db, "select text from testimonies order by position")]
    assert texts[1] == "One relative died in detention — another is still detained…"
    assert rows(db, "select title from sources") == [{"title": "Families of the detained speak"}]


def test_tags_have_one_canonical_form(runner, tmp_path):
    db = tmp_path / "a.db"
    assert ingest(runner, db, fixture("sources/pseudonyms.yml")).exit_code == 0
    assert rows(db, "select id, name from tags order by id") == [
        {"id": "china", "name": "China"},
        {"id": "death in custody", "name": "Death in custody"},
        {"id": "detention", "name": "Detention"},
        {"id": "torture and other ill-treatment", "name": "Torture and other ill-treatment"},
    ]
    assert json.loads(rows(db, "select tags from testimonies where position = 1")[0]["tags"]) == [
        "Death in custody",
        "China",
        "Detention",
        "Torture and other ill-treatment",
    ]


def test_subjects_relationships_statuses_and_partial_dates(runner, tmp_path):
    db = tmp_path / "a.db"
    assert ingest(runner, db, fixture("sources/pseudonyms.yml")).exit_code == 0
    assert rows(
        db,
        """select t.position, s.position as subject, p.name, p.is_pseudonym, s.relationship, s.status, s.since,
        s.since_precision from testimony_subjects s join testimonies t on t.id = s.testimony_id
        left join people p on p.id = s.person_id order by t.position, s.position""",
    ) == [
        {
            "position": 0,
            "subject": 0,
            "name": "Ablikim",
            "is_pseudonym": 1,
            "relationship": "brother",
            "status": "imprisoned",
            "since": "2018-06",
            "since_precision": "month",
        },
        {
            "position": 1,
            "subject": 0,
            "name": None,
            "is_pseudonym": None,
            "relationship": "relative",
            "status": "died_in_detention",
            "since": None,
            "since_precision": None,
        },
        {
            "position": 1,
            "subject": 1,
            "name": "Tursun",
            "is_pseudonym": 0,
            "relationship": "uncle",
            "status": "detained",
            "since": None,
            "since_precision": None,
        },
    ]
    assert rows(db, "select published, published_precision, year from sources") == [
        {"published": "2025-08-28", "published_precision": "day", "year": 2025}
    ]
    assert rows(db, "select date, date_precision, year, language from testimonies where position = 0") == [
        {"date": "2025-08", "date_precision": "month", "year": 2025, "language": "en"}
    ]


def test_ids_are_derived_from_content(runner, tmp_path):
    db = tmp_path / "a.db"
    assert ingest(runner, db, fixture("sources/pseudonyms.yml")).exit_code == 0
    source_id = make_id("source", "https://example.org/test/pseudonyms")
    assert rows(db, "select id from sources") == [{"id": source_id}]
    text = "My brother Ablikim* is still in prison. We have not heard his voice since 2018."
    assert rows(db, "select id from testimonies where position = 0") == [
        {"id": make_id("testimony", source_id, "Patime", 1, text)}
    ]


def test_edited_file_updates_only_its_own_rows(runner, tmp_path):
    folder = tmp_path / "sources"
    shutil.copytree(DATA, folder)
    db = tmp_path / "a.db"
    assert ingest(runner, db, folder).exit_code == 0
    other_before = rows(
        db, "select * from testimonies where publisher != 'Bosphorus Forum for Human Rights' order by id"
    )
    path = folder / "bosphorus-hearing-2024.yaml"
    document = yaml.safe_load(path.read_text())
    document["testimonies"][0]["role"] = "other"  # an update in place
    document["testimonies"][1]["text"] += " (corrected)"  # a new id: the old testimony goes
    removed = document["testimonies"].pop()  # removed from the file
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    result = ingest(runner, db, folder, extra=["--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["inserted"], summary["updated"], summary["removed"], summary["unchanged"]) == (1, 1, 2, 19)
    assert rows(db, "select * from testimonies where publisher != 'Bosphorus Forum for Human Rights' order by id") == (
        other_before
    )
    assert rows(db, "select count(*) as n from testimonies where text = ?", [removed["text"]]) == [{"n": 0}]
    assert search_index.doc_count(Path(f"{db}.whoosh")) == 21
    assert search_index.diff(
        __import__("testimony_archive.ingest.store").ingest.store.open_archive(db), Path(f"{db}.whoosh")
    ) == {
        "missing": [],
        "stale": [],
        "outdated": [],
        "duplicated": [],
    }


def test_broken_file_among_good_ones(runner, tmp_path):
    folder = tmp_path / "sources"
    shutil.copytree(DATA, folder)
    write(folder / "nested" / "broken.yml", GOOD.replace("role: family", "role: cousin"))
    db = tmp_path / "a.db"
    result = ingest(runner, db, folder)
    assert result.exit_code == 1
    assert "22 inserted" in result.output
    assert f"{folder / 'nested' / 'broken.yml'}:testimonies[0].role: 'cousin' is not one of: family," in result.output
    assert "Traceback" not in result.output
    assert rows(db, "select count(*) as n from testimonies") == [{"n": 22}]
    assert rows(
        db, "select status, error is not null as has_error from ingest_run_files where path like '%broken.yml'"
    ) == [{"status": "failed", "has_error": 1}]


def test_validate_writes_nothing(runner, tmp_path):
    bad = write(tmp_path / "bad.yml", "source: [")
    result = runner.invoke(app, ["validate", str(DATA), str(bad)])
    assert result.exit_code == 1
    assert "5 files: 4 valid, 1 invalid" in result.output
    assert list(tmp_path.iterdir()) == [bad]


BAD_INPUTS = {
    "invalid yaml": ("bad.yml", "source:\n  title: [unclosed\n", ":line 3: invalid YAML"),
    "missing field": ("a.yml", GOOD.replace("  publisher: Test Rights Group\n", ""), ":source: 'publisher' is required"),
    "unknown field": ("a.yml", GOOD.replace("    role: family\n", "    role: family\n    mood: sad\n"), ":testimonies[0]: unknown field 'mood'"),
    "wrong type": ("a.yml", GOOD.replace("subjects: [", "subjects: 3 #"), ":testimonies[0].subjects: 3 is not of type 'array'"),
    "bad enum": ("a.yml", GOOD.replace("status: detained", "status: jailed"), ":testimonies[0].subjects[0].status: 'jailed' is not one of"),
    "date that does not exist": ("a.yml", GOOD.replace("published: 2024", "published: 2025-02-30"), ":source.published: '2025-02-30' is not a real date"),
    "date of the wrong form": ("a.yml", GOOD.replace("published: 2024", "published: 28 August 2025"), ":source.published: '28 August 2025' is not a date of the form YYYY"),
    "empty file": ("a.yml", "\n  \n", ": file is empty"),
    "not utf-8": ("a.yml", None, ":line 3: not UTF-8 text"),
    "json syntax": ("a.json", '{"source": {,}', ":line 1: invalid JSON"),
    "duplicate testimony": ("a.yml", GOOD + GOOD.split("testimonies:\n")[1], ":testimonies[1]: duplicates testimonies[0]"),
    "alias bomb": ("a.yml", 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: [*c,*c]\n', ":line 2: invalid YAML"),
    "deep nesting": ("a.yml", "source: " + "[" * 200 + "]" * 200 + "\n", ": nested deeper than"),
    "pseudonym conflict": ("a.yml", GOOD.replace("speaker: Aziz", "speaker: {name: Aziz*, pseudonym: false}"), ":testimonies[0].speaker.name: pseudonym is false but"),
    "no testimonies": ("a.yml", GOOD.split("testimonies:")[0] + "testimonies: []\n", ":testimonies: [] should be non-empty"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_nothing_written(runner, tmp_path, case):
    name, text, expected = BAD_INPUTS[case]
    path = tmp_path / "in" / name
    path.parent.mkdir()
    if text is None:
        path.write_bytes(GOOD.encode().replace(b"A good source", b"A good source\n  note: caf\xe9"))
    else:
        write(path, text)
    good = write(tmp_path / "in" / "zz-good.yml", GOOD.replace("A good source", "Another source"))
    db = tmp_path / "a.db"
    result = ingest(runner, db, path.parent)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert len(errors) == 1, result.output
    assert errors[0].startswith(f"{path}{expected}"), errors[0]
    assert "Traceback" not in result.output
    assert rows(db, "select title from sources") == [{"title": "Another source"}]
    assert good.exists()


def test_alias_bomb_is_refused_quickly(runner, tmp_path):
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path = write(tmp_path / "bomb.yml", "\n".join(levels) + "\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "aliases (*name) are not allowed" in result.output


def test_bom_and_crlf_are_accepted(runner, tmp_path):
    path = tmp_path / "a.yml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    db = tmp_path / "a.db"
    result = ingest(runner, db, path)
    assert result.exit_code == 0, result.output
    assert rows(db, "select text from testimonies") == [{"text": "My brother was detained."}]


def test_file_over_the_size_limit(runner, tmp_path):
    path = write(tmp_path / "a.yml", GOOD)
    result = ingest(runner, tmp_path / "a.db", path, extra=["--max-bytes", "100"])
    assert result.exit_code == 1
    assert f"{path}: file is {len(GOOD):,} bytes, over the limit of 100" in result.output


def test_symlink_loop_and_missing_path_are_reported(runner, tmp_path):
    folder = tmp_path / "in"
    write(folder / "a.yml", GOOD)
    (folder / "loop").symlink_to(folder)
    db = tmp_path / "a.db"
    result = ingest(runner, db, folder, tmp_path / "nope")
    assert result.exit_code == 1
    assert "symlink loop" in result.output
    assert f"{tmp_path / 'nope'}: no such file or folder" in result.output
    assert rows(db, "select count(*) as n from testimonies") == [{"n": 1}]


def test_unreadable_file_is_reported(runner, tmp_path):
    # chmod 000 does not stop root (CI runs as root); a link to nowhere is unreadable for everyone.
    folder = tmp_path / "in"
    write(folder / "good.yml", GOOD)
    (folder / "gone.yml").symlink_to(tmp_path / "nowhere.yml")
    db = tmp_path / "a.db"
    result = ingest(runner, db, folder)
    assert result.exit_code == 1
    assert f"{folder / 'gone.yml'}: cannot read file: No such file or directory" in result.output
    assert rows(db, "select count(*) as n from testimonies") == [{"n": 1}]


def test_names_with_quotes_semicolons_and_markup_are_data(runner, tmp_path):
    hostile = GOOD.replace("speaker: Aziz", 'speaker: "O\'Brien\\"; DROP TABLE people; -- <b>x</b>"')
    db = tmp_path / "a.db"
    result = ingest(runner, db, write(tmp_path / "a.yml", hostile))
    assert result.exit_code == 0, result.output
    assert rows(db, "select name from people order by name") == [
        {"name": "Erkin"},
        {"name": "O'Brien\"; DROP TABLE people; -- <b>x</b>"},
    ]


def test_reindex_rebuilds_the_same_index(runner, sample_copy):
    index_dir = Path(f"{sample_copy}.whoosh")
    before = search_index.indexed_hashes(index_dir)
    shutil.rmtree(index_dir)
    result = runner.invoke(app, ["reindex", "--db", str(sample_copy)])
    assert result.exit_code == 0, result.output
    assert "Indexed 22 testimonies" in result.output
    assert search_index.indexed_hashes(index_dir) == before
    # No build folder or old index left beside it; only the archive's writer lock, which reindex takes.
    hidden = [p.name for p in index_dir.parent.iterdir() if p.name.startswith(".")]
    assert hidden == [f".{sample_copy.name}.lock"]


def test_stats(runner, sample_archive):
    result = runner.invoke(app, ["stats", "--db", str(sample_archive), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["tables"]["testimonies"] == 22
    assert stats["index_documents"] == 22
    assert stats["generation"]["database"] == stats["generation"]["index"]


def test_usage_errors_exit_2(runner, tmp_path):
    assert runner.invoke(app, ["ingest"]).exit_code == 2
    assert runner.invoke(app, ["stats", "--db", str(tmp_path / "none.db")]).exit_code == 2
    assert runner.invoke(app, ["search"]).exit_code == 2


def test_one_source_in_two_files_is_refused_for_the_second(runner, tmp_path):
    first = write(tmp_path / "in" / "a.yml", GOOD)
    second = write(tmp_path / "in" / "b.yml", GOOD.replace("My brother was detained.", "Other words."))
    db = tmp_path / "a.db"
    result = ingest(runner, db, tmp_path / "in")
    assert result.exit_code == 1
    assert f"{second}:source: is the same source (same publisher, title and published date) as {first}" in result.output
    assert rows(db, "select text from testimonies") == [{"text": "My brother was detained."}]
    # A renamed file takes its source over.
    renamed = first.rename(tmp_path / "in" / "renamed.yml")
    second.unlink()
    result = ingest(runner, db, renamed, extra=["--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["unchanged"] == 1
    assert rows(db, "select source_file from sources") == [{"source_file": str(renamed.resolve())}]


def test_the_progress_bar_says_when_it_writes_the_index(tmp_path):
    """On a terminal the bar counts files, then says the index is being written (minutes at a million
    testimonies, after the last file): never a full bar that seems stuck."""
    main, secondary = pty.openpty()
    env = dict(os.environ, TERM="xterm", COLUMNS="120")
    env.pop("CI", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "testimony_archive.ingest.cli", "ingest", str(DATA), "--db", str(tmp_path / "a.db")],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the process closed its end
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait(timeout=120) == 0
    os.close(main)
    assert b"Ingesting" in shown  # positive control: the bar was drawn
    assert b"Writing the search index" in shown
