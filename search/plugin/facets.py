"""The testimonies table's default facets, counted from the search index rather than in SQL.

Datasette counts an array column (`statuses`, `relationships`, `tags`) with a DISTINCT over whole rows;
at archive scale that runs past its time limit, and the facet is dropped from the page. metadata.yml
asks for these facets as type `index` (`- index: tags`), and `IndexFacet` counts them from the index's
facet table (`search.api.Archive.facet_counts`) whenever the page's rows are what the index can tell:
all the archive holds, what `?_search=` matched, narrowed by facet values (`?role=family`,
`?tags__arraycontains=Detention`: what clicking a facet's value adds). With any other filter (`_where`,
`text__contains=`, `year__gt=`...), or while the index does not cover the database, SQL counts: a column
facet by Datasette's own, a list column by `store.array_facet_sql` (the same answer as Datasette's
array facet, which tests compare, without its DISTINCT over whole rows). Either way a page's facets have
Datasette's shape (links, "selected", truncation), so the table page and its JSON read them as before; a
facet whose SQL runs out of time is listed in `facets_timed_out`, which the page shows, never silently
left out.
"""

import json

from datasette.database import QueryInterrupted
from datasette.facets import ColumnFacet, Facet
from datasette.utils import path_with_added_args, path_with_removed_args
from testimony_archive.ingest import store

from .. import api as search_api
from .searching import TABLE, run_search

# Table column -> (the index's facet, whether the column holds a JSON array). The index's values are
# strings; `VALUE` gives each column's value as SQLite holds it, so links and JSON are what SQL gives.
COLUMNS = {
    "role": ("role", False),
    "statuses": ("status", True),
    "relationships": ("relationship", True),
    "publisher": ("publisher", False),
    "tags": ("tags", True),
    "year": ("year", False),
    "language": ("language", False),
    "speaker_is_pseudonym": ("pseudonym", False),
}
VALUE = {"year": int, "speaker_is_pseudonym": lambda label: {"yes": 1, "no": 0}[label]}
# Datasette's `_` query-string keys that narrow the rows (the others are options, or the search itself).
NARROWING = ("_where", "_through")


def index_filters(request) -> dict[str, str] | None:
    """The page's filters as the index can apply them (index facet -> value): each a facet column equal to
    one value (`role=family`, `year=2024`, `speaker_is_pseudonym=1`) or a list column holding one
    (`tags__arraycontains=Detention`), what clicking a facet's value adds. None when any filter is another
    kind (`_where`, `text__contains=`, `year__gt=`, a column given twice...): then SQL counts."""
    found = {}
    for key in request.args:
        if key.startswith("_") and key not in NARROWING and not key.startswith("_filter_"):
            continue  # Datasette's options, and `_search` (applied through its ids)
        values = request.args.getlist(key)
        column, _, lookup = key.partition("__")
        if column not in COLUMNS or len(values) != 1 or not values[0]:
            return None
        facet, is_array = COLUMNS[column]
        if lookup not in (("arraycontains",) if is_array else ("", "exact")):
            return None
        value = values[0]
        if column == "speaker_is_pseudonym":
            if value not in ("0", "1"):
                return None
            value = "yes" if value == "1" else "no"
        found[facet] = value
    return found


def column_facet(column: str, source: str):
    """Datasette's own column facet for one column, as configured here."""

    class One(ColumnFacet):
        def get_configs(self):
            return [{"source": source, "config": {"simple": column}}]

    return One


class IndexFacet(Facet):
    type = "index"

    async def facet_results(self):
        configs = self.get_configs()
        if not configs:
            return [], []
        counts = await self.index_counts()
        results, timed_out = [], []
        for source_and_config in configs:
            column = source_and_config["config"].get("column") or source_and_config["config"]["simple"]
            source = source_and_config["source"]
            if counts is not None and column in COLUMNS:
                results.append(self.shaped(column, source, counts[COLUMNS[column][0]]))
                continue
            if COLUMNS.get(column, (None, False))[1]:
                try:
                    results.append(self.shaped(column, source, await self.array_counts(column)))
                except QueryInterrupted:
                    timed_out.append(column)
                continue
            facet = column_facet(column, source)(
                self.ds,
                self.request,
                self.database,
                sql=self.sql,
                table=self.table,
                params=self.params,
                metadata=self.metadata,
                row_count=self.row_count,
            )
            found, late = await facet.facet_results()
            results += found
            timed_out += late
        return results, timed_out

    async def array_counts(self, column: str) -> dict[str, int]:
        """A list column's counts in SQL over the page's rows (see store.array_facet_sql), one more than
        the page shows, so `shaped` can tell it was truncated."""
        found = await self.ds.execute(
            self.database,
            store.array_facet_sql(self.sql, column, self.get_facet_size() + 1),
            self.params,
            truncate=False,
            custom_time_limit=self.ds.setting("facet_time_limit_ms"),
        )
        return {str(row["value"]): row["count"] for row in found.rows}

    async def index_counts(self) -> dict | None:
        """Counts from the index when the page shows every row or the search's rows, else None."""
        having = index_filters(self.request) if self.table == TABLE else None
        if having is None:
            return None
        searched = self.params.get(store.SEARCH_FILTER_PARAM) if isinstance(self.params, dict) else None
        if self.request.args.get("_search", "").strip() and searched is None:
            return None  # the search failed or was refused: the page says why, SQL counts its (no) rows
        ids = json.loads(searched) if searched is not None else None
        try:
            return await run_search(self.ds, self.database, "facet_counts", ids, having)
        except (FileNotFoundError, search_api.SearchBusy, search_api.SearchError):
            return None

    def shaped(self, column: str, source: str, counts: dict[str, int]) -> dict:
        """One facet as Datasette's ColumnFacet or ArrayFacet gives it: each value with its count and the
        link that adds it to the page's filters (or takes it away, when the page is filtered by it)."""
        is_array = COLUMNS[column][1]
        size = self.get_facet_size()
        convert = VALUE.get(column, str)
        key = f"{column}__arraycontains" if is_array else column
        pairs = self.get_querystring_pairs()
        values = []
        for label, count in list(counts.items())[:size]:
            value = convert(label)
            selected = (key, str(value)) in pairs
            change = path_with_removed_args if selected else path_with_added_args
            path = change(self.request, {key: str(value) if selected else value})
            values.append(
                {
                    "value": value,
                    "label": value,
                    "count": count,
                    "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(path)),
                    "selected": selected,
                }
            )
        return {
            "name": column,
            "type": "array" if is_array else "column",
            "hideable": source != "metadata",
            "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {"_facet_index": column})),
            "results": values,
            "truncated": len(counts) > size,
        }
