"""The gate: a full archive is served to the archivist only, however Datasette is started.

`datasette archive.db` loads our plugin through its entry point, with no metadata and no settings: the
plugin, not `testimony serve`, must lock it. Every URL of test_privacy's crawl and Datasette's own `/-/`
pages are fetched anonymously (in process and from a real server over loopback): each answers 403 (or
404), never 500, and no marker appears. Positive controls: the archivist sees the restricted testimony
markers on the same instance, and a public archive is served to anyone.
"""

import json
import os
import re
import shutil
import sqlite3
import sys
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlite_utils
from datasette.app import Datasette
from datasette_auth_passwords.utils import hash_password
from testimony_archive.ingest import privacy, store
from testimony_archive.ingest.cli import app
from testimony_archive.search import plugin
from testimony_archive.search.plugin import gate
from testimony_archive.search.serve import PASSWORD_ENV, make_datasette

from .conftest import fixture, free_port, running_server
from .test_privacy import HIDDEN, TAKEDOWN_MARKER, build_full, crawl

FULL, PUBLIC = "archive", "public"
# Restricted testimonies stay in clear in the full archive (private fields are encrypted at rest), so
# they are what the archivist must see: the positive control that the hunt for markers can fail.
CONTROL_MARKERS = ["zqrestricted", "zqspeaker", "zqsourcetitle"]
INSTANCE_PAGES = [
    "/-/databases",
    "/-/databases.json",
    "/-/metadata",
    "/-/metadata.json",
    "/-/permissions",
    "/-/actor.json",
    "/-/threads.json",
    "/-/plugins.json",
    "/-/versions.json",
    "/-/settings.json",
    "/-/messages",
    "/-/patterns",
    "/-/search",
    "/-/search.json",
    "/-/search?q=zqrestri*",
    "/-/search.json?q=zqrestric*&size=100",
    "/-/search.json?q=&size=100",
]
# What a locked instance still answers: the archivist's way in, robots.txt, and pages that show nothing
# of any database.
OPEN_PAGES = {"/-/login": 200, "/robots.txt": 200, "/-/allow-debug": 200}


def archivist_cookies(datasette) -> dict:
    return {"ds_actor": datasette.sign({"a": {"id": plugin.ARCHIVIST}}, "actor")}


