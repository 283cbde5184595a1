"""Protecting the people in the archive: a red-team test of the public archive, and takedowns.

The full archive holds restricted testimonies, a restricted source and private fields, each carrying a
unique marker word. Served publicly, no marker may appear in any response, in the CLI's search, or in
the bytes of the public database and its index. Positive controls check that each marker is in the
full archive, so the hunt can fail.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
from testimony_archive.ingest import crypto, load, privacy, store
from testimony_archive.ingest.cli import app
from testimony_archive.search.serve import PASSWORD_ENV, make_datasette

from .conftest import DATA, fixture, rows

PRIVATE_MARKERS = ["zqrealname", "zqcontact", "zqsubjectname", "zqlocation", "zqnotes"]
RESTRICTED_MARKERS = ["zqspeaker", "zqrestricted", "zqsourcetitle", "zqpublisher", "zqtag", "zqkilosource"]
TAKEDOWN_MARKER = "zqtakedown"
HIDDEN = PRIVATE_MARKERS + RESTRICTED_MARKERS


def build_full(folder: Path) -> Path:
    sources = folder / "sources"
    shutil.copytree(DATA, sources / "data")
    shutil.copy(fixture("sources/restricted.yml"), sources)
    shutil.copy(fixture("sources/restricted-source.yml"), sources)
    db = folder / "archive.db"
    report = load.ingest_paths(store.open_archive(db), Path(f"{db}.whoosh"), [sources])
    assert report.exit_code == 0, report.summary()
    return db


def file_bytes(db: Path) -> bytes:
    """The database file, its WAL and shared memory, and every file of its index."""
    paths = [db, Path(f"{db}-wal"), Path(f"{db}-shm")] + sorted(Path(f"{db}.whoosh").glob("*"))
    return b"".join(path.read_bytes() for path in paths if path.is_file()).lower()


async def crawl(datasette, database: str, cookies=None) -> str:
    """Every page a visitor can reach: tables (hidden too) as HTML, JSON and CSV, every row page (the
    readable testimony, person and source pages), every permanent address and citation file, arbitrary
    SQL over every table, canned queries, the search page, its citation exports and `_search`."""
    seen = []

    async def get(url):
        response = await datasette.client.get(url, cookies=cookies)
        assert response.status_code < 500, (url, response.status_code)
        seen.append(response.text)
        return response

    await get("/")
    await get(f"/{database}")
    tables = (await get(f"/{database}.json")).json()["tables"]
    for table in tables:
        name = table["name"]
        for suffix in ("", ".json?_shape=objects&_size=max", ".csv?_size=max"):
            await get(f"/{database}/{name}{suffix}")
        for row in (await get(f"/{database}/{name}.json?_shape=objects&_size=max")).json()["rows"]:
            if name in ("testimonies", "sources", "people", "tags"):
                await get(f"/{database}/{name}/{row['id']}")
                await get(f"/{database}/{name}/{row['id']}.json")
            if name == "testimonies":
                for suffix in ("bib", "ris", "csl.json"):
                    await get(f"/-/testimony/{row['id']}.{suffix}")
        await get(f"/{database}.json?sql=select+*+from+[{name}]")
    for sql in (
        "select * from sqlite_master",
        "select * from private_fields",
        "select * from tombstones",
        "select * from audit_log",
    ):
        await get(f"/{database}.json?sql={sql.replace(' ', '+')}")
    for query in ("testimonies_about_person", "testimonies_by_speaker"):
        await get(f"/{database}/{query}.json?name=")
    await get(f"/{database}/testimonies_by_date.json?from=1900&to=2100")
    for word in HIDDEN + [TAKEDOWN_MARKER, "son", "sister", "checkpoint", "interview"]:
        # A page echoes its query: search by prefix (finds a leaked word, echoes only the prefix) ...
        prefix = word[:-2] + "*"
        await get(f"/-/search?q={prefix}")
        for suffix in ("bib", "ris", "csl.json"):
            await get(f"/-/search.{suffix}?q={prefix}&size=100")
        await get(f"/{database}/testimonies?_search={prefix}")
        await get(f"/{database}/testimonies.csv?_search={prefix}")
        # ... and by the word itself, keeping what the answer holds but not the echo.
        answer = (await datasette.client.get(f"/-/search.json?q={word}&size=100", cookies=cookies)).json()
        seen.append(json.dumps({k: v for k, v in answer.items() if k != "query"}, ensure_ascii=False))
        table = (
            await datasette.client.get(f"/{database}/testimonies.json?_search={word}&_shape=objects", cookies=cookies)
        ).json()
        seen.append(json.dumps(table.get("rows"), ensure_ascii=False))
    await get("/-/search.json?q=&size=100")
    return "\n".join(seen).lower()


def cli_search(runner, db: Path) -> str:
    outputs = []
    for word in HIDDEN + [TAKEDOWN_MARKER, "son", "checkpoint", "interview", "Gulbahar", "Tursunjan"]:
        result = runner.invoke(app, ["search", word, "--db", str(db), "--json", "--limit", "100"])
        assert result.exit_code == 0, result.output
        answer = json.loads(result.output)
        outputs.append(json.dumps({k: v for k, v in answer.items() if k != "query"}, ensure_ascii=False))
        result = runner.invoke(app, ["search", word[:-2] + "*", "--db", str(db), "--limit", "100"])
        outputs.append(result.output)
    return "\n".join(outputs).lower()


@pytest.fixture
def archives(tmp_path):
    full = build_full(tmp_path)
    public = tmp_path / "public.db"
    privacy.publish(full, public)
    return full, public


def archivist(datasette) -> dict:
    return {"ds_actor": datasette.sign({"a": {"id": "archivist"}}, "actor")}


def private_values(full: Path) -> str:
    """The full archive's private fields, decrypted with the archive key."""
    key = crypto.load_key()
    return " ".join(key.decrypt(r["value"]) for r in rows(full, "select value from private_fields")).lower()


