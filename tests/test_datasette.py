"""Datasette with our Whoosh search inside, through Datasette's own ASGI client on a real archive."""

import csv
import html
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from datasette.utils import await_me_maybe
from testimony_archive.search import plugin
from testimony_archive.search.serve import make_datasette

from .conftest import FACET_NAMES, fixture, published_sample, rows

DB = "archive"


@pytest.fixture(scope="session")
def archive_path(tmp_path_factory) -> Path:
    # What is served to the public is the public archive (a full one is locked without a login).
    return published_sample(tmp_path_factory, fixture("sources/hostile.yml"), name=DB)


@pytest.fixture(scope="session")
def datasette(archive_path):
    return make_datasette(archive_path)


async def get(datasette, url, status=200):
    response = await datasette.client.get(url)
    assert response.status_code == status, (url, response.status_code, response.text[:500])
    return response


def ids_where(archive_path, sql, params=()):
    return {row["id"] for row in rows(archive_path, f"select id from testimonies where {sql}", params)}


async def test_table_search_narrows_rows_count_and_facets(datasette, archive_path):
    data = (await get(datasette, f"/{DB}/testimonies.json?_search=prison&_facet=role&_size=max&_shape=objects")).json()
    found = {row["id"] for row in data["rows"]}
    expected = {hit["id"] for hit in (await get(datasette, "/-/search.json?q=prison&size=100")).json()["hits"]}
    assert found == expected and len(found) > 2
    assert data["filtered_table_rows_count"] == len(found)
    role_counts = {item["value"]: item["count"] for item in data["facet_results"]["role"]["results"]}
    assert sum(role_counts.values()) == len(found)
    everything = (await get(datasette, f"/{DB}/testimonies.json?_facet=role")).json()
    assert everything["filtered_table_rows_count"] > len(found)


async def test_table_search_uses_name_variants(datasette, archive_path):
    data = (await get(datasette, f"/{DB}/testimonies.json?_search=Memetjan&_shape=objects")).json()
    assert ids_where(archive_path, "subjects like '%Mamatjan Tursun%'") <= {row["id"] for row in data["rows"]}
    exact = (await get(datasette, f"/{DB}/testimonies.json?_search=Memetjan&_exact_names=1&_shape=objects")).json()
    assert not ids_where(archive_path, "subjects like '%Mamatjan Tursun%'") & {row["id"] for row in exact["rows"]}


async def test_table_search_html_has_the_search_box_and_default_facets(datasette):
    page = (await get(datasette, f"/{DB}/testimonies?_search=camp")).text
    assert '<input id="_search" type="search" name="_search" value="camp">' in page
    assert "search matches &#34;camp&#34;" in page
    for facet in ("role", "statuses", "relationships", "publisher", "tags", "year", "language", "speaker_is_pseudonym"):
        assert f'data-column="{facet}"' in page, facet


async def test_csv_export_with_search(datasette, archive_path):
    text = (await get(datasette, f"/{DB}/testimonies.csv?_search=%22still+in+prison%22&_size=max")).text
    exported = list(csv.DictReader(io.StringIO(text)))
    assert {row["id"] for row in exported} == ids_where(archive_path, "text like '%still in prison%'")
    assert len(exported) == 2


async def test_search_page_json(datasette, archive_path):
    data = (await get(datasette, "/-/search.json?q=Memetjan")).json()
    assert data["ok"] is True and data["total"] == 3
    assert {hit["url"] for hit in data["hits"]} == {f"/{DB}/testimonies/{hit['id']}" for hit in data["hits"]}
    assert {m["rule"] for hit in data["hits"] for m in hit["matched_names"]} >= {"exact", "spelling"}
    assert set(data["facets"]) == FACET_NAMES


async def test_search_page_html_links_highlights_and_explains(datasette):
    page = (await get(datasette, "/-/search?q=Memetjan")).text
    assert "3 testimonies match <strong>Memetjan</strong>" in page
    assert "<mark>Memetjan</mark>" in page
    assert "Memetjan → Mamatjan Tursun (subject, spelling)" in page
    hit_links = re.findall(r'<div class="speaker"><a href="(/archive/testimonies/[0-9a-f]+)">', page)
    assert len(hit_links) == 3
    for link in hit_links:
        await get(datasette, link)


async def test_facet_links_narrow_and_unnarrow(datasette):
    page = (await get(datasette, "/-/search?q=prison+OR+camp")).text
    family = re.search(r'<a class="facet-value" href="([^"]+)">family</a> (\d+)', page)
    url, count = html.unescape(family.group(1)), int(family.group(2))
    assert url == "/-/search?q=prison+OR+camp&role=family"
    narrowed = (await get(datasette, url.replace("/-/search", "/-/search.json"))).json()
    assert narrowed["total"] == count
    assert set(narrowed["facets"]["role"]) == {"family"}
    narrowed_page = (await get(datasette, url)).text
    selected = re.search(r'<a class="facet-value selected" href="([^"]+)">family</a>', narrowed_page)
    assert html.unescape(selected.group(1)) == "/-/search?q=prison+OR+camp"


