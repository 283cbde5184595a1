"""The testimonies table's default facets, counted from the search index (search.plugin.facets), are the
ones Datasette's SQL gives for the same rows: values, counts, order and links. Compared on a real public
archive through Datasette's ASGI client; SQL is forced by a filter that keeps every row (`id__notnull`),
and Datasette's own array facets are asked for beside the plugin's SQL for list columns."""

import shutil
import sqlite3
import urllib.parse

import pytest
from testimony_archive.search.plugin import facets
from testimony_archive.search.serve import make_datasette

from .conftest import fixture, published_sample, rows

DB = "facets"
KEEP_EVERY_ROW = "id__notnull=1"
ARRAYS = [column for column, (_, is_array) in facets.COLUMNS.items() if is_array]
DATASETTES_ARRAYS = "&".join(f"_facet_array={column}" for column in ARRAYS)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return published_sample(
        tmp_path_factory, fixture("sources/pseudonyms.yml"), fixture("sources/hostile.yml"), name=DB
    )


@pytest.fixture(scope="module")
def datasette(archive):
    return make_datasette(archive)


async def table_json(datasette, query: str) -> dict:
    response = await datasette.client.get(f"/{DB}/testimonies.json?_size=0&{query}")
    assert response.status_code == 200, (query, response.text[:300])
    return response.json()


def comparable(data: dict, hideable: bool = False) -> dict:
    """Each facet's values and counts in order, its type and truncation; the links without the query. The
    metadata's facets (not hideable), or the ones the query asked for (`_facet_array=`: hideable)."""
    return {
        facet["name"]: (
            facet["type"],
            facet["truncated"],
            [
                (item["value"], item["count"], item["selected"], links_to(item["toggle_url"]))
                for item in facet["results"]
            ],
        )
        for facet in data["facet_results"].values()
        if facet["hideable"] == hideable
    }


def links_to(url: str) -> list:
    """What a facet value's link adds: its filter (the page's own query left aside)."""
    query = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)
    return sorted((k, v) for k, v in query if k not in ("_size", "id__notnull", "_search", "_facet_array"))


PAGES = [
    "",
    "_search=prison",
    "_search=Patime",
    "_search=zzznothing",
    # What clicking facet values adds, alone, together and with a search.
    "role=family",
    "tags__arraycontains=Detention",
    "statuses__arraycontains=died_in_detention&relationships__arraycontains=son",
    "speaker_is_pseudonym=1&year=2025",
    "speaker_is_pseudonym=0",
    "publisher=Test+Rights+Group&language=en",
    "_search=prison&role=family",
    "role__exact=witness",
    "year=2025&_sort=date&_facet_size=3",
    "role=nobody",
]


@pytest.mark.parametrize("query", PAGES)
async def test_index_facets_equal_datasettes_sql_facets(datasette, query):
    assert facets.index_filters(FakeRequest(query)) is not None  # each of these is counted from the index
    from_index = await table_json(datasette, query)
    from_sql = await table_json(datasette, f"{query}&{KEEP_EVERY_ROW}&{DATASETTES_ARRAYS}")
    assert from_index["filtered_table_rows_count"] == from_sql["filtered_table_rows_count"]
    assert set(from_index["facet_results"]) == set(facets.COLUMNS)  # every default facet, none missing
    assert comparable(from_index) == comparable(from_sql)  # the plugin's SQL
    datasettes = comparable(from_sql, hideable=True)  # Datasette's own array facets
    assert set(datasettes) == set(ARRAYS)
    assert {name: comparable(from_index)[name] for name in ARRAYS} == datasettes
    if from_sql["filtered_table_rows_count"]:
        assert any(facet["results"] for facet in from_index["facet_results"].values())


class FakeRequest:
    """Only what index_filters reads: the query string's arguments."""

    def __init__(self, query: str):
        from datasette.utils import MultiParams

        self.args = MultiParams(urllib.parse.parse_qs(query, keep_blank_values=True))