async def test_red_team_public_archive_leaks_nothing(runner, archives):
    full, public = archives
    # Positive controls: every marker is in the full archive, so the hunt below can fail. Private fields
    # are there encrypted: readable with the key, and not in the file's bytes.
    full_bytes = file_bytes(full)
    for marker in RESTRICTED_MARKERS + [TAKEDOWN_MARKER]:
        assert marker.encode() in full_bytes, marker
    for marker in PRIVATE_MARKERS:
        assert marker in private_values(full), marker
        assert marker.encode() not in full_bytes, marker
    full_datasette = make_datasette(full)
    full_pages = await crawl(full_datasette, "archive", archivist(full_datasette))
    assert all(marker in full_pages for marker in ["zqrestricted", "zqsourcetitle", "zqspeaker"])

    public_pages = await crawl(make_datasette(public), "public")
    public_cli = cli_search(runner, public)
    public_files = file_bytes(public)
    for marker in HIDDEN:
        assert marker not in public_pages, marker
        assert marker not in public_cli, marker
        assert marker.encode() not in public_files, marker
    # What is public is there: the pseudonymous speaker, shown as a pseudonym, without her real name.
    assert "gulbahar*" in public_cli
    assert TAKEDOWN_MARKER in public_pages and TAKEDOWN_MARKER.encode() in public_files
    assert (
        rows(public, "select name from sqlite_master where name in ('private_fields', 'ingest_runs', 'tombstones')")
        == []
    )
    assert rows(public, "select count(*) as n from sources where source_file is not null") == [{"n": 0}]


