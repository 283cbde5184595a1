"""The pages a journalist reads and cites (search.plugin.reading), through Datasette's ASGI client on a
real public archive: the sample data plus a second source that reuses the pseudonym Patime* and a
hostile source. Every expectation is read from the archive's own rows, not written down here."""

import csv
import io
import json
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from testimony_archive.ingest import store
from testimony_archive.search.serve import make_datasette

from .conftest import fixture, published_sample, rows
from .test_datasette import get

DB = "reading"
MARKER = 'title="Pseudonym: the name was changed to protect the person">*</abbr>'


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return published_sample(
        tmp_path_factory, fixture("sources/pseudonyms.yml"), fixture("sources/hostile.yml"), name=DB
    )


@pytest.fixture(scope="module")
def datasette(archive):
    return make_datasette(archive)


def reading(html: str) -> str:
    """The readable part of a row page (the line linking to the raw Datasette row ends it)."""
    start, end = html.index('<div class="reading">'), html.index('<p class="raw-row')
    return html[start:end]


class Elements(HTMLParser):
    """Every element's tag and attributes, to find what a script or a link could do."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list:
    parser = Elements()
    parser.feed(html)
    return parser.found


def one(archive, sql, params=()):
    found = rows(archive, sql, params)
    assert found, sql
    return found[0]


async def test_testimony_page_shows_words_people_source_and_citations(datasette, archive):
    t = one(archive, "select * from testimonies where speaker = 'Patime*' and publisher = 'Meridian Rights Collective'")
    subject = one(
        archive,
        "select p.name, p.is_pseudonym, ts.relationship, ts.status, ts.since from testimony_subjects ts "
        "join people p on p.id = ts.person_id where ts.testimony_id = ?",
        [t["id"]],
    )
    source = one(archive, "select * from sources where id = ?", [t["source_id"]])
    page = reading((await get(datasette, f"/{DB}/testimonies/{t['id']}")).text)
    escaped = t["text"].replace("'", "&#39;")
    assert escaped in page  # the words, whole
    assert f'Testimony of Patime<abbr class="pseudonym" {MARKER}' in page
    assert "is a pseudonym" in page and source["note"] in page  # the source's note beside the speaker
    assert f"{subject['name']}<abbr" in page and subject["relationship"] in page and subject["since"] in page
    assert f'<a href="{source["url"]}" rel="noopener noreferrer nofollow">' in page
    for tag in json.loads(t["tags"]):
        assert f"/{DB}/testimonies?tags__arraycontains=" in page and tag.replace("&", "&amp;") in page
    # Citations: each style keeps the star, each download is offered.
    citations = re.findall(r'<textarea id="citation-(\w+)"[^>]*>([^<]*)</textarea>', page)
    assert {name for name, _ in citations} == {"plain", "apa", "chicago"}
    assert all("Patime*" in text for _, text in citations)
    for suffix in ("bib", "ris", "csl.json"):
        assert f'href="/-/testimony/{t["id"]}.{suffix}"' in page
    # More from this source: every other testimony of the source, in order.
    others = [
        r["id"]
        for r in rows(archive, "select id from testimonies where source_id = ? order by position", [t["source_id"]])
    ]
    others.remove(t["id"])
    section = page[page.index('id="more-source"') :]
    assert re.findall(rf"/{DB}/testimonies/(\w+)\">", section)[: len(others)] == others


async def test_raw_row_is_one_click_away(datasette, archive):
    t = one(archive, "select id from testimonies limit 1")
    html = (await get(datasette, f"/{DB}/testimonies/{t['id']}")).text
    assert html.count("<h1") == 1
    raw_link = re.search(r'<p class="raw-row meta">.*?<a href="([^"]+)">as Datasette shows it', html).group(1)
    assert raw_link == f"/{DB}/testimonies/{t['id']}?_raw=1"
    raw = (await get(datasette, raw_link)).text
    assert 'class="reading"' not in raw and "This data as" in raw and "col-content_hash" in raw
    data = (await get(datasette, f"/{DB}/testimonies/{t['id']}.json")).json()  # the JSON is Datasette's own
    assert data["rows"][0][0] == t["id"]


async def test_more_about_this_person(datasette, archive):
    # A real name spoken of in two testimonies: each page leads to the other.
    person_id, first, second = one(
        archive,
        "select a.person_id, a.testimony_id first, b.testimony_id second from testimony_subjects a "
        "join testimony_subjects b on a.person_id = b.person_id and a.testimony_id < b.testimony_id",
    ).values()
    page = reading((await get(datasette, f"/{DB}/testimonies/{first}")).text)
    section = page[page.index("More about") :]
    assert f"/{DB}/people/{person_id}" in section and f"/{DB}/testimonies/{second}" in section


async def test_person_page_given_about_timeline_and_spellings(datasette, archive):
    mamatjan = one(archive, "select id from people where name = 'Mamatjan Tursun'")["id"]
    memetjan = one(archive, "select id from people where name = 'Memetjan Tursun'")["id"]
    page = reading((await get(datasette, f"/{DB}/people/{mamatjan}")).text)
    about = rows(archive, "select testimony_id from testimony_subjects where person_id = ?", [mamatjan])
    assert f"Testimonies about Mamatjan Tursun ({len(about)})" in page
    assert all(f"/{DB}/testimonies/{r['testimony_id']}" in page for r in about)
    assert f'Also written in the archive as: <a href="/{DB}/people/{memetjan}">Memetjan Tursun</a>' in page
    statuses = rows(
        archive,
        "select ts.status, ts.since, coalesce(ts.since, t.date, t.published) w from testimony_subjects ts "
        "join testimonies t on t.id = ts.testimony_id where ts.person_id = ? and ts.status is not null order by w",
        [mamatjan],
    )
    timeline = page[page.index('<ol class="timeline">') : page.index("</ol>")]
    # A date the testimony gives for the status is "since"; otherwise only when it was said, and so worded.
    shown = re.findall(r"<strong>([\w ]+)</strong> (since|\(said) ([\d-]+)", timeline)
    assert shown == [(s["status"].replace("_", " "), "since" if s["since"] else "(said", s["w"]) for s in statuses]
    # A speaker's page lists what they said.
    speaker = one(archive, "select speaker_id, count(*) n from testimonies group by speaker_id order by n desc")
    page = reading((await get(datasette, f"/{DB}/people/{speaker['speaker_id']}")).text)
    assert f"Testimonies given ({speaker['n']})" in page


async def test_pseudonymous_person_is_scoped_to_its_source(datasette, archive):
    patimes = rows(archive, "select id from people where name = 'Patime' and is_pseudonym = 1")
    assert len(patimes) == 2  # one per source: the same pseudonym is two people
    for patime in patimes:
        page = reading((await get(datasette, f"/{DB}/people/{patime['id']}")).text)
        mine = {r["id"] for r in rows(archive, "select id from testimonies where speaker_id = ?", [patime["id"]])}
        shown = set(re.findall(rf"/{DB}/testimonies/(\w+)", page))
        assert mine and shown == mine
        assert "Also written" not in page and "/-/search" not in page  # a pseudonym is only itself
        assert f'Patime<abbr class="pseudonym" {MARKER}' in page and "another person" in page


async def test_source_page_lists_its_testimonies_in_order(datasette, archive):
    source = one(archive, "select * from sources where publisher = 'Meridian Rights Collective'")
    page = reading((await get(datasette, f"/{DB}/sources/{source['id']}")).text)
    ordered = [
        r["id"]
        for r in rows(archive, "select id from testimonies where source_id = ? order by position", [source["id"]])
    ]
    assert re.findall(rf'<a href="/{DB}/testimonies/(\w+)">', page) == ordered
    assert source["note"] in page and source["title"].replace('"', "&#34;") in page
    assert f"/{DB}/testimonies?publisher=Meridian+Rights+Collective" in page


async def test_home_page_counts_what_the_archive_holds(datasette, archive):
    html = (await get(datasette, "/")).text
    count = one(archive, "select count(*) n from testimonies")["n"]
    assert f"The archive holds {count} testimonies" in html
    for r in rows(archive, "select publisher, count(*) n from testimonies group by publisher"):
        link = f"/{DB}/testimonies?publisher={r['publisher'].replace(' ', '+')}"
        if "<" not in r["publisher"]:
            assert f'<a href="{link}"><bdi>{r["publisher"]}</bdi></a> {r["n"]}' in html
    for r in rows(
        archive,
        "select status, count(distinct testimony_id) n from testimony_subjects where status is not null group by status",
    ):
        assert f'statuses__arraycontains={r["status"]}">{r["status"].replace("_", " ")}</a> {r["n"]}' in html
    latest = one(archive, "select title from sources order by published desc limit 1")["title"]
    assert latest.replace('"', "&#34;") in html
    assert 'action="/-/search"' in html and "<details><summary>The archive&#39;s tables" not in html
    assert html.count("Search the testimonies") == 1  # the description is shown once


async def test_table_page_folds_column_descriptions_and_searches_first(datasette):
    html = (await get(datasette, f"/{DB}/testimonies")).text
    content = html[html.index('<section class="content">') :]
    assert content.index('name="_search"') < content.index("<table")
    assert content.index("<table") < content.index('<details class="columns-explained">')
    assert '<div class="excerpt" lang="en">' in content  # the words wrapped for their first lines, in their language
    css = re.search(r'<link rel="stylesheet" href="([^"]*archive\.css)">', html).group(1)
    assert "td.col-text" in (await get(datasette, css)).text  # the plugin's stylesheet is served


async def test_permanent_addresses_redirect_to_the_served_rows(datasette, archive):
    for kind, table in (("testimony", "testimonies"), ("source", "sources"), ("person", "people")):
        row_id = one(archive, f"select id from {table} limit 1")["id"]
        response = await get(datasette, f"/-/{kind}/{row_id}", status=302)
        assert response.headers["location"] == f"/{DB}/{table}/{row_id}"
        assert (await datasette.client.get(response.headers["location"])).status_code == 200
    await get(datasette, "/-/testimony/nothing-here.bib", status=404)
    await get(datasette, "/-/testimony/a/b", status=404)


async def test_exports_carry_each_rows_archive_url(datasette, archive):
    found = (await get(datasette, f"/{DB}/testimonies.json?_shape=array&_size=max")).json()
    assert found and all(row["archive_url"] == store.ARCHIVE_PATH["testimony"] + row["id"] for row in found)
    table = list(csv.DictReader(io.StringIO((await get(datasette, f"/{DB}/testimonies.csv?_size=max")).text)))
    assert [row["archive_url"] for row in table] == [row["archive_url"] for row in found]


async def test_citation_files_for_one_testimony_and_a_search_page(datasette, archive):
    t = one(archive, "select * from testimonies where speaker = 'Patime*' and publisher = 'Meridian Rights Collective'")
    source_url = one(archive, "select url from sources where id = ?", [t["source_id"]])["url"]
    bib = await get(datasette, f"/-/testimony/{t['id']}.bib")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert f'filename="testimony-{t["id"]}.bib"' in bib.headers["content-disposition"]
    assert "author = {{Patime*}}" in bib.text and source_url in bib.text
    assert f"http://localhost/-/testimony/{t['id']}" in bib.text
    ris = (await get(datasette, f"/-/testimony/{t['id']}.ris")).text
    assert "AU  - Patime*" in ris and f"PB  - {t['publisher']}" in ris
    csl = json.loads((await get(datasette, f"/-/testimony/{t['id']}.csl.json")).text)
    assert csl[0]["author"] == [{"literal": "Patime*"}] and csl[0]["URL"].endswith(f"/-/testimony/{t['id']}")
    # A page of search hits: one entry per hit, in the page's order.
    hits = (await get(datasette, "/-/search.json?q=prison&size=5")).json()["hits"]
    listed = json.loads((await get(datasette, "/-/search.csl.json?q=prison&size=5")).text)
    assert [item["id"] for item in listed] == [hit["id"] for hit in hits] and len(hits) > 1
    assert (await get(datasette, "/-/search.ris?q=prison&size=5")).text.count("ER  - ") == len(hits)
    bad = await get(datasette, "/-/search.bib?q=%22unclosed", status=400)
    assert bad.headers["content-type"].startswith("text/plain")


async def test_hostile_values_stay_text_on_every_reading_page(datasette, archive):
    hostile = one(
        archive, "select * from testimonies where source_title like '%<b>Bold</b>%' and text like '%<script>%'"
    )
    urls = [
        f"/{DB}/testimonies/{hostile['id']}",
        f"/{DB}/people/{hostile['speaker_id']}",
        f"/{DB}/sources/{hostile['source_id']}",
        "/",
    ]
    for url in urls:
        html = (await get(datasette, url)).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>Bold</b>" not in html, url
        assert not [a for _, a in elements(html) if any(k.startswith("on") for k in a)], url
    # ... and in the citation files: no new line, tag or entry from a value.
    bib = (await get(datasette, f"/-/testimony/{hostile['id']}.bib")).text
    assert bib.count("@misc{") == 1 and bib.count("{") == bib.count("}")


async def test_a_source_address_that_is_not_web_is_no_link(tmp_path, archive):
    copy = tmp_path / f"{DB}.db"
    copy.write_bytes(archive.read_bytes())
    conn = sqlite3.connect(copy)
    with conn:
        conn.execute("update sources set url = 'javascript:alert(1)'")
    conn.close()
    datasette = make_datasette(copy)
    source = one(copy, "select id from sources limit 1")["id"]
    testimony = one(copy, "select id from testimonies where source_id = ?", [source])["id"]
    for url in (f"/{DB}/sources/{source}", f"/{DB}/testimonies/{testimony}"):
        page = reading((await get(datasette, url)).text)
        assert not [a for _, a in elements(page) if a.get("href", "").startswith("javascript")], url


def test_schema_7_migration_fills_addresses_and_name_keys(tmp_path, sample_archive):
    full = tmp_path / "old.db"
    full.write_bytes(sample_archive.read_bytes())
    conn = sqlite3.connect(full)
    with conn:
        conn.execute("update testimonies set archive_url = null")
        conn.execute("update people set name_key = null")
        conn.execute("update archive_meta set value = '6' where key = 'schema_version'")
    conn.close()
    store.open_archive(full, store.WRITE).close()
    assert not rows(full, "select id from testimonies where archive_url is not '/-/testimony/' || id")
    keys = rows(full, "select name, is_pseudonym, name_key from people")
    assert keys and all((k["name_key"] is None) == bool(k["is_pseudonym"]) for k in keys)
    assert {k["name_key"] for k in keys if k["name"] in ("Mamatjan Tursun", "Memetjan Tursun")} == {"mamatjan tursun"}


async def test_names_in_a_timeline_carry_the_marker(datasette, archive):
    spoken_of = one(
        archive,
        "select ts.person_id, t.speaker from testimony_subjects ts join testimonies t on t.id = ts.testimony_id "
        "where t.speaker_is_pseudonym = 1 and ts.status is not null",
    )
    page = reading((await get(datasette, f"/{DB}/people/{spoken_of['person_id']}")).text)
    timeline = page[page.index('<ol class="timeline">') : page.index("</ol>")]
    assert f'{spoken_of["speaker"].removesuffix("*")}<abbr class="pseudonym" {MARKER}' in timeline


async def test_the_archivist_sees_a_restricted_testimony_marked_and_a_visitor_nothing(tmp_path):
    from .test_privacy import PRIVATE_MARKERS, archivist, build_full

    full = build_full(tmp_path)
    datasette = make_datasette(full)
    restricted = one(full, "select id from testimonies where visibility = 'restricted'")["id"]
    public = one(
        full,
        "select t.id from testimonies t join sources s on s.id = t.source_id "
        "where t.visibility = 'public' and s.visibility = 'public'",
    )["id"]
    cookies = archivist(datasette)
    for testimony, marked in ((restricted, True), (public, False)):
        url = f"/archive/testimonies/{testimony}"
        page = (await datasette.client.get(url, cookies=cookies)).text
        assert ('class="restricted"' in reading(page)) == marked, url
        assert not [marker for marker in PRIVATE_MARKERS if marker in page.lower()], url  # never on this page
        for visitor_url in (url, f"/-/testimony/{testimony}", f"/-/testimony/{testimony}.bib", "/"):
            assert (await datasette.client.get(visitor_url)).status_code == 403, visitor_url


async def test_datasettes_templates_get_a_language_a_main_landmark_and_named_controls(datasette, archive):
    from testimony_archive.search.plugin import accessible

    await datasette.invoke_startup()
    assert accessible.missing_edits(datasette.jinja_env) == []  # each edit still finds its text
    testimony = one(archive, "select id from testimonies limit 1")["id"]
    for url in (
        "/",
        f"/{DB}",
        f"/{DB}/testimonies?role=family",
        f"/{DB}/testimonies/{testimony}",
        "/-/search?q=prison",
    ):
        html = (await get(datasette, url)).text
        assert html.count('<html lang="en">') == 1 and html.count("<main") == 1 and "</main>" in html, url
    table = (await get(datasette, f"/{DB}/testimonies?role=family")).text
    for tag, attrs in elements(table):
        if tag == "select" or (tag == "input" and attrs.get("class") == "filter-value"):
            assert attrs.get("aria-label") or attrs.get("id") == "_search", (tag, attrs)


KEYED = """
source:
  title: "Two men of one name \u202eevil"
  publisher: Keyed Test Group
  published: 2024-02
  url: https://example.org/keyed
