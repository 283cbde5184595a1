"""`testimony --log FILE`: an archivist's audit trail of runs, through the standard logging module, in
real processes. It names files, ids, paths and counts, and never a testimony's words, a private field
or a takedown's reason; without --log nothing extra reaches the terminal."""

import json
import shutil
import subprocess
import sys

from .conftest import DATA, fixture, rows, write

TESTIMONY = [sys.executable, "-m", "testimony_archive.ingest.cli"]
REASON = "Zqreason golf: the family asked"


def run_cli(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([*TESTIMONY, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_the_log_is_an_audit_trail_that_keeps_no_words(tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(DATA, folder)
    shutil.copy(fixture("sources/restricted.yml"), folder / "restricted.yml")
    write(folder / "broken.yml", "source: [unclosed\n")
    # A bad value is quoted in the error line the archivist sees; never in the log.
    write(
        folder / "bad-role.yml",
        "source: {title: Bad role, publisher: Test Rights Group, published: 2024}\n"
        "testimonies:\n  - speaker: Zqname india\n    role: Zqwords juliet\n    text: Some words.\n",
    )
    log, full, public = tmp_path / "runs.log", tmp_path / "full.db", tmp_path / "public.db"

    ingest = run_cli("--log", log, "ingest", folder, "--db", full, check=False)
    assert ingest.returncode == 1  # the broken files
    assert "Zqwords juliet" in ingest.stderr  # positive control: the error line quotes the value
    run_cli("--log", log, "publish", "--db", full, "--out", public)
    marked = rows(full, "select id from testimonies where text like '%Zqtakedown foxtrot%'")[0]["id"]
    run_cli("--log", log, "takedown", marked, "--reason", REASON, "--db", full)
    run_cli("--log", log, "restore", marked, "--reason", REASON, "--db", full)

    lines = log.read_text(encoding="utf-8").splitlines()
    text = "\n".join(lines)
    assert log.stat().st_mode & 0o077 == 0  # its owner's alone
    # One line per file, with its outcome, and one per run with the totals.
    run = rows(full, "select * from ingest_runs")[0]
    assert run["failed"] == 2 and sum(" ingested " in line for line in lines) == run["files"] - 2
    assert any("WARNING" in line and "broken.yml" in line for line in lines)
    run = rows(full, "select * from ingest_runs")[0]
    assert any(
        f"ingest run {run['id']} into {full}: {run['files']} files, {run['inserted']} inserted" in line
        for line in lines
    )
    assert any(f"publish: {full} -> {public}: " in line for line in lines)
    assert any(line.endswith(f"public copy {public} done") for line in lines)
    assert any(f"takedown: 1 testimonies ({marked})" in line for line in lines)
    assert any(f"restore: 1 lifted ({marked})" in line for line in lines)
    assert all(line[:4].isdigit() and line[19] == "Z" for line in lines)  # UTC timestamps
    # Never the words, the private fields or the reason; they are where they belong (positive control).
    for marker in (
        "Zqtakedown foxtrot",
        "Zqrealname",
        "Zqnotes",
        "Zqlocation",
        "Zqrestricted",
        "Zqreason",
        "Zqwords",
        "Zqname",
    ):
        assert marker not in text, marker
    assert rows(full, "select reason from audit_log where action = 'takedown'") == [{"reason": REASON}]
    assert b"Zqrestricted" in full.read_bytes()


def test_without_log_nothing_extra_reaches_the_terminal(tmp_path):
    folder = tmp_path / "in"
    write(folder / "broken.yml", "source: [unclosed\n")
    as_json = run_cli("ingest", folder, "--db", tmp_path / "a.db", "--json", check=False)
    assert as_json.returncode == 1 and as_json.stderr == ""
    error = json.loads(as_json.stdout)["errors"][0]
    assert "broken.yml" in error
    result = run_cli("ingest", folder, "--db", tmp_path / "a.db", check=False)
    assert [line for line in result.stderr.splitlines() if line.strip()] == [error]


def test_a_file_name_cannot_forge_a_log_line(tmp_path):
    folder = tmp_path / "in"
    write(folder / "a\n2026-01-01T00:00:00Z INFO forged.yml", "source: [unclosed\n")
    log = tmp_path / "runs.log"
    run_cli("--log", log, "ingest", folder, "--db", tmp_path / "a.db", check=False)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert not any(line.startswith("2026-01-01T00:00:00Z") for line in lines)
    assert any("a\\n2026-01-01" in line for line in lines)


def test_a_log_that_cannot_be_written_is_one_line_and_a_usage_error(tmp_path):
    result = run_cli(
        "--log", tmp_path / "no" / "such" / "folder" / "runs.log", "stats", "--db", tmp_path / "a.db", check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Error: cannot write the log ")