def database_urls(db_path: Path, database: str) -> list[str]:
    """test_privacy's crawl as a list of URLs, read from the file: a locked server lists nothing."""
    conn = sqlite3.connect(f"file:{urllib.parse.quote(str(db_path))}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in conn.execute("select name from sqlite_master where type = 'table' order by name")]
        ids = {
            name: [row[0] for row in conn.execute(f"select id from [{name}]")]
            for name in ("testimonies", "sources", "people", "tags")
            if name in tables
        }
    finally:
        conn.close()
    urls = ["/", "/.json", f"/{database}", f"/{database}.json", f"/{database}.db", f"/{database}.json?sql=select+1"]
    urls += [f"/{database}/{name}.json" for name in ("testimonies", "private_fields")]
    for name in tables:
        for suffix in ("", ".json?_shape=objects&_size=max", ".csv?_size=max"):
            urls.append(f"/{database}/{name}{suffix}")
        for row_id in ids.get(name, []):
            quoted = urllib.parse.quote(row_id, safe="")
            urls += [f"/{database}/{name}/{quoted}", f"/{database}/{name}/{quoted}.json"]
            kind = {"testimonies": "testimony", "sources": "source", "people": "person"}.get(name)
            if kind:  # the permanent address, and a testimony's citation files
                urls.append(f"/-/{kind}/{quoted}")
            if kind == "testimony":
                urls += [f"/-/testimony/{quoted}.{suffix}" for suffix in ("bib", "ris", "csl.json")]
        urls.append(f"/{database}.json?sql=select+*+from+[{name}]")
    for sql in ("select * from sqlite_master", *(f"select * from {name}" for name in store.PRIVATE_TABLES)):
        urls.append(f"/{database}.json?sql={urllib.parse.quote_plus(sql)}")
        urls.append(f"/{database}.csv?sql={urllib.parse.quote_plus(sql)}")
    for query in ("testimonies_about_person", "testimonies_by_speaker"):
        urls.append(f"/{database}/{query}.json?name=")
    urls.append(f"/{database}/testimonies_by_date.json?from=1900&to=2100")
    # A page echoes its query: search by prefix (finds a leaked word, echoes only the prefix).
    for word in HIDDEN + [TAKEDOWN_MARKER, "son", "checkpoint"]:
        prefix = urllib.parse.quote(word[:-2] + "*")
        urls += [
            f"/-/search?q={prefix}",
            f"/-/search.json?q={prefix}&size=100",
            f"/-/search.bib?q={prefix}&size=100",
            f"/-/search.ris?q={prefix}&size=100",
            f"/-/search.csl.json?q={prefix}&size=100",
            f"/{database}/testimonies?_search={prefix}",
            f"/{database}/testimonies.csv?_search={prefix}",
            f"/{database}/testimonies.json?_search={prefix}&_shape=objects",
        ]
    return urls


def crawl_urls(*databases: tuple[Path, str]) -> list[str]:
    urls = [url for db_path, name in databases for url in database_urls(db_path, name)]
    return list(dict.fromkeys(urls + INSTANCE_PAGES))


def locked_urls(*databases: tuple[Path, str]) -> list[str]:
    """The crawl, and searches for each marker itself: a refused page echoes nothing."""
    exact = [f"/-/search.json?q={word}&size=100" for word in CONTROL_MARKERS] + [
        f"/{name}/testimonies.json?_search={word}&_shape=objects" for _, name in databases for word in CONTROL_MARKERS
    ]
    return crawl_urls(*databases) + exact


def assert_locked(answers: dict[str, tuple[int, str]], *databases: tuple[Path, str]):
    """Every page 403 (404 for what does not exist), nothing of the archive in any of them."""
    for url, (status, _) in answers.items():
        assert status in (403, 404), (url, status)
    pages = "\n".join(text for _, text in answers.values()).lower()
    for marker in HIDDEN + [TAKEDOWN_MARKER]:
        assert marker not in pages, marker
    for db_path, _ in databases:
        assert str(db_path.parent).lower() not in pages
    for table in store.PRIVATE_TABLES:
        assert table not in pages, table
    # The pages an archive's tables live at are refused, not missing.
    for db_path, name in databases:
        for url in (f"/{name}", f"/{name}/testimonies", f"/{name}/private_fields.json", f"/{name}.json?sql=select+1"):
            assert answers[url][0] == 403, url


async def fetch_all(datasette, urls, cookies=None) -> dict[str, tuple[int, str]]:
    answers = {}
    for url in urls:
        response = await datasette.client.get(url, cookies=cookies)
        assert response.status_code < 500, (url, response.status_code)
        answers[url] = (response.status_code, response.text)
    return answers


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate")
    full = build_full(folder)
    public = folder / "public.db"
    privacy.publish(full, public)
    return full, public


async def test_archive_kind_agrees_with_the_store(archives, tmp_path):
    """The gate asks on Datasette's connection (once per request): it must say what the store says."""
    full, public = archives
    empty, other = tmp_path / "empty.db", tmp_path / "other.db"
    sqlite3.connect(empty).close()
    with sqlite3.connect(other) as conn:
        conn.execute("create table notes (id integer primary key, text text)")
    datasette = Datasette([str(full), str(public), str(empty), str(other)])
    for path, expected in ((full, "full"), (public, "public"), (empty, None), (other, None)):
        assert await gate.archive_kind(datasette.get_database(path.stem)) == expected, path
        archive = sqlite_utils.Database(path)
        assert store.archive_kind(archive) == expected, path
        archive.close()


async def test_plain_datasette_on_a_full_archive_is_locked(archives):
    full, _ = archives
    datasette = Datasette([str(full)])  # what `datasette archive.db` builds: no metadata, no settings
    urls = locked_urls((full, FULL))
    assert_locked(await fetch_all(datasette, urls), (full, FULL))
    for url, status in OPEN_PAGES.items():
        assert (await datasette.client.get(url)).status_code == status, url
    # Positive control: the same pages show the restricted testimonies to the archivist.
    # (Searches by prefix only, so no page holds a marker because it echoes the query.)
    seen = await fetch_all(datasette, crawl_urls((full, FULL)), cookies=archivist_cookies(datasette))
    for url in (f"/{FULL}/testimonies", f"/{FULL}/private_fields.json", "/-/search.json?q=zqrestric*&size=100"):
        assert seen[url][0] == 200, url
    assert json.loads(seen["/-/search.json?q=zqrestric*&size=100"][1])["total"] >= 1
    pages = "\n".join(text for _, text in seen.values()).lower()
    for marker in CONTROL_MARKERS:
        assert marker in pages, marker
    # Datasette's root user is not the archivist.
    root = {"ds_actor": datasette.sign({"a": {"id": "root"}}, "actor")}
    for url in ("/", f"/{FULL}/testimonies", f"/{FULL}.json?sql=select+1", "/-/permissions", "/-/search.json?q=zq*"):
        assert (await datasette.client.get(url, cookies=root)).status_code == 403, url


@pytest.mark.parametrize(
    "metadata",
    [{"allow": {"id": "*"}}, {"databases": {FULL: {"allow": True, "allow_sql": True}}}],
    ids=["allow-everyone", "allow-database"],
)
async def test_allow_blocks_do_not_open_a_full_archive(archives, metadata):
    full, _ = archives
    datasette = Datasette([str(full)], metadata=metadata)
    anonymous = {"ds_actor": datasette.sign({"a": {"id": "someone"}}, "actor")}
    for url in ("/", f"/{FULL}/testimonies.json", f"/{FULL}.json?sql=select+*+from+testimonies", "/-/search.json"):
        for cookies in (None, anonymous):
            assert (await datasette.client.get(url, cookies=cookies)).status_code == 403, url


async def test_testimony_serve_builds_a_locked_instance_without_a_login(archives, monkeypatch):
    full, _ = archives
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    datasette = make_datasette(full)  # the project's metadata and settings, no require_login
    assert_locked(await fetch_all(datasette, locked_urls((full, FULL))), (full, FULL))


async def test_plain_datasette_on_a_public_archive_serves_it(archives):
    _, public = archives
    datasette = Datasette([str(public)])
    for url in ("/", f"/{PUBLIC}", f"/{PUBLIC}/testimonies", f"/{PUBLIC}/testimonies.csv", "/-/search?q=son"):
        assert (await datasette.client.get(url)).status_code == 200, url
    pages = await crawl(datasette, PUBLIC)
    for marker in HIDDEN:
        assert marker not in pages, marker
    # Positive control: the public testimonies are there.
    assert "gulbahar" in pages and TAKEDOWN_MARKER in pages
    answer = (await datasette.client.get("/-/search.json?q=gulbahar")).json()
    assert answer["ok"] and answer["total"] >= 1


async def test_a_full_archive_beside_a_public_one_locks_both(archives):
    full, public = archives
    datasette = Datasette([str(public), str(full)])
    assert_locked(await fetch_all(datasette, locked_urls((public, PUBLIC), (full, FULL))), (full, FULL))
    for url in (f"/{PUBLIC}", f"/{PUBLIC}/testimonies", f"/{PUBLIC}.json?sql=select+1"):
        assert (await datasette.client.get(url)).status_code == 403, url


async def test_a_database_that_becomes_a_full_archive_is_locked_at_once(runner, tmp_path):
    path = tmp_path / "archive.db"
    sqlite3.connect(path).close()  # an empty database: no archive, none of our business
    datasette = Datasette([str(path)])
    assert (await datasette.client.get("/")).status_code == 200
    assert (await datasette.client.get(f"/{FULL}.json")).status_code == 200
    sources = tmp_path / "sources"
    sources.mkdir()
    shutil.copy(fixture("sources/restricted.yml"), sources)
    result = runner.invoke(app, ["ingest", str(sources), "--db", str(path)])
    assert result.exit_code == 0, result.output
    for url in ("/", f"/{FULL}.json", f"/{FULL}/testimonies.json?_shape=objects", "/-/search.json?q=zqrestricted"):
        response = await datasette.client.get(url)
        assert response.status_code == 403, url
        assert "zqrestricted" not in response.text.lower()
    # Positive control: it is in there.
    seen = await datasette.client.get(f"/{FULL}/testimonies.json?_shape=objects", cookies=archivist_cookies(datasette))
    assert "zqrestricted" in seen.text.lower()


async def test_the_archivist_logs_in_through_the_gate(archives, monkeypatch):
    full, _ = archives
    monkeypatch.setenv(PASSWORD_ENV, hash_password("a long test password"))
    datasette = make_datasette(full, require_login=True)  # what `testimony serve` builds
    form = await datasette.client.get("/-/login")
    assert form.status_code == 200
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
    login = await datasette.client.post(
        "/-/login",
        data={"username": plugin.ARCHIVIST, "password": "a long test password", "csrftoken": token},
        cookies={"ds_csrftoken": form.cookies["ds_csrftoken"]},
    )
    assert login.status_code == 302, login.text
    page = await datasette.client.get(
        f"/{FULL}/testimonies.json?_shape=objects&_size=max", cookies={"ds_actor": login.cookies["ds_actor"]}
    )
    assert page.status_code == 200 and "zqrestricted" in page.text.lower()
    assert (await datasette.client.get(f"/{FULL}/testimonies.json")).status_code == 403


def existing_and_missing(full: Path) -> list[tuple[str, str, str]]:
    """(method, a URL naming what the archive holds, the same URL naming what it does not). Not `nothing`:
    SQLite reads it as a keyword, and Datasette's row page answers 400 for its SQL."""
    conn = sqlite3.connect(f"file:{urllib.parse.quote(str(full))}?mode=ro", uri=True)
    try:
        row = urllib.parse.quote(conn.execute("select id from testimonies limit 1").fetchone()[0], safe="")
    finally:
        conn.close()
    return [
        ("GET", f"/{FULL}", "/absent"),
        ("GET", f"/{FULL}.json", "/absent.json"),
        ("GET", f"/{FULL}.db", "/absent.db"),
        ("GET", f"/{FULL}.json?sql=select+1", "/absent.json?sql=select+1"),
        ("GET", f"/{FULL}/testimonies", f"/{FULL}/absent"),
        ("GET", f"/{FULL}/testimonies", "/absent/testimonies"),
        ("GET", f"/{FULL}/testimonies.json", f"/{FULL}/absent.json"),
        ("GET", f"/{FULL}/private_fields.csv", f"/{FULL}/absent.csv"),
        ("GET", f"/{FULL}/testimonies_by_date?from=2000&to=2100", f"/{FULL}/absent_by_date?from=2000&to=2100"),
        ("GET", f"/{FULL}/testimonies/{row}", f"/{FULL}/testimonies/absent"),
        ("GET", f"/{FULL}/testimonies/{row}", f"/{FULL}/absent/{row}"),
        ("GET", f"/{FULL}/testimonies/{row}.json", f"/absent/testimonies/{row}.json"),
        ("GET", f"/-/search?db={FULL}", "/-/search?db=absent"),
        ("GET", f"/-/search.json?db={FULL}&q=zq*", "/-/search.json?db=absent&q=zq*"),
        ("POST", f"/{FULL}/testimonies_by_speaker", f"/{FULL}/absent_by_speaker"),
        ("POST", f"/{FULL}/testimonies", f"/{FULL}/absent"),
    ]


@pytest.mark.parametrize(
    "started, base_url",
    [("plain datasette", "/"), ("testimony serve with a login", "/"), ("testimony serve with a login", "/base/")],
)
async def test_a_refused_visitor_cannot_tell_what_exists(archives, monkeypatch, started, base_url):
    """Locked, every name gets one answer: a 403 and the same page, whether the database, table, row or
    query exists or not. The archivist still gets Datasette's 404 for what is not there."""
    full, _ = archives
    monkeypatch.setenv(PASSWORD_ENV, hash_password("a long test password"))
    settings = {"base_url": base_url}
    if started == "plain datasette":
        datasette = Datasette([str(full)], settings=settings)
    else:
        datasette = make_datasette(full, require_login=True, settings=settings)
    bodies = {}
    for method, existing, missing in existing_and_missing(full):
        answers = []
        for url in (existing, missing):
            response = await datasette.client.request(method, url)
            answers.append((response.status_code, response.text))
            bodies.setdefault(url.partition("?")[0].endswith(".json"), set()).add(response.text)
        assert answers[0] == answers[1], (method, existing, missing, answers)
        assert answers[0][0] == 403, (method, existing, answers[0])
    assert len(bodies[True]) == len(bodies[False]) == 1, bodies
    assert not {"testimonies", "private_fields", "absent"} & set(re.findall(r"\w+", "".join(bodies[False])))
    # Positive control: the archivist is told what is missing.
    cookies = archivist_cookies(datasette)
    for method, existing, missing in existing_and_missing(full):
        if method == "GET":
            assert (await datasette.client.get(missing, cookies=cookies)).status_code == 404, missing
    for existing in (f"/{FULL}", f"/{FULL}/testimonies.json", f"/{FULL}/private_fields.csv", f"/-/search?db={FULL}"):
        assert (await datasette.client.get(existing, cookies=cookies)).status_code == 200, existing


async def test_startup_warns_that_a_full_archive_is_locked(archives, capsys, monkeypatch):
    full, public = archives
    await Datasette([str(full)]).invoke_startup()
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1
    assert f"testimony: {full} is a full archive" in warning and "answers 403" in warning
    assert "testimony publish" in warning and PASSWORD_ENV in warning

    await Datasette([str(public), str(full)]).invoke_startup()
    assert f"every page ({PUBLIC} too) answers 403" in capsys.readouterr().err

    await Datasette([str(public)]).invoke_startup()
    monkeypatch.setenv(PASSWORD_ENV, hash_password("a long test password"))
    await make_datasette(full, require_login=True).invoke_startup()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("started", ["testimony serve", "plain datasette"])
async def test_no_page_is_cached(archives, started):
    _, public = archives
    # Plain Datasette sends max-age=5 by default: the plugin's wrapper overrides it too.
    datasette = make_datasette(public) if started == "testimony serve" else Datasette([str(public)])
    first = (await datasette.client.get(f"/{PUBLIC}/testimonies.json?_shape=objects&_size=1")).json()["rows"][0]
    for url in (
        f"/{PUBLIC}/testimonies",
        f"/{PUBLIC}/testimonies.json",
        f"/{PUBLIC}/testimonies/{urllib.parse.quote(first['id'], safe='')}",
        "/-/search?q=son",
        "/-/search.json?q=son",
    ):
        response = await datasette.client.get(url)
        assert response.status_code == 200, url
        assert response.headers.get_list("cache-control") == ["no-cache"], url


# A real server: `datasette archive.db`, as somebody would type it.

DATASETTE = Path(sys.executable).with_name("datasette")
SECRET = "gate-test-secret"  # noqa: S105 - signs this test's archivist cookie


@contextmanager
def datasette_process(db_path: Path, stderr_path: Path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != PASSWORD_ENV}
    env["DATASETTE_SECRET"] = SECRET
    with running_server(
        [str(DATASETTE), str(db_path), "--port", str(port), "--host", "127.0.0.1"], port, stderr_path, env=env
    ) as base:
        yield base


def http_get(base: str, url: str, cookie: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(base + url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def http_crawl(base: str, urls: list[str], cookie: str | None = None) -> dict[str, tuple[int, str]]:
    answers = {}
    for url in urls:
        answers[url] = http_get(base, url, cookie)
        assert answers[url][0] < 500, (url, answers[url][0])
    return answers


def test_a_real_datasette_server_locks_a_full_archive_and_serves_a_public_one(archives, tmp_path):
    full, public = archives
    urls = locked_urls((full, FULL))
    with datasette_process(full, tmp_path / "full.err") as base:
        assert_locked(http_crawl(base, urls), (full, FULL))
        for url, status in OPEN_PAGES.items():
            assert http_get(base, url)[0] == status, url
        # Positive control: the archivist's cookie opens the same server.
        cookie = "ds_actor=" + Datasette(secret=SECRET).sign({"a": {"id": plugin.ARCHIVIST}}, "actor")
        status, text = http_get(base, f"/{FULL}/testimonies.json?_shape=objects&_size=max", cookie)
        assert status == 200 and all(marker in text.lower() for marker in CONTROL_MARKERS)
    warning = (tmp_path / "full.err").read_text()
    assert f"testimony: {full} is a full archive" in warning and "answers 403" in warning

    with datasette_process(public, tmp_path / "public.err") as base:
        answers = http_crawl(base, crawl_urls((public, PUBLIC)))
        for url in ("/", f"/{PUBLIC}", f"/{PUBLIC}/testimonies", f"/{PUBLIC}/testimonies.csv?_size=max"):
            assert answers[url][0] == 200, url
        pages = "\n".join(text for _, text in answers.values()).lower()
        for marker in HIDDEN:
            assert marker not in pages, marker
        assert "gulbahar" in pages
        answer = json.loads(http_get(base, "/-/search.json?q=gulbahar")[1])
        assert answer["ok"] and answer["total"] >= 1
    assert "full archive" not in (tmp_path / "public.err").read_text()