async def test_takedown_removes_a_testimony_everywhere_and_stays_down(runner, archives, tmp_path):
    full, public = archives
    testimony_id = rows(full, "select id from testimonies where text like '%Zqtakedown%'")[0]["id"]
    result = runner.invoke(
        app,
        [
            "takedown",
            testimony_id,
            "--reason",
            "family asked after threats",
            "--db",
            str(full),
            "--public",
            str(public),
        ],
    )
    assert result.exit_code == 0, result.output
    for db, name in ((public, "public"), (full, "archive")):
        assert TAKEDOWN_MARKER.encode() not in file_bytes(db), name
        datasette = make_datasette(db)
        assert TAKEDOWN_MARKER not in await crawl(datasette, name, archivist(datasette)), name
        assert TAKEDOWN_MARKER not in cli_search(runner, db), name
    # A tombstone and an audit entry, with no content.
    assert rows(full, "select testimony_id, reason from tombstones") == [
        {"testimony_id": testimony_id, "reason": "family asked after threats"}
    ]
    assert rows(full, "select action, testimony_id from audit_log") == [
        {"action": "takedown", "testimony_id": testimony_id}
    ]
    assert (
        TAKEDOWN_MARKER
        not in json.dumps(rows(full, "select * from tombstones") + rows(full, "select * from audit_log")).lower()
    )
    # A later ingest of the same file does not bring it back, and neither does publishing again.
    again = runner.invoke(app, ["ingest", str(tmp_path / "sources"), "--db", str(full), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["withheld"] == 1
    assert rows(full, "select count(*) as n from testimonies where id = ?", [testimony_id]) == [{"n": 0}]
    privacy.publish(full, public)
    assert TAKEDOWN_MARKER.encode() not in file_bytes(public)
    # Until it is explicitly restored.
    restored = runner.invoke(app, ["restore", testimony_id, "--reason", "family agreed again", "--db", str(full)])
    assert restored.exit_code == 0, restored.output
    again = runner.invoke(app, ["ingest", str(tmp_path / "sources"), "--db", str(full), "--json"])
    assert json.loads(again.output)["inserted"] == 1
    assert [r["action"] for r in rows(full, "select action from audit_log order by id")] == ["takedown", "restore"]


def test_takedown_of_a_person_names_exactly_one_person(runner, archives):
    full, public = archives

    def takedown(*args):
        return runner.invoke(
            app, ["takedown", *args, "--reason", "request", "--db", str(full), "--public", str(public), "--json"]
        )

    # Gulbahar* speaks in two sources: a pseudonym belongs to its source, so these are two people.
    ambiguous = takedown("--person", "Gulbahar*")
    assert ambiguous.exit_code == 2
    assert "'Gulbahar*' names 2 people" in ambiguous.output
    assert "Mixed public and restricted testimonies" in ambiguous.output
    # The real-name form is another person, and there is none.
    missing = takedown("--person", "Gulbahar")
    assert missing.exit_code == 2 and "there is a pseudonymous Gulbahar*" in missing.output
    person_id = rows(
        full,
        """select distinct p.id from people p join testimonies t on t.speaker_id = p.id
        join sources s on s.id = t.source_id where p.name = 'Gulbahar' and s.title like 'Mixed%'""",
    )[0]["id"]
    result = takedown("--person", person_id)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["testimonies"]) == 1
    for db in (full, public):
        assert rows(db, "select count(*) as n from people where id = ?", [person_id]) == [{"n": 0}]
    # The other Gulbahar* is untouched.
    assert rows(full, "select count(*) as n from testimonies where speaker = 'Gulbahar*'") == [{"n": 1}]
    assert runner.invoke(app, ["takedown", "nope", "--reason", "x", "--db", str(full)]).exit_code == 2
    assert runner.invoke(app, ["takedown", "--person", "Gulbahar*", "--db", str(full)]).exit_code == 2  # no reason


def test_serve_refuses_a_full_archive_with_restricted_material(runner, archives, monkeypatch):
    full, public = archives
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    result = runner.invoke(app, ["serve", "--db", str(full), "--port", "0"])
    assert result.exit_code == 2
    assert "is a full archive (1 restricted sources, 1 restricted testimonies, 5 private fields" in result.output
    assert PASSWORD_ENV in result.output


async def test_full_archive_behind_a_login(archives, monkeypatch):
    from datasette_auth_passwords.utils import hash_password

    full, _ = archives
    monkeypatch.setenv(PASSWORD_ENV, hash_password("correct horse battery staple"))
    datasette = make_datasette(full, require_login=True)
    for url in (
        "/",
        "/archive/testimonies",
        "/archive/private_fields.json",
        "/-/search?q=son",
        "/-/search.json?q=son",
        "/archive.json?sql=select+1",
    ):
        response = await datasette.client.get(url)
        assert response.status_code == 403, url
        assert "zqrealname" not in response.text.lower()
    assert (await datasette.client.get("/-/login")).status_code == 200
    cookies = {"ds_actor": datasette.sign({"a": {"id": "archivist"}}, "actor")}
    response = await datasette.client.get("/-/search.json?q=checkpoint", cookies=cookies)
    assert response.status_code == 200 and response.json()["total"] == 1
    page = await datasette.client.get("/archive/private_fields.json?_shape=objects", cookies=cookies)
    assert page.status_code == 200 and len(page.json()["rows"]) == 5
    # Encrypted at rest: even the archivist's JSON carries tokens, never the values.
    assert "zqrealname" not in page.text.lower()
    restricted = await datasette.client.get("/archive/testimonies.json?_search=checkpoint", cookies=cookies)
    assert "zqrestricted" in restricted.text.lower()
    # The archivist's HTML page shows them decrypted (this server holds the archive key).
    html = await datasette.client.get("/archive/private_fields", cookies=cookies)
    assert html.status_code == 200 and "Zqrealname Alpha" in html.text


def test_public_archive_is_rebuilt_not_patched(archives):
    full, public = archives
    # Publishing twice gives the same rows (no residue, no duplicates).
    before = rows(public, "select id, content_hash from testimonies order by id")
    privacy.publish(full, public)
    assert rows(public, "select id, content_hash from testimonies order by id") == before
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT.*", rows(public, "select value from archive_meta where key = 'published_at'")[0]["value"]
    )