@pytest.mark.parametrize(
    "query",
    [
        "_where=1",
        "text__contains=prison",
        "year__gt=2020",
        "role=family&role=witness",
        "role=",
        "speaker_is_pseudonym=yes",
        "tags=Detention",
        "statuses__arraycontains=",
        "_filter_column=role",
    ],
)
def test_other_filters_are_counted_in_sql(query):
    assert facets.index_filters(FakeRequest(query)) is None


async def test_counts_come_from_the_index_when_they_can(datasette, monkeypatch):
    """Positive control: with Datasette's SQL facets broken, the plain and searched pages still count (so
    the comparison above compared two ways), and a filtered page does not."""
    from datasette import facets as datasette_facets

    original = datasette_facets.ColumnFacet.facet_results, datasette_facets.ArrayFacet.facet_results

    def breaking(kind: int):
        async def broken(self):
            if self.get_configs():  # Datasette asks every facet class; one with nothing to count answers []
                raise AssertionError("counted in SQL")
            return await original[kind](self)

        return broken

    monkeypatch.setattr(datasette_facets.ColumnFacet, "facet_results", breaking(0))
    monkeypatch.setattr(datasette_facets.ArrayFacet, "facet_results", breaking(1))
    for query in ("", "_search=prison", "_search=prison&_sort=date&_facet_size=3"):
        assert (await table_json(datasette, query))["facet_results"]
    for query in ("role=family", "tags__arraycontains=Detention&_search=prison"):
        assert (await table_json(datasette, query))["facet_results"]
    response = await datasette.client.get(f"/{DB}/testimonies.json?text__contains=prison")
    assert response.status_code == 500  # a filter the index cannot apply: the page asked SQL


async def test_selecting_a_value_narrows_the_rows_and_the_counts(datasette, archive):
    data = await table_json(datasette, "")
    tag = data["facet_results"]["tags"]["results"][0]
    body = await table_json(datasette, urllib.parse.urlsplit(tag["toggle_url"]).query)
    assert body["filtered_table_rows_count"] == tag["count"]
    selected = [item for item in body["facet_results"]["tags"]["results"] if item["selected"]]
    assert [(item["value"], item["count"]) for item in selected] == [(tag["value"], tag["count"])]


async def test_a_lagging_index_falls_back_to_sql(tmp_path, archive):
    """While the index does not cover the database (a writer between its two stores), SQL counts."""
    copy = tmp_path / f"{DB}.db"
    copy.write_bytes(archive.read_bytes())
    shutil.copytree(f"{archive}.whoosh", f"{copy}.whoosh")
    conn = sqlite3.connect(copy)
    with conn:  # a testimony the index has never seen, and the generation moved on as a writer moves it
        conn.execute(
            "insert into testimonies (id, source_id, speaker_id, text, language, year, visibility, content_hash, "
            "role, tags, statuses, relationships, publisher) select 'zznew', source_id, speaker_id, 'new words', "
            "language, year, visibility, 'zzhash', 'official', tags, statuses, relationships, publisher "
            "from testimonies limit 1"
        )
        conn.execute("update archive_meta set value = value + 1 where key = 'generation'")
    conn.close()
    datasette = make_datasette(copy)
    data = await table_json(datasette, "")
    roles = {item["value"]: item["count"] for item in data["facet_results"]["role"]["results"]}
    assert roles == {r["role"]: r["n"] for r in rows(copy, "select role, count(*) n from testimonies group by role")}
    assert roles["official"] >= 1


@pytest.mark.parametrize("query", ["text__contains=prison", "year__gte=2024&_search=camp", "_where=length(text)>200"])
async def test_list_facets_counted_in_sql_equal_datasettes(datasette, query):
    """Pages the index cannot count: the plugin's SQL for list columns gives Datasette's array facets."""
    assert facets.index_filters(FakeRequest(query)) is None
    data = await table_json(datasette, f"{query}&{DATASETTES_ARRAYS}")
    ours, datasettes = comparable(data), comparable(data, hideable=True)
    assert set(ours) == set(facets.COLUMNS) and set(datasettes) == set(ARRAYS)
    assert {name: ours[name] for name in ARRAYS} == datasettes
    assert any(ours[name][2] for name in ARRAYS)