testimonies:
  - speaker: {name: Ali Vali, key: ali-vali-teacher}
    role: survivor
    subjects:
      - {name: Ali Vali, key: ali-vali-teacher, relationship: self, status: released}
    text: "I taught at the school until they came for me."
    date: 2023-06
  - speaker: {name: Ali Vali, key: ali-vali-driver}
    role: survivor
    subjects:
      - {name: Ali Vali, key: ali-vali-driver, relationship: self, status: detained}
    text: "I drove a taxi; they held me for a year."
    date: 2023-07
  - speaker: {name: Ali Vali, key: ali-vali-teacher}
    role: survivor
    subjects:
      - {name: Ali Vali, key: ali-vali-teacher, relationship: self, status: detained, since: 2019}
    text: "A second account by the teacher, of the year he was taken."
    date: 2023-08
  - speaker: Ali Valy
    role: witness
    text: "Another man, whose name is spelled like theirs."
"""


@pytest.fixture(scope="module")
def keyed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keyed")
    source = folder / "keyed.yml"
    source.write_text(KEYED, encoding="utf-8")
    return published_sample(tmp_path_factory, source, name=DB)


async def test_people_kept_apart_by_a_key_are_never_each_others_spellings(keyed):
    datasette = make_datasette(keyed)
    people = rows(keyed, "select id, name_key from people where name in ('Ali Vali', 'Ali Valy')")
    assert len(people) == 3 and sum(p["name_key"] is None for p in people) == 2  # the two keyed ones
    for person in people:
        page = reading((await get(datasette, f"/{DB}/people/{person['id']}")).text)
        assert "Also written in the archive as" not in page


async def test_more_about_a_person_lists_each_testimony_once_newest_first(keyed):
    datasette = make_datasette(keyed)
    first = one(keyed, "select id from testimonies where text like 'I taught%'")["id"]
    second = one(keyed, "select id from testimonies where text like 'A second account%'")["id"]
    page = reading((await get(datasette, f"/{DB}/testimonies/{first}")).text)
    section = page[page.index("More about") :]
    assert re.findall(rf"/{DB}/testimonies/(\w+)\">", section) == [second]  # gave it and is its subject: once
    driver = one(keyed, "select id from testimonies where text like 'I drove%'")["id"]
    assert driver not in section  # the other Ali Vali, kept apart by the archivist (only from the same source)


async def test_a_status_without_a_date_is_dated_by_when_it_was_said(keyed):
    datasette = make_datasette(keyed)
    teacher = one(keyed, "select speaker_id from testimonies where text like 'I taught%'")["speaker_id"]
    timeline = reading((await get(datasette, f"/{DB}/people/{teacher}")).text)
    assert re.findall(r"<strong>(\w+)</strong> ([^:]+):", timeline) == [
        ("detained", "since 2019"),
        ("released", "(said 2023-06)"),
    ]


async def test_a_right_to_left_override_in_a_value_stays_inside_it(keyed):
    datasette = make_datasette(keyed)
    source = one(keyed, "select id from sources where publisher = 'Keyed Test Group'")["id"]
    for url in (f"/{DB}/sources/{source}", "/"):
        html = (await get(datasette, url)).text
        assert "\u202e" not in html[: html.index("</head>")], url  # the title: the override taken out
        assert html.count("\u202e") == html.count("<bdi>Two men of one name \u202eevil</bdi>") > 0, url


async def test_pages_that_show_testimonies_follow_the_permission_on_the_table(archive):
    metadata = {"databases": {DB: {"tables": {"testimonies": {"allow": False}}}}}
    datasette = make_datasette(archive, metadata=metadata)
    person = one(archive, "select speaker_id from testimonies limit 1")["speaker_id"]
    source = one(archive, "select source_id from testimonies limit 1")["source_id"]
    for url in (f"/{DB}/people/{person}", f"/{DB}/sources/{source}", "/"):
        html = (await get(datasette, url)).text
        assert 'class="reading"' not in html and "The archive holds" not in html, url
    await get(datasette, f"/-/testimony/{one(archive, 'select id from testimonies limit 1')['id']}.bib", status=403)


async def test_the_archive_is_found_when_another_database_is_served_first(tmp_path, archive):
    from datasette.app import Datasette

    other = tmp_path / "aaa_other.db"
    conn = sqlite3.connect(other)
    conn.execute("create table notes (id integer primary key, body text)")
    conn.close()
    datasette = Datasette([str(other), str(archive)])
    testimony = one(archive, "select id from testimonies limit 1")["id"]
    assert (await get(datasette, f"/-/testimony/{testimony}", status=302)).headers["location"].startswith(f"/{DB}/")
    assert (await get(datasette, f"/-/testimony/{testimony}.bib")).text.startswith("@misc{")
    assert "The archive holds" in (await get(datasette, "/")).text


async def test_the_plugins_pages_answer_only_get(datasette, archive):
    testimony = one(archive, "select id from testimonies limit 1")["id"]
    for url in (
        f"/-/testimony/{testimony}",
        f"/-/testimony/{testimony}.bib",
        "/-/search?q=prison",
        "/-/search.ris?q=a",
    ):
        response = await datasette.client.post(url)
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD", url


async def test_every_link_on_the_reading_pages_answers(datasette, archive):
    """A link check over the home page and every testimony, person and source page: no 4xx, no 5xx."""
    pages = ["/"] + [
        f"/{DB}/{table}/{r['id']}"
        for table in ("testimonies", "people", "sources")
        for r in rows(archive, f"select id from {table}")
    ]
    links = set()
    for url in pages:
        html = (await get(datasette, url)).text
        links |= {
            a["href"].replace("&amp;", "&")
            for tag, a in elements(html)
            if tag == "a" and a.get("href", "").startswith(("/", "http://localhost/"))
        }
    assert len(links) > 100
    broken = []
    for link in sorted(links):
        response = await datasette.client.get(link.removeprefix("http://localhost"))
        if response.status_code >= 400:
            broken.append((link, response.status_code))
    assert not broken


async def test_a_configured_site_address_makes_the_permanent_links(archive):
    from testimony_archive.search.serve import load_metadata

    metadata = load_metadata(DB)
    metadata["plugins"]["testimony"]["site_url"] = "https://archive.example.org/"
    datasette = make_datasette(archive, metadata=metadata)
    testimony = one(archive, "select id from testimonies limit 1")["id"]
    page = (await get(datasette, f"/{DB}/testimonies/{testimony}", status=200)).text
    assert f"https://archive.example.org/-/testimony/{testimony}" in page and "http://localhost/-/" not in page
    ris = (await datasette.client.get(f"/-/testimony/{testimony}.ris", headers={"host": "evil.example"})).text
    assert f"UR  - https://archive.example.org/-/testimony/{testimony}" in ris and "evil" not in ris