async def test_search_page_paginates(datasette):
    first = (await get(datasette, "/-/search.json?q=detention+OR+prison+OR+camp&size=5")).json()
    assert first["pages"] > 1
    page = (await get(datasette, "/-/search?q=detention+OR+prison+OR+camp&size=5")).text
    next_url = html.unescape(re.search(r'<a rel="next" href="([^"]+)">', page).group(1))
    assert "page=2" in next_url
    second = (await get(datasette, next_url.replace("/-/search", "/-/search.json"))).json()
    assert second["page"] == 2
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}


async def test_row_page_has_a_citation(datasette, archive_path):
    row = rows(
        archive_path,
        """select t.id, s.url from testimonies t join sources s on s.id = t.source_id
        join people p on p.id = t.speaker_id where p.name = 'Patime'""",
    )[0]
    page = (await get(datasette, f"/{DB}/testimonies/{row['id']}")).text
    citation = html.unescape(re.search(r'<textarea id="citation-plain"[^>]*>(.*?)</textarea>', page, re.S).group(1))
    assert citation.startswith("Patime* (pseudonym), quoted in \u201c")
    assert "Meridian Rights Collective, 2025-08-28" in citation
    assert row["url"] in citation and f"testimony {row['id']}." in citation
    assert "<strong>Patime*</strong> is a pseudonym" in page


async def test_pseudonym_marker_wherever_a_name_is_shown(datasette, archive_path):
    marker = '<abbr class="pseudonym" title="Pseudonym: the name was changed to protect the person">*</abbr>'
    table = (await get(datasette, f"/{DB}/testimonies?speaker=Patime*")).text
    assert f'<td class="col-speaker type-str">Patime{marker}</td>' in table
    assert f"Patime{marker}</a>" in table  # the speaker_id link
    people = (await get(datasette, f"/{DB}/people?name=Patime")).text
    assert f"Patime{marker}" in people
    subjects = (await get(datasette, f"/{DB}/testimony_subjects?relationship=brother")).text
    assert f"Ablikim{marker}</a>" in subjects
    search = (await get(datasette, "/-/search?q=Patime")).text
    assert f"Patime{marker}</a>" in search
    real = (await get(datasette, f"/{DB}/people?name=Aygul+Tursun")).text
    assert f"Aygul Tursun{marker}" not in real


async def test_hostile_text_is_escaped_everywhere(datasette, archive_path):
    hostile_id = rows(archive_path, "select id from testimonies where text like '%<script>%'")[0]["id"]
    for url in (
        "/-/search?q=guards",
        f"/{DB}/testimonies?_search=guards",
        f"/{DB}/testimonies/{hostile_id}",
        f"/{DB}/people",
        f"/{DB}/sources",
        f"/{DB}/tags",
    ):
        page = (await get(datasette, url)).text
        assert "<script>alert" not in page, url
        assert "<img src=x" not in page, url
        assert "<b>Bold</b>" not in page and "<script>tag</script>" not in page, url
    page = (await get(datasette, "/-/search?q=guards")).text
    assert (
        "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in page
        or "&lt;script&gt;alert('xss')&lt;/script&gt;" in page
    )


@pytest.mark.parametrize(
    "query, message",
    [
        ("*tain", "Leading wildcards"),
        ('"unclosed', "Unclosed quotation mark"),
        ("colour:red", "Unknown field"),
        ("date:notadate", "Dates are written"),
    ],
)
async def test_query_errors_show_on_the_page_never_a_500(datasette, query, message):
    page = (await get(datasette, f"/-/search?q={query}", status=400)).text
    assert message in html.unescape(page)
    data = (await get(datasette, f"/-/search.json?q={query}", status=400)).json()
    assert data["ok"] is False and message in data["error"]
    table = (await get(datasette, f"/{DB}/testimonies?_search={query}")).text
    assert message in html.unescape(table)
    assert "0 rows" in table


async def test_public_serving_defaults(datasette):
    await get(datasette, f"/{DB}.db", status=403)
    robots = (await get(datasette, "/robots.txt")).text
    assert "Disallow: /" in robots
    settings = (await get(datasette, "/-/settings.json")).json()
    assert settings["allow_download"] is False
    assert settings["sql_time_limit_ms"] <= 2000


async def test_metadata_describes_tables_and_hides_internals(datasette):
    database = (await get(datasette, f"/{DB}.json")).json()
    visible = {t["name"] for t in database["tables"] if not t["hidden"]}
    assert {"testimonies", "sources", "people", "testimony_subjects", "tags"} <= visible
    assert not {"archive_meta", "ingest_runs", "ingest_run_files", "private_fields"} & visible
    metadata = (await get(datasette, "/-/metadata.json")).json()
    described = metadata["databases"][DB]["tables"]["testimonies"]["columns"]
    columns = (await get(datasette, f"/{DB}/testimonies.json?_size=1")).json()["columns"]
    assert set(columns) <= set(described)
    assert {"testimonies_about_person", "testimonies_by_date"} <= set(metadata["databases"][DB]["queries"])


async def test_canned_queries(datasette, archive_path):
    about = (await get(datasette, f"/{DB}/testimonies_about_person.json?name=Ablikim&_shape=objects")).json()
    assert [(row["speaker"], row["subject"], row["relationship"]) for row in about["rows"]] == [
        ("Patime*", "Ablikim", "brother")  # the speaker column prints a pseudonym with its star
    ]
    by_date = (await get(datasette, f"/{DB}/testimonies_by_date.json?from=2019&to=2021&_shape=objects")).json()
    assert {row["id"] for row in by_date["rows"]} == ids_where(
        archive_path, "substr(coalesce(date, published), 1, 4) between '2019' and '2021'"
    )


async def test_menu_links_to_search(datasette):
    page = (await get(datasette, "/")).text
    assert 'href="/-/search"' in page
    assert json.loads((await get(datasette, "/-/plugins.json")).text)


@pytest.mark.parametrize("table", ["testimonies", "sources", "people", "tags"])
async def test_table_forms_submit_without_error(datasette, table):
    # The table page's form submits its selected sort (the primary key) along with the search box.
    page = (await get(datasette, f"/{DB}/{table}")).text
    sort = re.search(r'<select name="_sort".*?<option value="([^"]+)" selected>', page, re.S)
    assert sort, "the form has a selected sort"
    await get(datasette, f"/{DB}/{table}?_sort={sort.group(1)}")
    if table == "testimonies":
        await get(datasette, f"/{DB}/{table}?_sort={sort.group(1)}&_search=prison")


@pytest.mark.parametrize(
    "url",
    [
        f"/{DB}/testimonies?speaker=Patime*&_col=speaker",
        f"/{DB}/testimonies?speaker=Patime*&_nocol=speaker_is_pseudonym",
        f"/{DB}/testimonies?speaker=Patime*&_col=speaker_id&_col=speaker",
        f"/{DB}/people?name=Patime&_col=name",
    ],
)
async def test_the_marker_survives_hidden_columns(datasette, url):
    page = (await get(datasette, url)).text
    assert 'Patime<abbr class="pseudonym"' in page


@pytest.mark.parametrize("query", ["Role:family", "ROLE:family", "Speaker:Patime"])
async def test_field_names_are_case_insensitive(datasette, query):
    lower = (await get(datasette, f"/-/search.json?q={query.split(':')[0].lower()}:{query.split(':')[1]}")).json()
    data = (await get(datasette, f"/-/search.json?q={query}")).json()
    assert data["total"] == lower["total"] > 0


@pytest.mark.parametrize("value", ["-1", "99999999999", "abc"])
async def test_bad_year_filter_is_a_clear_error(datasette, value):
    data = (await get(datasette, f"/-/search.json?q=prison&year={value}", status=400)).json()
    assert "is not a" in data["error"]


MARKER = '<abbr class="pseudonym" title="Pseudonym: the name was changed to protect the person">*</abbr>'


@pytest.mark.parametrize(
    "url, name",
    [
        (f"/{DB}/testimonies_by_speaker?name=Patime", "Patime"),
        (f"/{DB}/testimonies_about_person?name=Ablikim", "Ablikim"),
        (f"/{DB}/testimonies_by_date?from=2025-08&to=2025-08", "Patime"),
    ],
)
async def test_a_query_page_marks_a_name_its_flag_stands_beside(datasette, url, name):
    page = (await get(datasette, url)).text
    assert f">{name}{MARKER}</td>" in page
    assert f">{name}</td>" not in page


def row_of(archive_path, sql):
    """One row as Datasette hands it to render_cell (a sqlite3.Row), with only the columns `sql` selects."""
    conn = sqlite3.connect(archive_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


async def speaker_cell(datasette, row):
    rendered = plugin.render_cell(
        row=row, value=row["speaker"], column="speaker", table="testimonies", database=DB, datasette=datasette
    )
    return str(await await_me_maybe(rendered))


PATIME = "from testimonies t join people p on p.id = t.speaker_id where p.name = 'Patime' and p.is_pseudonym"


async def test_the_speaker_keeps_its_marker_in_a_row_without_its_id(datasette, archive_path):
    # Only the speaker's id to go by: the person it names.
    row = row_of(archive_path, f"select t.speaker, t.speaker_id {PATIME}")
    assert await speaker_cell(datasette, row) == f"Patime{MARKER}"
    real = row_of(archive_path, "select speaker, speaker_id from testimonies where not speaker_is_pseudonym")
    assert await speaker_cell(datasette, real) == html.escape(real["speaker"])
    # Nothing to go by: when in doubt the archive marks.
    assert await speaker_cell(datasette, row_of(archive_path, f"select t.speaker {PATIME}")) == f"Patime{MARKER}"
